"""The kiosk on the event stream (docs/evaluator-push.md): a pushed case arrives through the push server, and the
kiosk falls back to polling when the stream goes away.

The push server's ASGI app runs in a thread of this process behind a minimal HTTP/1.1 front, so that it sees the
test database even where that is SQLite in memory (tests/test_evaluator_push.py runs the real granian server).
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.request

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from haochaping.evaluator.bus import bus_for_settings
from haochaping.evaluator.events import PushServer
from haochaping.evaluator.push import EVENTS_PATH
from tests.browser.test_evaluator import pair, push_case

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


class ThreadedPushServer:
    """The push app on 127.0.0.1:<free port>, in its own thread and event loop."""

    def __init__(self) -> None:
        self.app = PushServer(bus_for_settings(), heartbeat=5)
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        assert self.ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()

    async def _start(self) -> None:
        await self.app.startup()
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _handle(self, reader, writer) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        method, target, _ = head.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        path, _, query = target.partition("?")
        scope = {"type": "http", "method": method, "path": path, "query_string": query.encode(), "headers": []}
        asked = False

        async def receive():
            nonlocal asked
            if not asked:
                asked = True
                return {"type": "http.request", "body": b"", "more_body": False}
            while await reader.read(1024):
                pass
            return {"type": "http.disconnect"}

        async def send(message):
            if message["type"] == "http.response.start":
                lines = [f"HTTP/1.1 {message['status']} X".encode()]
                lines += [name + b": " + value for name, value in message["headers"]]
                lines += [b"Transfer-Encoding: chunked", b"Connection: close", b"", b""]
                writer.write(b"\r\n".join(lines))
            else:
                body = message.get("body", b"")
                if body:
                    writer.write(b"%x\r\n%s\r\n" % (len(body), body))
                if not message.get("more_body"):
                    writer.write(b"0\r\n\r\n")
            await writer.drain()

        try:
            await self.app(scope, receive, send)
        finally:
            writer.close()

    def health(self) -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
            return json.load(r)

    def stop(self) -> None:
        async def down():
            self.server.close()
            await self.app.shutdown()

        asyncio.run_coroutine_threadsafe(down(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture
def push_server(settings, _live_database):
    server = ThreadedPushServer()
    settings.HAOCHAPING_EVALUATOR_EVENTS_URL = f"http://127.0.0.1:{server.port}{EVENTS_PATH}"
    settings.HAOCHAPING_EVALUATOR_TAIL_INTERVAL_MS = 50
    yield server
    if server.thread.is_alive():
        server.stop()


def test_the_kiosk_gets_a_pushed_case_through_the_stream(world, page, live_server, push_server):
    pair(world, page)
    expect(page.locator("html")).to_have_attribute("data-push", "stream")
    assert push_server.health()["connections"] == 1

    push_case(world, page, live_server)
    expect(page.get_by_role("heading", name="请对本次服务进行评价")).to_be_visible()
    expect(page.locator("#case-no")).to_have_text("BJ-K1")
    assert push_server.health()["delivered"] == 1  # it came by the stream, not by a poll

    page.locator(".face-5").click()
    page.get_by_role("button", name="提交评价").click()
    expect(page.get_by_role("heading", name="感谢您的评价")).to_be_visible()


def test_the_kiosk_polls_when_the_stream_goes_away(world, page, live_server, push_server):
    pair(world, page)
    expect(page.locator("html")).to_have_attribute("data-push", "stream")
    push_server.stop()
    expect(page.locator("html")).to_have_attribute("data-push", "poll")
    push_case(world, page, live_server, case_no="BJ-K2")
    expect(page.locator("#case-no")).to_have_text("BJ-K2")
