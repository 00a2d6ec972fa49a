#!/usr/bin/env python
"""Simulated evaluator tablets for bench/evaluator_push.py: one process holding thousands of SSE streams.

    python bench/evaluator_clients.py SPEC.json OUT.json

SPEC.json: {"events": "http://host:port/path", "web": "http://host:port", "rate": connects per second,
"source": "127.0.0.2" (local address to bind, or ""), "pool": keep-alive connections to the web server,
"devices": [[index, stream token, credential], ...]}.

Plain asyncio protocols (no HTTP library): a stream costs a socket, a transport and a small parser. Each device
opens `GET <events>?t=<token>` at the given rate, then parses the event stream (chunked or not). On `event:
prompt` it records the time and asks the web server for the prompt as the kiosk does (`GET
/api/v1/evaluator/device/prompt` with its credential cookie) over a small pool of keep-alive connections shared
by all devices of the process, and records when the answer arrived. A status line (JSON) goes to stdout every
half second; on SIGTERM or SIGINT it writes the records to OUT.json, prints "done" and exits.
"""

from __future__ import annotations

import asyncio
import json
import signal
import socket
import sys
import time
from collections import Counter
from urllib.parse import urlsplit

IP_BIND_ADDRESS_NO_PORT = getattr(socket, "IP_BIND_ADDRESS_NO_PORT", 24)
PROMPT_PATH = "/api/v1/evaluator/device/prompt"


class Stats:
    def __init__(self) -> None:
        self.c: Counter = Counter()
        self.errors: Counter = Counter()
        self.events: list[tuple] = []  # (device index, prompt id, t_event)
        self.shown: list[tuple] = []  # (device index, event prompt id, t_shown, status, prompt id answered)


class Stream(asyncio.Protocol):
    """One device's event stream: HTTP response head, then (chunked) SSE events."""

    __slots__ = ("idx", "credential", "st", "client", "transport", "buf", "head", "chunked", "body", "chunk_left",
                 "hello", "status")  # fmt: skip

    def __init__(self, idx: int, credential: str, client: Clients) -> None:
        self.idx, self.credential, self.client, self.st = idx, credential, client, client.stats
        self.transport = None
        self.buf = b""
        self.head = True
        self.chunked = False
        self.body = b""
        self.chunk_left = -1
        self.hello = False
        self.status = 0

    def connection_made(self, transport) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self.head:
            self.buf += data
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buf = self.buf[:end].decode("latin-1"), self.buf[end + 4 :]
            self.head = False
            lines = head.split("\r\n")
            try:
                self.status = int(lines[0].split()[1])
            except (IndexError, ValueError):
                self.status = -1
            if self.status != 200:
                self.st.c["failed"] += 1
                self.st.errors[f"status {self.status}"] += 1
                self.transport.close()
                return
            self.st.c["opened"] += 1
            for line in lines[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "transfer-encoding" and "chunked" in value.lower():
                    self.chunked = True
            data, self.buf = self.buf, b""
            if not data:
                return
        if self.chunked:
            self._dechunk(data)
        else:
            self._sse(data)

    def _dechunk(self, data: bytes) -> None:
        # chunk_left: -1 reading a size line, > 0 bytes of chunk data still to come, 0 the CRLF after the data
        buf = self.buf + data
        out = []
        while buf:
            if self.chunk_left < 0:
                nl = buf.find(b"\r\n")
                if nl < 0:
                    break
                size = int(buf[:nl].split(b";")[0].strip() or b"0", 16)
                buf = buf[nl + 2 :]
                if size == 0:  # end of the response
                    buf = b""
                    break
                self.chunk_left = size
            elif self.chunk_left > 0:
                take = buf[: self.chunk_left]
                out.append(take)
                buf = buf[len(take) :]
                self.chunk_left -= len(take)
            else:
                if len(buf) < 2:
                    break
                buf = buf[2:]
                self.chunk_left = -1
        self.buf = buf
        if out:
            self._sse(b"".join(out))

    def _sse(self, data: bytes) -> None:
        self.body += data
        if b"\n\n" not in self.body:
            return
        *events, self.body = self.body.replace(b"\r\n", b"\n").split(b"\n\n")
        now = time.time()
        for raw in events:
            kind, payload, ident = "message", "", ""
            comment = False
            for line in raw.decode("utf-8", "replace").split("\n"):
                if line.startswith(":"):
                    comment = True
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "event":
                    kind = value
                elif name == "data":
                    payload = value
                elif name == "id":
                    ident = value
            if comment and not payload and kind == "message":
                self.st.c["pings"] += 1
                continue
            if kind == "hello":
                if not self.hello:
                    self.hello = True
                    self.st.c["hello"] += 1
            elif kind == "prompt":
                try:
                    pid = int(json.loads(payload)["id"]) if payload else int(ident)
                except (ValueError, KeyError, TypeError):
                    pid = int(ident or 0)
                self.st.c["events"] += 1
                self.st.events.append((self.idx, pid, now))
                self.client.show(self.idx, self.credential, pid)
            elif kind == "reauth":
                self.st.c["reauth"] += 1
            elif kind != "message" or payload:
                self.st.c[f"event {kind}"] += 1

    def connection_lost(self, exc) -> None:
        if self.status == 200 and not self.client.stopping:
            self.st.c["dropped"] += 1
        elif self.status == 0 and not self.client.stopping:
            self.st.c["failed"] += 1
            self.st.errors["closed before answer"] += 1


class WebConnection:
    """One keep-alive HTTP/1.1 connection to the web server (a tiny client: Content-Length or chunked)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> tuple[int, bytes]:
        for attempt in (1, 2):
            if self.writer is None:
                self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
            try:
                self.writer.write(raw)
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError, OSError):
                self.close()
                if attempt == 2:
                    raise
        raise ConnectionError("unreachable")

    async def _response(self) -> tuple[int, bytes]:
        head = (await self.reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        status = int(lines[0].split()[1])
        length, chunked, close = None, False, False
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name, value = name.strip().lower(), value.strip().lower()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding" and "chunked" in value:
                chunked = True
            elif name == "connection" and value == "close":
                close = True
        if chunked:
            parts = []
            while True:
                size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    await self.reader.readuntil(b"\r\n")
                    break
                parts.append(await self.reader.readexactly(size + 2))
            body = b"".join(p[:-2] for p in parts)
        elif length is not None:
            body = await self.reader.readexactly(length) if length else b""
        elif status in (204, 304):
            body = b""
        else:
            body = await self.reader.read()
            close = True
        if close:
            self.close()
        return status, body

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


class Clients:
    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.stats = Stats()
        self.stopping = False
        ev = urlsplit(spec["events"])
        self.ev_host, self.ev_port, self.ev_path = ev.hostname, ev.port or 80, ev.path
        web = urlsplit(spec["web"])
        self.web_host, self.web_port = web.hostname, web.port or 80
        self.queue: asyncio.Queue = asyncio.Queue()
        self.streams: list[Stream] = []

    def show(self, idx: int, credential: str, pid: int) -> None:
        self.queue.put_nowait((idx, credential, pid))

    async def shower(self) -> None:
        conn = WebConnection(self.web_host, self.web_port)
        st = self.stats
        while True:
            idx, credential, pid = await self.queue.get()
            raw = (
                f"GET {PROMPT_PATH} HTTP/1.1\r\nHost: {self.web_host}:{self.web_port}\r\n"
                f"Cookie: hcp_evaluator={credential}\r\nAccept: application/json\r\n\r\n"
            ).encode()
            try:
                status, body = await conn.request(raw)
                now = time.time()
                answered = 0
                if status == 200:
                    prompt = json.loads(body).get("prompt") or {}
                    answered = int(prompt.get("id") or 0)
                st.shown.append((idx, pid, now, status, answered))
                st.c["gets"] += 1
                if status != 200:
                    st.errors[f"prompt GET {status}"] += 1
            except Exception as exc:  # noqa: BLE001 - counted, reported by the bench
                st.c["get_errors"] += 1
                st.errors[f"prompt GET {type(exc).__name__}"] += 1
                conn.close()

    async def connect(self, idx: int, token: str, credential: str) -> None:
        loop = asyncio.get_running_loop()
        st = self.stats
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            if self.spec.get("source"):
                sock.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
                sock.bind((self.spec["source"], 0))
            await asyncio.wait_for(loop.sock_connect(sock, (self.ev_host, self.ev_port)), 10)
            stream = Stream(idx, credential, self)
            await loop.create_connection(lambda: stream, sock=sock)
        except Exception as exc:  # noqa: BLE001 - counted, reported by the bench
            sock.close()
            st.c["failed"] += 1
            st.errors[f"connect {type(exc).__name__}: {exc}"[:80]] += 1
            return
        self.streams.append(stream)
        stream.transport.write(
            f"GET {self.ev_path}?t={token} HTTP/1.1\r\nHost: {self.ev_host}:{self.ev_port}\r\n"
            "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n".encode()
        )

    async def ramp(self) -> None:
        devices = self.spec["devices"]
        rate = float(self.spec["rate"])
        start = time.monotonic()
        tasks = set()
        for n, (idx, token, credential) in enumerate(devices):
            due = start + n / rate
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            t = asyncio.ensure_future(self.connect(idx, token, credential))
            tasks.add(t)
            t.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
        self.stats.c["ramp_s_x1000"] = int((time.monotonic() - start) * 1000)

    def status(self) -> dict:
        return {"c": dict(self.stats.c), "errors": dict(self.stats.errors.most_common(8))}

    async def main(self, out: str) -> None:
        loop = asyncio.get_running_loop()
        done = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, done.set)
        showers = [asyncio.ensure_future(self.shower()) for _ in range(int(self.spec.get("pool", 4)))]
        ramp = asyncio.ensure_future(self.ramp())

        async def report() -> None:
            while True:
                sys.stdout.write(json.dumps(self.status()) + "\n")
                sys.stdout.flush()
                await asyncio.sleep(0.5)

        reporter = asyncio.ensure_future(report())
        await done.wait()
        self.stopping = True
        # let prompts already received be shown (bounded)
        deadline = time.monotonic() + 5
        while not self.queue.empty() and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.2)
        for t in (ramp, reporter, *showers):
            t.cancel()
        with open(out, "w") as fh:
            json.dump({"status": self.status(), "events": self.stats.events, "shown": self.stats.shown}, fh)
        for s in self.streams:
            if s.transport is not None:
                s.transport.abort()
        sys.stdout.write(json.dumps(self.status()) + "\ndone\n")
        sys.stdout.flush()


def main() -> None:
    spec_path, out = sys.argv[1], sys.argv[2]
    with open(spec_path) as fh:
        spec = json.load(fh)
    asyncio.run(Clients(spec).main(out))


if __name__ == "__main__":
    main()
