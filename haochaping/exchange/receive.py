"""The receiving side: a registered subordinate platform pushes a batch; each record is stored once.

Deduplication is by identity, not by batch: a rating is stored under the public id it was given where it was
made, so a batch delivered twice (the sender died before it saw the answer) answers "duplicate" for every record
and stores nothing. Every record must lie in the subordinate's region; the directory entries it names are found
by their national codes (区划代码, 统一社会信用代码, 实施编码, 办件编号) and created when this installation does not
know them yet (a county's department is usually not in a province's directory). One transaction per batch.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from haochaping.directory.models import Hall, Organisation, Region, ServiceItem, Staff
from haochaping.exchange import outbox
from haochaping.exchange.models import CaseOutcome, ReceivedBatch, Subordinate
from haochaping.exchange.payload import ORIGIN_PREFIX
from haochaping.ratings import intake, services
from haochaping.ratings.codes import Adoption, CaseStatus, Channel, RaterKind, Stage, Target, channel_from_pf
from haochaping.ratings.models import Rating, ServiceCase, TagSet

ORIGIN_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,36}$")
ADOPTION_OF_CHECK = {1: Adoption.ADOPTED, 2: Adoption.UNDER_REVIEW, 3: Adoption.NOT_ADOPTED}
CASE_KINDS = {"bad_review", "complaint", "suggestion"}  # suggestion: 意见建议 (意见箱)
CASE_STATES = {"new", "assigned", "verified", "rectifying", "appealing", "feedback", "closed"}
CASE_OUTCOMES = {"", "fixed_now", "ledger", "explained", "not_adopted"}


class Rejected(Exception):
    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


@dataclass
class BatchResult:
    results: list[dict[str, Any]] = field(default_factory=list)
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0

    def answer(self, index: int, status: str, errors: list[dict] | None = None) -> None:
        self.results[index] = {"index": index, "status": status, **({"errors": errors} if errors else {})}
        if status == "accepted":
            self.accepted += 1
        elif status == "duplicate":
            self.duplicates += 1
        else:
            self.rejected += 1


def _require(record: dict, key: str) -> Any:
    value = record.get(key)
    if value is None or value == "":
        raise Rejected(key, f"缺少 {key}")
    return value


def _int(record: dict, key: str, allowed: Sequence[int], default: int | None = None) -> int:
    value = record.get(key, default)
    if value is None or value == "":
        if default is None:
            raise Rejected(key, f"缺少 {key}")
        value = default
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise Rejected(key, f"{key} 应为整数") from None
    if number not in allowed:
        raise Rejected(key, f"{key} 应为 {'/'.join(map(str, allowed))} 之一")
    return number


def _datetime(record: dict, key: str, *, required: bool = True) -> datetime | None:
    value = record.get(key)
    if not value:
        if required:
            raise Rejected(key, f"缺少 {key}")
        return None
    parsed = parse_datetime(str(value)) if isinstance(value, str) else None
    if parsed is None or timezone.is_naive(parsed):
        raise Rejected(key, f"{key} 应为带时区的 ISO 8601 时间")
    return parsed


def _uuid(record: dict, key: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(_require(record, key)))
    except ValueError:
        raise Rejected(key, f"{key} 不是有效的编号（UUID）") from None


class Directory:
    """The directory entries a batch names, looked up once per batch and created on first sight."""

    def __init__(self, subordinate: Subordinate):
        self.root_path = subordinate.region.path
        self.regions: dict[str, Region] = {}
        self.units: dict[str, Organisation] = {}
        self.items: dict[str, ServiceItem] = {}
        self.cases: dict[str, ServiceCase] = {}
        self.tag_sets = {
            f"{code}@{version}": pk for pk, code, version in TagSet.objects.values_list("id", "code", "version")
        }
        self.halls: dict[str, int | None] = {}
        self.staff: dict[str, int | None] = {}

    def preload(self, records: Sequence[dict]) -> None:
        area = {str(r.get("areaCode") or "") for r in records} - {""}
        self.regions.update((r.code, r) for r in Region.objects.filter(code__in=area))
        dept = {str(r.get("deptCode") or "") for r in records} - {""}
        self.units.update((u.uscc, u) for u in Organisation.objects.filter(uscc__in=dept).select_related("region"))
        items = {str(r.get("taskHandleItem") or "") for r in records} - {""}
        self.items.update((i.implementation_code, i) for i in ServiceItem.objects.filter(implementation_code__in=items))
        case_nos = {str(r.get("projectNo") or "") for r in records if r.get("type") == "rating"} - {""}
        self.cases.update(
            (c.case_no, c) for c in ServiceCase.objects.filter(case_no__in=case_nos).select_related("region")
        )

    def create_cases(self, records: Sequence[dict]) -> None:
        """The 办件 this batch names that are new here, created with one bulk INSERT instead of one each (a
        county's day holds thousands). A record whose references do not resolve is left to `rating_row`, which
        refuses it naming the field."""
        new: dict[str, ServiceCase] = {}
        for record in records:
            case_no = str(record.get("projectNo") or "")[:50]
            if record.get("type") != "rating" or not case_no or case_no in self.cases or case_no in new:
                continue
            try:
                region = self.region(record)
                unit = self.unit(record, region)
                item = self.item(record, unit, region)
                if item is None:
                    continue
                stage = str(record.get("caseStage") or Stage.ACCEPT)
                new[case_no] = ServiceCase(
                    case_no=case_no,
                    service_item=item,
                    unit=unit,
                    region=region,
                    stage=stage if stage in Stage.values else Stage.ACCEPT,
                    status=_int(record, "proStatus", CaseStatus.values, default=CaseStatus.ACCEPTED),
                    applicant_kind=_int(record, "userProp", RaterKind.values, default=RaterKind.PERSON),
                )
            except Rejected:
                continue
        if new:
            ServiceCase.objects.bulk_create(new.values(), ignore_conflicts=True, batch_size=1000)
            found = ServiceCase.objects.filter(case_no__in=list(new)).select_related("region")
            self.cases.update((c.case_no, c) for c in found)

    def region(self, record: dict) -> Region:
        code = str(_require(record, "areaCode"))
        region = self.regions.get(code)
        if region is None:
            raise Rejected("areaCode", f"行政区划 {code} 不在本平台的区划目录中：请先导入区划")
        if not region.path.startswith(self.root_path):
            raise Rejected("areaCode", f"行政区划 {code} 不在该下级平台的所辖区划内")
        return region

    def unit(self, record: dict, region: Region) -> Organisation:
        uscc = str(_require(record, "deptCode"))
        unit = self.units.get(uscc)
        if unit is None:
            name = str(record.get("deptName") or "").strip() or uscc
            unit, _ = Organisation.objects.get_or_create(
                uscc=uscc, defaults={"name": name[:200], "region": region, "kind": Organisation.Kind.DEPARTMENT}
            )
            self.units[uscc] = unit
        if not unit.region.path.startswith(self.root_path):
            raise Rejected("deptCode", f"单位 {uscc} 不在该下级平台的所辖区划内")
        return unit

    def item(self, record: dict, unit: Organisation, region: Region) -> ServiceItem | None:
        code = str(record.get("taskHandleItem") or "")
        if not code:
            return None
        item = self.items.get(code)
        if item is None:
            item_type = str(record.get("taskType") or "")
            item, _ = ServiceItem.objects.get_or_create(
                implementation_code=code,
                defaults={
                    "basic_code": str(record.get("taskCode") or "")[:40],
                    "name": (str(record.get("taskName") or "").strip() or code)[:300],
                    "item_type": item_type
                    if item_type in ServiceItem.ItemType.values
                    else ServiceItem.ItemType.OTHER_POWER,
                    "service_objects": str(record.get("serviceObjects") or "1")[:20],
                    "unit": unit,
                    "region": region,
                },
            )
            self.items[code] = item
        return item

    def service_case(
        self, record: dict, item: ServiceItem | None, unit: Organisation, region: Region
    ) -> ServiceCase | None:
        case_no = str(record.get("projectNo") or "")
        if not case_no:
            return None
        case = self.cases.get(case_no)
        if case is None:
            if item is None:
                raise Rejected("taskHandleItem", "办件评价需要 taskHandleItem（实施编码）")
            stage = str(record.get("caseStage") or Stage.ACCEPT)
            case, _ = ServiceCase.objects.get_or_create(
                case_no=case_no[:50],
                defaults={
                    "service_item": item,
                    "unit": unit,
                    "region": region,
                    "stage": stage if stage in Stage.values else Stage.ACCEPT,
                    "status": _int(record, "proStatus", CaseStatus.values, default=CaseStatus.ACCEPTED),
                    "applicant_kind": _int(record, "userProp", RaterKind.values, default=RaterKind.PERSON),
                },
            )
            self.cases[case_no] = case
        if not case.region.path.startswith(self.root_path):
            raise Rejected("projectNo", f"办件 {case_no} 属于该下级平台所辖区划以外")
        return case

    def hall_id(self, code: str) -> int | None:
        if code and code not in self.halls:
            self.halls[code] = (
                Hall.objects.filter(code=code, region__path__startswith=self.root_path)
                .values_list("id", flat=True)
                .first()
            )
        return self.halls.get(code)

    def staff_id(self, code: str) -> int | None:
        if code and code not in self.staff:
            self.staff[code] = (
                Staff.objects.filter(code=code, unit__region__path__startswith=self.root_path)
                .values_list("id", flat=True)
                .first()
            )
        return self.staff.get(code)


def _origin(record: dict) -> str:
    origin = str(_require(record, "origin"))
    if not ORIGIN_RE.match(origin):
        raise Rejected("origin", "origin 应为 1–36 位字母、数字或 _ . -")
    return origin


def rating_row(record: dict, directory: Directory, now: datetime) -> dict[str, Any]:
    """One pushed rating record → a complete ratings_rating row (the shape intake writes)."""
    origin = _origin(record)
    public_id = _uuid(record, "ratingId")
    region = directory.region(record)
    unit = directory.unit(record, region)
    item = directory.item(record, unit, region)
    case = directory.service_case(record, item, unit, region)
    grade = _int(record, "alternate", (1, 2, 3, 4, 5))
    sequence = _int(record, "assessNumber", (1, 2), default=1)
    rated_at = _datetime(record, "ratedAt")
    if rated_at > now + timedelta(minutes=5):
        raise Rejected("ratedAt", "评价时间不能晚于当前时间")
    channel = str(record.get("channel") or "")
    if channel not in Channel.values:
        channel = channel_from_pf(_int(record, "pf", range(1, 8)))
    target = str(record.get("target") or (Target.CASE if case else Target.UNIT))
    if target not in Target.values:
        raise Rejected("target", "target 取值无效")
    stage = str(record.get("assessStage") or "") if case else ""
    if case and stage not in Stage.values:
        stage = case.stage
    comment = str(record.get("writingAssess") or "")
    if len(comment) > 2000:
        raise Rejected("writingAssess", "文字评价不能超过2000字")
    tags = [t for t in str(record.get("appraisald") or "").split(",") if t]
    is_default = bool(_int(record, "isDefault", (0, 1), default=0)) or channel == Channel.DEFAULT
    return {
        "public_id": public_id,
        "target": target,
        "service_case_id": case.id if case else None,
        "stage": stage,
        "sequence": sequence,
        "grade": grade,
        "channel": channel,
        "service_item_id": item.id if item else None,
        "unit_id": unit.id,
        "region_id": region.id,
        "hall_id": directory.hall_id(str(record.get("hallCode") or "")),
        "window_id": None,
        "staff_id": directory.staff_id(str(record.get("staffNo") or "")),
        "platform_id": None,
        "tag_set_id": directory.tag_sets.get(str(record.get("version") or "")),
        "tags": tags,
        "questionnaire_id": None,
        "answers": {},
        "comment": comment,
        "is_default": is_default,
        "is_anonymous": True,  # the rater's identity does not travel upward
        "is_public": bool(_int(record, "isPublic", (0, 1), default=0)),
        "rater_kind": _int(record, "userProp", RaterKind.values, default=RaterKind.PERSON),
        "rater_name_enc": "",
        "rater_phone_enc": "",
        "rater_phone_hash": "",
        "rater_cert_enc": "",
        "rater_cert_hash": "",
        "adoption": ADOPTION_OF_CHECK[_int(record, "checkStatus", (1, 2, 3), default=1)],
        "rated_at": rated_at,
        "received_at": now,
        "client": f"{ORIGIN_PREFIX}{origin}",
        "idempotency_key": None,
    }


def _store_ratings(pending: list[tuple[int, dict]], result: BatchResult) -> None:
    if not pending:
        return
    ids = [row["public_id"] for _, row in pending]
    known = set(Rating.objects.filter(public_id__in=ids).values_list("public_id", flat=True))
    fresh = [(i, row) for i, row in pending if row["public_id"] not in known]
    for i, row in pending:
        if row["public_id"] in known:
            result.answer(i, "duplicate")
    # The same rating twice in one batch: keep the first.
    seen: set = set()
    unique = []
    for i, row in fresh:
        if row["public_id"] in seen:
            result.answer(i, "duplicate")
        else:
            seen.add(row["public_id"])
            unique.append((i, row))
    if not unique:
        return
    landed = intake.write_rows([row for _, row in unique])
    lost = [(i, row) for i, row in unique if landed is not None and row["public_id"] not in landed]
    now_known = set(
        Rating.objects.filter(public_id__in=[row["public_id"] for _, row in lost]).values_list("public_id", flat=True)
    )
    for i, row in unique:
        if landed is None or row["public_id"] in landed:
            result.answer(i, "accepted")
        elif row["public_id"] in now_known:
            result.answer(i, "duplicate")  # a concurrent delivery of the same batch stored it first
        else:
            result.answer(i, "rejected", [{"field": "projectNo", "message": "该办件本环节本次评价已有另一条评价"}])


def _apply_adoption(record: dict, directory: Directory) -> str:
    _origin(record)
    public_id = _uuid(record, "ratingId")
    adoption = ADOPTION_OF_CHECK[_int(record, "checkStatus", (1, 2, 3))]
    rating = Rating.objects.filter(public_id=public_id).values("id", "adoption", "region__path").first()
    if rating is None or not rating["region__path"].startswith(directory.root_path):
        raise Rejected("ratingId", "评价不存在（须先上报该评价）")
    if rating["adoption"] == adoption:
        return "duplicate"
    services.rating_set_adoption(rating["id"], adoption)
    return "accepted"


def _outcome_state(outcome: CaseOutcome) -> tuple:
    return (
        outcome.kind, outcome.state, outcome.outcome, outcome.outcome_at, outcome.closed_at, outcome.resolve_due,
        outcome.on_time, outcome.called_back, outcome.feedback_grade, outcome.region_id, outcome.unit_id,
    )  # fmt: skip


def _apply_case(record: dict, directory: Directory, subordinate: Subordinate) -> tuple[str, int | None]:
    origin = _origin(record)
    case_no = str(_require(record, "caseNo"))[:40]
    kind = str(_require(record, "kind"))
    if kind not in CASE_KINDS:
        raise Rejected("kind", "kind 应为 bad_review、complaint 或 suggestion")
    state = str(_require(record, "state"))
    if state not in CASE_STATES:
        raise Rejected("state", "state 取值无效")
    outcome = str(record.get("outcome") or "")
    if outcome not in CASE_OUTCOMES:
        raise Rejected("outcome", "outcome 取值无效")
    region = directory.region(record)
    unit = directory.unit(record, region)
    resolve_due = parse_date(str(record.get("resolveDue") or "")) if record.get("resolveDue") else None
    feedback = record.get("feedbackGrade")
    values = {
        "subordinate": subordinate,
        "kind": kind,
        "rating_public_id": _uuid(record, "ratingId") if record.get("ratingId") else None,
        "region": region,
        "unit": unit,
        "state": state,
        "outcome": outcome,
        "opened_at": _datetime(record, "openedAt"),
        "outcome_at": _datetime(record, "outcomeAt", required=False),
        "closed_at": _datetime(record, "closedAt", required=False),
        "resolve_due": resolve_due,
        "on_time": record.get("onTime") if record.get("onTime") in (True, False) else None,
        "called_back": bool(record.get("calledBack")),
        "feedback_grade": _int(record, "feedbackGrade", (1, 2, 3)) if feedback not in (None, "") else None,
    }
    existing = CaseOutcome.objects.filter(origin=origin, case_no=case_no).first()
    if existing is not None:
        before = _outcome_state(existing)
        for name, value in values.items():
            setattr(existing, name, value)
        if _outcome_state(existing) == before:
            return "duplicate", None  # the same state delivered again
        existing.save()
        return "accepted", existing.id
    created = CaseOutcome.objects.create(origin=origin, case_no=case_no, **values)
    return "accepted", created.id


def receive_batch(subordinate: Subordinate, batch_id: uuid.UUID, records: Sequence[Any]) -> BatchResult:
    """Store a pushed batch; answer each record accepted, duplicate (already here) or rejected (with errors)."""
    result = BatchResult(results=[{} for _ in records])
    now = timezone.now()
    with transaction.atomic():
        subordinate = Subordinate.objects.select_for_update().select_related("region").get(pk=subordinate.pk)
        directory = Directory(subordinate)
        dicts = [r if isinstance(r, dict) else {} for r in records]
        directory.preload(dicts)
        directory.create_cases(dicts)
        ratings: list[tuple[int, dict]] = []
        later: list[tuple[int, dict]] = []
        for index, record in enumerate(records):
            if not isinstance(record, dict):
                result.answer(index, "rejected", [{"field": "records", "message": "记录应为 JSON 对象"}])
                continue
            kind = record.get("type")
            if kind == "rating":
                try:
                    ratings.append((index, rating_row(record, directory, now)))
                except Rejected as exc:
                    result.answer(index, "rejected", [{"field": exc.field, "message": exc.message}])
            elif kind in ("adoption", "case"):
                later.append((index, record))
            else:
                result.answer(index, "rejected", [{"field": "type", "message": "type 应为 rating、adoption 或 case"}])
        _store_ratings(ratings, result)
        forwarded: list[int] = []
        for index, record in later:
            try:
                if record["type"] == "adoption":
                    result.answer(index, _apply_adoption(record, directory))
                else:
                    status, outcome_id = _apply_case(record, directory, subordinate)
                    result.answer(index, status)
                    if outcome_id:
                        forwarded.append(outcome_id)
            except Rejected as exc:
                result.answer(index, "rejected", [{"field": exc.field, "message": exc.message}])
        outbox.case_outcome_received(forwarded)
        ReceivedBatch.objects.create(
            subordinate=subordinate,
            batch_id=batch_id,
            received_at=now,
            records=len(records),
            accepted=result.accepted,
            duplicates=result.duplicates,
            rejected=result.rejected,
            errors=[r for r in result.results if r.get("status") == "rejected"][:100],
        )
        Subordinate.objects.filter(pk=subordinate.pk).update(
            last_push_at=now,
            received=F("received") + result.accepted,
            duplicates=F("duplicates") + result.duplicates,
            rejected=F("rejected") + result.rejected,
        )
    return result
