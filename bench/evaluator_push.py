#!/usr/bin/env python
"""Evaluator push: one push server holding 20,000 connected evaluators; "case finished" → "evaluator shows it".

    .venv/bin/python bench/evaluator_push.py                       # 20,000 tablets, 60 s at 50 pushes/s, SQLite
    .venv/bin/python bench/evaluator_push.py --rate 200
    .venv/bin/python bench/evaluator_push.py --database-url postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/evaluator_push.py --quick               # 500 tablets, 5 s (what the test runs)

On a fresh database (a temp SQLite file, or a PostgreSQL database created from --database-url and dropped at
the end) it seeds a directory of --clients windows (halls of 100 windows) with one paired evaluator per window
and an API key over all of them, starts the web server (`haochaping serve --workers 2`, granian WSGI) and the
push server (`haochaping pushserver`, granian ASGI), then:

1. reference, the polling design push replaces: wrk asks the web server for `GET /api/v1/evaluator/device/prompt`
   with `If-None-Match` (answered 304), rotating over the devices' cookies, for --ref-duration seconds; a kiosk
   polls every 2 s, so the server carries rate × 2 polling devices, and a prompt waits for the next poll
   (0–2 s, uniform);
2. --procs client processes (bench/evaluator_clients.py, plain asyncio) open the --clients event streams at
   --ramp-rate connects/s, each from its own loopback source address, until every stream has had its `hello`
   and the push server's port has that many established connections (stream tokens are minted in this process
   with haochaping.evaluator.push.stream_token: the per-device token fetch from Django, GET /device/stream, is
   not part of the ramp);
3. idle: the servers' CPU and memory with every tablet connected and nothing happening, --idle seconds;
4. drive: for --duration seconds at --rate pushes/s, a random window's business system POSTs
   /api/v1/evaluator/push (t0 just before the request is written, over --push-connections keep-alive
   connections; what the web server cannot take within the run is not sent, and the rate reached is printed);
   the tablet of that window receives `event: prompt` (t_event) and GETs its prompt from the web server as the
   kiosk does (t_shown: the answer has arrived). Joined by prompt id: latency = t − t0 at p50/p90/p99/max, and
   its parts (POST → prompt row inserted, row → event, event → GET answered); every push must reach its
   window's tablet, once, and no other tablet.

Open files: the bench raises RLIMIT_NOFILE; where the hard limit cannot be raised (no CAP_SYS_RESOURCE) and one
process cannot hold all the streams, the push server runs as many workers as it takes (--push-workers).

CPU is utime+stime of each process tree from /proc, as % of one core over the phase; memory is the tree's
VmRSS (the database server's own processes are not counted). The load generators (client processes, wrk,
this driver) run on the same cores as the servers. The
exit status is 1 when a push was not delivered, went to a wrong tablet, a stream failed or dropped, or a
request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import benchworld  # noqa: E402
from evaluator_clients import WebConnection  # noqa: E402
from intake_http import Server, port_free, start, stop, wait_ready  # noqa: E402
from load_intake import parse_wrk  # noqa: E402

CLIENTS_SCRIPT = os.path.join(HERE, "evaluator_clients.py")
EVENTS_PATH = "/api/v1/evaluator/device/events"
PROMPT_PATH = "/api/v1/evaluator/device/prompt"
POLL_INTERVAL = 2.0  # the kiosk's poll (evaluator/kiosk.js)
WINDOWS_PER_HALL = 100
CLK_TCK = os.sysconf("SC_CLK_TCK")
FD_SPARE = 200  # descriptors a server process needs besides its streams (listener, database, logs, imports)

POLL_LUA = """
local cookies = {}
local i = 0
init = function(args)
  for line in io.lines(args[1]) do cookies[#cookies + 1] = line end
  i = math.random(#cookies)
end
request = function()
  i = i % #cookies + 1
  return wrk.format("GET", "PATH", {["Cookie"] = "hcp_evaluator=" .. cookies[i], ["If-None-Match"] = '"p0"'})
end
""".replace("PATH", PROMPT_PATH)


# ---------------------------------------------------------------------------------------------------- processes


def raise_nofile(target: int = 200_000) -> tuple[int, int]:
    """Raise RLIMIT_NOFILE (soft and hard) for this process and the servers and clients it starts."""
    try:
        with open("/proc/sys/fs/nr_open") as fh:
            target = min(target, int(fh.read()))
    except OSError:
        pass
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, target))
        except (ValueError, PermissionError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    else:
        resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def tree(root: int) -> list[int]:
    """root and its descendants (from /proc/<pid>/stat's ppid)."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def usage(roots: list[int]) -> tuple[float, int, int]:
    """(CPU seconds, RSS bytes, processes) summed over the trees of `roots` (a negative pid: that process alone)."""
    cpu, rss, n = 0.0, 0, 0
    for root in roots:
        for pid in tree(root) if root > 0 else [-root]:
            try:
                with open(f"/proc/{pid}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
                cpu += (int(fields[11]) + int(fields[12])) / CLK_TCK
                with open(f"/proc/{pid}/status") as fh:
                    for line in fh:
                        if line.startswith("VmRSS:"):
                            rss += int(line.split()[1]) * 1024
                            break
                n += 1
            except (OSError, IndexError, ValueError):
                continue
    return cpu, rss, n


class Meter:
    """CPU (% of one core) and memory of named process trees over a phase."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.t0 = time.monotonic()
        self.cpu0 = {name: usage(pids)[0] for name, pids in groups.items()}
        self.peak = dict.fromkeys(groups, 0)

    def poll(self) -> None:
        for name, pids in self.groups.items():
            self.peak[name] = max(self.peak[name], usage(pids)[1])

    def result(self) -> dict[str, dict]:
        wall = time.monotonic() - self.t0
        out = {}
        for name, pids in self.groups.items():
            cpu, rss, n = usage(pids)
            out[name] = {
                "cpu_pct": round(100 * (cpu - self.cpu0[name]) / wall, 1) if wall > 0 else 0.0,
                "rss_mb": round(rss / 2**20, 1),
                "rss_peak_mb": round(max(rss, self.peak[name]) / 2**20, 1),
                "processes": n,
            }
        return out


def established_streams(port: int) -> int:
    """Established TCP connections whose local port is the push server's (its side of the streams)."""
    out = subprocess.run(
        ["ss", "-Htn", "state", "established", f"( sport = :{port} )"], capture_output=True, text=True, timeout=30
    ).stdout
    return sum(1 for line in out.splitlines() if line.strip())


def loadavg() -> str:
    with open("/proc/loadavg") as fh:
        return " ".join(fh.read().split()[:3])


def get_json(url: str, timeout: float = 5) -> dict:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return json.loads(resp.read())


class ClientProc:
    """One bench/evaluator_clients.py process; its status lines are read by a thread."""

    def __init__(self, n: int, spec: dict, logdir: str) -> None:
        self.n = n
        self.spec_path = os.path.join(logdir, f"clients-{n}.json")
        self.out_path = os.path.join(logdir, f"clients-{n}.out.json")
        self.err_path = os.path.join(logdir, f"clients-{n}.log")
        with open(self.spec_path, "w") as fh:
            json.dump(spec, fh)
        self.status: dict = {"c": {}, "errors": {}}
        self.done = threading.Event()
        with open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(
                [sys.executable, CLIENTS_SCRIPT, self.spec_path, self.out_path],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                start_new_session=True,
            )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            line = line.strip()
            if line == "done":
                self.done.set()
            elif line.startswith("{"):
                self.status = json.loads(line)
        self.done.set()

    def count(self, name: str) -> int:
        return int(self.status["c"].get(name, 0))

    def finish(self, timeout: float = 30) -> dict:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        self.done.wait(timeout)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()
        try:
            with open(self.out_path) as fh:
                return json.load(fh)
        except (OSError, ValueError):
            tail = open(self.err_path).read()[-2000:]
            raise RuntimeError(f"client process {self.n} left no results; {self.err_path}:\n{tail}") from None

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=5)


# ------------------------------------------------------------------------------------------------------ seeding


def seed(clients: int) -> tuple[str, list[dict]]:
    """Migrate, then a directory of `clients` windows with one evaluator each; returns (API key, devices)."""
    benchworld.setup_django(migrate=True)
    from django.db import connections, transaction
    from django.utils import timezone

    from haochaping.directory.models import Hall, Organisation, Region, Window
    from haochaping.evaluator.models import EvaluatorDevice
    from haochaping.evaluator.push import stream_token
    from haochaping.evaluator.services import _hash

    directory = benchworld.seed_directory()  # region, units, the API key (scoped to the unit staffing the windows)
    region = Region.objects.get(pk=directory.region_id)
    unit = Organisation.objects.get(pk=directory.unit_id)
    agency = Hall.objects.get(pk=directory.hall_id).unit
    now = timezone.now()
    halls_needed = -(-clients // WINDOWS_PER_HALL)
    with transaction.atomic():
        halls = Hall.objects.bulk_create(
            [
                Hall(code=f"BH{h:04d}", name=f"基准测试大厅{h:04d}", region=region, unit=agency)
                for h in range(halls_needed)
            ]
        )
        windows = Window.objects.bulk_create(
            [
                Window(
                    hall=halls[i // WINDOWS_PER_HALL], code=f"{i % WINDOWS_PER_HALL:03d}", name="综合受理", unit=unit
                )
                for i in range(clients)
            ],
            batch_size=2000,
        )
        if windows[0].pk is None:  # a backend that does not return ids from bulk inserts
            by_key = {(w.hall_id, w.code): w.pk for w in Window.objects.filter(hall__in=halls)}
            for w in windows:
                w.pk = w.id = by_key[(w.hall_id, w.code)]
        credentials = ["hce_" + secrets.token_urlsafe(24) for _ in range(clients)]
        EvaluatorDevice.objects.bulk_create(
            [
                EvaluatorDevice(
                    window=w, name=f"评价器{i}", credential_hash=_hash(credentials[i], "device"), last_seen_at=now
                )
                for i, w in enumerate(windows)
            ],
            batch_size=2000,
        )
    devices = []
    rows = EvaluatorDevice.objects.filter(window__hall__in=halls).select_related("window", "window__hall")
    cred_of = {w.pk: credentials[i] for i, w in enumerate(windows)}
    for d in rows.order_by("window_id"):
        devices.append(
            {
                "device": d.pk,
                "window": d.window_id,
                "hall_code": d.window.hall.code,
                "window_code": d.window.code,
                "credential": cred_of[d.window_id],
                "token": stream_token(d),
            }
        )
    connections.close_all()
    return directory.key_secret, devices


def refresh_last_seen() -> None:
    """The devices were "seen" just now, as they are in a steady state of polling (no last_seen_at write)."""
    from django.db import connections
    from django.utils import timezone

    from haochaping.evaluator.models import EvaluatorDevice

    EvaluatorDevice.objects.update(last_seen_at=timezone.now())
    connections.close_all()


# -------------------------------------------------------------------------------------------------------- phases


def reference_poll(args, web: Server, devices: list[dict], logdir: str, meter_roots: dict) -> dict:
    """wrk: the kiosk's 2 s poll answered 304, rotating over the devices' cookies."""
    cookies = os.path.join(logdir, "cookies.txt")
    with open(cookies, "w") as fh:
        fh.write("\n".join(d["credential"] for d in devices) + "\n")
    lua = os.path.join(logdir, "poll.lua")
    with open(lua, "w") as fh:
        fh.write(POLL_LUA)
    refresh_last_seen()
    argv = ["wrk", "-t1", f"-c{args.ref_connections}", f"-d{args.ref_duration}s", "--latency", "-s", lua]
    argv += [web.base + PROMPT_PATH, "--", cookies]
    meter = Meter(meter_roots)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    out = subprocess.run(argv, capture_output=True, text=True, timeout=args.ref_duration + 60).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    used = meter.result()
    wrk_cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    used["driver"] = {"cpu_pct": round(100 * wrk_cpu / (time.monotonic() - t0), 1), "what": "wrk"}
    result = parse_wrk(out)
    result["usage"] = used
    result["loadavg"] = loadavg()
    if not result["requests"]:
        raise RuntimeError(f"wrk answered nothing:\n{out}")
    return result


async def drive(args, web: Server, key: str, devices: list[dict], meter: Meter) -> tuple[list[dict], dict]:
    """POST /push for random windows at --rate for --duration; returns the pushes (prompt id, window, t0, ack)."""
    rnd = random.Random(11)
    queue: asyncio.Queue = asyncio.Queue()
    pushes: list[dict] = []
    failures: dict[str, int] = {}
    host, port = "127.0.0.1", web.port

    unsent = 0
    stop_at = time.monotonic() + args.duration + 5

    async def sender() -> None:
        nonlocal unsent
        conn = WebConnection(host, port)
        while True:
            item = await queue.get()
            if item is None:
                return
            device, due = item
            if time.monotonic() > stop_at:
                unsent += 1  # the web server fell behind the rate: what is left is not sent (bounded run)
                continue
            body = json.dumps({"hall": device["hall_code"], "window": device["window_code"]}).encode()
            raw = (
                f"POST /api/v1/evaluator/push HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {key}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
            ).encode() + body
            t0 = time.time()
            try:
                status, answer = await conn.request(raw)
            except Exception as exc:  # noqa: BLE001 - counted
                failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                conn.close()
                continue
            t_ack = time.time()
            if status != 201:
                failures[f"HTTP {status}"] = failures.get(f"HTTP {status}", 0) + 1
                continue
            pushes.append(
                {
                    "prompt": json.loads(answer)["prompt_id"],
                    "window": device["window"],
                    "t0": t0,
                    "ack": t_ack,
                    "late": t0 - due,
                }
            )

    senders = [asyncio.ensure_future(sender()) for _ in range(args.push_connections)]
    total = int(args.duration * args.rate)
    start = time.monotonic()
    next_poll = start
    lag_max = 0.0
    for i in range(total):
        due = start + i / args.rate
        now = time.monotonic()
        if due > now:
            await asyncio.sleep(due - now)
        lag_max = max(lag_max, time.monotonic() - due)
        queue.put_nowait((rnd.choice(devices), time.time() - (time.monotonic() - due)))
        if time.monotonic() >= next_poll:
            meter.poll()
            next_poll += 1.0
    for _ in senders:
        queue.put_nowait(None)
    await asyncio.gather(*senders)
    seconds = time.monotonic() - start
    return pushes, {
        "failures": failures,
        "scheduled": total,
        "unsent": unsent,
        "achieved_rate": round(len(pushes) / (max(p["ack"] for p in pushes) - min(p["t0"] for p in pushes)), 1)
        if len(pushes) > 1
        else 0.0,
        "sent_late": percentiles([p["late"] for p in pushes]),
        "backlog_max_s": round(lag_max, 3),
        "seconds": round(seconds, 2),
    }


def percentiles(values: list[float]) -> dict:
    if not values:
        return {"n": 0}
    v = sorted(values)

    def at(q: float) -> float:
        return round(v[min(len(v) - 1, max(0, int(round(q * len(v))) - 1))] * 1000, 1)

    return {"n": len(v), "p50_ms": at(0.50), "p90_ms": at(0.90), "p99_ms": at(0.99), "max_ms": round(v[-1] * 1000, 1)}


def prompt_created_at(ids: list[int]) -> dict[int, float]:
    """When the web server inserted each prompt row (EvaluatorPrompt.created_at; the commit follows)."""
    from django.db import connections

    from haochaping.evaluator.models import EvaluatorPrompt

    out: dict[int, float] = {}
    for lo in range(0, len(ids), 5000):
        rows = EvaluatorPrompt.objects.filter(pk__in=ids[lo : lo + 5000]).values_list("pk", "created_at")
        out.update((pk, created.timestamp()) for pk, created in rows)
    connections.close_all()
    return out


def join(pushes: list[dict], results: list[dict], devices: list[dict], created: dict[int, float]) -> dict:
    """Every push reached its window's tablet, once, and no other; latencies event and shown."""
    window_of = {i: d["window"] for i, d in enumerate(devices)}
    by_prompt = {p["prompt"]: p for p in pushes}
    events: dict[int, list] = {}
    shown: dict[int, tuple] = {}
    wrong = unexpected = 0
    shown_other = shown_bad = 0
    for res in results:
        for idx, pid, t in res["events"]:
            push = by_prompt.get(pid)
            if push is None:
                unexpected += 1
            elif window_of[idx] != push["window"]:
                wrong += 1
            else:
                events.setdefault(pid, []).append(t)
        for idx, pid, t, status, answered in res["shown"]:
            if status != 200:
                shown_bad += 1
                continue
            if answered != pid:
                shown_other += 1  # a newer prompt of the same window superseded it
            push = by_prompt.get(pid)
            if push is not None and window_of[idx] == push["window"] and pid not in shown:
                shown[pid] = (t, answered)
    lat_event = [min(ts) - by_prompt[pid]["t0"] for pid, ts in events.items()]
    lat_shown = [t - by_prompt[pid]["t0"] for pid, (t, _) in shown.items()]
    # the parts: the web server's (POST sent → row inserted), the push path's (inserted → event: commit, the bus, the
    # push server, the client), the kiosk's GET (event → shown)
    part_insert = [created[pid] - by_prompt[pid]["t0"] for pid in events if pid in created]
    part_push = [min(ts) - created[pid] for pid, ts in events.items() if pid in created]
    part_get = [t - min(events[pid]) for pid, (t, _) in shown.items() if pid in events]
    ack = [p["ack"] - p["t0"] for p in pushes]
    return {
        "pushed": len(pushes),
        "delivered": len(events),
        "duplicates": sum(len(ts) - 1 for ts in events.values()),
        "wrong_device": wrong,
        "unexpected": unexpected,
        "shown": len(shown),
        "shown_superseded": shown_other,
        "shown_failed": shown_bad,
        "event": percentiles(lat_event),
        "shown_latency": percentiles(lat_shown),
        "push_ack": percentiles(ack),
        "part_insert": percentiles(part_insert),
        "part_push": percentiles(part_push),
        "part_get": percentiles(part_get),
    }


# ---------------------------------------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20_000, help="connected evaluators (default 20,000)")
    parser.add_argument("--procs", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of pushes (default 60)")
    parser.add_argument("--rate", type=float, default=50, help="pushes per second (default 50)")
    parser.add_argument("--ramp-rate", type=float, default=2000, help="connects per second, all processes (2,000)")
    parser.add_argument("--idle", type=float, default=5, help="seconds measured with all connected, no pushes (5)")
    parser.add_argument("--ref-duration", type=int, default=10, help="seconds of the polling reference (default 10)")
    parser.add_argument("--ref-connections", type=int, default=16, help="wrk connections of the reference (16)")
    parser.add_argument("--push-connections", type=int, default=16, help="keep-alive connections POSTing pushes (16)")
    parser.add_argument("--pool", type=int, default=8, help="keep-alive connections per client process for GETs (8)")
    parser.add_argument("--workers", type=int, default=2, help="web server (granian) processes (default 2)")
    parser.add_argument(
        "--push-workers",
        type=int,
        default=0,
        help="push server processes (default: 1, or as many as the open-files hard limit requires)",
    )
    parser.add_argument("--database-url", help="PostgreSQL admin URL: the bench creates and drops its own database")
    parser.add_argument("--port", type=int, default=8820, help="web server port; the push server uses +1 (8820)")
    parser.add_argument("--quick", action="store_true", help="500 clients, 5 s of pushes, 3 s reference")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--keep-logs", action="store_true", help="keep the servers' and clients' logs")
    args = parser.parse_args()
    if args.quick:
        args.clients, args.duration, args.ref_duration, args.idle = min(args.clients, 500), 5, 3, 2
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install -y wrk")
    ports = [args.port, args.port + 1]
    busy = [p for p in ports if not port_free(p)]
    if busy:
        sys.exit(f"ports in use: {busy} (--port)")
    nofile = raise_nofile()
    per_process = nofile[0] - FD_SPARE
    if not args.push_workers:
        # One worker holds them all when the open-files limit allows; where the hard limit cannot be raised (a
        # container without CAP_SYS_RESOURCE), the streams are spread over as many workers as it takes.
        args.push_workers = max(1, -(-args.clients // per_process))
    if -(-args.clients // args.procs) > per_process or args.push_workers * per_process < args.clients:
        sys.exit(f"RLIMIT_NOFILE is {nofile}: too low for {args.clients:,} streams (--procs, --push-workers)")

    # Ctrl-C and SIGTERM end the run through the clean-up below (servers, clients, the database)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t_start = time.monotonic()
    env, data_dir, url = benchworld.bench_environ(postgres_admin_url=args.database_url, label="push")
    events_url = f"http://127.0.0.1:{ports[1]}{EVENTS_PATH}"
    env["HAOCHAPING_EVALUATOR_EVENTS_URL"] = events_url
    os.environ.clear()
    os.environ.update(env)
    logdir = tempfile.mkdtemp(prefix="hcp-bench-push-")
    servers: list[Server] = []
    clients: list[ClientProc] = []
    failed = True
    try:
        db = "PostgreSQL" if url else "SQLite"
        print(f"seeding {db}: migrate, {args.clients:,} windows and evaluators, stream tokens …", flush=True)
        t0 = time.monotonic()
        key, devices = seed(args.clients)
        print(f"  seeded in {time.monotonic() - t0:.0f}s", flush=True)
        exe = shutil.which("haochaping", path=os.path.dirname(sys.executable)) or "haochaping"
        web = Server("web", ports[0])
        push = Server("push", ports[1])
        start(
            web,
            [
                exe,
                "serve",
                "--no-migrate",
                "--no-collectstatic",
                "--port",
                str(web.port),
                "--workers",
                str(args.workers),
            ],
            env,
            logdir,
        )
        servers.append(web)
        start(
            push,
            [exe, "pushserver", "--host", "127.0.0.1", "--port", str(push.port), "--workers", str(args.push_workers)],
            env,
            logdir,
        )
        servers.append(push)
        wait_ready(web, "/api/v1/ping")
        wait_ready(push, "/healthz")
        roots = {"push server": [push.proc.pid], "web server": [web.proc.pid]}

        print(f"reference: the 2 s poll (304) on the web server, wrk {args.ref_duration}s …", flush=True)
        ref = reference_poll(args, web, devices, logdir, roots)
        print(
            f"  {ref['rps']:,.0f} polls/s, p50 {ref['p50_ms']} ms, p99 {ref['p99_ms']} ms, non-2xx/3xx {ref['non2xx']}"
        )

        time.sleep(2)  # the web server finishes what wrk left in flight before the next phase is measured

        # --- ramp
        per = -(-len(devices) // args.procs)
        for n in range(args.procs):
            share = [[i, d["token"], d["credential"]] for i, d in enumerate(devices)][n * per : (n + 1) * per]
            spec = {
                "events": events_url,
                "web": web.base,
                "rate": args.ramp_rate / args.procs,
                "source": f"127.0.0.{2 + n}",
                "pool": args.pool,
                "devices": share,
            }
            clients.append(ClientProc(n, spec, logdir))
        client_pids = [c.proc.pid for c in clients]
        roots["clients"] = client_pids
        roots["driver"] = [-os.getpid()]  # this process: the ramp's bookkeeping, then the pushes
        print(
            f"ramp: {args.clients:,} event streams from {args.procs} processes at {args.ramp_rate:,.0f}/s …", flush=True
        )
        ramp_meter = Meter(roots)
        t_ramp = time.monotonic()
        deadline = t_ramp + args.clients / args.ramp_rate + 60
        health: dict = {}
        while time.monotonic() < deadline:
            time.sleep(0.25)
            ramp_meter.poll()
            try:
                health = get_json(push.base + "/healthz")
            except Exception as exc:  # noqa: BLE001 - the server may be busy accepting
                health = {"error": str(exc)}
            hello = sum(c.count("hello") for c in clients)
            established = established_streams(push.port)
            # With one worker its /healthz counts them all; with several each answers for itself.
            counted = health.get("connections") == args.clients or args.push_workers > 1
            if hello == args.clients and established == args.clients and counted:
                break
            failed_now = sum(c.count("failed") for c in clients)
            if failed_now and hello + failed_now >= args.clients:
                break  # every stream answered, some refused: the server will not count them all
            if any(c.proc.poll() is not None for c in clients):
                raise RuntimeError("a client process exited during the ramp: see " + clients[0].err_path)
        ramp_s = time.monotonic() - t_ramp
        ramp_usage = ramp_meter.result()
        hello = sum(c.count("hello") for c in clients)
        ramp_failed = sum(c.count("failed") for c in clients)
        errors: dict[str, int] = {}
        for c in clients:
            for k, v in c.status["errors"].items():
                errors[k] = errors.get(k, 0) + v
        print(
            f"  {established:,} established on the push server's port, {hello:,} hello received "
            f"(/healthz of {'the' if args.push_workers == 1 else 'one'} worker: {health.get('connections')}) in "
            f"{ramp_s:.1f}s; "
            f"failed {ramp_failed}{' ' + json.dumps(errors) if errors else ''}",
            flush=True,
        )

        # --- idle
        time.sleep(1)
        idle_meter = Meter(roots)
        time.sleep(args.idle)
        idle = idle_meter.result()
        idle_load = loadavg()
        print(
            f"  idle {args.idle:.0f}s: push server {idle['push server']['cpu_pct']}% CPU, "
            f"{idle['push server']['rss_mb']} MB",
            flush=True,
        )

        # --- drive
        print(f"drive: {args.rate:g} pushes/s for {args.duration:g}s …", flush=True)
        drive_meter = Meter(roots)
        pushes, driven = asyncio.run(drive(args, web, key, devices, drive_meter))
        # the last pushes' prompts: wait until shown (bounded)
        grace = time.monotonic() + 10
        while time.monotonic() < grace:
            gets = sum(c.count("gets") + c.count("get_errors") for c in clients)
            if gets >= len(pushes):
                break
            time.sleep(0.1)
        drive_usage = drive_meter.result()
        drive_load = loadavg()
        health_end = get_json(push.base + "/healthz")
        results = [c.finish() for c in clients]
        dropped = sum(r["status"]["c"].get("dropped", 0) for r in results)
        reauth = sum(r["status"]["c"].get("reauth", 0) for r in results)
        get_errors = sum(r["status"]["c"].get("get_errors", 0) for r in results)
        joined = join(pushes, results, devices, prompt_created_at([p["prompt"] for p in pushes]))

        report = {
            "machine": {
                "node": platform.node(),
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "database": db,
                "loadavg_ref": ref["loadavg"],
                "loadavg_idle": idle_load,
                "loadavg_drive": drive_load,
                "nofile": list(nofile),
            },
            "args": {k: v for k, v in vars(args).items() if k not in ("json",)},
            "reference_poll": {
                "rps": ref["rps"],
                "p50_ms": ref["p50_ms"],
                "p99_ms": ref["p99_ms"],
                "non2xx": ref["non2xx"],
                "socket_errors": ref["socket_errors"],
                "devices_at_2s": int(ref["rps"] * POLL_INTERVAL),
                "usage": ref["usage"],
            },
            "ramp": {
                "seconds": round(ramp_s, 2),
                "established": established,
                "healthz_connections": health.get("connections"),
                "hello": hello,
                "failed": ramp_failed,
                "errors": errors,
                "usage": ramp_usage,
            },
            "idle": {"seconds": args.idle, "usage": idle},
            "drive": {
                **driven,
                "usage": drive_usage,
                "healthz_end": health_end,
                "dropped_streams": dropped,
                "reauth": reauth,
                "prompt_get_errors": get_errors,
                **joined,
            },
        }
        figures(report)
        print_report(report, args)
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(report, fh, indent=2, ensure_ascii=False)
        problems = []
        if hello != args.clients or established != args.clients:
            problems.append(f"connected {established} (hello {hello}) of {args.clients}")
        if ramp_failed:
            problems.append(f"{ramp_failed} streams failed to open")
        if dropped:
            problems.append(f"{dropped} streams dropped")
        if joined["delivered"] != joined["pushed"] or not joined["pushed"]:
            problems.append(f"delivered {joined['delivered']} of {joined['pushed']} pushed")
        if driven["unsent"]:
            print(
                f"   NOTE: the web server took {driven['achieved_rate']:g} pushes/s of the {args.rate:g} asked for; "
                f"{driven['unsent']:,} pushes were not sent (the run is bounded)"
            )
        if joined["wrong_device"] or joined["unexpected"] or joined["duplicates"]:
            problems.append("events to a wrong device, unexpected or duplicated")
        if joined["shown"] != joined["pushed"] or joined["shown_failed"] or get_errors:
            problems.append(f"shown {joined['shown']} of {joined['pushed']} ({joined['shown_failed']} failed GETs)")
        if ref["non2xx"]:
            problems.append(f"reference: {ref['non2xx']} answers ≥ 400")
        if driven["failures"]:
            problems.append(f"push POST failures {driven['failures']}")
        print(f"   RESULT: {'FAIL ' + '; '.join(problems) if problems else 'OK'}   ({time.monotonic() - t_start:.0f}s)")
        failed = bool(problems)
        return 1 if failed else 0
    finally:
        for c in clients:
            c.kill()
        for s in servers:
            stop(s)
        if url:
            benchworld.drop_postgres_database(args.database_url, url)
        shutil.rmtree(data_dir, ignore_errors=True)
        if failed or args.keep_logs:
            print(f"   logs kept in {logdir}")
        else:
            shutil.rmtree(logdir, ignore_errors=True)


def figures(r: dict) -> None:
    """Ratios to the reference measured in the same run."""
    ref, drive, idle = r["reference_poll"], r["drive"], r["idle"]["usage"]
    clients = r["args"]["clients"]
    web_cpu = ref["usage"]["web server"]["cpu_pct"] / 100  # cores busy answering ref rps polls
    cpu_per_poll = web_cpu / ref["rps"] if ref["rps"] else 0
    polls_needed = clients / POLL_INTERVAL
    r["figures"] = {
        # a prompt polled every 2 s waits for the next poll: uniform over 0–2 s, plus the poll's own time
        "poll_wait_p50_ms": POLL_INTERVAL * 500,
        "poll_wait_p99_ms": POLL_INTERVAL * 990,
        "event_p99_over_poll_p99": round(drive["event"].get("p99_ms", 0) / (POLL_INTERVAL * 990), 3),
        "shown_p99_over_poll_p99": round(drive["shown_latency"].get("p99_ms", 0) / (POLL_INTERVAL * 990), 3),
        "shown_p50_over_poll_p50": round(drive["shown_latency"].get("p50_ms", 0) / (POLL_INTERVAL * 500), 3),
        "poll_devices_web_server": ref["devices_at_2s"],
        "push_devices_over_poll_devices": round(clients / ref["devices_at_2s"], 1) if ref["devices_at_2s"] else None,
        "web_cores_to_poll_all": round(polls_needed * cpu_per_poll, 2),
        "push_cores_idle": round(idle["push server"]["cpu_pct"] / 100, 3),
        "push_cores_drive": round(drive["usage"]["push server"]["cpu_pct"] / 100, 3),
    }


def print_report(r: dict, args) -> None:
    m, ref, ramp, drive, f = r["machine"], r["reference_poll"], r["ramp"], r["drive"], r["figures"]
    idle = r["idle"]["usage"]
    print()
    print(f"== evaluator push · {m['database']} · {m['node']} · {m['cpus']} CPUs · Python {m['python']}")
    print(
        f"   {args.clients:,} evaluators on one push server (pushserver --workers {args.push_workers}, granian ASGI) + "
        f"web server (serve --workers {args.workers}); clients, wrk and the driver on the same cores"
    )
    print(
        f"   open-files limit {m['nofile'][0]:,} per process; loadavg at reference {m['loadavg_ref']} · idle "
        f"{m['loadavg_idle']} · drive {m['loadavg_drive']}"
    )
    print("   stream tokens minted in the bench (the per-device GET /device/stream from Django is not in the ramp)")
    print(
        f"   reference, the 2 s poll: {ref['rps']:,.0f} polls/s (304) on the web server, p50 {ref['p50_ms']} ms "
        f"p99 {ref['p99_ms']} ms → {ref['devices_at_2s']:,} devices polling every 2 s"
    )
    print(
        f"   ramp: {ramp['established']:,} connected in {ramp['seconds']} s "
        f"({args.clients / max(ramp['seconds'], 0.001):,.0f}/s), failed {ramp['failed']}"
    )
    print()
    print(
        f"   {'phase':<26}{'push CPU':>10}{'push RSS':>11}{'web CPU':>9}{'web RSS':>10}{'clients CPU':>13}"
        f"{'clients RSS':>13}{'driver/wrk CPU':>16}"
    )
    phases = [
        ("poll reference (wrk)", ref["usage"]),
        ("ramp", ramp["usage"]),
        ("idle, all connected", idle),
        (f"drive {args.rate:g}/s", drive["usage"]),
    ]
    for name, u in phases:
        p, w = u["push server"], u["web server"]
        c = u.get("clients", {"cpu_pct": 0, "rss_mb": 0})
        d = u.get("driver", {"cpu_pct": 0})
        print(
            f"   {name:<26}{p['cpu_pct']:>9}%{p['rss_peak_mb']:>8} MB{w['cpu_pct']:>8}%{w['rss_peak_mb']:>7} MB"
            f"{c['cpu_pct']:>12}%{c['rss_mb']:>10} MB{d['cpu_pct']:>15}%"
        )
    print("   (CPU: % of one core over the phase; RSS: the process tree's, peak of 1 s samples)")
    print()
    print(
        f"   pushes: {drive['scheduled']:,} scheduled, {drive['pushed']:,} acknowledged (201), "
        f"{drive['delivered']:,} delivered to their tablet, {drive['shown']:,} shown; wrong device "
        f"{drive['wrong_device']}, duplicates {drive['duplicates']}, dropped streams {drive['dropped_streams']}, "
        f"not sent in time {drive['unsent']:,} (achieved {drive['achieved_rate']:g}/s)"
    )
    print(f"   {'latency from POST /push':<34}{'p50':>11}{'p90':>11}{'p99':>11}{'max':>11}")
    for label, key in (
        ("POST /push sent late (queued)", "sent_late"),
        ("POST /push answered (201)", "push_ack"),
        ("evaluator receives event", "event"),
        ("evaluator shows it (GET done)", "shown_latency"),
        ("  part: POST sent → row inserted", "part_insert"),
        ("  part: row inserted → event", "part_push"),
        ("  part: event → GET answered", "part_get"),
    ):
        p = drive[key]
        if p.get("n"):
            print(f"   {label:<34}{p['p50_ms']:>8} ms{p['p90_ms']:>8} ms{p['p99_ms']:>8} ms{p['max_ms']:>8} ms")
    print(
        f"   {'polling every 2 s (waiting only)':<34}{f['poll_wait_p50_ms']:>8.0f} ms{'':>11}"
        f"{f['poll_wait_p99_ms']:>8.0f} ms{POLL_INTERVAL * 1000:>8.0f} ms"
    )
    print()
    print(
        f"   ratios: shown p99 / poll p99 = {f['shown_p99_over_poll_p99']}; shown p50 / poll p50 = "
        f"{f['shown_p50_over_poll_p50']}; devices held by push / devices this web server polls = "
        f"{f['push_devices_over_poll_devices']}"
    )
    print(
        f"   cores: polling all {args.clients:,} every 2 s would take ≈{f['web_cores_to_poll_all']} web-server cores "
        f"(at the reference's CPU per poll); push holds them on {f['push_cores_idle']} core idle, "
        f"{f['push_cores_drive']} while pushing"
    )


if __name__ == "__main__":
    sys.exit(main())
