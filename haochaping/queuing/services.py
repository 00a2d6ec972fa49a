"""Queuing services: the queue-calling events (issued, called, finished, no-show, cancel, attach 办件), the ticket's
QR token, and joining ratings to tickets. Every write is one transaction that locks the ticket row.

Idempotency: an event that matches the ticket's state answers that state again without writing (no second prompt);
an event the state does not allow raises Conflict (409) saying why. See docs/queue-calling.md.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE, Scope
from haochaping.directory.models import Hall, Window
from haochaping.evaluator import services as evaluator
from haochaping.evaluator.models import EvaluatorPrompt
from haochaping.lib.errors import Conflict, Gone, NotFound, ValidationFailed
from haochaping.queuing.models import QueueTicket, QueueTicketEvent, QueueTicketRating
from haochaping.ratings.intake import ItemResult, submit_ratings
from haochaping.ratings.models import ServiceCase

State = QueueTicket.State
Outcome = QueueTicket.Outcome
# 96 random bits, like the window QR codes: unguessable, and a coarse QR code that scans from a paper ticket.
TOKEN_BYTES = 12
FUTURE_TOLERANCE = timedelta(minutes=10)
RATING_CLIENT = "queue-ticket"  # intake's client of ticket-QR ratings; the idempotency key is the ticket's id


def qr_ttl() -> timedelta:
    """How long a ticket's QR code can be used to rate, from its issue (HAOCHAPING_QUEUE_TICKET_QR_TTL_HOURS)."""
    return timedelta(hours=int(settings.HAOCHAPING_QUEUE_TICKET_QR_TTL_HOURS))


def token_hash(token: str) -> str:
    key = f"{settings.SECRET_KEY}:queuing:ticket".encode()
    return hmac.new(key, token.encode(), hashlib.sha256).hexdigest()


def rating_path(token: str) -> str:
    return reverse("ticket_public:rate", args=[token])


def rating_url(token: str) -> str:
    return settings.SITE_URL + rating_path(token)


@dataclass
class Caller:
    """Who sends the events: the API key's scope, its source label ("queue:<key prefix>") and the key."""

    scope: Scope
    source: str
    api_key: Any = None


@dataclass
class Outcomes:
    ticket: QueueTicket
    created: bool = False  # the ticket was created by this event
    changed: bool = False  # the event changed the ticket (False: a re-send answered with the stored state)
    token: str | None = None  # the new QR token, only when one was made by this event
    extra: dict = field(default_factory=dict)


# --- scope ---------------------------------------------------------------------------------------------------------


def hall_in_scope(scope: Scope, hall: Hall) -> bool:
    """A region scope covers its halls; a units scope the halls its units manage or staff a window in."""
    if scope.kind == "all":
        return True
    if scope.kind == "region":
        return hall.region.path.startswith(scope.region_path)
    if scope.kind == "units":
        return hall.unit_id in scope.unit_ids or Window.objects.filter(hall=hall, unit_id__in=scope.unit_ids).exists()
    return False


def window_in_scope(scope: Scope, window: Window) -> bool:
    """Within a hall in scope: every window for a region scope or the hall's managing unit, else the unit's own."""
    if scope.kind in ("all", "region"):
        return True
    return scope.kind == "units" and (window.hall.unit_id in scope.unit_ids or window.unit_id in scope.unit_ids)


def ticket_in_scope(scope: Scope, ticket: QueueTicket) -> bool:
    return ticket.window is None or window_in_scope(scope, ticket.window)


def hall_for(scope: Scope, code: str) -> Hall:
    hall = Hall.objects.select_related("region").filter(code=code, is_active=True).first()
    if hall is None or not hall_in_scope(scope, hall):
        raise NotFound(f"大厅 {code} 不存在或不在您的数据范围内", field="hall")
    return hall


def window_for(scope: Scope, hall: Hall, code: str) -> Window:
    window = Window.objects.select_related("hall").filter(hall=hall, code=code, is_active=True).first()
    if window is None or not window_in_scope(scope, window):
        raise NotFound(f"窗口 {hall.code}/{code} 不存在或不在您的数据范围内", field="window")
    return window


def case_scope(scope: Scope, window: Window) -> Scope:
    """Which 办件 a "finished" may name: the caller's, and those of the unit of the window the ticket was served at."""
    if scope.kind in ("all", "region"):
        return scope
    return Scope(kind="units", unit_ids=frozenset(scope.unit_ids) | {window.unit_id}, label="排队叫号")


def case_for(scope: Scope, window: Window, case_no: str) -> ServiceCase:
    case = case_scope(scope, window).filter(ServiceCase.objects.filter(case_no=case_no)).first()
    if case is None:
        raise NotFound(f"办件 {case_no} 不存在或不在您的数据范围内", field="case_no")
    return case


# --- events --------------------------------------------------------------------------------------------------------


def _when(at: datetime | None) -> datetime:
    now = timezone.now()
    if at is None:
        return now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at.year < 2000:
        raise ValidationFailed("事件时间无效", field="at")
    if at > now + FUTURE_TOLERANCE:
        raise ValidationFailed("事件时间不能晚于当前时间", field="at")
    return at


def _day(at: datetime, day: date | None) -> date:
    return day or timezone.localdate(at)


def _serial(serial: str) -> str:
    return serial.strip().upper()


def _locked(hall: Hall, day: date, serial: str) -> QueueTicket | None:
    return (
        QueueTicket.objects.select_for_update(of=("self",))
        .select_related("window", "window__hall", "service_case")
        .filter(hall=hall, business_day=day, serial=serial)
        .first()
    )


def _log(ticket: QueueTicket, kind: str, at: datetime, source: str, **data: Any) -> None:
    QueueTicketEvent.objects.create(ticket=ticket, kind=kind, at=at, data=data, source=source[:60])


def _get_or_create(caller: Caller, hall: Hall, day: date, serial: str, at: datetime) -> tuple[QueueTicket, str | None]:
    ticket = _locked(hall, day, serial)
    if ticket is not None:
        return ticket, None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    try:
        with transaction.atomic():
            ticket = QueueTicket.objects.create(
                hall=hall,
                serial=serial,
                business_day=day,
                issued_at=at,
                qr_token_hash=token_hash(token),
                source=caller.source[:60],
                api_key=caller.api_key,
            )
    except IntegrityError:  # issued at the same moment by a concurrent request: use that one
        ticket = _locked(hall, day, serial)
        if ticket is None:
            raise
        return ticket, None
    _log(ticket, "issued", at, caller.source)
    return ticket, token


def _existing(caller: Caller, hall: Hall, day: date, serial: str, action: str) -> QueueTicket:
    ticket = _locked(hall, day, serial)
    if ticket is None:
        raise Conflict(f"票号 {serial}（{day}）尚未取号或叫号，不能{action}；请先发送 called", field="serial")
    if not ticket_in_scope(caller.scope, ticket):
        raise NotFound(f"票号 {serial} 不存在或不在您的数据范围内", field="serial")
    return ticket


def ticket_issue(
    caller: Caller, *, hall: str, serial: str, at: datetime | None = None, day: date | None = None
) -> Outcomes:
    """Register a printed ticket (optional: "called" creates unknown tickets too). The QR token comes back once."""
    caller.scope.require_write()
    at = _when(at)
    hall_row = hall_for(caller.scope, hall)
    with transaction.atomic():
        ticket, token = _get_or_create(caller, hall_row, _day(at, day), _serial(serial), at)
        if token is None and not ticket_in_scope(caller.scope, ticket):
            raise NotFound(f"票号 {ticket.serial} 不存在或不在您的数据范围内", field="serial")
    return Outcomes(ticket, created=token is not None, changed=token is not None, token=token)


def ticket_called(
    caller: Caller, *, hall: str, serial: str, window: str, at: datetime | None = None, day: date | None = None
) -> Outcomes:
    """Ticket called to a window (叫号). Re-calls (重呼) of a called or no-show ticket move it to that window."""
    caller.scope.require_write()
    at = _when(at)
    hall_row = hall_for(caller.scope, hall)
    window_row = window_for(caller.scope, hall_row, window)
    with transaction.atomic():
        ticket, token = _get_or_create(caller, hall_row, _day(at, day), _serial(serial), at)
        if token is None and not ticket_in_scope(caller.scope, ticket):
            raise NotFound(f"票号 {ticket.serial} 不存在或不在您的数据范围内", field="serial")
        result = Outcomes(ticket, created=token is not None, token=token)
        if ticket.window_id == window_row.pk and ticket.state in (State.CALLED, State.FINISHED):
            return result  # a re-send (also one arriving after "finished")
        if ticket.state in (State.FINISHED, State.CANCELLED):
            raise Conflict(f"票号 {ticket.serial} 已{ticket.get_state_display()}，不能再叫号", field="serial")
        ticket.state = State.CALLED
        ticket.outcome = Outcome.NONE
        ticket.window = window_row
        ticket.called_at = at
        ticket.save(update_fields=["state", "outcome", "window", "called_at", "updated_at"])
        _log(ticket, "called", at, caller.source, window=window_row.code)
        result.changed = True
    return result


def ticket_finished(
    caller: Caller,
    *,
    hall: str,
    serial: str,
    case_no: str | None = None,
    no_case: bool = False,
    at: datetime | None = None,
    day: date | None = None,
) -> Outcomes:
    """Ticket finished at its window, with a 办件 or without: push the window's evaluator prompt (once).

    A later "finished" naming a 办件 for a ticket finished without one attaches the 办件 (no new prompt).
    """
    caller.scope.require_write()
    case_no = (case_no or "").strip() or None
    if bool(case_no) == bool(no_case):
        raise ValidationFailed("请提供办件编号 case_no，或声明 no_case: true（未办件）二者之一", field="case_no")
    at = _when(at)
    hall_row = hall_for(caller.scope, hall)
    with transaction.atomic():
        ticket = _existing(caller, hall_row, _day(at, day), _serial(serial), "结束")
        result = Outcomes(ticket)
        if ticket.state == State.FINISHED:
            if (case_no is None and ticket.outcome == Outcome.NO_CASE) or (
                case_no and ticket.service_case and ticket.service_case.case_no == case_no
            ):
                return result  # a re-send
            if case_no and ticket.service_case is None:
                _attach(caller, ticket, case_no, at)
                result.changed = True
                return result
            raise Conflict(f"票号 {ticket.serial} 已按其他结果结束（{_outcome_text(ticket)}）", field="case_no")
        if ticket.state != State.CALLED:
            raise Conflict(
                f"票号 {ticket.serial} 当前状态为“{ticket.get_state_display()}”，需先叫号（called）才能结束",
                field="serial",
            )
        window = ticket.window
        if case_no:
            case_for(caller.scope, window, case_no)  # 404 naming case_no before the push
        prompt = evaluator.prompt_push(
            window=window, case_no=case_no, scope=case_scope(caller.scope, window), source=caller.source
        )
        ticket.state = State.FINISHED
        ticket.outcome = Outcome.CASE if case_no else Outcome.NO_CASE
        ticket.finished_at = at
        ticket.service_case = prompt.service_case
        ticket.prompt = prompt
        ticket.save(update_fields=["state", "outcome", "finished_at", "service_case", "prompt", "updated_at"])
        _log(ticket, "finished", at, caller.source, case_no=case_no, prompt_id=prompt.pk)
        result.changed = True
    return result


def _outcome_text(ticket: QueueTicket) -> str:
    if ticket.service_case is not None:
        return f"办件 {ticket.service_case.case_no}"
    return str(ticket.get_outcome_display())


def _attach(caller: Caller, ticket: QueueTicket, case_no: str, at: datetime) -> None:
    case = case_for(caller.scope, ticket.window, case_no)
    if case.online:
        raise ValidationFailed("网上办理的办件不能关联到大厅票号", field="case_no")
    ticket.service_case = case
    ticket.outcome = Outcome.CASE
    ticket.save(update_fields=["service_case", "outcome", "updated_at"])
    _log(ticket, "case_attached", at, caller.source, case_no=case_no)


def ticket_attach_case(caller: Caller, *, hall: str, serial: str, case_no: str, day: date | None = None) -> Outcomes:
    """The 办件 of a finished ticket, known later: join the ticket (and its ratings) to the 办件."""
    caller.scope.require_write()
    at = timezone.now()
    hall_row = hall_for(caller.scope, hall)
    with transaction.atomic():
        ticket = _existing(caller, hall_row, _day(at, day), _serial(serial), "关联办件")
        result = Outcomes(ticket)
        if ticket.state != State.FINISHED:
            raise Conflict(f"票号 {ticket.serial} 尚未办结（finished），不能关联办件", field="serial")
        if ticket.service_case is not None:
            if ticket.service_case.case_no == case_no:
                return result
            raise Conflict(f"票号 {ticket.serial} 已关联办件 {ticket.service_case.case_no}", field="case_no")
        _attach(caller, ticket, case_no, at)
        result.changed = True
    return result


def ticket_no_show(
    caller: Caller, *, hall: str, serial: str, at: datetime | None = None, day: date | None = None
) -> Outcomes:
    """过号: called but nobody came. A later "called" may re-call it."""
    return _end(caller, hall, serial, at, day, State.NO_SHOW, Outcome.NO_SHOW, "标记过号")


def ticket_cancel(
    caller: Caller, *, hall: str, serial: str, at: datetime | None = None, day: date | None = None
) -> Outcomes:
    """取消: the ticket will not be served (withdrawn, reprinted …)."""
    return _end(caller, hall, serial, at, day, State.CANCELLED, Outcome.CANCELLED, "取消")


def _end(caller: Caller, hall: str, serial: str, at, day, state: str, outcome: str, action: str) -> Outcomes:
    caller.scope.require_write()
    at = _when(at)
    hall_row = hall_for(caller.scope, hall)
    with transaction.atomic():
        ticket = _existing(caller, hall_row, _day(at, day), _serial(serial), action)
        result = Outcomes(ticket)
        if ticket.state == state:
            return result
        allowed = (State.ISSUED, State.CALLED) + ((State.NO_SHOW,) if state == State.CANCELLED else ())
        if ticket.state not in allowed:
            raise Conflict(f"票号 {ticket.serial} 已{ticket.get_state_display()}，不能{action}", field="serial")
        ticket.state = state
        ticket.outcome = outcome
        ticket.finished_at = at
        ticket.save(update_fields=["state", "outcome", "finished_at", "updated_at"])
        _log(ticket, state, at, caller.source)
        result.changed = True
    return result


def ticket_get(caller: Caller, *, hall: str, serial: str, day: date | None = None) -> QueueTicket:
    hall_row = hall_for(caller.scope, hall)
    ticket = (
        QueueTicket.objects.select_related("hall", "window", "service_case", "prompt")
        .filter(hall=hall_row, business_day=day or timezone.localdate(), serial=_serial(serial))
        .first()
    )
    if ticket is None or not ticket_in_scope(caller.scope, ticket):
        raise NotFound(f"票号 {_serial(serial)} 不存在或不在您的数据范围内", field="serial")
    return ticket


def ticket_qr_renew(caller: Caller, *, hall: str, serial: str, day: date | None = None) -> Outcomes:
    """A new QR token for a ticket (the printed answer was lost); the previous code stops working."""
    caller.scope.require_write()
    hall_row = hall_for(caller.scope, hall)
    with transaction.atomic():
        ticket = _existing(caller, hall_row, day or timezone.localdate(), _serial(serial), "重新生成二维码")
        if ticket.rated_at is not None:
            raise Conflict(f"票号 {ticket.serial} 已评价，无需二维码", field="serial")
        token = secrets.token_urlsafe(TOKEN_BYTES)
        ticket.qr_token_hash = token_hash(token)
        ticket.save(update_fields=["qr_token_hash", "updated_at"])
        _log(ticket, "qr_renewed", timezone.now(), caller.source)
    return Outcomes(ticket, changed=True, token=token)


# --- ratings joined to tickets -------------------------------------------------------------------------------------


def rating_link(ticket: QueueTicket, rating_public_id: str, via: str) -> None:
    """Join a stored rating to the ticket (idempotent); the first one marks the ticket rated."""
    QueueTicketRating.objects.get_or_create(
        rating_public_id=rating_public_id, defaults={"ticket_id": ticket.pk, "via": via}
    )
    QueueTicket.objects.filter(pk=ticket.pk, rated_at=None).update(rated_at=timezone.now())


def on_prompt_rated(prompt: EvaluatorPrompt, result: ItemResult) -> None:
    """evaluator.PROMPT_RATED_HOOKS: the device rating of a prompt a ticket's "finished" pushed joins that ticket."""
    if not result.rating_id:
        return
    ticket = QueueTicket.objects.filter(prompt_id=prompt.pk).first()
    if ticket is not None:
        rating_link(ticket, result.rating_id, QueueTicketRating.Via.EVALUATOR)


def ticket_by_token(token: str, *, now: datetime | None = None) -> QueueTicket:
    """The ticket behind a scanned QR token; NotFound for unknown tokens, Gone once expired."""
    if not token or len(token) > 60:
        raise NotFound("二维码无效，请扫描排队小票上的评价二维码")
    ticket = (
        QueueTicket.objects.select_related("hall", "window", "window__hall", "service_case", "prompt__staff")
        .filter(qr_token_hash=token_hash(token))
        .first()
    )
    if ticket is None:
        raise NotFound("二维码无效，请扫描排队小票上的评价二维码")
    if ticket.issued_at + qr_ttl() < (now or timezone.now()):
        raise Gone("此票号的评价二维码已过期")
    return ticket


def ticket_servable(ticket: QueueTicket) -> bool:
    """Rateable on the phone once called (or finished); not when issued only, cancelled or 过号 without service."""
    return ticket.state in (State.CALLED, State.FINISHED)


def ticket_rate(ticket: QueueTicket, *, grade: str, comment: str = "", tags: list[str] | None = None) -> ItemResult:
    """Store the phone rating of a ticket through intake (channel qr): one per ticket, only once it was called.

    Of the 办件 when the ticket has one, else of the window and its staff. The idempotency key is the ticket's id,
    so a double submit stores one rating.
    """
    if not ticket_servable(ticket):
        raise Conflict("该票号尚未叫号办理，办理后再来评价吧", field="ticket")
    if ticket.rated_at is not None or QueueTicketRating.objects.filter(ticket=ticket).exists():
        raise Conflict("该票号已评价，感谢您的参与", field="ticket")
    item: dict[str, Any] = {
        "grade": grade,
        "channel": "qr",
        "tags": tags or [],
        "comment": comment or "",
        "idempotency_key": str(ticket.public_id),
    }
    window = ticket.window
    if ticket.service_case is not None:
        item["case_no"] = ticket.service_case.case_no
    else:
        item["window"] = {"hall": window.hall.code, "code": window.code}
        staff = ticket.prompt.staff if ticket.prompt is not None else evaluator.window_staff(window)
        if staff is not None:
            item["staff_code"] = staff.code
    # The token is the credential and the ticket fixes the target: the intake may use the full scope.
    (result,) = submit_ratings([item], scope=ALL_SCOPE, client=RATING_CLIENT)
    if result.ok and result.rating_id:
        rating_link(ticket, result.rating_id, QueueTicketRating.Via.TICKET_QR)
    return result
