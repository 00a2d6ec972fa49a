"""Demo: one city's link to its 12345 hotline, and the loop both ways.

The city's newest 差评 went out as work orders through the real sending path (outbound.send_order) with a fake
transport standing in for the hotline: most were accepted with hotline numbers, one is backing off after a 503, one
waits in the queue. The hotline sent back status updates (notes on the cases, states unchanged) and call-back
results: ratings on the hotline channel (电话/热线) for 事项 of the city, and a call-back note on one case. The link
points at an address where nothing listens, so the worker keeps showing the backoff.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE, Scope
from haochaping.cases.models import Case, Kind
from haochaping.directory.models import Region, ServiceItem
from haochaping.hotline import inbound, outbound, services
from haochaping.hotline.models import WorkOrder
from haochaping.lib.errors import DomainError

ENDPOINT = "http://127.0.0.1:9/12345-standin/api"  # nothing listens: new orders back off, as on the demo page
STATUSES = (("received", "热线已受理"), ("dispatched", "已派单至承办单位"), ("processing", "承办单位办理中"))
CALL_COMMENTS = ("办事顺利，工作人员很耐心", "材料一次说清了", "等候时间有点长", "")


def _city() -> Region | None:
    for city in Region.objects.filter(level=Region.Level.CITY).order_by("code"):
        if Case.objects.filter(kind=Kind.BAD_REVIEW, region__path__startswith=city.path).exists():
            return city
    return None


def _accepting(serial: list[int]) -> outbound.Transport:
    def transport(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        serial[0] += 1
        return 200, json.dumps({"work_order_no": f"12345-{timezone.localdate():%Y%m%d}-{serial[0]:05d}"}).encode()

    return transport


def _unavailable(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    return 503, b'{"error": "service unavailable"}'


def seed_demo(out: Callable[[str], None], seed: int = 42) -> None:
    started = time.perf_counter()
    rng = random.Random(f"haochaping-demo-hotline-{seed}")
    city = _city()
    if city is None:
        out("12345热线 / hotline: 无差评工单，跳过 / no 差评 cases, skipped")
        return
    link = services.link_save(ALL_SCOPE, city, endpoint=ENDPOINT, enabled=True, credential="demo-12345-token")
    cases = list(
        Case.objects.filter(kind=Kind.BAD_REVIEW, region__path__startswith=city.path)
        .exclude(channel="phone")
        .select_related("region")
        .order_by("-opened_at")[:8]
    )
    outbound.queue_cases(cases)
    orders = list(WorkOrder.objects.filter(link=link).select_related("link", "case").order_by("case__opened_at"))
    now = timezone.now()
    serial = [0]
    accepted = []
    for index, order in enumerate(orders):
        if index == len(orders) - 1:
            break  # the newest waits in the queue
        if index == len(orders) - 2:
            outbound.send_order(order, _unavailable, now=now)  # backing off
            continue
        outbound.send_order(order, _accepting(serial), now=order.case.opened_at + timedelta(minutes=1))
        accepted.append(order)
    scope = Scope(kind="region", region_path=city.path, region_id=city.pk, label=city.name)
    updates = 0
    for order in accepted:
        order.refresh_from_db()
        at = order.sent_at or now
        for status, note in STATUSES[: rng.randint(1, len(STATUSES))]:
            at = min(at + timedelta(minutes=rng.randint(20, 240)), now)
            inbound.status_record(scope, order.work_order_no, status=status, note=note, at=at, now=at)
            updates += 1
    calls = 0
    items = list(ServiceItem.objects.filter(region__path__startswith=city.path).order_by("id")[:20])
    for n, item in enumerate(items[:6]):
        called_at = now - timedelta(days=rng.randint(0, 6), hours=rng.randint(1, 8))
        grade = rng.choice(["满意", "满意", "基本满意", "非常满意"])
        c = inbound.CallbackIn(
            call_id=f"DEMO-CALL-{seed}-{n:03d}",
            called_at=called_at,
            satisfaction=grade,
            comment=CALL_COMMENTS[n % len(CALL_COMMENTS)],
            item_code=item.implementation_code,
        )
        try:
            result = inbound.callback_record(scope, c, client="hotline:demo", now=called_at)
        except DomainError:  # a 事项 the demo's rating rules do not take: the next one
            continue
        calls += result.status == "stored"
    if accepted:
        c = inbound.CallbackIn(
            call_id=f"DEMO-CALL-{seed}-WO",
            called_at=now,
            satisfaction="基本满意",
            comment="已有工作人员联系",
            work_order_no=accepted[0].work_order_no,
        )
        calls += inbound.callback_record(scope, c, client="hotline:demo", now=now).status == "stored"
    out(
        f"12345热线 / hotline: {city.name} 转派 {len(orders)} 件（热线接收 {len(accepted)}，退避重试 1，待发送 1），"
        f"状态回传 {updates} 条，回访结果 {calls} 条，{time.perf_counter() - started:.1f}s"
    )
    out(f"  {settings.SITE_URL}/hotline/ 以 province 或 city_… 管理员登录；命令行 haochaping hotline status")
