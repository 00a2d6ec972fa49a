"""Intake killed under load: a SIGKILLed production server loses no acknowledged rating, stores none twice.

CI-sized twin of bench/load_intake.py --kill. A real `haochaping serve --workers 2` (granian) on a database
of its own — a temp SQLite file, or, when the suite runs on PostgreSQL, a database hcp_kill_<pid> created and
dropped here — takes single rating POSTs from a few threads; its whole process group is SIGKILLed mid-stream
and restarted; the requests that got no answer are retried with their idempotency keys. Then, in the
database: every acknowledged rating is stored exactly once, no key is stored twice, nothing is stored that
was not sent, and `haochaping seal` + `haochaping verify` pass.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BENCHWORLD = ROOT / "bench" / "benchworld.py"
HAOCHAPING = shutil.which("haochaping", path=os.path.dirname(sys.executable)) or "haochaping"
CASES = 4000
THREADS = 4
RUN = f"kill{os.getpid()}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Database:
    """The server's own database: a migrated temp SQLite file or a PostgreSQL database made for this test."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        suite_url = os.environ.get("DATABASE_URL", "")
        self.pg_admin = None
        self.url = None
        if suite_url.startswith(("postgres://", "postgresql://")):
            import psycopg

            parts = urlsplit(suite_url)
            self.pg_admin = urlunsplit(parts._replace(path="/postgres"))
            name = f"hcp_kill_{os.getpid()}"
            with psycopg.connect(self.pg_admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                conn.execute(f'CREATE DATABASE "{name}"')
            self.url = urlunsplit(parts._replace(path="/" + name))

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST")}
        env.pop("DATABASE_URL", None)
        env.update(
            HAOCHAPING_TESTING="1",
            HAOCHAPING_DATA_DIR=str(self.data_dir),
            DJANGO_SETTINGS_MODULE="haochaping.settings",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            SECURE_SSL_REDIRECT="false",
            LOG_LEVEL="WARNING",
        )
        if self.url:
            env["DATABASE_URL"] = self.url
        return env

    def rows(self, sql: str, params: tuple = ()) -> list[tuple]:
        if self.url:
            import psycopg

            with psycopg.connect(self.url) as conn:
                return conn.execute(sql.replace("?", "%s"), params).fetchall()
        conn = sqlite3.connect(self.data_dir / "haochaping.sqlite3")
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def drop(self) -> None:
        if self.url:
            import psycopg

            with psycopg.connect(self.pg_admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{urlsplit(self.url).path[1:]}" WITH (FORCE)')


class App:
    def __init__(self, env: dict, log: Path):
        self.env, self.log, self.port = env, log, _free_port()
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        with open(self.log, "ab") as log:
            # A session of its own: killing its process group reaches granian's workers and nothing else.
            self.proc = subprocess.Popen(
                [HAOCHAPING, "serve", "--workers", "2", "--no-migrate", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"server exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(self.base + "/api/v1/ping", timeout=2) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        pytest.fail(f"server not ready after 60 s: {self.log.read_text()[-2000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=5)


@pytest.fixture
def killable(tmp_path):
    db = Database(tmp_path)
    env = db.env()
    try:
        seeded = subprocess.run(
            [sys.executable, str(BENCHWORLD), "--cases", str(CASES)],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert seeded.returncode == 0, seeded.stderr[-3000:]
        key = json.loads(seeded.stdout.strip().splitlines()[-1])["key"]
        app = App(env, tmp_path / "serve.log")
        yield db, app, key
    finally:
        if "app" in locals():
            app.kill(signal.SIGTERM)
        db.drop()


class Poster(threading.Thread):
    """POSTs unique ratings (case-bound, some 差评, and walk-in) until told to stop; keeps every answer."""

    def __init__(self, n: int, app: App, key: str, stop: threading.Event):
        super().__init__(daemon=True)
        self.n, self.app, self.key, self.stop = n, app, key, stop
        self.acked: list[str] = []
        self.unanswered: list[dict] = []
        self.other: list[int] = []
        self.retried: dict[int, int] = {}  # answers to requests sent again after getting no answer
        self.interrupted = 0
        self.sent = 0

    def body(self, i: int) -> dict:
        key = f"{RUN}-{self.n}-{i}"
        if i % 3 == 2:
            return {"window": {"hall": "H330102", "code": f"{i % 20 + 1:02d}"}, "grade": "satisfied",
                    "channel": "hall_tablet", "idempotency_key": key}  # fmt: skip
        case = self.n * (CASES // THREADS) + i
        grade = "dissatisfied" if i % 5 == 0 else "very_satisfied"
        return {"case_no": f"BENCH{case:09d}", "grade": grade, "channel": "hall_tablet", "idempotency_key": key}

    def post(self, body: dict) -> int | None:
        request = urllib.request.Request(
            self.app.base + "/api/v1/ratings",
            data=json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                answer = json.loads(r.read())
                self.acked.append(answer["rating_id"])
                return r.status
        except urllib.error.HTTPError as exc:
            return exc.code
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            return None

    def run(self) -> None:
        # A careful client: a request that got no answer is sent again, same body and key, until answered.
        i, body, failed = 0, None, False
        while True:
            if body is None:
                if self.stop.is_set() or i >= CASES // THREADS:
                    return
                body, failed = self.body(i), False
                i += 1
                self.sent = i
            status = self.post(body)
            if status is None:
                if not failed:
                    self.interrupted += 1
                    failed = True
                if self.stop.is_set():
                    self.unanswered.append(body)
                    return
                time.sleep(0.2)  # the server is down: do not spin
                continue
            if failed:
                self.retried[status] = self.retried.get(status, 0) + 1
            elif status not in (200, 201):
                self.other.append(status)
            body = None


def test_killed_server_loses_no_acknowledged_rating_and_stores_none_twice(killable):
    db, app, key = killable
    app.start()
    stop = threading.Event()
    posters = [Poster(n, app, key, stop) for n in range(THREADS)]
    for p in posters:
        p.start()
    time.sleep(2)
    before_kill = sum(len(p.acked) for p in posters)
    app.kill()  # SIGKILL the whole process group mid-stream
    app.start()
    time.sleep(2)
    stop.set()
    for p in posters:
        p.join(timeout=30)
    assert before_kill > 0, "no rating acknowledged before the kill"
    assert sum(len(p.acked) for p in posters) > before_kill, "nothing acknowledged after the restart"
    assert sum(p.interrupted for p in posters) > 0, "the kill hit no request in flight"
    for p in posters:  # the last requests, if the server stopped answering as the clients stopped
        for body in p.unanswered:
            assert p.post(body) in (200, 201)
    app.kill(signal.SIGTERM)
    retried: dict[int, int] = {}
    for p in posters:
        for status, n in p.retried.items():
            retried[status] = retried.get(status, 0) + n
    # 200: stored before the kill though its answer was lost; 201: stored only now. Nothing else.
    assert set(retried) <= {200, 201}, retried
    assert all(not p.other for p in posters), [p.other for p in posters]
    print(f"acknowledged before the kill {before_kill}, in all {sum(len(p.acked) for p in posters)}; retried {retried}")

    acked = [a for p in posters for a in p.acked]
    assert len(acked) == len(set(acked)), "one rating acknowledged twice"
    client = f"key:{key[4:12]}"
    stored = db.rows("SELECT public_id, idempotency_key FROM ratings_rating WHERE client = ?", (client,))
    by_id = {}
    for public_id, _key in stored:
        pid = str(public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(str(public_id)))
        by_id[pid] = by_id.get(pid, 0) + 1
    assert [a for a in acked if by_id.get(a) != 1] == [], "acknowledged ratings lost or stored twice"
    keys = [k for _, k in stored]
    assert len(keys) == len(set(keys)), "an idempotency key stored twice"
    sent = {p.n: p.sent for p in posters}
    assert all(k.startswith(RUN + "-") and int(k.split("-")[2]) < sent[int(k.split("-")[1])] for k in keys)
    # Every request that got an answer or a retried answer is stored: nothing acknowledged is missing.
    assert len(stored) == len(acked)
    bad_without_case = db.rows(
        "SELECT count(*) FROM ratings_rating r WHERE r.grade <= 2 AND r.client = ? "
        "AND NOT EXISTS (SELECT 1 FROM cases_case c WHERE c.rating_id = r.id)",
        (client,),
    )[0][0]
    assert bad_without_case == 0

    for argv in (["seal"], ["verify", "--no-record"]):
        done = subprocess.run([HAOCHAPING, *argv], env=app.env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
