#!/usr/bin/env python
"""Three installations chained on one machine: two counties → a city → the province, each with its own database.

    .venv/bin/python bench/chainlab.py run                          # SQLite files, 3,000 ratings per county
    .venv/bin/python bench/chainlab.py run --postgres --ratings 50000 --kill
    .venv/bin/python bench/chainlab.py run --postgres postgres://user@host:5432/admin_db

What it does (tests/test_exchange_chain.py runs the same at CI scale):
1. four databases (SQLite files, or PostgreSQL databases created from one migrated template and dropped at the end);
2. the same region tree everywhere; each county's departments, halls and 事项 only in that county's installation
   (the city and the province learn them from the records, as they would in practice);
3. the province registers the city as a subordinate platform, the city registers both counties
   (`haochaping exchange register`), and the city and province serve HTTP (`haochaping serve`);
4. a day of ratings in each county through the intake path (case-bound and walk-in, 差评 that open cases, one
   not-adopted decision each), so each rating is queued in the outbox in the transaction that stores it;
5. `haochaping exchange push` county → city, then city → province. With --kill: the county's push is SIGKILLed once
   it has delivered a batch, then pushed again; the city's server is SIGKILLed while the other county pushes (that
   push fails and backs off), restarted, and the push repeated; the city's push to the province is killed too;
6. the proof: each county's figures (rollup counts per region and grade, active / default / set aside) equal the
   city's and the province's figures for that county; the city's and the province's totals for the city equal
   the sum of the counties'; every rating is stored once at each level (public ids); `haochaping rollups verify`
   and `haochaping verify` pass everywhere.

Run as a script under one node's environment it also does the per-node work (`seed-directory`, `seed-ratings`,
`figures`); the harness calls itself that way, since every installation is its own Django process.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
VENV_BIN = os.path.dirname(sys.executable)
HAOCHAPING = shutil.which("haochaping", path=VENV_BIN) or "haochaping"

PROVINCE, CITY = "330000000000", "330100000000"
COUNTIES = {"county-a": ("330102000000", "上城区"), "county-b": ("330105000000", "拱墅区")}
REGION_NAMES = {PROVINCE: "浙江省", CITY: "杭州市", **{code: name for code, name in COUNTIES.values()}}


# --- per-node work (run inside one installation's Django) -------------------------------------------------


def _django() -> None:
    sys.path.insert(0, ROOT)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haochaping.settings")
    import django

    django.setup()


def seed_directory(role: str) -> dict:
    """Regions everywhere; a county's agency, departments, hall, windows, staff and 事项 only at that county."""
    from haochaping.directory.models import Hall, Organisation, Region, ServiceItem, Staff, Window
    from haochaping.lib.uscc import make_uscc

    province = Region.objects.create(code=PROVINCE, name=REGION_NAMES[PROVINCE])
    city = Region.objects.create(code=CITY, name=REGION_NAMES[CITY], parent=province)
    regions = {code: Region.objects.create(code=code, name=name, parent=city) for code, name in COUNTIES.values()}
    own = {"province": province, "city": city}.get(role) or regions[COUNTIES[role][0]]
    r6 = own.code[:6]
    agency = Organisation.objects.create(
        uscc=make_uscc("1", "1", r6, "00000001"), name=f"{own.name}政务服务管理办公室", kind="agency", region=own
    )
    if role not in COUNTIES:
        return {"region": own.code}
    hall = Hall.objects.create(code=f"H{r6}", name=f"{own.name}政务服务中心", region=own, unit=agency)
    names = ["市场监督管理局", "人力资源和社会保障局", "公安分局"]
    for serial, dept_name in enumerate(names, start=2):
        dept = Organisation.objects.create(
            uscc=make_uscc("1", "1", r6, f"{serial:08d}"), name=f"{own.name}{dept_name}", region=own
        )
        for w in range(2):
            window = Window.objects.create(hall=hall, code=f"{serial}{w}", name=f"{dept_name}{w + 1}号窗口", unit=dept)
            Staff.objects.create(code=f"S{r6}{serial}{w}", name=f"工作人员{serial}{w}", unit=dept, window=window)
        for k in range(2):
            basic = f"00010{serial}00{k}000"
            ServiceItem.objects.create(
                basic_code=basic,
                implementation_code=f"{dept.uscc}{basic}",
                name=f"{dept_name}事项{k + 1}",
                item_type="01" if k == 0 else "20",
                service_objects="1,2",
                unit=dept,
                region=own,
            )
    return {"region": own.code, "units": len(names), "windows": 2 * len(names)}


GRADES = ["very_satisfied"] * 70 + ["satisfied"] * 18 + ["basic"] * 6 + ["dissatisfied"] * 4 + ["very_dissatisfied"] * 2


def seed_ratings(role: str, count: int, day: str, seed: int) -> dict:
    """A day of ratings through the intake path (so the outbox is filled as in production)."""
    from django.utils import timezone

    from haochaping.accounts.scope import Scope
    from haochaping.directory.models import ServiceItem, Window
    from haochaping.ratings import services as rating_services
    from haochaping.ratings.intake import submit_ratings
    from haochaping.ratings.models import Rating, ServiceCase

    rng = random.Random(seed)
    code = COUNTIES[role][0]
    windows = list(
        Window.objects.filter(hall__region__code=code).select_related("hall", "unit").prefetch_related("staff")
    )
    items = {}
    for item in ServiceItem.objects.filter(region__code=code):
        items.setdefault(item.unit_id, []).append(item)
    start = timezone.make_aware(datetime.combine(date.fromisoformat(day), datetime.min.time()))
    cases = []
    for i in range(count // 2):
        window = rng.choice(windows)
        cases.append(
            ServiceCase(
                case_no=f"{code[:6]}-{day.replace('-', '')}-{i:06d}",
                service_item=rng.choice(items[window.unit_id]),
                unit=window.unit,
                region=window.hall.region,
                hall=window.hall,
                window=window,
                staff=window.staff.first(),
                stage="complete",
                status=3,
                applicant_kind=1,
            )
        )
    ServiceCase.objects.bulk_create(cases, batch_size=1000)
    batch: list[dict] = []
    stored = 0
    scope = Scope(kind="all")

    def flush() -> None:
        nonlocal stored
        results = submit_ratings(batch, scope=scope, client="chainlab")
        bad = [r for r in results if r.status != 201]
        if bad:
            raise SystemExit(f"intake refused {len(bad)}: {bad[0].message} {bad[0].errors}")
        stored += len(results)
        batch.clear()

    for i in range(count):
        rated_at = start + timedelta(seconds=rng.randrange(8 * 3600, 18 * 3600), microseconds=rng.randrange(10**6))
        grade = rng.choice(GRADES)
        if i < len(cases):
            item = {"case_no": cases[i].case_no, "channel": "hall_tablet"}
        else:
            window = rng.choice(windows)
            item = {"window": {"hall": window.hall.code, "code": window.code}, "channel": "qr"}
        item.update(grade=grade, rated_at=rated_at.isoformat())
        if grade in ("dissatisfied", "very_dissatisfied"):
            item["comment"] = rng.choice(["等待时间太长", "材料要求说不清楚", "窗口人员态度冷淡"])
        batch.append(item)
        if len(batch) == 1000:
            flush()
    if batch:
        flush()
    # One 差评 set aside after the agency's review (误评): a not-adopted decision travels too.
    bad = Rating.objects.filter(region__code=code, grade__lte=2).order_by("id").first()
    if bad:
        rating_services.rating_set_adoption(bad.id, "not_adopted")
    return {"stored": stored}


SUBORDINATES = {"province": [("city", CITY)], "city": [(c, code) for c, (code, _) in COUNTIES.items()]}


def setup_node(role: str, keys_dir: str) -> dict:
    """The directory, and the subordinate platforms this node registers (their keys written to keys_dir)."""
    from haochaping.directory.models import Region
    from haochaping.exchange.services import subordinate_register

    result = seed_directory(role)
    for code, region in SUBORDINATES.get(role, []):
        _sub, secret = subordinate_register(code=code, name=f"{code} 平台", region=Region.objects.get(code=region))
        with open(os.path.join(keys_dir, code), "w") as f:
            f.write(secret)
    return result


def finish_node() -> dict:
    """Seal what is not sealed yet, then the figures and the two verifications (exit status 0 = passed)."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    call_command("seal", verbosity=0)
    checks = {}
    for name, args in (("rollups verify", ["rollups", "verify"]), ("verify", ["verify", "--no-record"])):
        try:
            call_command(*args, stdout=open(os.devnull, "w"))
            checks[name] = 0
        except (CommandError, SystemExit) as exc:
            checks[name] = getattr(exc, "code", 1) or 1
    return {**figures(), "checks": checks}


def figures() -> dict:
    """Rollup counts per region code (active, default, set aside, per grade) and every rating's public id."""
    from haochaping.analytics.models import UnitDay
    from haochaping.directory.models import Region
    from haochaping.ratings.models import Rating

    codes = dict(Region.objects.values_list("id", "code"))
    names = [f"{kind}_{g}" for kind in ("act", "def", "out") for g in range(1, 6)]
    out: dict[str, dict[str, int]] = {}
    for row in UnitDay.objects.values("region_id", *names):
        target = out.setdefault(codes[row["region_id"]], dict.fromkeys(names, 0))
        for name in names:
            target[name] += row[name]
    ids = sorted(str(p) for p in Rating.objects.values_list("public_id", flat=True))
    return {"regions": out, "ratings": len(ids), "distinct": len(set(ids)), "ids": ids}


def _node_main(argv: list[str]) -> None:
    _django()
    action, *rest = argv
    if action == "setup":
        result = setup_node(rest[0], rest[1])
    elif action == "finish":
        result = finish_node()
    elif action == "seed-ratings":
        result = seed_ratings(rest[0], int(rest[1]), rest[2], int(rest[3]))
    elif action == "figures":
        result = figures()
    else:
        raise SystemExit(f"unknown action {action}")
    print(json.dumps(result, ensure_ascii=False))


# --- the harness ----------------------------------------------------------------------------------------


@dataclass
class Node:
    name: str
    db_url: str
    data_dir: str
    port: int | None = None
    upstream: Node | None = None
    upstream_key: str = ""
    proc: subprocess.Popen | None = None
    log: str = ""
    env_extra: dict = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("HAOCHAPING_", "DATABASE_URL"))}
        env.update(
            DATABASE_URL=self.db_url,
            HAOCHAPING_DATA_DIR=self.data_dir,
            HAOCHAPING_TESTING="1",
            HAOCHAPING_PLATFORM_CODE=self.name,
            PYTHONPATH=ROOT,
            **self.env_extra,
        )
        if self.upstream and self.upstream_key:  # known once the superior has registered this node
            env.update(HAOCHAPING_UPSTREAM_URL=self.upstream.base, HAOCHAPING_UPSTREAM_KEY=self.upstream_key)
        return env


class Chain:
    def __init__(self, workdir: str, *, postgres: str | None, ratings: int, batch: int, base_port: int, log=print):
        self.workdir, self.postgres, self.ratings, self.batch, self.log = workdir, postgres, ratings, batch, log
        self.pg_names: list[str] = []
        self.nodes: dict[str, Node] = {}
        ports = iter(range(base_port, base_port + 100))
        for name in ("province", "city", "county-a", "county-b"):
            data_dir = os.path.join(workdir, name)
            os.makedirs(data_dir, exist_ok=True)
            port = next(p for p in ports if _port_free(p)) if name in ("province", "city") else None
            self.nodes[name] = Node(name, self._db_url(name, data_dir), data_dir, port)
        self.nodes["city"].upstream = self.nodes["province"]
        self.nodes["county-a"].upstream = self.nodes["city"]
        self.nodes["county-b"].upstream = self.nodes["city"]
        for node in self.nodes.values():
            node.env_extra["HAOCHAPING_UPSTREAM_BATCH"] = str(batch)

    # databases
    def _db_url(self, name: str, data_dir: str) -> str:
        if not self.postgres:
            return f"sqlite:///{os.path.join(data_dir, 'haochaping.sqlite3')}"
        db = f"hcp_chain_{os.getpid()}_{name.replace('-', '_')}"
        self.pg_names.append(db)
        return self.postgres.rsplit("/", 1)[0] + "/" + db

    def _pg(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.postgres, autocommit=True) as conn:
            conn.execute(sql)

    def create_databases(self) -> None:
        """Migrate once, then copy: a file copy on SQLite, CREATE DATABASE … TEMPLATE on PostgreSQL."""
        started = time.monotonic()
        template_dir = os.path.join(self.workdir, "template")
        os.makedirs(template_dir, exist_ok=True)
        if self.postgres:
            template = f"hcp_chain_{os.getpid()}_template"
            self.pg_names.append(template)
            self._pg(f'DROP DATABASE IF EXISTS "{template}"')
            self._pg(f'CREATE DATABASE "{template}"')
            url = self.postgres.rsplit("/", 1)[0] + "/" + template
        else:
            url = f"sqlite:///{os.path.join(template_dir, 'haochaping.sqlite3')}"
        tmpl = Node("template", url, template_dir)
        self.haochaping(tmpl, "migrate", "--no-input", "-v0")
        for node in self.nodes.values():
            if self.postgres:
                db = node.db_url.rsplit("/", 1)[1]
                self._pg(f'DROP DATABASE IF EXISTS "{db}"')
                self._pg(f'CREATE DATABASE "{db}" TEMPLATE "{template}"')
            else:
                shutil.copy(url.removeprefix("sqlite:///"), node.db_url.removeprefix("sqlite:///"))
        self.log(f"databases: migrated once and copied ×4 in {time.monotonic() - started:.1f} s")

    def drop_databases(self) -> None:
        for db in self.pg_names:
            try:
                self._pg(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            except Exception as exc:  # noqa: BLE001 - best effort at the end
                self.log(f"could not drop {db}: {exc}")

    # processes
    def haochaping(self, node: Node, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [HAOCHAPING, *args], env=node.env(), cwd=ROOT, capture_output=True, text=True, timeout=1800
        )
        if check and done.returncode != 0:
            raise RuntimeError(f"{node.name}: haochaping {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done

    def script(self, node: Node, *args: str) -> dict:
        return self.scripts([(node, args)])[0]

    def scripts(self, jobs: list[tuple[Node, tuple[str, ...]]]) -> list[dict]:
        """Run this file's node actions, each in its node's environment, all at once (they touch separate DBs)."""
        procs = [
            (node, args, subprocess.Popen([sys.executable, __file__, *args], env=node.env(), cwd=ROOT,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            for node, args in jobs
        ]  # fmt: skip
        results = []
        for node, args, proc in procs:
            out, err = proc.communicate(timeout=3600)
            if proc.returncode != 0:
                raise RuntimeError(f"{node.name}: chainlab {' '.join(args)} failed:\n{out}\n{err}")
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results

    def serve(self, node: Node, *, wait: bool = True) -> None:
        """Start the node's server (unless it runs), and wait until it answers (if asked)."""
        if node.proc is None or node.proc.poll() is not None:
            node.log = os.path.join(self.workdir, f"{node.name}-serve.log")
            with open(node.log, "ab") as log:
                node.proc = subprocess.Popen(
                    [HAOCHAPING, "serve", "--no-migrate", "--no-collectstatic", "--workers", "1", "--threads", "4",
                     "--port", str(node.port)],
                    env=node.env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )  # fmt: skip
        if not wait:
            return
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if node.proc.poll() is not None:
                raise RuntimeError(f"{node.name} server exited:\n{open(node.log).read()[-3000:]}")
            try:
                with urllib.request.urlopen(node.base + "/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{node.name} server not ready; see {node.log}")

    def kill_server(self, node: Node) -> None:
        if node.proc and node.proc.poll() is None:
            os.killpg(node.proc.pid, signal.SIGKILL)
            node.proc.wait(timeout=10)

    def stop_servers(self) -> None:
        for node in self.nodes.values():
            if node.proc and node.proc.poll() is None:
                os.killpg(node.proc.pid, signal.SIGTERM)
                try:
                    node.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    os.killpg(node.proc.pid, signal.SIGKILL)

    def count(self, node: Node, table: str) -> int:
        if self.postgres:
            import psycopg

            with psycopg.connect(node.db_url) as conn:
                return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        with sqlite3.connect(node.db_url.removeprefix("sqlite:///"), timeout=30) as conn:
            return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]

    def push(self, node: Node) -> str:
        return self.haochaping(node, "exchange", "push", "--seconds", "3600").stdout.strip()

    def push_killed(self, node: Node, receiver: Node, after_batches: int = 1) -> dict:
        """Start a push, SIGKILL it once the receiver has taken `after_batches` more batches, then push again."""
        before = self.count(receiver, "exchange_receivedbatch")
        proc = subprocess.Popen(
            [HAOCHAPING, "exchange", "push", "--seconds", "3600"], env=node.env(), cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if self.count(receiver, "exchange_receivedbatch") >= before + after_batches:
                break
            time.sleep(0.02)
        killed = proc.poll() is None
        if killed:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        left = self.count(node, "exchange_outboxentry")
        self.push(node)
        return {"killed_mid_push": killed, "outbox_left_at_kill": left}

    # the scenario
    def run(self, *, kill: bool, day: str) -> dict:
        n = self.nodes
        timings: dict[str, float] = {}
        t0 = time.monotonic()
        self.create_databases()
        keys = os.path.join(self.workdir, "keys")
        os.makedirs(keys, exist_ok=True)
        self.scripts([(node, ("setup", node.name, keys)) for node in n.values()])
        for sub in ("city", "county-a", "county-b"):
            n[sub].upstream_key = open(os.path.join(keys, sub)).read().strip()
        self.serve(n["province"], wait=False)
        self.serve(n["city"])
        self.serve(n["province"])
        timings["setup_s"] = time.monotonic() - t0
        t = time.monotonic()
        self.scripts(
            [(n[county], ("seed-ratings", county, str(self.ratings), day, str(7 + i)))
             for i, county in enumerate(("county-a", "county-b"))]
        )  # fmt: skip
        timings["intake_s"] = time.monotonic() - t
        events: dict[str, object] = {}
        t = time.monotonic()
        if kill:
            events["county-a push"] = self.push_killed(n["county-a"], n["city"])
            # the city's server dies while county B pushes: that push fails and backs off; nothing is lost
            proc = subprocess.Popen(
                [HAOCHAPING, "exchange", "push", "--seconds", "3600"], env=n["county-b"].env(), cwd=ROOT,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
            )  # fmt: skip
            before = self.count(n["city"], "exchange_receivedbatch")
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and proc.poll() is None:
                if self.count(n["city"], "exchange_receivedbatch") > before:
                    break
                time.sleep(0.02)
            self.kill_server(n["city"])
            output, _ = proc.communicate(timeout=600)
            events["county-b push while the city is down"] = {"exit": proc.returncode, "said": output.strip()[-200:]}
            self.serve(n["city"])
            self.push(n["county-b"])
            events["city push"] = self.push_killed(n["city"], n["province"])
        else:
            self.push(n["county-a"])
            self.push(n["county-b"])
            self.push(n["city"])
        timings["push_s"] = time.monotonic() - t
        self.stop_servers()
        finished = dict(zip(n, self.scripts([(node, ("finish",)) for node in n.values()]), strict=True))
        figures = {name: {k: v for k, v in done.items() if k != "checks"} for name, done in finished.items()}
        checks = {
            name: {**finished[name]["checks"], "outbox left": self.count(node, "exchange_outboxentry")}
            for name, node in n.items()
        }
        timings["total_s"] = time.monotonic() - t0
        return {"figures": figures, "checks": checks, "events": events, "timings": timings}


def compare(result: dict) -> list[str]:
    """The proof's assertions; returns the failures (empty = all good)."""
    f = result["figures"]
    failures = []
    a_code, b_code = COUNTIES["county-a"][0], COUNTIES["county-b"][0]
    for level in ("city", "province"):
        for county, code in (("county-a", a_code), ("county-b", b_code)):
            if f[level]["regions"].get(code) != f[county]["regions"].get(code):
                failures.append(f"{level}'s figures for {county} differ from the county's own")
        total = {k: f["county-a"]["regions"][a_code][k] + f["county-b"]["regions"][b_code][k]
                 for k in f["county-a"]["regions"][a_code]}  # fmt: skip
        summed = dict.fromkeys(total, 0)
        for code, counts in f[level]["regions"].items():
            if code in (a_code, b_code):
                for k in summed:
                    summed[k] += counts[k]
        if summed != total:
            failures.append(f"{level}'s total is not the sum of the counties'")
        expected = set(f["county-a"]["ids"]) | set(f["county-b"]["ids"])
        got = set(f[level]["ids"])
        if got != expected:
            failures.append(f"{level} has {len(got - expected)} ratings too many and misses {len(expected - got)}")
        if f[level]["distinct"] != f[level]["ratings"]:
            failures.append(f"{level} stores a rating twice")
    for name, checks in result["checks"].items():
        for check, value in checks.items():
            if value != 0:
                failures.append(f"{name}: {check} = {value}")
    return failures


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _summary(result: dict) -> str:
    f = result["figures"]
    lines = [f"{name:<9} ratings {f[name]['ratings']:>8,}" for name in ("county-a", "county-b", "city", "province")]
    lines += [f"timings: {json.dumps({k: round(v, 1) for k, v in result['timings'].items()})}"]
    lines += [f"events: {json.dumps(result['events'], ensure_ascii=False)}"]
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("setup", "seed-ratings", "figures", "finish"):
        _node_main(sys.argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["run"])
    parser.add_argument("--ratings", type=int, default=3000, help="ratings per county (a day)")
    parser.add_argument("--batch", type=int, default=500, help="records per pushed batch")
    parser.add_argument("--kill", action="store_true", help="SIGKILL pushes and the city's server mid-push")
    parser.add_argument(
        "--postgres", nargs="?", const="postgres://postgres@127.0.0.1:5432/postgres", help="admin URL (else SQLite)"
    )
    parser.add_argument("--port", type=int, default=8310)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="hcp-chain-")
    chain = Chain(workdir, postgres=args.postgres, ratings=args.ratings, batch=args.batch, base_port=args.port)
    day = (date.today() - timedelta(days=1)).isoformat()
    try:
        result = chain.run(kill=args.kill, day=day)
    finally:
        chain.stop_servers()
        if args.postgres:
            chain.drop_databases()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"chain on {'PostgreSQL' if args.postgres else 'SQLite'}, {args.ratings:,} ratings per county, "
          f"batches of {args.batch}{', with kills' if args.kill else ''}")  # fmt: skip
    print(_summary(result))
    failures = compare(result)
    print("OK: province = city = sum of counties; every rating once at each level; verify and rollups pass"
          if not failures else "FAILED:\n  " + "\n  ".join(failures))  # fmt: skip
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
