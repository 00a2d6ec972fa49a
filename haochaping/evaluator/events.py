"""The evaluator push server: a small ASGI app holding the kiosks' server-sent event streams (docs/evaluator-push.md).

Served by `haochaping pushserver` (granian, ASGI), apart from the WSGI site: a WSGI worker is held by each open
request, this process holds tens of thousands of idle streams on one event loop. It learns of new prompts from the
database (haochaping.evaluator.bus: PostgreSQL LISTEN/NOTIFY, or tailing the prompt table on SQLite) and tells
each open stream of the prompt's window "there is prompt P"; the kiosk then fetches it from the Django API, which
marks it shown and records the offer. The stream carries ids only, never personal data.

Routes:
- GET /api/v1/evaluator/device/events?t=<stream token>: text/event-stream; 401 JSON on a bad or expired token.
  `retry: 5000`, `event: hello` (data {"window": id}), then `event: prompt` (data {"id": prompt id}) per new prompt,
  `: ping` every HAOCHAPING_EVALUATOR_STREAM_HEARTBEAT s, and `event: reauth` then the end when the token expires.
- GET /healthz: JSON counts.

No Django ORM runs on the event loop; the app only needs settings (SECRET_KEY for the token, DATABASES for the bus).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections import deque
from urllib.parse import parse_qs

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haochaping.settings")
django.setup()

from django.conf import settings  # noqa: E402

from haochaping.evaluator.bus import bus_for_settings  # noqa: E402
from haochaping.evaluator.push import EVENTS_PATH, stream_token_claims  # noqa: E402

log = logging.getLogger(__name__)

# A window has one tablet, sometimes two: more streams for one window is a device reconnecting in a loop without
# closing the old ones. The oldest is ended, so the newest always works and the count stays bounded.
PER_WINDOW = 8
# Chunks waiting for a client that does not read: past this the stream is ended (the kiosk reconnects).
PENDING_MAX = 32
# The heartbeat walks all streams in slices, yielding to the event loop between them, so prompts are not held up.
HEARTBEAT_SLICE = 1000

START = b"retry: 5000\n\n"
PING = b": ping\n\n"
REAUTH = b"event: reauth\ndata: {}\n\n"
HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
    (b"access-control-allow-origin", b"*"),
]
JSON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-store"),
    (b"access-control-allow-origin", b"*"),
]


class Stream:
    """One open event stream: what is waiting to be sent, and the future its sender sleeps on. Small by design."""

    __slots__ = ("device_id", "window_id", "expires_at", "pending", "waiter", "closed")

    def __init__(self, device_id: int, window_id: int, expires_at: float) -> None:
        self.device_id = device_id
        self.window_id = window_id
        self.expires_at = expires_at
        self.pending: list[bytes] = []
        self.waiter: asyncio.Future | None = None
        self.closed = False

    def push(self, chunk: bytes) -> None:
        if self.closed:
            return
        if len(self.pending) >= PENDING_MAX:
            self.close()
            return
        self.pending.append(chunk)
        self._wake()

    def close(self) -> None:
        self.closed = True
        self._wake()

    def _wake(self) -> None:
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def next(self) -> bytes | None:
        """The chunks to send now, or None when the stream is over (after sending what was left)."""
        while not self.pending and not self.closed:
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await self.waiter
            finally:
                self.waiter = None
        if self.pending:
            data = b"".join(self.pending)
            self.pending.clear()
            return data
        return None


class PushServer:
    """The ASGI app. `bus` defaults to the one for settings.DATABASES; tests pass a MemoryBus."""

    def __init__(self, bus=None, *, heartbeat: float | None = None, per_window: int = PER_WINDOW) -> None:
        self._bus = bus
        self.heartbeat = heartbeat if heartbeat is not None else settings.HAOCHAPING_EVALUATOR_STREAM_HEARTBEAT
        self.per_window = per_window
        self.windows: dict[int, deque[Stream]] = {}
        # The newest prompt passed on per window: a bus may repeat itself (catch-up after a reconnect).
        self.last_prompt: dict[int, int] = {}
        self.connections = 0
        self.delivered = 0
        self.tasks: list[asyncio.Task] = []

    @property
    def bus(self):
        if self._bus is None:
            self._bus = bus_for_settings()
        return self._bus

    # -- the registry
    def register(self, stream: Stream) -> None:
        streams = self.windows.setdefault(stream.window_id, deque())
        while len(streams) >= self.per_window:
            streams.popleft().close()
            self.connections -= 1
        streams.append(stream)
        self.connections += 1

    def unregister(self, stream: Stream) -> None:
        streams = self.windows.get(stream.window_id)
        if streams is None:
            return
        try:
            streams.remove(stream)
        except ValueError:
            return  # already evicted
        self.connections -= 1
        if not streams:
            del self.windows[stream.window_id]

    def deliver(self, window_id: int, prompt_id: int) -> None:
        """Called by the bus on the event loop: tell the window's streams of a new prompt (once per prompt)."""
        if prompt_id <= self.last_prompt.get(window_id, 0):
            return
        self.last_prompt[window_id] = prompt_id
        streams = self.windows.get(window_id)
        if not streams:
            return
        chunk = f'id: {prompt_id}\nevent: prompt\ndata: {{"id": {prompt_id}}}\n\n'.encode()
        for stream in streams:
            stream.push(chunk)
            self.delivered += 1

    async def beat(self, now: float | None = None) -> None:
        """One heartbeat: a ping to every stream, or reauth and the end to those whose token has expired."""
        now = time.time() if now is None else now
        streams = [stream for window in self.windows.values() for stream in window]
        for start in range(0, len(streams), HEARTBEAT_SLICE):
            for stream in streams[start : start + HEARTBEAT_SLICE]:
                if stream.expires_at <= now:
                    stream.push(REAUTH)
                    stream.close()
                else:
                    stream.push(PING)
            await asyncio.sleep(0)

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                await self.beat()
            except Exception:  # pragma: no cover - never let the heartbeat die
                log.exception("evaluator push: heartbeat failed")

    async def _bus_loop(self) -> None:
        while True:
            try:
                await self.bus.run(self.deliver)
            except asyncio.CancelledError:
                raise
            except Exception:  # a bus handles its own errors; this is the last line
                log.exception("evaluator push: bus stopped; restarting")
                await asyncio.sleep(1)

    # -- life cycle
    async def startup(self) -> None:
        if not self.tasks:
            self.tasks = [
                asyncio.create_task(self._bus_loop(), name="evaluator-push-bus"),
                asyncio.create_task(self._heartbeat_loop(), name="evaluator-push-heartbeat"),
            ]

    async def shutdown(self) -> None:
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for streams in list(self.windows.values()):
            for stream in list(streams):
                stream.close()

    def stats(self) -> dict:
        return {
            "status": "ok",
            "connections": self.connections,
            "windows": len(self.windows),
            "delivered": self.delivered,
            "bus": self.bus.name,
            "bus_connected": bool(getattr(self.bus, "connected", True)),
        }

    # -- ASGI
    async def __call__(self, scope, receive, send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
            return
        if kind != "http":
            return  # websockets are not served (granian runs with --no-ws)
        if not self.tasks:
            await self.startup()  # a server without lifespan events
        path = scope.get("path", "")
        if scope.get("method") != "GET":
            await _json(send, 405, {"message": "method not allowed"})
        elif path == EVENTS_PATH:
            await self._events(scope, receive, send)
        elif path == "/healthz":
            await _json(send, 200, self.stats())
        else:
            await _json(send, 404, {"message": "not found"})

    async def _lifespan(self, receive, send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # pragma: no cover
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _events(self, scope, receive, send) -> None:
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        claims = stream_token_claims((query.get("t") or [""])[0], now=time.time())
        if claims is None:
            await _json(send, 401, {"message": "stream token invalid or expired; fetch a new one"})
            return
        device_id, window_id, expires_at = claims
        stream = Stream(device_id, window_id, expires_at)
        self.register(stream)
        watcher = asyncio.create_task(_watch_disconnect(receive, stream))
        try:
            await send({"type": "http.response.start", "status": 200, "headers": HEADERS})
            hello = START + f'event: hello\ndata: {{"window": {window_id}}}\n\n'.encode()
            await send({"type": "http.response.body", "body": hello, "more_body": True})
            while True:
                data = await stream.next()
                if data is None:
                    break
                await send({"type": "http.response.body", "body": data, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the client went away mid-send; servers name that differently
            log.debug("evaluator push: stream ended: %r", exc)
        finally:
            stream.closed = True
            watcher.cancel()
            self.unregister(stream)


async def _watch_disconnect(receive, stream: Stream) -> None:
    """Wait for http.disconnect, then end the stream (so a gone kiosk leaves the registry at once)."""
    try:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
    except asyncio.CancelledError:
        raise
    except Exception:  # noqa: BLE001 - receive after the connection is gone
        pass
    stream.close()


async def _json(send, status: int, body: dict) -> None:
    await send({"type": "http.response.start", "status": status, "headers": JSON_HEADERS})
    await send({"type": "http.response.body", "body": json.dumps(body).encode(), "more_body": False})


app = PushServer()
