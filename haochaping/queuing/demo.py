"""Demo: a morning of one hall's queue — tickets issued, called to its windows, finished with a 办件 or without (a few
过号), ~60% of the finished ones rated on the window's evaluator or through the ticket's QR code — all through the
queuing services as the API does, so /queue/ shows the day. Prints how to drive the hall with the reference client.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from haochaping.accounts.apikeys import api_key_create
from haochaping.accounts.scope import ALL_SCOPE, scope_for_api_key
from haochaping.directory.models import Hall, ServiceItem, Window
from haochaping.evaluator import services as evaluator
from haochaping.queuing import services
from haochaping.ratings.services import service_case_register

TICKETS = 40
GRADES = ["very_satisfied"] * 6 + ["satisfied"] * 3 + ["basic", "dissatisfied"]
COMMENTS = ["叫号很快，窗口办理熟练", "等了二十分钟，还可以", "材料一次讲清楚了", ""]


def _hall() -> Hall | None:
    """The hall of the demo's clerk login (its evaluator demo window), else the first hall with windows."""
    window = (
        Window.objects.filter(is_active=True, staff__user__isnull=False).select_related("hall").order_by("id").first()
        or Window.objects.filter(is_active=True).select_related("hall").order_by("id").first()
    )
    return window.hall if window else None


def seed_demo(out: Callable[[str], object] = print, seed: int = 1) -> dict | None:
    hall = _hall()
    if hall is None:
        return None
    rng = random.Random(seed)
    windows = list(Window.objects.filter(hall=hall, is_active=True).select_related("unit").order_by("code")[:4])
    key_row, key = api_key_create(name=f"{hall.name}排队叫号系统（演示）", unit=hall.unit)
    caller = services.Caller(scope=scope_for_api_key(key_row), source=f"queue:{key_row.prefix}", api_key=key_row)
    # One evaluator per window (the first two); the others' citizens rate through the ticket's QR code.
    devices = {}
    for window in windows[:2]:
        _, code = evaluator.pairing_code_create(window=window)
        devices[window.pk] = evaluator.device_pair(code=code, name=f"{window.code}号窗评价器（叫号演示）")[0]
    # A 事项 of the window's unit (else one of the hall's region, handled by the window's unit) for the 办件.
    items = {}
    for window in windows:
        items[window.pk] = (
            ServiceItem.objects.filter(unit_id=window.unit_id).order_by("id").first()
            or ServiceItem.objects.filter(region_id=hall.region_id).order_by("id").first()
        )
    now = timezone.now()
    start = max(now - timedelta(hours=3, minutes=30), timezone.localtime(now).replace(hour=0, minute=5))
    step = (now - start) / (TICKETS + 8)
    stamp = timezone.localtime(now).strftime("%Y%m%d")
    counts = {"tickets": 0, "finished": 0, "with_case": 0, "rated": 0}
    for n in range(1, TICKETS + 1):
        serial = f"D{n:03d}"
        issued = start + step * n
        window = windows[n % len(windows)]
        services.ticket_issue(caller, hall=hall.code, serial=serial, at=issued)
        counts["tickets"] += 1
        if n > TICKETS - 3:
            continue  # the last few still wait
        called_at = issued + step * rng.uniform(1, 3)
        services.ticket_called(caller, hall=hall.code, serial=serial, window=window.code, at=called_at)
        if n > TICKETS - 5:
            continue  # being served now
        if rng.random() < 0.06:
            services.ticket_no_show(caller, hall=hall.code, serial=serial, at=called_at + timedelta(minutes=2))
            continue
        case_no = None
        item = items.get(window.pk)
        if item is not None and rng.random() < 0.65:
            case_no = f"QD-{stamp}-{hall.pk}-{serial}"
            service_case_register(
                scope=ALL_SCOPE,
                case_no=case_no,
                item_code=item.implementation_code,
                unit_uscc=window.unit.uscc,
                hall_code=hall.code,
                window_code=window.code,
                accepted_at=called_at,
            )
        done_at = called_at + step * rng.uniform(1, 2.5)
        ticket = services.ticket_finished(
            caller, hall=hall.code, serial=serial, case_no=case_no, no_case=not case_no, at=done_at
        ).ticket
        counts["finished"] += 1
        counts["with_case"] += bool(case_no)
        if n % 5 >= 3:
            continue  # three in five rated
        grade = rng.choice(GRADES)
        device = devices.get(window.pk)
        if device is not None:
            result = evaluator.device_rating_submit(
                device=device,
                rating=evaluator.DeviceRating(
                    idempotency_key=str(ticket.public_id),
                    grade=grade,
                    prompt_id=ticket.prompt_id,
                    rated_at=done_at + timedelta(seconds=40),
                ),
            )
        else:
            ticket.refresh_from_db()
            result = services.ticket_rate(ticket, grade=grade, comment=rng.choice(COMMENTS))
        counts["rated"] += bool(result.ok)
    out(
        f"排队叫号 / queue calling: {hall.name} 今日 {counts['tickets']} 张票号，办结 {counts['finished']}"
        f"（有办件 {counts['with_case']}），已评价 {counts['rated']}：{settings.SITE_URL}/queue/（以 province 登录）"
    )
    windows_arg = ",".join(w.code for w in windows[:2])
    out(
        f"  参考客户端 / reference client: python scripts/queue_client.py --url {settings.SITE_URL} --key {key} "
        f"--hall {hall.code} --windows {windows_arg} --tickets 20 --prefix E --rate（接口说明 docs/queue-calling.md）"
    )
    return counts | {"hall": hall.code, "key": key}
