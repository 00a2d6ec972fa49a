#!/usr/bin/env python3
"""Reference client of the queue-calling interface v1 (排队叫号对接, docs/queue-calling.md): drives one hall.

Standard library only. For each ticket: issue it (POST /api/v1/queue/tickets, keeps the QR rating link), call it to
a window, and finish it — with a 办件 (registered beforehand through POST /api/v1/cases when --item is given) or
without one; every --no-show-every'th ticket is a 过号 instead. With --rate, about --rate-share of the finished
tickets are rated: on the window's evaluator when a device credential is given for it (--device 01=hce_…: polls the
prompt and presses a face through the device API), else on the ticket's QR page (/t/<token>/) as a phone would.

    python scripts/queue_client.py --url http://127.0.0.1:8000 --key hcp_… --hall <code> --windows 01,02 \\
        --tickets 20 [--item <事项实施编码> --case-prefix BJ-] [--rate [--device 01=hce_…]]
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import random
import re
import sys
import urllib.error
import urllib.parse
import urllib.request
import uuid
from datetime import datetime

GRADES = ["very_satisfied"] * 6 + ["satisfied"] * 3 + ["basic", "dissatisfied"]


class ApiError(Exception):
    def __init__(self, status: int, body: dict):
        super().__init__(f"{status}: {body.get('message', body)}")
        self.status = status
        self.body = body


class Client:
    def __init__(self, base: str, key: str):
        self.base = base.rstrip("/")
        self.key = key

    def _request(self, method: str, path: str, body: dict | None = None, headers: dict | None = None) -> tuple:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                raw = response.read()
                return response.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = {"message": raw.decode(errors="replace")[:200]}
            raise ApiError(exc.code, payload) from None

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        return self._request(method, "/api/v1" + path, body, {"Authorization": f"Bearer {self.key}"})

    def device(self, credential: str, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        headers = {"Cookie": f"hcp_evaluator={credential}", "X-Evaluator": "1"}
        return self._request(method, "/api/v1/evaluator" + path, body, headers)

    def rate_on_page(self, rating_url: str, grade: str, comment: str = "") -> str:
        """Open the ticket's QR page like a phone and submit the form; the page's heading in return."""
        path = urllib.parse.urlsplit(rating_url).path  # the link carries the site's URL; use --url's host
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        with opener.open(self.base + path, timeout=30) as response:
            page = response.read().decode()
        match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        if not match:
            return _heading(page)
        form = urllib.parse.urlencode({"csrfmiddlewaretoken": match.group(1), "grade": grade, "comment": comment})
        request = urllib.request.Request(self.base + path, data=form.encode(), method="POST")
        request.add_header("Referer", self.base + path)
        try:
            with opener.open(request, timeout=30) as response:
                return _heading(response.read().decode())
        except urllib.error.HTTPError as exc:
            return _heading(exc.read().decode())


def _heading(page: str) -> str:
    match = re.search(r"<h1>(.*?)</h1>", page, re.S)
    return re.sub(r"\s+", " ", match.group(1)).strip() if match else "?"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description="排队叫号对接 v1 参考客户端：驱动一个大厅的取号、叫号、办结与评价")
    p.add_argument("--url", required=True, help="haochaping 地址，如 http://127.0.0.1:8000")
    p.add_argument("--key", required=True, help="接口密钥 hcp_…（大厅或其窗口单位范围）")
    p.add_argument("--hall", required=True, help="大厅编码")
    p.add_argument("--windows", required=True, help="窗口编号，逗号分隔，如 01,02")
    p.add_argument("--tickets", type=int, default=20, help="票号数量")
    p.add_argument("--prefix", default="A", help="票号前缀（默认 A：A001、A002 …）")
    p.add_argument("--start", type=int, default=1, help="第一个票号的序号")
    p.add_argument("--item", help="事项实施编码：有则先登记办件（POST /api/v1/cases），约三分之二的票号带办件结束")
    p.add_argument("--case-prefix", default="BJ-", help="登记办件编号前缀")
    p.add_argument("--no-show-every", type=int, default=10, help="每 N 张票号一张过号（0 不模拟过号）")
    p.add_argument("--rate", action="store_true", help="模拟评价：评价器（给出 --device）或票号二维码页面")
    p.add_argument("--rate-share", type=float, default=0.6, help="评价的比例（默认 0.6）")
    p.add_argument("--device", action="append", default=[], help="窗口评价器凭据 窗口编号=hce_…（可多次）")
    p.add_argument("--seed", type=int, default=1)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    client = Client(args.url, args.key)
    rng = random.Random(args.seed)
    windows = [w.strip() for w in args.windows.split(",") if w.strip()]
    devices = dict(d.split("=", 1) for d in args.device)
    stamp = datetime.now().strftime("%Y%m%d%H%M%S")
    failures = 0
    counts = {"tickets": 0, "called": 0, "finished": 0, "with_case": 0, "no_show": 0, "rated": 0}
    for n in range(args.start, args.start + args.tickets):
        serial = f"{args.prefix}{n:03d}"
        window = windows[(n - args.start) % len(windows)]
        try:
            status, ticket = client.api("POST", "/queue/tickets", {"hall": args.hall, "serial": serial})
            rating_url = ticket.get("rating_url")
            print(f"{serial} 取号 {status} {rating_url or '(已登记)'}")
            counts["tickets"] += 1
            status, ticket = client.api(
                "POST", "/queue/tickets/called", {"hall": args.hall, "serial": serial, "window": window}
            )
            print(f"{serial} 叫号 → 窗口 {window} {status}")
            counts["called"] += 1
            if args.no_show_every and (n - args.start + 1) % args.no_show_every == 0:
                status, ticket = client.api("POST", "/queue/tickets/no-show", {"hall": args.hall, "serial": serial})
                print(f"{serial} 过号 {status}")
                counts["no_show"] += 1
                continue
            body: dict = {"hall": args.hall, "serial": serial, "no_case": True}
            if args.item and (n - args.start) % 3 != 2:
                case_no = f"{args.case_prefix}{stamp}-{serial}"
                status, _ = client.api(
                    "POST",
                    "/cases",
                    {"case_no": case_no, "item_code": args.item, "hall_code": args.hall, "window_code": window},
                )
                print(f"{serial} 登记办件 {case_no} {status}")
                body = {"hall": args.hall, "serial": serial, "case_no": case_no}
            status, ticket = client.api("POST", "/queue/tickets/finished", body)
            print(
                f"{serial} 办结 {ticket.get('case_no') or '（未办件）'} {status}，评价器推送 {ticket.get('prompt_id')}"
            )
            counts["finished"] += 1
            counts["with_case"] += bool(ticket.get("case_no"))
            if args.rate and rng.random() < args.rate_share:
                grade = rng.choice(GRADES)
                if window in devices:
                    _, polled = client.device(devices[window], "GET", "/device/prompt")
                    prompt = polled.get("prompt") or {}
                    status, rated = client.device(
                        devices[window],
                        "POST",
                        "/device/ratings",
                        {"idempotency_key": str(uuid.uuid4()), "grade": grade, "prompt_id": prompt.get("id")},
                    )
                    print(f"{serial} 评价器评价 {grade} {status} {rated.get('rating_id')}")
                elif rating_url:
                    print(f"{serial} 扫码评价 {grade}：{client.rate_on_page(rating_url, grade)}")
                else:
                    print(f"{serial} 无评价途径（无评价器凭据，票号二维码链接只在首次取号时返回）")
                    continue
                counts["rated"] += 1
        except ApiError as exc:
            failures += 1
            print(f"{serial} 错误 {exc}", file=sys.stderr)
    print("汇总：" + "，".join(f"{k}={v}" for k, v in counts.items()) + (f"，失败 {failures}" if failures else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
