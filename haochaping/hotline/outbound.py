"""Outbound 12345 work orders: queued in the case's transaction, pushed by the worker with backoff.

Which cases go out: a 差评 case when it is opened (and a 投诉 where the link says so) in a region whose nearest link
up the hierarchy is enabled; not a case that came from the hotline itself (channel 12345). A 差评 later set aside
(误评/恶意差评，不予采纳) sends a cancellation. At least once on the wire, once at the hotline: every POST carries
Idempotency-Key = our order number, and the hotline answers a re-send with the same work_order_no.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from haochaping.cases.models import Case, Kind
from haochaping.hotline.models import HotlineLink, WorkOrder
from haochaping.lib import protect
from haochaping.ratings.codes import Adoption, Channel

logger = logging.getLogger(__name__)

# (status, body) of one POST; raises OSError (URLError, timeout) when no answer came.
Transport = Callable[[str, bytes, dict[str, str]], tuple[int, bytes]]

BACKOFF_MIN = 5.0


def backoff_max() -> float:
    return float(getattr(settings, "HAOCHAPING_HOTLINE_BACKOFF_MAX", 600))


def timeout() -> float:
    return float(getattr(settings, "HAOCHAPING_HOTLINE_TIMEOUT", 10))


def http_transport(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout()) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def backoff_seconds(failures: int) -> float:
    """5 s, 10 s, 20 s … up to 10 minutes, ±20 % so orders do not retry in step."""
    base = min(BACKOFF_MIN * 2 ** max(failures - 1, 0), backoff_max())
    return base * random.uniform(0.8, 1.2)


# --- choosing the link and queueing (in the case's transaction) ------------------------------------------


def link_for_path(path: str, links: Iterable[HotlineLink] | None = None) -> HotlineLink | None:
    """The enabled link of the nearest region up the hierarchy from ``path`` (itself included)."""
    if links is None:
        links = HotlineLink.objects.filter(enabled=True).select_related("region")
    best = None
    for link in links:
        if link.enabled and path.startswith(link.region.path):
            if best is None or len(link.region.path) > len(best.region.path):
                best = link
    return best


def order_no_of(case: Case) -> str:
    return case.number


def queue_cases(cases: Iterable[Case], *, now: datetime | None = None) -> int:
    """Queue a work order for each case whose region has a link (none twice: the OneToOne). Returns how many."""
    links = list(HotlineLink.objects.filter(enabled=True).select_related("region"))
    if not links:
        return 0
    now = now or timezone.now()
    rows = []
    for case in cases:
        if case.channel == Channel.PHONE or case.kind not in (Kind.BAD_REVIEW, Kind.COMPLAINT):
            continue
        link = link_for_path(case.region.path, links)
        if link is None or (case.kind == Kind.COMPLAINT and not link.include_complaints):
            continue
        rows.append(WorkOrder(case=case, link=link, order_no=order_no_of(case), created_at=now))
    if not rows:
        return 0
    WorkOrder.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)


def cases_opened(rating_ids: Iterable[int]) -> None:
    """The opening hook (cases/opening.py): 差评 cases opened in intake's transaction."""
    rating_ids = list(rating_ids)
    if not rating_ids or not HotlineLink.objects.filter(enabled=True).exists():
        return
    queue_cases(Case.objects.filter(rating_id__in=rating_ids).select_related("region"))


def case_event_saved(sender, instance, created: bool, **kwargs) -> None:
    """A complaint is opened with CaseEvent.objects.create (post_save): queued where the link takes complaints."""
    if not created or instance.action != "open":
        return
    if not HotlineLink.objects.filter(enabled=True, include_complaints=True).exists():
        return
    queue_cases(Case.objects.filter(pk=instance.case_id, kind=Kind.COMPLAINT).select_related("region"))


def adoption_changed(row: dict, adoption: str) -> None:
    """A 差评 set aside (不予采纳) cancels its work order; reinstated before the cancellation left, it stays."""
    orders = WorkOrder.objects.filter(case__rating_id=row["id"]).exclude(state=WorkOrder.State.CANCELLED)
    if adoption == Adoption.NOT_ADOPTED:
        orders.update(cancel_pending=True, next_attempt_at=None, attempts=0)
    elif adoption == Adoption.ADOPTED:
        orders.filter(cancel_pending=True).update(cancel_pending=False)


def connect() -> None:
    """Register the writers (HotlineConfig.ready)."""
    from django.db.models.signals import post_save

    from haochaping.cases import opening
    from haochaping.cases.models import CaseEvent
    from haochaping.ratings import services

    opening.register_opening_events_hook(cases_opened)
    services.register_adoption_hook(adoption_changed)
    post_save.connect(case_event_saved, sender=CaseEvent, dispatch_uid="hotline-case-event")


# --- the payload ----------------------------------------------------------------------------------------


def mask_text(text: str) -> str:
    from haochaping.insight.text import mask, normalise

    return mask(normalise(text or ""))


def payload(order: WorkOrder) -> dict[str, Any]:
    """The work order as it leaves (docs/hotline-12345.md §2.1): built from the case at sending time."""
    case = Case.objects.select_related("unit", "region", "service_item", "service_case", "hall", "window").get(
        pk=order.case_id
    )
    contact = None
    if case.real_name and case.contact_phone_enc:
        contact = {"name": protect.decrypt(case.contact_name_enc), "phone": protect.decrypt(case.contact_phone_enc)}
    item = case.service_item
    return {
        "schema": 1,
        "order_no": order.order_no,
        "kind": case.kind,
        "kind_name": str(case.get_kind_display()),
        "grade": case.grade,
        "grade_name": str(case.get_grade_display()) if case.grade else "",
        "channel": case.channel,
        "opened_at": case.opened_at.isoformat(),
        "resolve_due": case.resolve_due.isoformat() if case.resolve_due else None,
        "region_code": case.region.code,
        "region_name": case.region.name,
        "unit": {"name": case.unit.name, "uscc": case.unit.uscc},
        "item": {"code": item.implementation_code, "name": item.name} if item else None,
        "service_case_no": case.service_case.case_no if case.service_case_id else None,
        "hall": case.hall.name if case.hall_id else None,
        "window": case.window.name if case.window_id else None,
        "summary": mask_text(case.summary),
        "contact": contact,
    }


# --- sending (the worker) ---------------------------------------------------------------------------------


@dataclass
class SendResult:
    order_no: str
    status: str  # accepted, sent, cancelled, failed, retry
    work_order_no: str = ""
    error: str = ""


def _headers(link: HotlineLink, key: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json; charset=utf-8", "Idempotency-Key": key, "User-Agent": "haochaping"}
    if link.credential_enc:
        headers["Authorization"] = f"Bearer {protect.decrypt(link.credential_enc)}"  # services.credential_encrypt
    return headers


def _permanent(status: int) -> bool:
    return 400 <= status < 500 and status not in (408, 425, 429)


def _retry_later(order: WorkOrder, message: str, now: datetime) -> SendResult:
    order.attempts += 1
    order.next_attempt_at = now + timedelta(seconds=backoff_seconds(order.attempts))
    order.last_error = message[:2000]
    order.save(update_fields=["attempts", "next_attempt_at", "last_error"])
    logger.warning("hotline %s: attempt %s failed, next at %s: %s", order.order_no, order.attempts,
                   order.next_attempt_at, message)  # fmt: skip
    return SendResult(order.order_no, "retry", order.work_order_no, message)


def _refused(order: WorkOrder, status: int, body: bytes) -> SendResult:
    order.state = WorkOrder.State.FAILED
    order.cancel_pending = False
    order.last_error = f"HTTP {status}: {body[:500].decode('utf-8', 'replace')}"
    order.next_attempt_at = None
    order.save(update_fields=["state", "cancel_pending", "last_error", "next_attempt_at"])
    logger.warning("hotline %s refused: %s", order.order_no, order.last_error)
    return SendResult(order.order_no, "failed", order.work_order_no, order.last_error)


def _post(order: WorkOrder, url: str, body: dict, key: str, transport: Transport, now: datetime):
    data = json.dumps(body, ensure_ascii=False).encode()
    try:
        status, answer = transport(url, data, _headers(order.link, key))
    except OSError as exc:
        return None, _retry_later(order, f"{type(exc).__name__}: {exc}", now)
    if status >= 500 or status in (408, 425, 429):
        return None, _retry_later(order, f"HTTP {status}: {answer[:300].decode('utf-8', 'replace')}", now)
    if _permanent(status):
        return None, _refused(order, status, answer)
    try:
        parsed = json.loads(answer or b"{}")
    except ValueError:
        parsed = {}
    return (parsed if isinstance(parsed, dict) else {}), None


def send_order(order: WorkOrder, transport: Transport | None = None, *, now: datetime | None = None) -> SendResult:
    """Send one pending order (the work order, or its cancellation)."""
    transport = transport or http_transport
    now = now or timezone.now()
    base = order.link.endpoint.rstrip("/")
    if order.cancel_pending:
        if not order.work_order_no:  # never reached the hotline: nothing to withdraw there
            order.state, order.cancel_pending, order.cancelled_at = WorkOrder.State.CANCELLED, False, now
            order.save(update_fields=["state", "cancel_pending", "cancelled_at"])
            return SendResult(order.order_no, "cancelled")
        body = {"order_no": order.order_no, "status": "cancelled", "reason": "差评经复核不予采纳（误评/恶意差评）"}
        url = f"{base}/work-orders/{order.work_order_no}/cancel"
        answer, failed = _post(order, url, body, f"{order.order_no}:cancel", transport, now)
        if failed:
            return failed
        order.state, order.cancel_pending, order.cancelled_at = WorkOrder.State.CANCELLED, False, now
        order.attempts, order.next_attempt_at, order.last_error = 0, None, ""
        order.save(
            update_fields=["state", "cancel_pending", "cancelled_at", "attempts", "next_attempt_at", "last_error"]
        )
        return SendResult(order.order_no, "cancelled", order.work_order_no)
    answer, failed = _post(order, f"{base}/work-orders", payload(order), order.order_no, transport, now)
    if failed:
        return failed
    remote = str(answer.get("work_order_no") or "")[:64]
    order.work_order_no = remote or order.work_order_no
    order.state = WorkOrder.State.ACCEPTED if order.work_order_no else WorkOrder.State.SENT
    order.sent_at = order.sent_at or now
    order.attempts, order.next_attempt_at, order.last_error = 0, None, ""
    # Not cancel_pending: a set-aside decided while this POST was on the wire is sent next.
    order.save(update_fields=["work_order_no", "state", "sent_at", "attempts", "next_attempt_at", "last_error"])
    return SendResult(order.order_no, order.state if order.state == "accepted" else "sent", order.work_order_no)


def due_orders(now: datetime, *, force: bool = False, limit: int = 100) -> list[WorkOrder]:
    from django.db.models import Q

    qs = WorkOrder.objects.filter(Q(state=WorkOrder.State.QUEUED) | Q(cancel_pending=True)).select_related("link")
    if not force:
        qs = qs.filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    return list(qs.order_by("id")[:limit])


def send_pending(
    transport: Transport | None = None, *, seconds: float = 50, force: bool = False, now: datetime | None = None
) -> list[SendResult]:
    """Send every order that is due (``force``: ignore the backoff), for at most ``seconds``."""
    started = time.monotonic()
    results: list[SendResult] = []
    seen: set[int] = set()
    while time.monotonic() - started < seconds:
        batch = [o for o in due_orders(now or timezone.now(), force=force) if o.pk not in seen]
        if not batch:
            break
        for order in batch:
            seen.add(order.pk)
            # No lock held over the HTTP call (the task itself is locked; a concurrent re-send is harmless: the
            # hotline answers the same Idempotency-Key with the same work_order_no).
            fresh = WorkOrder.objects.select_related("link").filter(pk=order.pk).first()
            if fresh is None or not fresh.pending:
                continue
            results.append(send_order(fresh, transport, now=now))
            if time.monotonic() - started >= seconds:
                break
    return results


def retry_failed(*, order_no: str = "") -> int:
    """Queue refused orders again (`hotline retry`): the operator fixed the cause."""
    qs = WorkOrder.objects.filter(state=WorkOrder.State.FAILED)
    if order_no:
        qs = qs.filter(order_no=order_no)
    return qs.update(state=WorkOrder.State.QUEUED, attempts=0, next_attempt_at=None, last_error="")
