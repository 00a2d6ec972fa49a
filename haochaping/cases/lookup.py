"""The rater's lookup code (查询码): follow one's own 差评/投诉 on the public portal without logging in.

A case is looked up by its number (工单编号, ``Case.number``) and an 8-character code derived from the case id with
a keyed HMAC (``salted_hmac`` with the salt below and ``settings.SECRET_KEY``), written in Crockford base32 as two
groups, e.g. ``7K2M-Q9XD``. Nothing is stored: the code is recomputed on every lookup, so it needs no migration and
cannot leak from the database. Rotating ``SECRET_KEY`` changes every code (codes already sent stop working; the
rater can still use the SMS link or the 12345 hotline). 40 bits of code behind a per-address rate limit
(``HAOCHAPING_TRACK_PER_HOUR``) make guessing hopeless; an unknown number and a wrong code get the same answer.

The rater receives the code on the thank-you page after a 差评, on the complaint-done page and in the outcome SMS.
``public_status`` is what the lookup page may show: the steps, dates, deadlines and the outcome — never the handler,
internal notes, call-back contents or anyone's personal data.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from haochaping.lib.errors import NotFound

if TYPE_CHECKING:
    from haochaping.cases.models import Case

SALT = "haochaping.cases.lookup"
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford base32: no I, L, O, U
CODE_LENGTH = 8
NUMBER_RE = re.compile(r"^(CP|TS|JY)(\d{8})-(\d{6,12})$")  # 差评 / 投诉 / 意见建议 (cases/models.NUMBER_PREFIXES)
NOT_FOUND_MESSAGE = "工单编号或查询码不正确，请核对后重试"
_CONFUSABLE = str.maketrans({"O": "0", "I": "1", "L": "1"})


def _raw_code(case_id: int) -> str:
    digest = salted_hmac(SALT, str(int(case_id)), secret=settings.SECRET_KEY, algorithm="sha256").digest()
    value = int.from_bytes(digest[:5], "big")  # 40 bits = 8 base32 characters
    return "".join(ALPHABET[(value >> shift) & 31] for shift in range(35, -1, -5))


def lookup_code(case_id: int) -> str:
    """The case's 查询码 as shown to the rater: ``ABCD-EFGH``."""
    raw = _raw_code(case_id)
    return f"{raw[:4]}-{raw[4:]}"


def normalise(code: str) -> str:
    """What the rater typed, made comparable: full-width folded, upper case, spaces/hyphens dropped, O→0, I/L→1."""
    text = unicodedata.normalize("NFKC", code or "").upper()
    text = re.sub(r"[\s\-_–—]+", "", text)
    return text.translate(_CONFUSABLE)


def normalise_number(number: str) -> str:
    text = unicodedata.normalize("NFKC", number or "").upper()
    return re.sub(r"\s+", "", text)


def case_id_of(number: str) -> int | None:
    """The case id in a well-formed 工单编号, or None."""
    match = NUMBER_RE.match(normalise_number(number))
    return int(match.group(3)) if match else None


def case_for_lookup(number: str, code: str) -> Case:
    """The case with this number and code; NotFound (field "code") with one message for any mismatch."""
    from haochaping.cases.models import Case

    given = normalise(code)
    case_id = case_id_of(number)
    case = None
    if case_id is not None:
        case = Case.objects.select_related("unit", "region", "service_item").filter(pk=case_id).first()
    # Compare even when the number is unknown, so both answers take the same time.
    expected = _raw_code(case.pk if case is not None else 0)
    code_ok = constant_time_compare(given, expected)
    if case is None or not code_ok or case.number != normalise_number(number):
        raise NotFound(NOT_FOUND_MESSAGE, field="code")
    return case


def lookup_url(case: Case) -> str:
    """The link that opens the case's status directly (number and code in the query string)."""
    query = urlencode({"n": case.number, "c": lookup_code(case.pk)})
    return f"{settings.SITE_URL}{reverse('disclosure:track')}?{query}"


def lookup_for_number(number: str) -> dict[str, str]:
    """Template context for a page that has just opened a case (thank-you, complaint done): code and link."""
    case_id = case_id_of(number) if number else None
    if case_id is None:
        return {}
    query = urlencode({"n": number, "c": lookup_code(case_id)})
    return {
        "lookup_code": lookup_code(case_id),
        "lookup_url": f"{settings.SITE_URL}{reverse('disclosure:track')}?{query}",
        "lookup_path": f"{reverse('disclosure:track')}?{query}",
    }


# --- what the public page shows ---------------------------------------------------------------------------------


def _when(value: datetime | date | None) -> datetime | date | None:
    if isinstance(value, datetime):
        return timezone.localtime(value)
    return value


def outcome_of(case: Case) -> dict[str, Any] | None:
    """The outcome as the rater may see it (like the feedback page): label, measures or explanation, fix date."""
    from haochaping.cases.models import Outcome

    if not case.outcome:
        return None
    text_label, text = _("整改措施"), case.measures
    if case.outcome in (Outcome.EXPLAINED, Outcome.NOT_ADOPTED):
        text_label, text = _("解释说明"), case.explanation
    fixed_at = case.rectified_at if case.outcome == Outcome.LEDGER else None
    if case.outcome == Outcome.FIXED_NOW:
        fixed_at = case.outcome_at
    return {
        "label": case.get_outcome_display(),
        "text_label": text_label,
        "text": text,
        "fixed_at": _when(fixed_at),
        "at": _when(case.outcome_at),
    }


def steps_of(case: Case) -> list[dict[str, Any]]:
    """已受理 → 回访核实 → 作出处理 → 告知结果 → 评价/办结, each with done/current and the date where known.

    Progress follows the state (a reopened case goes back to 回访核实 even though its old verification date stays).
    """
    from haochaping.cases.models import State

    reached = {
        State.NEW: 1,
        State.ASSIGNED: 1,
        State.VERIFIED: 2,
        State.APPEALING: 2,
        State.RECTIFYING: 2,
        State.FEEDBACK: 4,
        State.CLOSED: 5,
    }.get(case.state, 1)
    if case.state == State.RECTIFYING and case.outcome_at:
        reached = 2  # the decision (限期整改) is made; the step completes with the rectification
    last = case.closed_at or case.feedback_at
    rows = [
        (_("已受理"), case.opened_at),
        (_("回访核实"), case.verified_at or case.called_back_at),
        (_("作出处理"), case.outcome_at),
        (_("告知结果"), case.notified_at),
        (_("评价/办结"), last),
    ]
    steps = []
    for index, (label, at) in enumerate(rows, start=1):
        done = index <= reached
        steps.append(
            {
                "label": label,
                "done": done,
                "current": index == reached + 1,
                "at": _when(at) if done else None,
            }
        )
    return steps


def deadlines_of(case: Case) -> list[tuple[str, date]]:
    """The deadlines still running for the current step (working days, cases/workdays.py)."""
    from haochaping.cases.models import Outcome, State

    rows: list[tuple[str, date]] = []
    if case.state in (State.NEW, State.ASSIGNED) and case.called_back_at is None and case.callback_due:
        rows.append((_("回访时限"), case.callback_due))
    if case.state in (State.NEW, State.ASSIGNED, State.VERIFIED, State.APPEALING) and case.resolve_due:
        rows.append((_("办理时限"), case.resolve_due))
    if case.outcome == Outcome.LEDGER and case.deadline and case.state not in (State.FEEDBACK, State.CLOSED):
        label = _("整改期限（已延期）") if case.extended_deadline else _("整改期限")
        rows.append((label, case.deadline))
    if case.state == State.FEEDBACK and case.feedback_due:
        rows.append((_("评价期限"), case.feedback_due))
    return rows


def public_status(case: Case) -> dict[str, Any]:
    """Everything the lookup page shows of a case; nothing else of the case reaches the template."""
    from haochaping.cases.models import Kind, State

    return {
        "number": case.number,
        "kind": case.get_kind_display(),
        "is_complaint": case.kind == Kind.COMPLAINT,
        "opened_at": _when(case.opened_at),
        "unit": case.unit.name,
        "item": case.service_item.name if case.service_item_id else "",
        "state": case.get_state_display(),
        "state_code": case.state,
        "steps": steps_of(case),
        "deadlines": deadlines_of(case),
        "outcome": outcome_of(case),
        "reopened": case.reopen_count > 0,
        "feedback": case.get_feedback_grade_display() if case.feedback_grade else "",
        "closed": case.state == State.CLOSED,
        "close_reason": case.get_close_reason_display() if case.close_reason else "",
        "can_rate": case.state == State.FEEDBACK,
        "reopen_possible": case.reopen_count == 0,
    }
