#!/usr/bin/env python
"""Rating intake under sustained load, optionally killed under load, then checked for exactly-once storage.

    .venv/bin/python bench/load_intake.py                          # 300 s on PostgreSQL
    .venv/bin/python bench/load_intake.py --kill --duration 120    # SIGKILL server and worker at 1/3 and 2/3

On a fresh PostgreSQL database (created from --postgres, dropped at the end) it starts ONE production server
(`haochaping serve --workers 2`: granian, two app processes) and `haochaping worker` with the task queue on
Redis (HAOCHAPING_QUEUE_URL=redis://…/<a free db number>, flushed at the end), measures the references on the
same machine in the same run (GET /healthz on the same server; the shared reference server's rating POST when
uvicorn is found), then runs wrk with bench/load.lua for --duration seconds: unique single ratings, a mixture
of case-bound ratings of pre-registered 办件 (some 差评, which open cases) and walk-in window ratings, every
answer written to a file per wrk thread.

--kill: at about 1/3 and 2/3 of the run the server's whole process group and the worker are SIGKILLed and
restarted on the same database; wrk goes on (it counts socket errors while the server is down).

Afterwards, on the database: every acknowledged rating id (201/200) is stored exactly once; every stored
rating of the run has a key the run sent (no rating appears that was not sent) and no key is stored twice;
every 差评 has its case; `haochaping seal` then `haochaping verify` and `haochaping rollups verify` pass.
Ratings stored but never acknowledged (in flight at a kill or when wrk stopped) are counted, not errors.
Exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import collections
import glob
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import benchworld  # noqa: E402
from intake_http import Server, port_free, seed, start, stop, wait_ready  # noqa: E402

LUA = os.path.join(HERE, "load.lua")


def kill_group(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)


def free_redis_db(url: str) -> int:
    """The first Redis database number (1–15) holding no keys: the run's queue, flushed at the end."""
    import redis

    for n in range(1, 16):
        if redis.Redis.from_url(f"{url}/{n}").dbsize() == 0:
            return n
    sys.exit("no empty Redis database among 1–15 (--redis)")


def parse_wrk(out: str) -> dict:
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}

    def ms(label: str) -> float | None:
        m = re.search(rf"^\s*{label}\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
        return round(float(m.group(1)) * scale[m.group(2)], 2) if m else None

    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    sent = re.search(r"^LOAD sent (\d+)", out, re.M)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "p50_ms": ms("50%"),
        "p90_ms": ms("90%"),
        "p99_ms": ms("99%"),
        "socket_errors": dict(zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True))
        if errors
        else {},
        "sent": int(sent.group(1)) if sent else 0,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "sent_by_thread": {int(t): int(n) for t, n in re.findall(r"^LOAD thread (\d+) sent (\d+)", out, re.M)},
    }


def wrk_argv(args, url: str, duration: int, *, script: str | None = None, script_args=(), headers=()) -> list[str]:
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    for h in headers:
        argv += ["-H", h]
    if script:
        argv += ["-s", script]
    argv.append(url)
    if script_args:
        argv += ["--", *script_args]
    return argv


def run_wrk(args, url: str, duration: int, **kw) -> tuple[dict, str]:
    out = subprocess.run(
        wrk_argv(args, url, duration, **kw), capture_output=True, text=True, timeout=duration + 60
    ).stdout
    return parse_wrk(out), out


def haochaping(env: dict, *argv: str) -> subprocess.CompletedProcess:
    exe = shutil.which("haochaping", path=os.path.dirname(sys.executable)) or "haochaping"
    return subprocess.run([exe, *argv], env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)


def read_answers(outdir: str) -> tuple[collections.Counter, list[str]]:
    statuses: collections.Counter = collections.Counter()
    ids: list[str] = []
    for path in sorted(glob.glob(os.path.join(outdir, "answers-*.txt"))):
        with open(path) as fh:
            for line in fh:
                status, _, rid = line.strip().partition(" ")
                statuses[int(status)] += 1
                if status in ("200", "201"):
                    ids.append(rid)
    return statuses, ids


def check_database(url: str, *, client: str, run: str, acked: list[str], sent_by_thread: dict[int, int]) -> dict:
    """The exactly-once checks, in SQL on the bench database."""
    import psycopg

    out: dict = {}
    with psycopg.connect(url) as conn:
        cur = conn.cursor()
        cur.execute("CREATE TEMP TABLE acked (public_id uuid)")
        with cur.copy("COPY acked (public_id) FROM STDIN") as copy:
            for rid in acked:
                copy.write_row((rid,) if rid != "?" else (None,))
        out["acked"] = len(acked)
        cur.execute("SELECT count(*) FROM acked WHERE public_id IS NULL")
        out["acked_without_id"] = cur.fetchone()[0]
        cur.execute("SELECT count(*) - count(DISTINCT public_id) FROM acked")
        out["acked_twice"] = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM (SELECT DISTINCT public_id FROM acked) a "
            "WHERE NOT EXISTS (SELECT 1 FROM ratings_rating r WHERE r.public_id = a.public_id)"
        )
        out["acked_lost"] = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM (SELECT r.public_id FROM ratings_rating r JOIN acked a USING (public_id) "
            "GROUP BY r.public_id HAVING count(*) > 1) d"
        )
        out["acked_stored_twice"] = cur.fetchone()[0]
        cur.execute(
            "SELECT idempotency_key FROM ratings_rating WHERE client = %s AND idempotency_key LIKE %s",
            (client, f"{run}-%"),
        )
        keys = [k for (k,) in cur.fetchall()]
        out["stored"] = len(keys)
        out["keys_stored_twice"] = len(keys) - len(set(keys))
        never_sent = 0
        for key in keys:
            _, tid, n = key.rsplit("-", 2)
            if int(n) >= sent_by_thread.get(int(tid), 0):
                never_sent += 1
        out["stored_never_sent"] = never_sent
        cur.execute("SELECT count(*) FROM ratings_rating WHERE client = %s AND idempotency_key IS NULL", (client,))
        out["stored_without_key"] = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM (SELECT DISTINCT public_id FROM acked) a JOIN ratings_rating r USING (public_id)"
        )
        acked_stored = cur.fetchone()[0]
        out["stored_not_acked"] = out["stored"] - acked_stored
        cur.execute(
            "SELECT count(*) FROM ratings_rating r WHERE r.grade <= 2 AND NOT r.is_default AND r.client = %s "
            "AND NOT EXISTS (SELECT 1 FROM cases_case c WHERE c.rating_id = r.id)",
            (client,),
        )
        out["bad_without_case"] = cur.fetchone()[0]
        cur.execute("SELECT count(*) FROM ratings_rating WHERE grade <= 2 AND client = %s", (client,))
        out["bad"] = cur.fetchone()[0]
        cur.execute(
            "SELECT count(*) FROM (SELECT rating_id FROM cases_case WHERE rating_id IS NOT NULL "
            "GROUP BY rating_id HAVING count(*) > 1) d"
        )
        out["ratings_with_two_cases"] = cur.fetchone()[0]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=300, help="seconds of load (default 300)")
    parser.add_argument("--kill", action="store_true", help="SIGKILL server and worker at 1/3 and 2/3, restart")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--workers", type=int, default=2, help="granian app processes (default 2)")
    parser.add_argument("--ref-duration", type=int, default=15, help="seconds per reference run (default 15)")
    parser.add_argument("--case-rate", type=int, default=1500, help="办件 registered per second of load")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="admin URL used to create and drop the bench database",
    )
    parser.add_argument("--redis", default="redis://127.0.0.1:6379", help="Redis server (a free db number is used)")
    parser.add_argument(
        "--ref-dir",
        default=os.environ.get("REF_INTAKE_DIR", os.path.join(ROOT, "..", "shared", "bench")),
        help="folder of ref_intake.py",
    )
    parser.add_argument(
        "--uvicorn",
        default=os.environ.get("UVICORN", shutil.which("uvicorn") or "/tmp/benchvenv/bin/uvicorn"),
        help="uvicorn of a separate venv for the shared reference server (skipped when missing)",
    )
    parser.add_argument("--port", type=int, default=8790, help="first port (default 8790; the reference uses +1)")
    args = parser.parse_args()

    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install -y wrk")
    use_ref = os.path.exists(args.uvicorn or "") and os.path.exists(os.path.join(args.ref_dir, "ref_intake.py"))
    ports = [args.port, args.port + 1]
    busy = [p for p in ports if not port_free(p)]
    if busy:
        sys.exit(f"ports in use: {busy} (--port)")

    redis_db = free_redis_db(args.redis)
    queue_url = f"{args.redis}/{redis_db}"
    logdir = tempfile.mkdtemp(prefix="hcp-bench-load-")
    outdir = os.path.join(logdir, "answers")
    os.makedirs(outdir)
    env, data_dir, url = benchworld.bench_environ(postgres_admin_url=args.postgres, label="load")
    env["HAOCHAPING_QUEUE_URL"] = queue_url
    run = f"L{int(time.time())}"
    cases = args.duration * args.case_rate
    span = cases // args.threads
    procs: list[Server] = []
    failed = False
    try:
        print(f"seeding PostgreSQL: migrate, directory, {cases:,} 办件 …", flush=True)
        t0 = time.perf_counter()
        info = seed(env, cases)
        print(f"  seeded in {time.perf_counter() - t0:.0f}s; queue {queue_url}", flush=True)
        key = info["key"]
        client = f"key:{key[4:12]}"
        serve_argv = [
            shutil.which("haochaping", path=os.path.dirname(sys.executable)) or "haochaping",
            "serve",
            "--no-migrate",
            "--port",
            str(ports[0]),
            "--workers",
            str(args.workers),
        ]
        worker_argv = [serve_argv[0], "worker"]
        generation = collections.Counter()

        def start_app() -> tuple[Server, Server]:
            generation["n"] += 1
            g = generation["n"]
            server = Server(f"serve-{g}", ports[0], env=env, key=key)
            worker = Server(f"worker-{g}", 0, env=env)
            start(server, serve_argv, env, logdir)
            start(worker, worker_argv, env, logdir)
            procs.extend([server, worker])
            wait_ready(server, "/healthz")
            return server, worker

        server, worker = start_app()
        ref = None
        if use_ref:
            ref = Server("reference", ports[1])
            start(
                ref,
                [args.uvicorn, "--app-dir", args.ref_dir, "--workers", "2", "--log-level", "warning"]
                + ["--no-access-log", "--host", "127.0.0.1", "--port", str(ref.port), "ref_intake:app"],
                dict(os.environ, REF_DB=os.path.join(logdir, "ref.sqlite3")),
                logdir,
            )
            procs.append(ref)
            wait_ready(ref, "/noop")

        print(f"references, {args.ref_duration}s each …", flush=True)
        refs = {"healthz": run_wrk(args, server.base + "/healthz", args.ref_duration)[0]}
        if ref is not None:
            shared_lua = os.path.join(args.ref_dir, "rating.lua")
            refs["ref_post"] = run_wrk(args, ref.base + "/ratings", args.ref_duration, script=shared_lua)[0]
            stop(ref)
        for name, r in refs.items():
            flag = f"  NON-2xx {r['non2xx']}" if r["non2xx"] else ""
            print(f"  {name:<10} {r['rps']:>9,.0f} req/s  p50 {r['p50_ms']} ms  p99 {r['p99_ms']} ms{flag}", flush=True)

        killing = ", kill at 1/3 and 2/3" if args.kill else ""
        print(f"load: {args.duration}s, wrk -t{args.threads} -c{args.connections}{killing}", flush=True)
        argv = wrk_argv(
            args,
            server.base + "/api/v1/ratings",
            args.duration,
            script=LUA,
            script_args=[outdir, run, str(span)],
            headers=[f"Authorization: Bearer {key}"],
        )
        wrk_log = os.path.join(logdir, "wrk.out")
        started = time.monotonic()
        with open(wrk_log, "w") as fh:
            load = subprocess.Popen(argv, stdout=fh, stderr=subprocess.STDOUT)
            kills = []
            if args.kill:
                for fraction in (1 / 3, 2 / 3):
                    time.sleep(max(0.0, started + args.duration * fraction - time.monotonic()))
                    at = time.monotonic() - started
                    kill_group(server.proc)
                    kill_group(worker.proc)
                    down = time.monotonic()
                    server, worker = start_app()
                    kills.append((round(at, 1), round(time.monotonic() - down, 1)))
                    print(f"  killed at {at:.0f}s; serving again after {time.monotonic() - down:.1f}s", flush=True)
            load.wait(timeout=args.duration + 120)
        out = open(wrk_log).read()
        result = parse_wrk(out)
        # Let the worker finish what the last requests queued, then stop everything before the checks.
        time.sleep(2)
        stop(server)
        stop(worker)

        statuses, acked = read_answers(outdir)
        checks = check_database(url, client=client, run=run, acked=acked, sent_by_thread=result["sent_by_thread"])
        seal = haochaping(env, "seal")
        verify = haochaping(env, "verify", "--no-record")
        rollups = haochaping(env, "rollups", "verify")

        print()
        print(out.strip())
        print()
        print(
            f"== intake under load{' (killed twice)' if args.kill else ''} · PostgreSQL · {platform.node()} · "
            f"{os.cpu_count()} CPUs · Python {platform.python_version()}"
        )
        print(
            f"   serve --workers {args.workers} (granian) + worker (huey on Redis db {redis_db}); wrk on the same cores"
        )
        print(
            f"   load: {result['rps']:,.0f} req/s  p50 {result['p50_ms']} ms  p90 {result['p90_ms']} ms  "
            f"p99 {result['p99_ms']} ms  ({result['requests']:,} answered, {result['sent']:,} sent)"
        )
        print(f"   statuses: {dict(sorted(statuses.items()))}  socket errors: {result['socket_errors']}")
        if kills:
            print(f"   kills (at s, down for s): {kills}")
        hz = refs["healthz"]["rps"]
        print(f"   reference GET /healthz (same server): {hz:,.0f} req/s → load / healthz = {result['rps'] / hz:.2f}")
        if "ref_post" in refs:
            rp = refs["ref_post"]["rps"]
            print(f"   reference server POST /ratings: {rp:,.0f} req/s → load / ref POST = {result['rps'] / rp:.2f}")
        print("   exactly-once:")
        for k, v in checks.items():
            print(f"     {k:<24} {v:,}")
        must_be_zero = (
            "acked_without_id",
            "acked_twice",
            "acked_lost",
            "acked_stored_twice",
            "keys_stored_twice",
            "stored_never_sent",
            "stored_without_key",
            "bad_without_case",
            "ratings_with_two_cases",
        )
        bad = [k for k in must_be_zero if checks[k]]
        for label, proc in (("seal", seal), ("verify", verify), ("rollups verify", rollups)):
            tail = (proc.stdout + proc.stderr).strip().splitlines()[-1:] or [""]
            print(f"   haochaping {label:<15} exit {proc.returncode}  {tail[0][:140]}")
            if proc.returncode != 0:
                bad.append(label)
        if not result["requests"] or checks["acked"] == 0:
            bad.append("no acknowledged ratings")
        other = {s: n for s, n in statuses.items() if s not in (200, 201)}
        if other:
            bad.append(f"non-2xx answers {other}")
        print(f"   RESULT: {'FAIL ' + ', '.join(bad) if bad else 'OK'}")
        failed = bool(bad)
        return 1 if failed else 0
    finally:
        for p in procs:
            stop(p)
        try:
            import redis

            redis.Redis.from_url(queue_url).flushdb()
        except Exception as exc:  # noqa: BLE001 - clean-up must not hide the result
            print(f"(could not flush {queue_url}: {exc})")
        if url:
            benchworld.drop_postgres_database(args.postgres, url)
        shutil.rmtree(data_dir, ignore_errors=True)
        if failed:
            print(f"   logs kept in {logdir}")
        else:
            shutil.rmtree(logdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
