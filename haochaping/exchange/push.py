"""The sending side: the outbox goes up to the superior platform in batches, with retries and backoff.

At least once on the wire, exactly once at the receiver: an entry leaves the outbox only after the superior
answered for its record (accepted, or duplicate = it already had it). If the sender dies between the superior's
commit and that answer, the batch goes again and the superior answers "duplicate". A record the superior refuses
stays in the outbox marked failed, shown on the status page, until an operator retries it (`exchange retry`).
Failures of the whole batch (network, 5xx, auth) back off exponentially; nothing is lost while either side is down.
"""

from __future__ import annotations

import json
import logging
import random
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from haochaping.exchange import payload
from haochaping.exchange.models import Delivery, OutboxEntry, UpstreamState

logger = logging.getLogger(__name__)

BATCH_PATH = "/api/v1/exchange/batches"
# (status, body) of one POST; raises OSError (URLError, timeout) when no answer came.
Transport = Callable[[str, bytes, dict[str, str]], tuple[int, bytes]]


def http_transport(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=settings.HAOCHAPING_UPSTREAM_TIMEOUT) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class PushResult:
    status: str  # "empty", "waiting" (backing off or paused), "ok", "partial", "failed"
    records: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    error: str = ""


def state() -> UpstreamState:
    found, _ = UpstreamState.objects.get_or_create(pk=1)
    return found


def backoff_seconds(failures: int) -> float:
    """5 s, 10 s, 20 s … up to the cap, ±20 % so a fleet of subordinates does not retry in step."""
    base = min(5 * 2 ** max(failures - 1, 0), settings.HAOCHAPING_UPSTREAM_BACKOFF_MAX)
    return base * random.uniform(0.8, 1.2)


def _failed(up: UpstreamState, delivery: Delivery, message: str) -> PushResult:
    now = timezone.now()
    up.failures += 1
    up.next_attempt_at = now + timedelta(seconds=backoff_seconds(up.failures))
    up.last_error = message[:2000]
    up.save(update_fields=["failures", "next_attempt_at", "last_error"])
    delivery.status = Delivery.Status.FAILED
    delivery.error = message[:2000]
    delivery.save()
    logger.warning("exchange push failed (%s in a row, next at %s): %s", up.failures, up.next_attempt_at, message)
    return PushResult(status="failed", records=delivery.records, error=message)


def push_batch(transport: Transport | None = None, *, force: bool = False) -> PushResult:
    """Send the oldest pending entries once. `force` ignores the backoff (an operator's `exchange push`)."""
    if not settings.HAOCHAPING_UPSTREAM_URL:
        return PushResult(status="empty", error="未配置上级平台（HAOCHAPING_UPSTREAM_URL）")
    up = state()
    now = timezone.now()
    if up.paused or (not force and up.next_attempt_at and up.next_attempt_at > now):
        return PushResult(status="waiting")
    entries = list(
        OutboxEntry.objects.filter(failed_at__isnull=True).order_by("id")[: settings.HAOCHAPING_UPSTREAM_BATCH]
    )
    if not entries:
        return PushResult(status="empty")
    pairs = payload.records_for(entries)
    gone = [i for ids, record in pairs if record is None for i in ids]
    pairs = [(ids, record) for ids, record in pairs if record is not None]
    if gone:  # records deleted since they were queued (a test's cleanup, a purge): nothing to send
        OutboxEntry.objects.filter(pk__in=gone).delete()
    if not pairs:
        return PushResult(status="empty")
    batch_id = uuid.uuid4()
    body = json.dumps(
        {
            "schema": payload.SCHEMA_VERSION,
            "batchId": str(batch_id),
            "platform": settings.HAOCHAPING_PLATFORM_CODE,
            "records": [record for _, record in pairs],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Authorization": f"Bearer {settings.HAOCHAPING_UPSTREAM_KEY}",
        "Idempotency-Key": str(batch_id),
    }
    delivery = Delivery(batch_id=batch_id, started_at=now, records=len(pairs), status=Delivery.Status.FAILED)
    started = time.monotonic()
    try:
        status, answer = (transport or http_transport)(settings.HAOCHAPING_UPSTREAM_URL + BATCH_PATH, body, headers)
    except OSError as exc:
        delivery.duration_ms = int((time.monotonic() - started) * 1000)
        return _failed(up, delivery, f"连接上级平台失败：{exc}")
    delivery.duration_ms = int((time.monotonic() - started) * 1000)
    delivery.http_status = status
    try:
        data = json.loads(answer.decode() or "{}")
    except (UnicodeDecodeError, json.JSONDecodeError):
        data = {}
    if status != 200 or not isinstance(data.get("results"), list) or len(data["results"]) != len(pairs):
        message = data.get("message") if isinstance(data, dict) else None
        return _failed(up, delivery, f"上级平台返回 HTTP {status}：{message or answer[:200]!r}")
    return _settle(up, delivery, pairs, data["results"])


def _settle(up: UpstreamState, delivery: Delivery, pairs: list, results: list) -> PushResult:
    done: list[int] = []
    refused: list[tuple[list[int], str]] = []
    for (ids, _record), result in zip(pairs, results, strict=True):
        outcome = result.get("status") if isinstance(result, dict) else None
        if outcome == "accepted":
            delivery.accepted += 1
            done.extend(ids)
        elif outcome == "duplicate":
            delivery.duplicates += 1
            done.extend(ids)
        else:
            delivery.rejected += 1
            errors = result.get("errors") if isinstance(result, dict) else None
            refused.append((ids, json.dumps(errors or result, ensure_ascii=False)[:2000]))
    now = timezone.now()
    with transaction.atomic():
        OutboxEntry.objects.filter(pk__in=done).delete()
        for ids, error in refused:
            OutboxEntry.objects.filter(pk__in=ids).update(failed_at=now, error=error)
        delivery.status = Delivery.Status.PARTIAL if refused else Delivery.Status.OK
        delivery.save()
        up.failures = 0
        up.next_attempt_at = None
        up.last_success_at = now
        up.last_error = ""
        up.save(update_fields=["failures", "next_attempt_at", "last_success_at", "last_error"])
    return PushResult(
        status=delivery.status,
        records=delivery.records,
        accepted=delivery.accepted,
        duplicates=delivery.duplicates,
        rejected=delivery.rejected,
    )


def push_pending(*, seconds: float = 50.0, transport: Transport | None = None, force: bool = False) -> list[PushResult]:
    """Push batches until the outbox is empty, a batch fails, or the time is up (the worker's minute)."""
    results: list[PushResult] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = push_batch(transport, force=force)
        if result.status in ("empty", "waiting"):
            if not results:
                results.append(result)
            break
        results.append(result)
        if result.status == "failed":
            break
    return results


def retry_failed() -> int:
    """Put the entries the superior refused back in line (after the cause was fixed on either side)."""
    return OutboxEntry.objects.filter(failed_at__isnull=False).update(failed_at=None, error="")
