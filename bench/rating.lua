-- wrk script: POST unique ratings in haochaping's API shape to /api/v1/ratings.
--
--   wrk -t1 -c16 -d10s -s bench/rating.lua -H "Authorization: Bearer hcp_…" \
--       http://127.0.0.1:8000/api/v1/ratings -- <mode> <first> <span> <run>
--
-- mode   case    case-bound ratings of 办件 BENCH<first…> (registered beforehand, one rating each)
--        walkin  walk-in ratings of windows 01…20 of hall H330102 (no 办件; no per-case limit)
-- first  index of the first 办件 (case mode); each wrk thread t starts at first + t * span
-- span   办件 reserved per thread (case mode)
-- run    prefix of the idempotency keys, unique per run so no request is an idempotent retry

local next_thread = 0

function setup(thread)
  thread:set("tid", next_thread)
  next_thread = next_thread + 1
end

local grades = { "very_satisfied", "very_satisfied", "satisfied", "satisfied", "basic", "dissatisfied" }

function init(args)
  mode = args[1] or "case"
  span = tonumber(args[3] or "1000000")
  counter = tonumber(args[2] or "0") + tid * span
  run = args[4] or "r"
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  local n = counter
  counter = counter + 1
  local target
  if mode == "walkin" then
    target = string.format('"window":{"hall":"H330102","code":"%02d"}', (n % 20) + 1)
  else
    target = string.format('"case_no":"BENCH%09d"', n)
  end
  local body = string.format(
    '{%s,"grade":"%s","channel":"hall_tablet","comment":"窗口人员态度很好，办事效率高","idempotency_key":"%s-%d-%d"}',
    target, grades[(n % #grades) + 1], run, tid, n)
  return wrk.format(nil, nil, nil, body)
end
