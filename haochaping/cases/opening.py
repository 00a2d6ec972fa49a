"""Opening cases: one per 差评 as the rating is stored (intake hook), one per 投诉 as it is received.

``open_for_rating_rows`` runs inside the transaction that writes the ratings (ratings/intake.py calls it
through ``register_after_write``), so a stored 差评 always has its case. Default ratings (默认评价) are the
system's, not a rater's: they open no case.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from haochaping.accounts.scope import Scope
from haochaping.cases import rollup, workdays
from haochaping.cases.models import Case, CaseEvent, Kind, State
from haochaping.cases.policy import policy_for_path
from haochaping.directory.models import Hall, Organisation, Region, ServiceItem, Staff, Window
from haochaping.lib import protect
from haochaping.lib.errors import NotFound, ValidationFailed
from haochaping.ratings.codes import Channel, is_bad
from haochaping.ratings.models import Rating, ServiceCase
from haochaping.ratings.rowwriter import RowWriter

log = logging.getLogger(__name__)


def _deadlines(region_path: str, opened_at: datetime) -> dict[str, Any]:
    policy = policy_for_path(region_path)
    callback_due = workdays.add_workdays(opened_at, policy.callback_days)
    return {
        "callback_due": callback_due,
        "resolve_due": workdays.add_workdays(opened_at, policy.rectify_days),
        "due_on": callback_due,
    }


def wants_case(row: dict) -> bool:
    # A 差评 received from a subordinate platform (client "sub:<code>") is handled where it was given: the
    # superior counts it, it does not open a second case.
    return is_bad(row["grade"]) and not row["is_default"] and not row["client"].startswith("sub:")


def open_for_rating_rows(rows: Sequence[dict]) -> int:
    """Open a case for each landed 差评 among intake's rows (plain dicts as written). Returns how many."""
    bad = [r for r in rows if wants_case(r)]
    if not bad:
        return 0
    # The rated_at range prunes the monthly partitions on PostgreSQL (docs/partitioning.md).
    rated = [r["rated_at"] for r in bad]
    landed_rows = Rating.objects.filter(
        public_id__in=[r["public_id"] for r in bad], rated_at__range=(min(rated), max(rated))
    )
    ids = dict(landed_rows.values_list("public_id", "id"))
    landed = []
    for r in bad:
        if r["public_id"] in ids:  # else not landed (a concurrent writer took its slot)
            landed.append({**r, "id": ids[r["public_id"]]})
    now = timezone.now()
    return _open(landed, now, opened_at=lambda r: now, note="差评自动立案")


# The rating columns a case is opened from (intake's row dicts carry them under the same names).
_RATING_COLUMNS = (
    "id", "service_case_id", "service_item_id", "unit_id", "region_id", "hall_id", "window_id", "staff_id",
    "channel", "grade", "comment", "rater_name_enc", "rater_phone_enc", "rater_phone_hash", "rater_cert_enc",
    "received_at",
)  # fmt: skip


def open_missing(*, batch: int = 2000) -> int:
    """Open cases for stored 差评 that have none (ratings imported around intake, or before this app existed)."""
    opened, after = 0, 0
    while True:
        # Keyset pagination by id: one pass over the ratings in all, not a rescan from the start per batch.
        ratings = list(
            Rating.objects.filter(id__gt=after, grade__lte=2, is_default=False, case__isnull=True)
            .exclude(client__startswith="sub:")  # a subordinate's 差评 is handled there (wants_case)
            .order_by("id")
            .values(*_RATING_COLUMNS)[:batch]
        )
        if not ratings:
            return opened
        after = ratings[-1]["id"]
        with transaction.atomic():
            opened += _open(ratings, timezone.now(), opened_at=lambda r: r["received_at"], note="差评补立案")


_writers: dict[str, RowWriter] = {}


def _writer(model) -> RowWriter:
    # Built lazily: the SQL depends on the connection's vendor.
    key = f"{model._meta.label}:{connection.vendor}"
    if key not in _writers:
        _writers[key] = RowWriter(model)
    return _writers[key]


def _defaults(model) -> dict[str, Any]:
    return {f.attname: f.get_default() for f in model._meta.concrete_fields if f.name != "id"}


def _open(ratings: list[dict], now: datetime, *, opened_at, note: str) -> int:
    """Insert one case and its opening event per rating row (bulk, with RowWriter: intake's hot path)."""
    if not ratings:
        return 0
    paths = _region_paths({r["region_id"] for r in ratings})
    applicants = _applicants({r["service_case_id"] for r in ratings if r["service_case_id"]})
    base = _defaults(Case)
    rows = []
    for r in ratings:
        contact = _contact(r["rater_name_enc"], r["rater_phone_enc"], r["rater_phone_hash"], r["rater_cert_enc"])
        if not contact["real_name"] and r["service_case_id"] in applicants:
            contact = applicants[r["service_case_id"]]
        at = opened_at(r)
        rows.append(
            {
                **base,
                "kind": Kind.BAD_REVIEW.value,
                "rating_id": r["id"],
                "service_case_id": r["service_case_id"],
                "service_item_id": r["service_item_id"],
                "unit_id": r["unit_id"],
                "region_id": r["region_id"],
                "hall_id": r["hall_id"],
                "window_id": r["window_id"],
                "staff_id": r["staff_id"],
                "channel": r["channel"],
                "grade": r["grade"],
                "summary": r["comment"],
                **contact,
                "state": State.NEW.value,
                "opened_at": at,
                "updated_at": now,
                **_deadlines(paths[r["region_id"]], at),
            }
        )
    _writer(Case).insert(rows)
    _insert_opening_events([r["id"] for r in ratings], note)
    rollup.mark(rollup.key_of(r["opened_at"], r["region_id"], r["unit_id"]) for r in rows)
    return len(rows)


def _insert_opening_events(rating_ids: list[int], note: str) -> None:
    """The opening event of each new case, written from the case rows themselves (INSERT … SELECT): no round trip
    for the new case ids, which a single 差评 on the intake path would otherwise pay for."""
    q = connection.ops.quote_name
    col = {f.name: q(f.column) for f in CaseEvent._meta.concrete_fields}
    case_col = {f.name: q(f.column) for f in Case._meta.concrete_fields}
    data = f"""'{{"unit": ' || {case_col["unit"]} || '}}'"""
    if connection.vendor == "postgresql":
        data = f"({data})::jsonb"
    columns = ", ".join(col[n] for n in ("case", "action", "from_state", "to_state", "actor", "actor_label", "at"))
    sql = (
        f"INSERT INTO {q(CaseEvent._meta.db_table)} ({columns}, {col['note']}, {col['data']}) "
        f"SELECT {case_col['id']}, %s, '', %s, NULL, %s, {case_col['opened_at']}, %s, {data} "
        f"FROM {q(Case._meta.db_table)} WHERE {case_col['rating']} IN ({', '.join(['%s'] * len(rating_ids))})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ["open", State.NEW.value, "系统", note, *rating_ids])
    for hook in _opening_events_hooks:
        hook(rating_ids)


# Work other apps do on the opening events written above, in the same transaction (the seal app seals them: the
# INSERT … SELECT sends no post_save). ``hook(rating_ids)``.
_opening_events_hooks: list = []


def register_opening_events_hook(hook) -> None:
    if hook not in _opening_events_hooks:
        _opening_events_hooks.append(hook)


_PATHS: dict = {"at": 0.0, "by_id": {}}


def clear_cache() -> None:
    _PATHS["at"] = 0.0


def _region_paths(ids: set[int]) -> dict[int, str]:
    """Region id → materialised path, cached for a minute (regions change rarely; a path is only read here to pick
    the deadline policy)."""
    now = time.monotonic()
    if now - _PATHS["at"] > 60:
        _PATHS.update(at=now, by_id={})
    by_id = _PATHS["by_id"]
    missing = ids - by_id.keys()
    if missing:
        by_id.update(Region.objects.filter(id__in=missing).values_list("id", "path"))
    return {i: by_id[i] for i in ids}


def _contact(name_enc: str, phone_enc: str, phone_hash: str, cert_enc: str) -> dict[str, Any]:
    return {
        "real_name": bool(phone_enc or cert_enc),
        "contact_name_enc": name_enc,
        "contact_phone_enc": phone_enc,
        "contact_phone_hash": phone_hash,
    }


def _applicants(service_case_ids: set[int]) -> dict[int, dict[str, Any]]:
    """The registered applicant of each 办件: a 办件's rater is its applicant, so a rating of it is real-name
    (实名) and can be called back even when the rater typed no phone number."""
    if not service_case_ids:
        return {}
    rows = ServiceCase.objects.filter(id__in=service_case_ids).exclude(applicant_phone_enc="", applicant_cert_enc="")
    return {
        sc_id: _contact(name, phone, phone_hash, cert)
        for sc_id, name, phone, phone_hash, cert in rows.values_list(
            "id", "applicant_name_enc", "applicant_phone_enc", "applicant_phone_hash", "applicant_cert_enc"
        )
    }


# --- complaints (投诉) ----------------------------------------------------------------------------------


@dataclass
class ComplaintIn:
    content: str
    contact_phone: str = ""
    contact_name: str = ""
    channel: str = Channel.PC
    case_no: str = ""
    unit_id: int | None = None
    unit_uscc: str = ""
    window_id: int | None = None
    staff_code: str = ""
    item_code: str = ""
    region_id: int | None = None  # only the complainant's region (hotline, public form): opens at its agency


def _route(scope: Scope, c: ComplaintIn | SuggestionIn, *, noun: str = "被投诉") -> dict[str, Any]:
    """谁办理、谁负责: the 办件's unit, else the window's, the staff member's, the 事项's, or the named unit.

    ``noun`` words the messages ("被投诉单位…"; a suggestion's are "意见涉及的单位…")."""
    target: dict[str, Any] = {}
    if c.case_no:
        sc = scope.filter(ServiceCase.objects.filter(case_no=c.case_no)).first()
        if sc is None:
            raise NotFound(f"办件不存在：{c.case_no}", field="case_no")
        target.update(
            service_case=sc, service_item_id=sc.service_item_id, unit_id=sc.unit_id, region_id=sc.region_id,
            hall_id=sc.hall_id, window_id=sc.window_id, staff_id=sc.staff_id,
        )  # fmt: skip
    if c.window_id:
        w = scope.filter(Window.objects.filter(pk=c.window_id)).select_related("hall").first()
        if w is None:
            raise NotFound("窗口不存在", field="window_id")
        target.setdefault("unit_id", w.unit_id)
        target.setdefault("region_id", w.hall.region_id)
        target.update(window_id=w.pk, hall_id=w.hall_id)
    if c.staff_code:
        s = scope.filter(Staff.objects.filter(code=c.staff_code)).select_related("unit").first()
        if s is None:
            raise NotFound(f"工作人员不存在：{c.staff_code}", field="staff_code")
        target.setdefault("unit_id", s.unit_id)
        target.setdefault("region_id", s.unit.region_id)
        target["staff_id"] = s.pk
    if c.item_code:
        i = scope.filter(ServiceItem.objects.filter(implementation_code=c.item_code)).first()
        if i is None:
            raise NotFound(f"事项不存在：{c.item_code}", field="item_code")
        target.setdefault("unit_id", i.unit_id)
        target.setdefault("region_id", i.region_id)
        target["service_item_id"] = i.pk
    if c.unit_id or c.unit_uscc:
        lookup = {"pk": c.unit_id} if c.unit_id else {"uscc": c.unit_uscc}
        u = scope.filter(Organisation.objects.filter(is_active=True, **lookup)).first()
        if u is None:
            raise NotFound(f"{noun}单位不存在", field="unit_id" if c.unit_id else "unit_uscc")
        target.setdefault("unit_id", u.pk)
        target.setdefault("region_id", u.region_id)
    if "unit_id" not in target and c.region_id:
        # No unit known: the region's management agency receives it, and the router suggests the department.
        agency = (
            scope.filter(Organisation.objects.filter(region_id=c.region_id, kind=Organisation.Kind.AGENCY))
            .filter(is_active=True)
            .order_by("id")
            .first()
        )
        if agency is None:
            raise NotFound(f"所选地区没有政务服务管理机构，请选择{noun}单位", field="region_id")
        target.update(unit_id=agency.pk, region_id=agency.region_id, routed_by_region=True)
    if "unit_id" not in target:
        raise ValidationFailed(f"请指明{noun}的单位、窗口、人员、事项、办件或所在地区", field="unit_id")
    return target


def complaint_open(complaint: ComplaintIn, *, scope: Scope, actor=None, actor_label: str = "投诉人") -> Case:
    """Register a 投诉 and open its case, routed like a 差评. Phone is required: the complainant must hear back."""
    content = complaint.content.strip()
    if not content:
        raise ValidationFailed("请填写投诉内容", field="content")
    if len(content) > 2000:
        raise ValidationFailed("投诉内容不能超过2000字", field="content")
    phone = "".join(ch for ch in complaint.contact_phone if ch.isdigit())
    if len(phone) != 11 or not phone.startswith("1"):
        raise ValidationFailed("请填写11位手机号码，以便告知处理结果", field="contact_phone")
    if complaint.channel not in Channel.values or complaint.channel == Channel.DEFAULT:
        raise ValidationFailed("投诉渠道无效", field="channel")
    target = _route(scope, complaint)
    by_region = target.pop("routed_by_region", False)
    now = timezone.now()
    path = Region.objects.values_list("path", flat=True).get(pk=target["region_id"])
    case = Case(
        kind=Kind.COMPLAINT,
        channel=complaint.channel,
        summary=content,
        real_name=True,
        contact_name_enc=protect.encrypt(complaint.contact_name.strip()[:50]),
        contact_phone_enc=protect.encrypt(phone),
        contact_phone_hash=protect.lookup_hash(phone),
        opened_at=now,
        **target,
        **_deadlines(path, now),
    )
    with transaction.atomic():
        case.save()
        rollup.mark_case(case)
        CaseEvent.objects.create(
            case=case, action="open", to_state=State.NEW, actor=actor, actor_label=actor_label, at=now,
            note="投诉立案", data={"unit": case.unit_id, "channel": case.channel},
        )  # fmt: skip
        if by_region:
            transaction.on_commit(lambda: _suggest_routing(case.pk))
    return case


# --- suggestions (意见箱) ---------------------------------------------------------------------------------


class SuggestionTopic(models.TextChoices):
    """意见建议的类别: kept in the opening event's data and at the head of the summary (【服务态度】…)."""

    ATTITUDE = "attitude", _("服务态度")
    PROCESS = "process", _("办事流程")
    FACILITIES = "facilities", _("环境设施")
    ONLINE = "online", _("线上服务")
    OTHER = "other", _("其他")


SUGGESTION_MAX = 2000
TOPIC_PREFIX = re.compile(r"^【[^】]{1,10}】")  # the topic at the head of a suggestion's summary


@dataclass
class SuggestionIn:
    """A suggestion from the public (意见箱). Every target is optional, but one must lead somewhere: a unit, hall,
    window, 事项 or at least the region (then its management agency receives it, like a complaint). Contact
    details are optional: without a phone the suggestion is anonymous and its outcome is given publicly."""

    content: str
    topic: str = ""
    contact_phone: str = ""
    contact_name: str = ""
    channel: str = Channel.PC
    unit_id: int | None = None
    unit_uscc: str = ""
    hall_id: int | None = None
    window_id: int | None = None
    item_code: str = ""
    region_id: int | None = None
    # read by _route, never set by the suggestion box
    case_no: str = ""
    staff_code: str = ""


def _suggestion_target(scope: Scope, s: SuggestionIn) -> dict[str, Any]:
    """Routed like a complaint (_route); a hall alone goes to the hall's unit (its managing agency)."""
    hall_target: dict[str, Any] = {}
    if s.hall_id:
        hall = scope.filter(Hall.objects.filter(pk=s.hall_id, is_active=True)).first()
        if hall is None:
            raise NotFound("大厅不存在", field="hall_id")
        hall_target = {"hall_id": hall.pk, "unit_id": hall.unit_id, "region_id": hall.region_id}
        if not (s.window_id or s.item_code or s.unit_id or s.unit_uscc):
            return hall_target
    if not (s.window_id or s.item_code or s.unit_id or s.unit_uscc or s.region_id):
        raise ValidationFailed("请选择所在地区，或意见涉及的单位、大厅、窗口或事项", field="region_id")
    target = _route(scope, s, noun="意见涉及")
    if hall_target and "hall_id" not in target:
        target["hall_id"] = hall_target["hall_id"]
    return target


def suggestion_open(
    suggestion: SuggestionIn, *, scope: Scope, actor=None, actor_label: str = "建议人", now: datetime | None = None
) -> Case:
    """Register a suggestion (意见建议) and open its case, routed like a complaint; contact details optional.

    With a phone the suggestion is real-name (实名): called back and told the outcome by SMS like a complaint.
    Without one the handler verifies and answers it and the outcome is given publicly (NotifiedVia.PUBLIC, the
    tracking page with the number and 查询码). ``now``: the time of receipt (the demo's history), default now."""
    content = suggestion.content.strip()
    if not content:
        raise ValidationFailed("请填写意见建议内容", field="content")
    if len(content) > SUGGESTION_MAX:
        raise ValidationFailed(f"意见建议内容不能超过{SUGGESTION_MAX}字", field="content")
    topic = (suggestion.topic or "").strip()
    if topic and topic not in SuggestionTopic.values:
        raise ValidationFailed("意见类别无效", field="topic")
    phone = "".join(ch for ch in suggestion.contact_phone if ch.isdigit())
    if len(phone) == 13 and phone.startswith("86"):
        phone = phone[2:]
    if phone and (len(phone) != 11 or not phone.startswith("1")):
        raise ValidationFailed("手机号码应为11位（不留联系方式可不填）", field="contact_phone")
    name = suggestion.contact_name.strip()[:50]
    if suggestion.channel not in Channel.values or suggestion.channel == Channel.DEFAULT:
        raise ValidationFailed("来源渠道无效", field="channel")
    target = _suggestion_target(scope, suggestion)
    by_region = target.pop("routed_by_region", False)
    now = now or timezone.now()
    path = Region.objects.values_list("path", flat=True).get(pk=target["region_id"])
    summary = f"【{SuggestionTopic(topic).label}】{content}" if topic else content
    case = Case(
        kind=Kind.SUGGESTION,
        channel=suggestion.channel,
        summary=summary,
        real_name=bool(phone),
        contact_name_enc=protect.encrypt(name) if name else "",
        contact_phone_enc=protect.encrypt(phone) if phone else "",
        contact_phone_hash=protect.lookup_hash(phone) if phone else "",
        opened_at=now,
        **target,
        **_deadlines(path, now),
    )
    with transaction.atomic():
        case.save()
        rollup.mark_case(case)
        data = {"unit": case.unit_id, "channel": case.channel, "topic": topic, "anonymous": not phone}
        CaseEvent.objects.create(
            case=case, action="open", to_state=State.NEW, actor=actor, actor_label=actor_label, at=now,
            note="意见建议受理", data={k: v for k, v in data.items() if v != ""},
        )  # fmt: skip
        if by_region:
            transaction.on_commit(lambda: _suggest_routing(case.pk))
    return case


def _suggest_routing(case_id: int) -> None:
    """The routing suggestion of a complaint opened at the agency (after commit): never fails the complaint."""
    try:
        from haochaping.insight.routing import suggest_after_open

        suggest_after_open(case_id)
    except Exception:  # noqa: BLE001
        log.exception("routing suggestion failed for case %s", case_id)
