#!/usr/bin/env python3
"""Reference bridge for button evaluators (按键评价器, docs/legacy-evaluators.md): stdin → the legacy events API.

Standard library only. A hall's serial-port listener (one per bus of 3- or 4-button evaluators) writes one line per
device event to this program's standard input:

    press <serial> <button> [<ISO time>]      a citizen pressed button <button> (1..N) on device <serial>
    timeout <serial> [<ISO time>]             the device invited a rating and nobody pressed

(blank lines and lines starting with # are ignored). Each event gets an idempotency key and its time when it is read,
and is appended to a local buffer file at once, so that nothing is lost while the server is unreachable. The buffer
is sent in batches (up to --batch events, at most 500) every --flush-seconds; sent events leave the buffer, as do
events the server refused (4xx, logged to stderr: resending them would not help). Network errors, 429 and 5xx keep
the events buffered for the next try; a re-sent event is answered from the stored one (its key), never stored twice.

    python scripts/legacy_bridge.py --url https://haochaping.example.gov.cn --key hcp_… [--buffer /var/lib/bridge.jsonl]

At the end of the input the bridge flushes (retrying --final-retries times) and prints a summary; its exit status is
0 when the buffer is empty, 3 when events are left in it (they are sent by the next run).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime

MAX_BATCH = 500


def parse_line(line: str, now: datetime | None = None) -> dict | None:
    """One input line → an event (with a fresh idempotency key), None for blank and comment lines; ValueError if bad."""
    parts = line.split()
    if not parts or parts[0].startswith("#"):
        return None
    kind = parts[0].lower()
    at = (now or datetime.now(UTC)).isoformat()
    if kind == "press" and len(parts) in (3, 4):
        if not parts[2].isdigit():
            raise ValueError(f"按键编号应为数字：{line.strip()}")
        event = {"type": "press", "device": parts[1], "button": int(parts[2])}
        if len(parts) == 4:
            at = parts[3]
    elif kind == "timeout" and len(parts) in (2, 3):
        event = {"type": "timeout", "device": parts[1]}
        if len(parts) == 3:
            at = parts[2]
    else:
        raise ValueError(f"无法识别的行：{line.strip()}")
    event.update(at=at, idempotency_key=str(uuid.uuid4()))
    return event


class Buffer:
    """Events not yet answered, as JSON lines in a file (rewritten atomically)."""

    def __init__(self, path: str):
        self.path = path
        self.lock = threading.Lock()

    def load(self) -> list[dict]:
        try:
            with open(self.path, encoding="utf-8") as f:
                return [json.loads(line) for line in f if line.strip()]
        except FileNotFoundError:
            return []

    def append(self, event: dict) -> None:
        with self.lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps(event, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def remove(self, keys: set[str]) -> int:
        """Drop the answered events; returns how many are left."""
        with self.lock:
            left = [e for e in self.load() if e["idempotency_key"] not in keys]
            tmp = self.path + ".tmp"
            with open(tmp, "w", encoding="utf-8") as f:
                f.writelines(json.dumps(e, ensure_ascii=False) + "\n" for e in left)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, self.path)
            return len(left)


class Bridge:
    def __init__(self, url: str, key: str, buffer: Buffer, batch: int = 100, timeout: float = 15.0):
        self.endpoint = url.rstrip("/") + "/api/v1/evaluator/legacy/events"
        self.key = key
        self.buffer = buffer
        self.batch = max(1, min(batch, MAX_BATCH))
        self.timeout = timeout
        self.totals = {"read": 0, "stored": 0, "duplicates": 0, "rejected": 0}
        self.flushing = threading.Lock()

    def _post(self, events: list[dict]) -> tuple[int, dict]:
        body = json.dumps({"events": events}, ensure_ascii=False).encode()
        request = urllib.request.Request(self.endpoint, data=body, method="POST")
        request.add_header("Content-Type", "application/json")
        request.add_header("Authorization", f"Bearer {self.key}")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                return exc.code, json.loads(raw)
            except ValueError:
                return exc.code, {"message": raw.decode(errors="replace")[:200]}

    def flush(self) -> bool:
        """Send the buffer in batches; True when it is empty afterwards, False when the server could not be reached."""
        with self.flushing:
            pending = self.buffer.load()
            while pending:
                chunk = pending[: self.batch]
                try:
                    status, body = self._post(chunk)
                except (urllib.error.URLError, OSError, TimeoutError) as exc:
                    log(f"服务器不可达，{len(pending)} 条事件保留在缓冲区：{getattr(exc, 'reason', exc)}")
                    return False
                if status == 429 or status >= 500:
                    log(f"服务器暂不可用（{status}），{len(pending)} 条事件保留在缓冲区")
                    return False
                if status != 200:
                    # The whole request was refused (a bad key, a malformed batch): keep the events, say why.
                    log(f"请求被拒绝（{status}）：{body.get('message', '')}；事件保留在缓冲区")
                    return False
                done = set()
                for event, result in zip(chunk, body.get("results", []), strict=False):
                    code = result.get("status", 0)
                    if code == 201:
                        self.totals["stored"] += 1
                    elif code == 200:
                        self.totals["duplicates"] += 1
                    elif 400 <= code < 500 and code != 429:
                        self.totals["rejected"] += 1
                        log(f"事件被拒绝：{event['type']} {event['device']}：{result.get('message') or code}")
                    else:
                        continue  # not answered for good: keep it
                    done.add(event["idempotency_key"])
                if not done:
                    return False
                self.buffer.remove(done)
                pending = self.buffer.load()
            return True

    def read(self, stream, flush_seconds: float) -> None:
        stop = threading.Event()

        def periodic() -> None:
            while not stop.wait(flush_seconds):
                self.flush()

        timer = threading.Thread(target=periodic, daemon=True)
        timer.start()
        try:
            for line in stream:
                try:
                    event = parse_line(line)
                except ValueError as exc:
                    log(str(exc))
                    continue
                if event is None:
                    continue
                self.buffer.append(event)
                self.totals["read"] += 1
                if self.totals["read"] % self.batch == 0:
                    self.flush()
        finally:
            stop.set()
            timer.join()


def log(message: str) -> None:
    print(f"{datetime.now():%H:%M:%S} {message}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="按键评价器桥接：读取标准输入的按键/超时事件，上报好差评平台")
    parser.add_argument("--url", required=True, help="平台地址，如 https://haochaping.example.gov.cn")
    parser.add_argument("--key", default=os.environ.get("HAOCHAPING_API_KEY", ""), help="接口密钥（或环境变量）")
    parser.add_argument("--buffer", default="legacy_bridge.buffer.jsonl", help="本地缓冲文件（JSON lines）")
    parser.add_argument("--batch", type=int, default=100, help=f"每次上报的事件数（最多 {MAX_BATCH}）")
    parser.add_argument("--flush-seconds", type=float, default=2.0, help="定时上报间隔（秒）")
    parser.add_argument("--final-retries", type=int, default=3, help="输入结束后上报失败的重试次数")
    parser.add_argument("--timeout", type=float, default=15.0, help="单次请求超时（秒）")
    args = parser.parse_args(argv)
    if not args.key:
        parser.error("需要 --key 或环境变量 HAOCHAPING_API_KEY")
    bridge = Bridge(args.url, args.key, Buffer(args.buffer), batch=args.batch, timeout=args.timeout)
    if bridge.buffer.load():
        bridge.flush()  # what an earlier run left
    bridge.read(sys.stdin, args.flush_seconds)
    empty = bridge.flush()
    delay = 1.0
    for _ in range(args.final_retries):
        if empty:
            break
        time.sleep(delay)
        delay = min(delay * 2, 30)
        empty = bridge.flush()
    left = len(bridge.buffer.load())
    t = bridge.totals
    print(
        f"汇总：read={t['read']}，stored={t['stored']}，duplicates={t['duplicates']}，"
        f"rejected={t['rejected']}，buffered={left}"
    )
    return 0 if left == 0 else 3


if __name__ == "__main__":
    sys.exit(main())
