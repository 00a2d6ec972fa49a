"""Rating intake (评价接收): the one path every rating takes into the store, whatever its channel.

Kept apart from the product code and lean, like an ingestion service: it works on plain values, resolves
references for a whole batch with one query per kind, checks the 好差评 rules, and writes rows with one
``executemany``. Single submissions are batches of one. Each item is accepted or rejected on its own
(per-item results); accepted items are written together in one transaction.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from pydantic import ValidationError

from haochaping.accounts.scope import Scope
from haochaping.directory.models import Hall, Organisation, Platform, ServiceItem, Staff, Window
from haochaping.lib import protect
from haochaping.lib.errors import Conflict, DomainError, NotFound, ValidationFailed
from haochaping.lib.validation import summary, validation_errors
from haochaping.ratings.codes import GRADE_NAME_OF, GRADE_NAMES, ONLINE_CHANNELS, Adoption, Grade, Target, is_bad
from haochaping.ratings.models import Rating, ServiceCase, Tag, TagSet
from haochaping.ratings.rowwriter import RowWriter
from haochaping.ratings.schemas import RatingIn

FUTURE_TOLERANCE = timedelta(minutes=10)


@dataclass
class ItemResult:
    status: int
    rating_id: str | None = None
    created: bool = False
    message: str | None = None
    errors: list[dict] = field(default_factory=list)
    case_no: str | None = None
    stage: str | None = None
    sequence: int = 1
    grade: int | None = None

    @property
    def ok(self) -> bool:
        return self.status in (200, 201)

    def as_rating_out(self) -> dict:
        return {
            "rating_id": self.rating_id,
            "created": self.created,
            "case_no": self.case_no,
            "stage": self.stage or None,
            "sequence": self.sequence,
            "grade": GRADE_NAME_OF[self.grade] if self.grade else "",
            "is_bad": bool(self.grade and is_bad(self.grade)),
        }

    def as_error(self) -> DomainError:
        err = DomainError(self.message or "rejected", errors=self.errors)
        err.status = self.status
        return err

    @classmethod
    def from_error(cls, exc: DomainError) -> ItemResult:
        return cls(status=exc.status, message=exc.message, errors=exc.errors)


def parse_item(raw: Any) -> RatingIn:
    try:
        return RatingIn.model_validate(raw)
    except ValidationError as exc:
        errors = validation_errors(exc)
        raise ValidationFailed(summary(errors), errors=errors) from None


# --- tag sets: tiny and rarely changed, cached per process for a short time -----------------------------

_TAGSET_TTL = 30.0
_tagset_cache: dict[str, Any] = {"at": 0.0}


def _tag_sets() -> dict[str, Any]:
    now = time.monotonic()
    if now - _tagset_cache["at"] > _TAGSET_TTL:
        sets = {ts.id: ts for ts in TagSet.objects.all()}
        tags: dict[int, dict[str, set[int]]] = {ts_id: {} for ts_id in sets}
        for tag in Tag.objects.all():
            tags.setdefault(tag.tag_set_id, {})[tag.code] = set(tag.grades)
        _tagset_cache.update(
            at=now,
            by_id=sets,
            tags=tags,
            by_ref={f"{ts.code}@{ts.version}": ts.id for ts in sets.values()},
            active={ts.kind: ts.id for ts in sets.values() if ts.is_active},
        )
    return _tagset_cache


def clear_caches() -> None:
    _tagset_cache["at"] = 0.0


def _resolve_tags(item: RatingIn, grade: int, channel: str) -> tuple[int | None, list[str]]:
    cache = _tag_sets()
    if item.tag_set:
        tag_set_id = cache["by_ref"].get(item.tag_set)
        if tag_set_id is None:
            raise ValidationFailed(f"标签集不存在：{item.tag_set}", field="tag_set")
    else:
        kind = TagSet.Kind.ONLINE if channel in ONLINE_CHANNELS else TagSet.Kind.ONSITE
        tag_set_id = cache["active"].get(kind)
    if not item.tags:
        return tag_set_id, []
    if tag_set_id is None:
        raise ValidationFailed("未配置评价标签集，不能提交标签", field="tags")
    known = cache["tags"].get(tag_set_id, {})
    for code in item.tags:
        if code not in known:
            raise ValidationFailed(f"标签代码不在标签集中：{code}", field="tags")
        if grade not in known[code]:
            raise ValidationFailed(f"标签 {code} 不适用于所选等级", field="tags")
    return tag_set_id, list(dict.fromkeys(item.tags))


# --- reference resolution ----------------------------------------------------------------------------

_CASE_FIELDS = (
    "id",
    "case_no",
    "service_item_id",
    "unit_id",
    "region_id",
    "region__path",
    "hall_id",
    "window_id",
    "staff_id",
    "stage",
)


class References:
    """All directory rows a batch refers to, fetched with one scoped query per kind."""

    def __init__(self, items: Sequence[RatingIn], scope: Scope):
        self.scope = scope
        self.cases = self._fetch(ServiceCase, "case_no", {i.case_no for i in items if i.case_no}, _CASE_FIELDS)
        self.items = self._fetch(
            ServiceItem,
            "implementation_code",
            {i.item_code for i in items if i.item_code},
            ("id", "unit_id", "region_id"),
        )
        self.units = self._fetch(Organisation, "uscc", {i.unit_uscc for i in items if i.unit_uscc}, ("id", "region_id"))
        self.halls = self._fetch(
            Hall, "code", {i.hall_code for i in items if i.hall_code}, ("id", "unit_id", "region_id")
        )
        missing_halls = {i.hall_code for i in items if i.hall_code} - set(self.halls)
        if missing_halls:
            # Units staffing a window in a hall may rate the hall too.
            staffed = scope.filter(Window.objects.filter(hall__code__in=missing_halls))
            for row in Hall.objects.filter(windows__in=staffed).distinct().values("code", "id", "unit_id", "region_id"):
                self.halls[row["code"]] = row
        self.staff = self._fetch(
            Staff,
            "code",
            {i.staff_code for i in items if i.staff_code},
            ("id", "unit_id", "unit__region_id", "window_id", "window__hall_id"),
        )
        self.platforms = self._fetch(
            Platform, "code", {i.platform_code for i in items if i.platform_code}, ("id", "unit_id", "region_id")
        )
        window_keys = {(i.window.hall, i.window.code) for i in items if i.window}
        self.windows: dict[tuple[str, str], dict] = {}
        if window_keys:
            halls = {h for h, _ in window_keys}
            qs = scope.filter(Window.objects.filter(hall__code__in=halls))
            for row in qs.values("id", "code", "hall__code", "hall_id", "unit_id", "hall__region_id"):
                key = (row["hall__code"], row["code"])
                if key in window_keys:
                    self.windows[key] = row

    def _fetch(self, model, key: str, values: set, fields: tuple[str, ...]) -> dict[str, dict]:
        if not values:
            return {}
        qs = self.scope.filter(model.objects.filter(**{f"{key}__in": values}))
        return {row[key]: row for row in qs.values(key, *fields)}


def _require(mapping: dict, key, field_name: str, what: str) -> dict:
    row = mapping.get(key)
    if row is None:
        raise NotFound(
            f"{what}不存在或不在调用方数据范围内：{key if isinstance(key, str) else '/'.join(key)}", field=field_name
        )
    return row


def _targets(item: RatingIn, refs: References) -> dict[str, Any]:
    """Work out what is rated and the unit/region/hall/window/staff/事项 the rating counts for."""
    t: dict[str, Any] = dict(
        service_case_id=None,
        service_item_id=None,
        unit_id=None,
        region_id=None,
        hall_id=None,
        window_id=None,
        staff_id=None,
        platform_id=None,
    )
    if item.case_no:
        case = _require(refs.cases, item.case_no, "case_no", "办件")
        t.update(
            service_case_id=case["id"],
            service_item_id=case["service_item_id"],
            unit_id=case["unit_id"],
            region_id=case["region_id"],
            hall_id=case["hall_id"],
            window_id=case["window_id"],
            staff_id=case["staff_id"],
        )
        target = Target.CASE
    else:
        target = None
    if item.window:
        w = _require(refs.windows, (item.window.hall, item.window.code), "window", "窗口")
        t.update(window_id=w["id"], hall_id=w["hall_id"])
        if target is None:
            t.update(unit_id=w["unit_id"], region_id=w["hall__region_id"])
            target = Target.WINDOW
    if item.staff_code:
        s = _require(refs.staff, item.staff_code, "staff_code", "工作人员")
        t["staff_id"] = s["id"]
        if target is None:
            t.update(
                unit_id=s["unit_id"],
                region_id=s["unit__region_id"],
                window_id=s["window_id"],
                hall_id=s["window__hall_id"],
            )
            target = Target.STAFF
    if item.item_code:
        si = _require(refs.items, item.item_code, "item_code", "事项")
        t["service_item_id"] = si["id"]
        if target is None:
            t.update(unit_id=si["unit_id"], region_id=si["region_id"])
            target = Target.ITEM
    if item.hall_code:
        h = _require(refs.halls, item.hall_code, "hall_code", "大厅")
        t["hall_id"] = h["id"]
        if target is None:
            t.update(unit_id=h["unit_id"], region_id=h["region_id"])
            target = Target.HALL
    if item.platform_code:
        p = _require(refs.platforms, item.platform_code, "platform_code", "平台")
        t["platform_id"] = p["id"]
        if target is None:
            t.update(unit_id=p["unit_id"], region_id=p["region_id"])
            target = Target.PLATFORM
    if item.unit_uscc:
        u = _require(refs.units, item.unit_uscc, "unit_uscc", "单位")
        if target is None:
            t.update(unit_id=u["id"], region_id=u["region_id"])
            target = Target.UNIT
    if target is None:
        raise ValidationFailed(
            "缺少评价对象：请提供 case_no、window、staff_code、item_code、hall_code、platform_code 或 unit_uscc 之一",
            field="case_no",
        )
    if item.target and item.target != target and item.case_no is None:
        raise ValidationFailed(f"评价对象 {item.target} 与给出的引用不符（推断为 {target}）", field="target")
    t["target"] = item.target or target
    return t


# --- the intake itself --------------------------------------------------------------------------------

_writer: RowWriter | None = None


def _rating_writer() -> RowWriter:
    global _writer
    if _writer is None:
        _writer = RowWriter(Rating)
    return _writer


def _protected(value: str | None) -> tuple[str, str]:
    if not value:
        return "", ""
    return protect.encrypt(value), protect.lookup_hash(value)


def build_row(item: RatingIn, refs: References, *, client: str, now: datetime) -> dict[str, Any]:
    grade = int(GRADE_NAMES[item.grade])
    row = _targets(item, refs)
    stage = ""
    if row["service_case_id"]:
        stage = item.stage or refs.cases[item.case_no]["stage"]
    elif item.stage or item.sequence != 1:
        raise ValidationFailed("只有办件评价才有评价环节和追评", field="stage" if item.stage else "sequence")
    rated_at = item.rated_at or now
    if timezone.is_naive(rated_at):
        rated_at = timezone.make_aware(rated_at)
    if rated_at > now + FUTURE_TOLERANCE:
        raise ValidationFailed("评价时间不能晚于当前时间", field="rated_at")
    if item.is_default and (item.comment or item.tags):
        raise ValidationFailed("默认评价不能带标签或文字评价", field="is_default")
    tag_set_id, tags = _resolve_tags(item, grade, item.channel)
    anonymous = item.anonymous and not (item.rater_phone or item.rater_cert or item.rater_name)
    phone_enc, phone_hash = _protected(item.rater_phone)
    cert_enc, cert_hash = _protected(item.rater_cert)
    row.update(
        public_id=uuid.uuid4(),
        stage=stage,
        sequence=item.sequence,
        grade=grade,
        channel=item.channel,
        tag_set_id=tag_set_id,
        tags=tags,
        answers=item.answers,
        comment=item.comment.strip(),
        is_default=item.is_default,
        is_anonymous=anonymous,
        is_public=item.public,
        rater_kind=2 if item.rater_kind == "legal_entity" else 1,
        rater_name_enc=protect.encrypt(item.rater_name or ""),
        rater_phone_enc=phone_enc,
        rater_phone_hash=phone_hash,
        rater_cert_enc=cert_enc,
        rater_cert_hash=cert_hash,
        adoption=Adoption.ADOPTED,
        rated_at=rated_at,
        received_at=now,
        client=client,
        idempotency_key=item.idempotency_key,
    )
    return row


def _result_for_row(row: dict, item: RatingIn, *, created: bool) -> ItemResult:
    return ItemResult(
        status=201 if created else 200,
        rating_id=str(row["public_id"]),
        created=created,
        case_no=item.case_no,
        stage=row["stage"],
        sequence=row["sequence"],
        grade=row["grade"],
    )


def submit_ratings(
    raw_items: Iterable[Any], *, scope: Scope, client: str, now: datetime | None = None
) -> list[ItemResult]:
    """Validate and store ratings; one result per input item, in order. Never raises for a bad item."""
    now = now or timezone.now()
    raw_items = list(raw_items)
    results: list[ItemResult | None] = [None] * len(raw_items)
    parsed: list[tuple[int, RatingIn]] = []
    for index, raw in enumerate(raw_items):
        try:
            parsed.append((index, raw if isinstance(raw, RatingIn) else parse_item(raw)))
        except DomainError as exc:
            results[index] = ItemResult.from_error(exc)
    if parsed:
        with transaction.atomic():
            _store(parsed, results, scope=scope, client=client, now=now)
    return [r for r in results if r is not None]


def _store(parsed: list[tuple[int, RatingIn]], results: list, *, scope: Scope, client: str, now: datetime) -> None:
    items = [item for _, item in parsed]
    refs = References(items, scope)

    # Idempotent retries: a key already stored for this client returns the stored rating.
    keys = {i.idempotency_key for i in items if i.idempotency_key}
    stored_by_key: dict[str, dict] = {}
    if keys:
        for r in Rating.objects.filter(client=client, idempotency_key__in=keys).values(
            "idempotency_key", "public_id", "stage", "sequence", "grade", "service_case__case_no"
        ):
            stored_by_key[r["idempotency_key"]] = r

    # One rating per 办件 per stage per sequence; a follow-up needs a first rating.
    case_ids = {refs.cases[i.case_no]["id"] for i in items if i.case_no and i.case_no in refs.cases}
    taken: set[tuple[int, str, int]] = set()
    if case_ids:
        taken = set(
            Rating.objects.filter(service_case_id__in=case_ids).values_list("service_case_id", "stage", "sequence")
        )

    rows: list[tuple[int, RatingIn, dict]] = []
    batch_keys: dict[str, dict] = {}
    for index, item in parsed:
        key = item.idempotency_key
        if key and key in stored_by_key:
            s = stored_by_key[key]
            if s["service_case__case_no"] != item.case_no:
                results[index] = ItemResult(
                    status=409,
                    message="幂等键已用于另一条评价",
                    errors=[{"field": "idempotency_key", "message": "幂等键已用于另一条评价"}],
                )
                continue
            results[index] = ItemResult(
                status=200,
                rating_id=str(s["public_id"]),
                created=False,
                case_no=item.case_no,
                stage=s["stage"] or None,
                sequence=s["sequence"],
                grade=s["grade"],
            )
            continue
        if key and key in batch_keys:
            results[index] = _result_for_row(batch_keys[key], item, created=False)
            continue
        try:
            row = build_row(item, refs, client=client, now=now)
            case_id = row["service_case_id"]
            if case_id:
                slot = (case_id, row["stage"], row["sequence"])
                if slot in taken:
                    what = "追评" if row["sequence"] == 2 else "评价"
                    raise Conflict(f"该办件此环节已有{what}，不能重复评价", field="case_no")
                if row["sequence"] == 2 and (case_id, row["stage"], 1) not in taken:
                    raise ValidationFailed("追评前须有首次评价", field="sequence")
                taken.add(slot)
        except DomainError as exc:
            results[index] = ItemResult.from_error(exc)
            continue
        rows.append((index, item, row))
        if key:
            batch_keys[key] = row

    if not rows:
        return
    writer = _rating_writer()
    try:
        with transaction.atomic():
            writer.insert(row for _, _, row in rows)
    except IntegrityError:
        # A concurrent writer took a slot or key between our checks and the insert: retry item by item so
        # every item still gets its own answer.
        for index, item, row in rows:
            try:
                with transaction.atomic():
                    writer.insert([row])
            except IntegrityError:
                results[index] = ItemResult(
                    status=409,
                    message="该评价与已存储的评价冲突（重复提交）",
                    errors=[{"field": "case_no", "message": "重复评价"}],
                )
            else:
                results[index] = _result_for_row(row, item, created=True)
        return
    for index, item, row in rows:
        results[index] = _result_for_row(row, item, created=True)


def submit_one(raw: Any, *, scope: Scope, client: str) -> ItemResult:
    return submit_ratings([raw], scope=scope, client=client)[0]


def grade_of(name: str) -> Grade:
    return GRADE_NAMES[name]
