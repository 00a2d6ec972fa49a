"""A local stand-in for a city's 12345 hotline (stdlib http.server in a thread, random port).

It takes work orders (POST /work-orders, idempotent by Idempotency-Key: a re-send gets the same work_order_no) and
their cancellations (POST /work-orders/<no>/cancel), can be told to fail the next N requests (HTTP 503) to test the
backoff, records what it received, and pushes status updates and call-back results back to haochaping, through a
live server (base URL) or a Django test client.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class StandinHotline:
    token: str = ""  # the credential it expects (Authorization: Bearer …); empty: any
    fail_next: int = 0
    fail_status: int = 503
    received: list[Received] = field(default_factory=list)
    orders: dict[str, dict] = field(default_factory=dict)  # Idempotency-Key → {"work_order_no", "body"}
    cancelled: set[str] = field(default_factory=set)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- lifecycle -------------------------------------------------------------------------------------

    def start(self) -> StandinHotline:
        standin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # quiet
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw or b"null")
                except ValueError:
                    body = None
                status, answer = standin.handle(self.path, dict(self.headers), body)
                data = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/api"

    # --- the hotline's side ----------------------------------------------------------------------------------

    def handle(self, path: str, headers: dict[str, str], body: Any) -> tuple[int, dict]:
        with self._lock:
            self.received.append(Received("POST", path, headers, body))
            if self.fail_next > 0:
                self.fail_next -= 1
                return self.fail_status, {"error": "temporarily unavailable"}
            if self.token and headers.get("Authorization") != f"Bearer {self.token}":
                return 401, {"error": "bad credential"}
            key = headers.get("Idempotency-Key", "")
            if path == "/api/work-orders":
                if not key or not isinstance(body, dict) or not body.get("order_no"):
                    return 400, {"error": "Idempotency-Key and order_no required"}
                if key not in self.orders:
                    self.orders[key] = {"work_order_no": f"12345-{len(self.orders) + 1:06d}", "body": body}
                return 200, {"work_order_no": self.orders[key]["work_order_no"]}
            if path.startswith("/api/work-orders/") and path.endswith("/cancel"):
                no = path.split("/")[3]
                if no not in {o["work_order_no"] for o in self.orders.values()}:
                    return 404, {"error": "unknown work order"}
                self.cancelled.add(no)
                return 200, {"work_order_no": no, "status": "cancelled"}
            return 404, {"error": "not found"}

    def posts(self, suffix: str = "/api/work-orders") -> list[Received]:
        return [r for r in self.received if r.path == suffix]

    # --- pushing back to haochaping ----------------------------------------------------------------------------

    def push_status(self, target, api_key: str, work_order_no: str, status: str, at: str, note: str = ""):
        body = {"status": status, "note": note, "at": at}
        return _post(target, api_key, f"/api/v1/hotline/work-orders/{work_order_no}/status", body)

    def push_callbacks(self, target, api_key: str, callbacks: list[dict]):
        return _post(target, api_key, "/api/v1/hotline/callbacks", {"callbacks": callbacks})


def _post(target, api_key: str, path: str, body: dict) -> tuple[int, dict]:
    """``target``: a Django test client, or the base URL of a live server. Returns (status, JSON answer)."""
    if isinstance(target, str):
        import urllib.error
        import urllib.request

        request = urllib.request.Request(
            target.rstrip("/") + path, data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"},
        )  # fmt: skip
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
    response = target.post(path, body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {api_key}")
    return response.status_code, response.json()
