#!/usr/bin/env python
"""Single-rating HTTP POSTs through the production server, against a no-op and the shared reference server.

    .venv/bin/python bench/intake_http.py                 # SQLite and PostgreSQL, 10 s per wrk run
    .venv/bin/python bench/intake_http.py --no-postgres --duration 5

Starts, on 127.0.0.1 only:
- the reference server (../shared/bench/ref_intake.py on uvicorn --workers 2, its own SQLite file);
- ``haochaping serve`` (granian WSGI, haochaping.wsgi.application = IntakeFastPath + Django) on a fresh
  SQLite database, and another on a fresh PostgreSQL database (created from --postgres, dropped after);
- a twin of the SQLite server with the same granian command line whose WSGI app answers /bench/noop before
  anything else (bench/noop_wsgi.py): the cost of granian plus one WSGI call.

Then runs wrk (bench/rating.lua) per target: the no-op, unique case-bound ratings (one per registered 办件)
and walk-in window ratings, and prints req/s with the ratios: rating POST / the Django no-op
(GET /api/v1/ping) on the same server, and / the reference server's rating POST. Every server is stopped
and the bench databases are removed at the end. wrk shares the machine's cores with the servers.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import benchworld  # noqa: E402

LUA = os.path.join(HERE, "rating.lua")


@dataclass
class Server:
    name: str
    port: int
    proc: subprocess.Popen | None = None
    env: dict = field(default_factory=dict)
    key: str = ""
    log: str = ""

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start(server: Server, argv: list[str], env: dict, logdir: str) -> None:
    server.log = os.path.join(logdir, f"{server.name.replace(' ', '_')}.log")
    with open(server.log, "wb") as log:
        # A session of its own, so stopping it reaches the workers it forks and nothing else.
        server.proc = subprocess.Popen(
            argv, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def stop(server: Server) -> None:
    if server.proc is None or server.proc.poll() is not None:
        return
    try:
        os.killpg(server.proc.pid, signal.SIGTERM)
        server.proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(server.proc.pid, signal.SIGKILL)
        server.proc.wait(timeout=5)
    except ProcessLookupError:
        pass


def wait_ready(server: Server, path: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc and server.proc.poll() is not None:
            raise RuntimeError(f"{server.name} exited; see {server.log}:\n{open(server.log).read()[-2000:]}")
        try:
            with urllib.request.urlopen(server.base + path, timeout=2) as resp:
                if resp.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{server.name} not ready after {timeout}s; see {server.log}")


def port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def wrk(args, url: str, *, script: str | None = None, script_args: list[str] = (), headers: list[str] = ()) -> dict:
    argv = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s", "--latency"]
    for h in headers:
        argv += ["-H", h]
    if script:
        argv += ["-s", script]
    argv.append(url)
    if script_args:
        argv += ["--", *script_args]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration + 60).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", out)
    total = re.search(r"(\d+) requests in", out)
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", out)
    errors = re.search(r"Socket errors:.*", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}
    return {
        "rps": float(rps.group(1)) if rps else 0.0,
        "requests": int(total.group(1)) if total else 0,
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "p50_ms": round(float(p50.group(1)) * scale[p50.group(2)], 2) if p50 else None,
        "socket_errors": errors.group(0) if errors else "",
    }


def seed(env: dict, cases: int) -> dict:
    out = subprocess.run(
        [sys.executable, os.path.join(HERE, "benchworld.py"), "--cases", str(cases)],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (default 16)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads (default 1)")
    parser.add_argument("--rounds", type=int, default=1, help="repeat the whole sequence (default 1)")
    parser.add_argument("--workers", type=int, default=None, help="granian workers (default: serve's default)")
    parser.add_argument("--server-threads", type=int, default=None, help="granian blocking threads per worker")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL server")
    parser.add_argument("--no-sqlite", action="store_true", help="skip the SQLite server")
    parser.add_argument(
        "--postgres",
        default=os.environ.get("BENCH_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="admin URL used to create and drop the bench database",
    )
    parser.add_argument(
        "--ref-dir",
        default=os.environ.get("REF_INTAKE_DIR", os.path.join(ROOT, "..", "shared", "bench")),
        help="folder of ref_intake.py",
    )
    parser.add_argument(
        "--uvicorn",
        default=os.environ.get("UVICORN", shutil.which("uvicorn") or "/tmp/benchvenv/bin/uvicorn"),
        help="uvicorn executable of a separate venv with uvicorn[standard]",
    )
    parser.add_argument("--max-rate", type=int, default=15000, help="办件 reserved per second of a case run")
    parser.add_argument("--port", type=int, default=8780, help="first port to use (default 8780)")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()

    for tool, path in (("wrk", shutil.which("wrk")), ("uvicorn", args.uvicorn)):
        if not path or not os.path.exists(path):
            sys.exit(
                f"{tool} not found: apt-get install wrk; uvicorn: python3 -m venv /tmp/v && "
                "/tmp/v/bin/pip install 'uvicorn[standard]', then --uvicorn /tmp/v/bin/uvicorn"
            )
    if not os.path.exists(os.path.join(args.ref_dir, "ref_intake.py")):
        sys.exit(f"ref_intake.py not found in {args.ref_dir} (--ref-dir)")
    ports = [args.port + i for i in range(5)]
    busy = [p for p in ports if not port_free(p)]
    if busy:
        sys.exit(f"ports in use: {busy} (--port)")

    span = args.duration * args.max_rate * args.threads  # 办件 one case run may use
    cases = span * args.rounds
    logdir = tempfile.mkdtemp(prefix="hcp-bench-http-")
    servers: list[Server] = []
    cleanup: list = []
    serve_opts = []
    if args.workers:
        serve_opts += ["--workers", str(args.workers)]
    if args.server_threads:
        serve_opts += ["--threads", str(args.server_threads)]
    haochaping = shutil.which("haochaping", path=os.path.dirname(sys.executable)) or "haochaping"
    try:
        ref = Server("reference", ports[0])
        ref_env = dict(os.environ, REF_DB=os.path.join(logdir, "ref.sqlite3"))
        start(
            ref,
            [
                args.uvicorn,
                "--app-dir",
                args.ref_dir,
                "--workers",
                "2",
                "--log-level",
                "warning",
                "--no-access-log",
                "--host",
                "127.0.0.1",
                "--port",
                str(ref.port),
                "ref_intake:app",
            ],
            ref_env,
            logdir,
        )
        servers.append(ref)

        targets: list[Server] = []
        dbs = [("SQLite", None)] if not args.no_sqlite else []
        if not args.no_postgres:
            dbs.append(("PostgreSQL", args.postgres))
        if not dbs:
            sys.exit("nothing to measure: --no-sqlite and --no-postgres")
        for i, (label, admin) in enumerate(dbs):
            env, data_dir, url = benchworld.bench_environ(postgres_admin_url=admin, label=f"http{i}")
            cleanup.append((data_dir, admin, url))
            print(f"seeding {label}: migrate, directory, {cases:,} 办件 …", flush=True)
            info = seed(env, cases)
            server = Server(f"haochaping {label}", ports[1 + i], env=env, key=info["key"])
            start(server, [haochaping, "serve", "--no-migrate", "--port", str(server.port), *serve_opts], env, logdir)
            servers.append(server)
            targets.append(server)
        wait_ready(ref, "/noop")
        for server in targets:
            wait_ready(server, "/api/v1/ping")
        # The fast-path-layer no-op twin: the first server's environment and granian command line, app
        # bench/noop_wsgi. Started once `serve` has collected the static files the twin's Django reads.
        from haochaping.web.management.commands.serve import granian_argv

        twin = Server("fast-path no-op", ports[3], env=dict(targets[0].env, PYTHONPATH=os.pathsep.join([HERE, ROOT])))
        workers = args.workers or os.cpu_count() or 2
        threads = args.server_threads or int(os.environ.get("WEB_THREADS", 4))
        argv = granian_argv(
            host="127.0.0.1", port=twin.port, workers=workers, threads=threads, app="noop_wsgi:application"
        )
        start(twin, argv, twin.env, logdir)
        servers.append(twin)
        wait_ready(twin, "/bench/noop")
        # A twin of the first server without the analytics rollup hook (bench/without_hooks_wsgi.py), same
        # database: walk-in POSTs on both show what keeping the rollups costs a single rating.
        bare = Server(
            "without rollups",
            ports[4],
            env=dict(targets[0].env, PYTHONPATH=os.pathsep.join([HERE, ROOT]), HCP_BENCH_WITHOUT="rollups"),
            key=targets[0].key,
        )
        argv = granian_argv(
            host="127.0.0.1", port=bare.port, workers=workers, threads=threads, app="without_hooks_wsgi:application"
        )
        start(bare, argv, bare.env, logdir)
        servers.append(bare)
        wait_ready(bare, "/api/v1/ping")
        print("servers ready; each wrk run takes", args.duration, "s", flush=True)

        runs: dict[str, list[dict]] = {}

        def record(name: str, result: dict) -> None:
            runs.setdefault(name, []).append(result)
            flag = f"  NON-2xx {result['non2xx']}" if result["non2xx"] else ""
            print(f"  {name:<44} {result['rps']:>10,.0f} req/s  p50 {result['p50_ms']} ms{flag}", flush=True)

        shared_lua = os.path.join(args.ref_dir, "rating.lua")
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}", flush=True)
            record("reference · GET /noop", wrk(args, ref.base + "/noop"))
            record("reference · POST /ratings", wrk(args, ref.base + "/ratings", script=shared_lua))
            record("fast-path layer no-op · GET /bench/noop", wrk(args, twin.base + "/bench/noop"))
            for server in targets:
                auth = [f"Authorization: Bearer {server.key}"]
                db = server.name.split()[-1]
                record(f"{db} · Django no-op · GET /api/v1/ping", wrk(args, server.base + "/api/v1/ping"))
                first = r * span
                record(
                    f"{db} · POST /api/v1/ratings (办件)",
                    wrk(
                        args,
                        server.base + "/api/v1/ratings",
                        script=LUA,
                        script_args=["case", str(first), str(args.duration * args.max_rate), f"c{r}"],
                        headers=auth,
                    ),
                )
                record(
                    f"{db} · POST /api/v1/ratings (walk-in)",
                    wrk(
                        args,
                        server.base + "/api/v1/ratings",
                        script=LUA,
                        script_args=["walkin", "0", "0", f"w{r}"],
                        headers=auth,
                    ),
                )
                if server is targets[0]:
                    record(
                        f"{db} · POST /api/v1/ratings (walk-in, without rollups)",
                        wrk(
                            args,
                            bare.base + "/api/v1/ratings",
                            script=LUA,
                            script_args=["walkin", "0", "0", f"b{r}"],
                            headers=auth,
                        ),
                    )
        report(args, runs, [t.name.split()[-1] for t in targets], first_db=targets[0].name.split()[-1])
        if args.json:
            with open(args.json, "w") as fh:
                json.dump(runs, fh, indent=2, ensure_ascii=False)
        return 0 if all(x["non2xx"] == 0 and x["rps"] > 0 for v in runs.values() for x in v) else 1
    finally:
        for server in servers:
            stop(server)
        for data_dir, admin, url in cleanup:
            shutil.rmtree(data_dir, ignore_errors=True)
            if url:
                benchworld.drop_postgres_database(admin, url)
        shutil.rmtree(logdir, ignore_errors=True)


def report(args, runs: dict[str, list[dict]], dbs: list[str], first_db: str = "") -> None:
    def best(name: str) -> float:
        # Best of the rounds: on a shared machine the slow runs measure the neighbours, not the code.
        return max(x["rps"] for x in runs[name])

    ref_post = best("reference · POST /ratings")
    ref_noop = best("reference · GET /noop")
    layer = best("fast-path layer no-op · GET /bench/noop")
    print()
    print(f"== single-rating POST · {platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()}")
    print(f"   wrk -t{args.threads} -c{args.connections} -d{args.duration}s on the same cores; best of {args.rounds}")
    print(f"   {'':<36} {'req/s':>9} {'/ no-op':>8} {'/ layer':>8} {'/ ref POST':>10}")
    print(f"   {'reference GET /noop':<36} {ref_noop:>9,.0f}")
    print(f"   {'reference POST /ratings':<36} {ref_post:>9,.0f} {ref_post / ref_noop:>8.2f} {'':>8} {1:>10.2f}")
    print(f"   {'fast-path layer no-op /bench/noop':<36} {layer:>9,.0f}")
    for db in dbs:
        noop = best(f"{db} · Django no-op · GET /api/v1/ping")
        print(f"   {db + ' Django no-op /api/v1/ping':<36} {noop:>9,.0f}")
        for kind in ("办件", "walk-in"):
            rps = best(f"{db} · POST /api/v1/ratings ({kind})")
            label = f"{db} POST rating ({kind})"
            print(f"   {label:<36} {rps:>9,.0f} {rps / noop:>8.2f} {rps / layer:>8.2f} {rps / ref_post:>10.2f}")
    if first_db:
        with_rollups = best(f"{first_db} · POST /api/v1/ratings (walk-in)")
        without = best(f"{first_db} · POST /api/v1/ratings (walk-in, without rollups)")
        print(
            f"   {first_db + ' walk-in without rollups':<36} {without:>9,.0f}   with rollups: "
            f"{with_rollups / without:.2f} of it (goal ≥ 0.80)"
        )
    print("   / no-op: the Django no-op (GET /api/v1/ping) on the same server, the headline ratio;")
    print("   / layer: the fast-path-layer no-op (granian + one WSGI call); / ref POST: the reference's POST.")


if __name__ == "__main__":
    sys.exit(main())
