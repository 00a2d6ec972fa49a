-- wrk script of bench/load_intake.py: unique single ratings, a realistic mixture, every answer recorded.
--
--   wrk -t2 -c32 -d300s --latency -s bench/load.lua -H "Authorization: Bearer hcp_…" \
--       http://127.0.0.1:8790/api/v1/ratings -- <outdir> <run> <span>
--
-- outdir  folder for the per-thread answer files <outdir>/answers-<thread>.txt: one line per response,
--         "<status> <rating_id or ->" (wrk does not tell response() which request it answers: the checks use
--         the rating_id the server returns, and the keys <run>-<thread>-<n> with n < the thread's count sent)
-- run     prefix of the idempotency keys, unique per run
-- span    办件 BENCH<thread * span …> reserved per thread; each case-bound rating takes the next one
--
-- Mixture per 20 requests: 12 case-bound ratings of pre-registered 办件 (1 of them a 差评 that opens a case)
-- and 8 walk-in window ratings: 5 % 差评, above the 1–3 % 差评率 a province reports (regime.md), so the
-- case-opening path is exercised more than in practice.

local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

local case_grades = { "very_satisfied", "satisfied", "very_satisfied", "basic", "very_satisfied", "dissatisfied",
  "very_satisfied", "satisfied", "very_satisfied", "very_satisfied", "satisfied", "very_satisfied" }
local walkin_grades = { "very_satisfied", "satisfied", "very_satisfied", "basic" }
local channels = { "hall_tablet", "qr", "hall_terminal", "sms" }

function init(args)
  outdir = args[1]
  run = args[2] or "load"
  span = tonumber(args[3] or "1000000")
  sent = 0
  case_next = tid * span
  case_end = case_next + span
  answers = io.open(string.format("%s/answers-%d.txt", outdir, tid), "w")
  answers:setvbuf("line")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local n = sent
  sent = sent + 1
  local slot = n % 20
  local body
  local key = string.format("%s-%d-%d", run, tid, n)
  if slot < 12 and case_next < case_end then
    local grade = case_grades[slot + 1]
    local comment = ""
    if grade == "very_dissatisfied" or grade == "dissatisfied" then
      comment = ',"comment":"排队时间太长，工作人员解释不清楚"'
    end
    body = string.format('{"case_no":"BENCH%09d","grade":"%s","channel":"%s"%s,"idempotency_key":"%s"}',
      case_next, grade, channels[(n % #channels) + 1], comment, key)
    case_next = case_next + 1
  else
    local grade = walkin_grades[(n % #walkin_grades) + 1]
    body = string.format(
      '{"window":{"hall":"H330102","code":"%02d"},"grade":"%s","channel":"hall_tablet","idempotency_key":"%s"}',
      (n % 20) + 1, grade, key)
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  local id = "-"
  if status == 201 or status == 200 then
    id = string.match(body, '"rating_id"%s*:%s*"([^"]+)"') or "?"
  end
  answers:write(status, " ", id, "\n")
end

function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do
    total = total + (thread:get("sent") or 0)
  end
  io.write(string.format("LOAD sent %d\n", total))
  for _, thread in ipairs(threads) do
    io.write(string.format("LOAD thread %d sent %d\n", thread:get("tid"), thread:get("sent") or 0))
  end
end
