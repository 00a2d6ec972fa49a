"""Evaluator push (docs/evaluator-push.md): the stream token, the stream endpoint, the NOTIFY on commit, the push
server's ASGI app driven directly, the buses, and the real `haochaping pushserver` end to end."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from http.client import HTTPConnection
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings
from django.core import signing
from django.db import connection, transaction
from django.test import Client

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.evaluator import push, services
from haochaping.evaluator.bus import MemoryBus, PostgresBus, SqliteTailBus, bus_for_settings
from haochaping.evaluator.events import PushServer
from haochaping.evaluator.management.commands.pushserver import pushserver_argv, raise_open_files_limit
from haochaping.evaluator.models import EvaluatorDevice
from tests.conftest import api_client, post_json

EVENTS = "/api/v1/evaluator/device/events"
on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL LISTEN/NOTIFY")


def pair(world, window=None) -> tuple[Client, EvaluatorDevice]:
    _, code = services.pairing_code_create(window=window or world.a.window)
    client = Client()
    r = client.post("/evaluator/pair/", {"code": code})
    assert r.status_code == 302
    return client, EvaluatorDevice.objects.latest("id")


def fake_device(pk=7, window_id=3):
    return SimpleNamespace(pk=pk, window_id=window_id)


# --- the token ---------------------------------------------------------------------------------------------------


def test_the_stream_token_names_the_device_and_window_and_expires(settings, monkeypatch):
    settings.HAOCHAPING_EVALUATOR_STREAM_TTL = 60
    token = push.stream_token(fake_device(7, 3))
    assert push.stream_token_verify(token) == (7, 3)
    device_id, window_id, expires_at = push.stream_token_claims(token)
    assert (device_id, window_id) == (7, 3) and 55 <= expires_at - time.time() <= 61

    later = time.time() + 61
    monkeypatch.setattr(signing.time, "time", lambda: later)
    assert push.stream_token_verify(token) is None


def test_a_tampered_or_foreign_token_is_refused(settings):
    token = push.stream_token(fake_device(7, 3))
    value, stamp, signature = token.split(":")
    assert push.stream_token_verify(f"7.4:{stamp}:{signature}") is None  # another window
    assert push.stream_token_verify(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    # Signed with another salt (any other signed value of the site) is no stream token.
    assert push.stream_token_verify(signing.TimestampSigner(salt="other").sign("7.3")) is None
    assert push.stream_token_verify(signing.TimestampSigner(salt=push.SALT).sign("seven")) is None
    for junk in (None, "", "x" * 500, "a:b", "::"):
        assert push.stream_token_verify(junk) is None
    settings.SECRET_KEY = "another-key-entirely-for-this-test-0123456789"
    assert push.stream_token_verify(token) is None


# --- the Django endpoint -----------------------------------------------------------------------------------------


def test_the_stream_endpoint_gives_a_signed_url_or_404_when_push_is_off(world, settings):
    client, device = pair(world)
    settings.HAOCHAPING_EVALUATOR_EVENTS_URL = ""
    r = client.get("/api/v1/evaluator/device/stream")
    assert r.status_code == 404 and r.json()["message"]

    settings.HAOCHAPING_EVALUATOR_EVENTS_URL = "/api/v1/evaluator/device/events"
    settings.HAOCHAPING_EVALUATOR_STREAM_TTL = 600
    r = client.get("/api/v1/evaluator/device/stream")
    assert r.status_code == 200 and r["Cache-Control"] == "no-store"
    body = r.json()
    assert body["expires_in"] == 600 and body["url"].startswith("/api/v1/evaluator/device/events?t=")
    assert push.stream_token_verify(body["url"].split("?t=")[1]) == (device.pk, world.a.window.pk)

    assert Client().get("/api/v1/evaluator/device/stream").status_code == 401
    device.revoked_at = device.paired_at
    device.save()
    assert client.get("/api/v1/evaluator/device/stream").status_code == 401


def test_the_kiosk_page_may_reach_a_push_server_on_another_origin(world, settings):
    client, _ = pair(world)
    settings.HAOCHAPING_EVALUATOR_EVENTS_URL = "http://127.0.0.1:8001/api/v1/evaluator/device/events"
    assert connect_src(client) == {"'self'", "http://127.0.0.1:8001"}
    settings.HAOCHAPING_EVALUATOR_EVENTS_URL = "/api/v1/evaluator/device/events"
    assert connect_src(client) == {"'self'"}


def connect_src(client) -> set[str]:
    csp = client.get("/evaluator/")["Content-Security-Policy"]
    (directive,) = [d.split()[1:] for d in csp.split(";") if d.split()[:1] == ["connect-src"]]
    return set(directive)


def test_the_stream_endpoint_is_documented(db):
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    assert "get" in paths["/api/v1/evaluator/device/stream"]


# --- NOTIFY on commit --------------------------------------------------------------------------------------------


def listener():
    import psycopg

    from haochaping.evaluator.bus import postgres_params

    conn = psycopg.connect(autocommit=True, **postgres_params())
    conn.execute(f"LISTEN {push.CHANNEL}")
    return conn


def notices(conn, timeout=0.5) -> list[str]:
    return [n.payload for n in conn.notifies(timeout=timeout)]


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_a_push_notifies_on_commit_and_not_on_rollback(world):
    conn = listener()
    try:
        with transaction.atomic():
            prompt = services.prompt_push(window=world.a.window, case_no=None, scope=ALL_SCOPE, source="test")
            assert notices(conn, 0.3) == []  # not before the commit
        assert notices(conn, 2) == [f"{world.a.window.pk} {prompt.pk}"]

        with pytest.raises(RuntimeError), transaction.atomic():
            services.prompt_push(window=world.a.window, case_no=None, scope=ALL_SCOPE, source="test")
            raise RuntimeError("rolled back")
        assert notices(conn, 0.5) == []
    finally:
        conn.close()


def test_nothing_is_notified_on_sqlite(world):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only")
    with transaction.atomic():
        prompt = services.prompt_push(window=world.a.window, case_no=None, scope=ALL_SCOPE, source="test")
    assert prompt.pk  # prompt_published was a no-op, and nothing failed


# --- the ASGI app, driven directly -------------------------------------------------------------------------------


class Conn:
    """One request to the ASGI app: what it sent back, and a switch to disconnect."""

    def __init__(self, server, path=EVENTS, query=b"", method="GET") -> None:
        self.server = server
        self.scope = {"type": "http", "method": method, "path": path, "query_string": query, "headers": []}
        self.messages: list[dict] = []
        self.body = b""
        self.gone = asyncio.Event()
        self.changed = asyncio.Event()
        self._asked = False
        self.broken = False
        self.task = asyncio.create_task(server(self.scope, self.receive, self.send))

    async def receive(self):
        if not self._asked:
            self._asked = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message):
        if self.broken:
            raise OSError("client disconnected")
        self.messages.append(message)
        self.body += message.get("body", b"")
        self.changed.set()

    @property
    def status(self) -> int:
        return self.messages[0]["status"]

    @property
    def headers(self) -> dict:
        return {k.decode(): v.decode() for k, v in self.messages[0]["headers"]}

    @property
    def ended(self) -> bool:
        return any(m["type"] == "http.response.body" and not m.get("more_body") for m in self.messages)

    async def wait_for(self, text: str, timeout=2.0) -> None:
        deadline = time.monotonic() + timeout
        while text.encode() not in self.body:
            self.changed.clear()
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} not in {self.body!r}")
            try:
                await asyncio.wait_for(self.changed.wait(), left)
            except TimeoutError:
                pass


def stream_query(pk=7, window_id=3) -> bytes:
    return f"t={push.stream_token(fake_device(pk, window_id))}".encode()


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_the_app_refuses_a_bad_token_with_401_json():
    async def go():
        server = PushServer(MemoryBus(), heartbeat=60)
        await server.startup()
        for query in (b"", b"t=nonsense", stream_query()[:-2]):
            conn = Conn(server, query=query)
            await conn.task
            assert conn.status == 401 and conn.headers["access-control-allow-origin"] == "*"
            assert json.loads(conn.body)["message"]
        missing = Conn(server, path="/nothing")
        await missing.task
        assert missing.status == 404
        posted = Conn(server, query=stream_query(), method="POST")
        await posted.task
        assert posted.status == 405
        assert server.connections == 0
        await server.shutdown()

    run(go())


def test_the_stream_says_hello_and_delivers_a_prompt_to_its_window_only():
    async def go():
        bus = MemoryBus()
        server = PushServer(bus, heartbeat=60)
        await server.startup()
        mine = Conn(server, query=stream_query(7, 3))
        other = Conn(server, query=stream_query(8, 4))
        await mine.wait_for('event: hello\ndata: {"window": 3}\n\n')
        await other.wait_for("event: hello")
        assert mine.body.startswith(b"retry: 5000\n\n")
        assert mine.status == 200
        assert mine.headers["content-type"].startswith("text/event-stream")
        assert mine.headers["cache-control"] == "no-cache" and mine.headers["x-accel-buffering"] == "no"
        assert mine.headers["access-control-allow-origin"] == "*"
        assert server.connections == 2 and len(server.windows) == 2

        bus.publish(3, 41)
        await mine.wait_for('id: 41\nevent: prompt\ndata: {"id": 41}\n\n')
        bus.publish(3, 41)  # a repeat (a bus catching up) is not sent again
        bus.publish(3, 40)  # nor an older prompt of the window
        bus.publish(99, 50)  # a window nobody listens to
        await asyncio.sleep(0.05)
        assert mine.body.count(b"event: prompt") == 1
        assert b"event: prompt" not in other.body
        assert server.stats()["delivered"] == 1

        health = Conn(server, path="/healthz")
        await health.task
        assert json.loads(health.body) == {
            "status": "ok",
            "connections": 2,
            "windows": 2,
            "delivered": 1,
            "bus": "memory",
            "bus_connected": True,
        }
        mine.gone.set()
        other.gone.set()
        await asyncio.gather(mine.task, other.task)
        assert server.connections == 0 and server.windows == {}
        await server.shutdown()

    run(go())


def test_the_heartbeat_pings_and_an_expired_token_gets_reauth_then_the_end():
    async def go():
        server = PushServer(MemoryBus(), heartbeat=60)
        await server.startup()
        conn = Conn(server, query=stream_query())
        await conn.wait_for("event: hello")
        await server.beat()
        await conn.wait_for(": ping\n\n")
        assert not conn.ended

        (stream,) = server.windows[3]
        await server.beat(now=stream.expires_at + 1)
        await conn.wait_for("event: reauth\ndata: {}\n\n")
        await conn.task
        assert conn.ended and server.connections == 0
        await server.shutdown()

    run(go())


def test_the_heartbeat_task_runs_by_itself():
    async def go():
        server = PushServer(MemoryBus(), heartbeat=0.05)
        await server.startup()
        conn = Conn(server, query=stream_query())
        await conn.wait_for(": ping")
        conn.gone.set()
        await conn.task
        await server.shutdown()

    run(go())


def test_a_window_holds_a_bounded_number_of_streams_the_oldest_ends():
    async def go():
        server = PushServer(MemoryBus(), heartbeat=60, per_window=2)
        await server.startup()
        conns = [Conn(server, query=stream_query(7, 3)) for _ in range(3)]
        for conn in conns:
            await conn.wait_for("event: hello")
        await conns[0].task
        assert conns[0].ended and not conns[2].ended
        assert server.connections == 2
        for conn in conns[1:]:
            conn.gone.set()
        await asyncio.gather(*(c.task for c in conns))
        assert server.connections == 0
        await server.shutdown()

    run(go())


def test_a_send_to_a_gone_client_ends_the_stream():
    async def go():
        server = PushServer(MemoryBus(), heartbeat=60)
        await server.startup()
        conn = Conn(server, query=stream_query())
        await conn.wait_for("event: hello")
        conn.broken = True  # the server did not say http.disconnect; the next send fails instead
        server.deliver(3, 1)
        await conn.task
        assert server.connections == 0 and server.windows == {}
        await server.shutdown()

    run(go())


def test_the_lifespan_starts_and_stops_the_bus():
    async def go():
        server = PushServer(MemoryBus(), heartbeat=60)
        inbox: asyncio.Queue = asyncio.Queue()
        outbox: list[dict] = []

        async def send(message):
            outbox.append(message)

        await inbox.put({"type": "lifespan.startup"})
        await inbox.put({"type": "lifespan.shutdown"})
        await server({"type": "lifespan"}, inbox.get, send)
        assert [m["type"] for m in outbox] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
        assert server.tasks == []

    run(go())


# --- the buses ---------------------------------------------------------------------------------------------------


def test_the_bus_follows_the_database_engine():
    bus = bus_for_settings()
    assert isinstance(bus, PostgresBus if connection.vendor == "postgresql" else SqliteTailBus)


def test_the_tail_bus_reads_rows_added_after_it_started(world):
    bus = SqliteTailBus(interval_ms=50)
    earlier = services.prompt_push(window=world.a.window, case_no=None, scope=ALL_SCOPE, source="test")
    assert bus.read() == [] and bus.last_id == earlier.pk  # starts at the newest: older prompts are not news
    first = services.prompt_push(window=world.a.window, case_no=None, scope=ALL_SCOPE, source="test")
    second = services.prompt_push(window=world.b.window, case_no=None, scope=ALL_SCOPE, source="test")
    assert bus.read() == [(first.pk, world.a.window.pk), (second.pk, world.b.window.pk)]
    assert bus.read() == []


@pytest.mark.django_db(transaction=True)
def test_the_tail_bus_runs_in_its_own_thread(world):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite tail")

    async def go():
        bus = SqliteTailBus(interval_ms=20)
        got: list[tuple[int, int]] = []
        task = asyncio.create_task(bus.run(lambda w, p: got.append((w, p))))
        while bus.last_id is None:
            await asyncio.sleep(0.01)

        def push_one():
            try:
                return services.prompt_push(window=world.a.window, case_no=None, scope=ALL_SCOPE, source="test")
            finally:
                connection.close()

        prompt = await asyncio.to_thread(push_one)
        deadline = time.monotonic() + 5
        while not got and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return prompt, got

    prompt, got = run(go())
    assert got == [(world.a.window.pk, prompt.pk)]


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_the_postgres_bus_listens_and_catches_up_after_a_reconnect(world):
    def push_one(window):
        try:
            return services.prompt_push(window=window, case_no=None, scope=ALL_SCOPE, source="test")
        finally:
            connection.close()  # this thread's own connection: it would keep the test database open

    async def wait_until(predicate, timeout=5):
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "timed out"
            await asyncio.sleep(0.02)

    async def go():
        bus = PostgresBus(quiet_check=0.2)
        got: list[tuple[int, int]] = []
        task = asyncio.create_task(bus.run(lambda w, p: got.append((w, p))))
        await wait_until(lambda: bus.connected)
        first = await asyncio.to_thread(push_one, world.a.window)
        await wait_until(lambda: (world.a.window.pk, first.pk) in got)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

        # Pushed while the listener is away: the catch-up after the reconnect finds it.
        missed = await asyncio.to_thread(push_one, world.b.window)
        task = asyncio.create_task(bus.run(lambda w, p: got.append((w, p))))
        await wait_until(lambda: (world.b.window.pk, missed.pk) in got)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)

    run(go())


# --- the command -------------------------------------------------------------------------------------------------


def test_the_command_runs_granian_asgi_with_room_for_many_streams():
    argv = pushserver_argv(host="0.0.0.0", port=8010, workers=1, max_connections=30000)
    assert argv[-1] == "haochaping.evaluator.events:app"
    assert argv[argv.index("--interface") + 1] == "asgi" and "--no-ws" in argv
    assert argv[argv.index("--backpressure") + 1] == "30000" and argv[argv.index("--http") + 1] == "1"
    import resource

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert raise_open_files_limit() == (hard if hard != resource.RLIM_INFINITY else raise_open_files_limit())
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# --- end to end: the real push server in a subprocess ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PushServerProcess:
    def __init__(self, database_url: str, tmp_path) -> None:
        self.port = free_port()
        haochaping = shutil.which("haochaping", path=os.path.dirname(sys.executable))
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "SECRET_KEY": django_settings.SECRET_KEY,
            "HAOCHAPING_TESTING": "1",
            "HAOCHAPING_DATA_DIR": str(tmp_path),
            "HAOCHAPING_EVALUATOR_TAIL_INTERVAL_MS": "50",
        }
        self.log = open(tmp_path / "pushserver.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [haochaping, "pushserver", "--port", str(self.port), "--max-connections", "1000"],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as r:
                    self.health = json.load(r)
                    if self.health["bus_connected"]:
                        break
            except OSError:
                pass
            assert self.proc.poll() is None, (tmp_path / "pushserver.log").read_text()
            assert time.monotonic() < deadline, "push server did not start"
            time.sleep(0.2)

    def healthz(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
            return json.load(r)

    def open_stream(self, token: str):
        conn = HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", f"{EVENTS}?t={token}")
        return conn, conn.getresponse()

    def stop(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(10)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.log.close()


def read_until(response, text: bytes, timeout=10.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while text not in seen:
        assert time.monotonic() < deadline, seen
        chunk = response.read1(4096)
        assert chunk, seen
        seen += chunk
    return seen


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_end_to_end_a_pushed_prompt_reaches_the_open_stream(world, tmp_path, settings):
    device_client, device = pair(world)
    if connection.vendor == "postgresql":
        config = connection.settings_dict
        auth = config["USER"] + (f":{config['PASSWORD']}" if config["PASSWORD"] else "")
        url = f"postgres://{auth}@{config['HOST'] or '127.0.0.1'}:{config['PORT'] or 5432}/{config['NAME']}"
    else:
        # The test database is in memory: the push server gets a file copy of it, and the prompt is written there.
        path = tmp_path / "db.sqlite3"
        connection.ensure_connection()
        target = sqlite3.connect(path)
        connection.connection.backup(target)
        target.execute("PRAGMA journal_mode=WAL")
        url = f"sqlite:///{path}"
    server = PushServerProcess(url, tmp_path)
    try:
        settings.HAOCHAPING_EVALUATOR_EVENTS_URL = f"http://127.0.0.1:{server.port}{EVENTS}"
        stream_url = device_client.get("/api/v1/evaluator/device/stream").json()["url"]
        token = stream_url.split("?t=")[1]
        conn, response = server.open_stream(token)
        assert response.status == 200 and response.getheader("Content-Type").startswith("text/event-stream")
        read_until(response, b'event: hello\ndata: {"window": %d}' % world.a.window.pk)
        assert server.healthz()["connections"] == 1

        started = time.monotonic()
        if connection.vendor == "postgresql":
            r = post_json(
                api_client(world.key_a), "/api/v1/evaluator/push", {"hall": world.a.hall.code, "window": "01"}
            )
            assert r.status_code == 201
            prompt_id = r.json()["prompt_id"]
        else:
            cursor = target.execute(
                "INSERT INTO evaluator_evaluatorprompt (window_id, source, created_at) VALUES (?, 'test', ?)",
                [world.a.window.pk, "2026-01-01 00:00:00"],
            )
            target.commit()
            prompt_id = cursor.lastrowid
        seen = read_until(response, b'event: prompt\ndata: {"id": %d}' % prompt_id)
        assert b"id: %d\n" % prompt_id in seen
        assert time.monotonic() - started < 1.0  # the target: finished → shown within a second

        bad = HTTPConnection("127.0.0.1", server.port, timeout=5)
        bad.request("GET", f"{EVENTS}?t=forged")
        assert bad.getresponse().status == 401
        conn.close()
        deadline = time.monotonic() + 5
        while server.healthz()["connections"] and time.monotonic() < deadline:
            time.sleep(0.1)
        health = server.healthz()
        assert health["connections"] == 0 and health["delivered"] == 1
        assert health["bus"] == ("postgresql" if connection.vendor == "postgresql" else "sqlite")
    finally:
        server.stop()
        if connection.vendor != "postgresql":
            target.close()
