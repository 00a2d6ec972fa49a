"""Rating intake (评价接收): the one path every rating takes into the store, whatever its channel.

Kept apart from the product code and lean, like an ingestion service: it works on plain values, resolves
references for a whole batch with one query per kind, checks the 好差评 rules, and writes rows with one
``executemany``. Single submissions are batches of one. Each item is accepted or rejected on its own
(per-item results); accepted items are written together in one transaction.
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from pydantic import ValidationError

from haochaping.accounts.scope import Scope
from haochaping.directory.models import Hall, Organisation, Platform, ServiceItem, Staff, Window
from haochaping.lib import protect
from haochaping.lib.errors import Conflict, DomainError, NotFound, ValidationFailed
from haochaping.lib.ids import uuid7
from haochaping.lib.validation import summary, validation_errors
from haochaping.ratings import partitioning, questionnaires
from haochaping.ratings.codes import GRADE_NAME_OF, GRADE_NAMES, ONLINE_CHANNELS, Adoption, Grade, Target, is_bad
from haochaping.ratings.models import DeviceKind, Rating, RatingKey, ServiceCase, Tag, TagSet
from haochaping.ratings.rowwriter import RowWriter
from haochaping.ratings.schemas import RatingIn

try:
    import fcntl
except ImportError:  # Windows: there intake writers queue within a process only
    fcntl = None

FUTURE_TOLERANCE = timedelta(minutes=10)
_DEVICE_KINDS = frozenset(DeviceKind.values)


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
    questionnaires.clear_cache()
    _SQL_CACHE.clear()


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


# --- compiled look-ups ---------------------------------------------------------------------------------

# A single submission would spend most of its time having the ORM compile the same few look-ups. For a
# handful of values the SQL is compiled once per query shape (and scope) and re-run with the values
# swapped in; batches spread the ORM's cost over many items and use it directly.
_SQL_CACHE: dict[tuple, tuple[str, tuple, list[int]]] = {}
_SQL_CACHE_MAX = 4096
_SMALL = 8


def _rows(shape: tuple, values: Sequence[str], build: Callable[[Sequence[str]], QuerySet]) -> Iterable[tuple]:
    """Rows of the values_list queryset ``build(values)``.

    Compiled rows come as the database driver returns them, without the ORM's converters: use it for
    columns that need none (ids, strings, numbers), or convert them yourself (public_id in _retry_result).
    """
    n = len(values)
    if n > _SMALL:
        return build(values)
    key = (*shape, n)
    hit = _SQL_CACHE.get(key)
    if hit is None:
        markers = [f"\x00hcp-value-{i}\x00" for i in range(n)]
        sql, params = build(markers).query.sql_with_params()
        try:
            positions = [params.index(m) for m in markers]
        except ValueError:  # the ORM transformed a value: no template, just run the query
            return build(values)
        if len(_SQL_CACHE) >= _SQL_CACHE_MAX:
            _SQL_CACHE.clear()
        hit = _SQL_CACHE[key] = (sql, tuple(params), positions)
    sql, template, positions = hit
    params = list(template)
    for position, value in zip(positions, values, strict=True):
        params[position] = value
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- reference resolution ----------------------------------------------------------------------------

_CASE_FIELDS = (
    "id",
    "case_no",
    "service_item_id",
    "unit_id",
    "region_id",
    "hall_id",
    "window_id",
    "staff_id",
    "stage",
)


class References:
    """All directory rows a batch refers to, fetched with one scoped query per kind."""

    def __init__(self, items: Sequence[RatingIn], scope: Scope):
        self.scope = scope
        self.cases: dict[str, dict] = {}
        # (办件 id, stage, sequence) already rated: one rating per 办件 per stage per sequence.
        self.taken: set[tuple[int, str, int]] = set()
        self._fetch_cases({i.case_no for i in items if i.case_no})
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
            names = ("id", "code", "hall__code", "hall_id", "unit_id", "hall__region_id")
            rows = _rows(
                ("windows", scope),
                list({h for h, _ in window_keys}),
                lambda v: scope.filter(Window.objects.filter(hall__code__in=v)).values_list(*names),
            )
            for values in rows:
                row = dict(zip(names, values, strict=True))
                key = (row["hall__code"], row["code"])
                if key in window_keys:
                    self.windows[key] = row

    def _fetch_cases(self, values: set) -> None:
        """办件 in scope together with their rated slots: one query (LEFT JOIN ratings), not two."""
        if not values:
            return
        if partitioning.is_partitioned():
            self._fetch_cases_partitioned(values)
            return
        n = len(_CASE_FIELDS)
        scope = self.scope
        rows = _rows(
            ("cases", scope),
            list(values),
            lambda v: scope.filter(ServiceCase.objects.filter(case_no__in=v)).values_list(
                *_CASE_FIELDS, "ratings__stage", "ratings__sequence"
            ),
        )
        for row in rows:
            if row[1] not in self.cases:
                self.cases[row[1]] = dict(zip(_CASE_FIELDS, row[:n], strict=True))
            if row[n + 1] is not None:
                self.taken.add((row[0], row[n], row[n + 1]))

    def _fetch_cases_partitioned(self, values: set) -> None:
        # A join with a partitioned ratings_rating probes every month's index (and plans every partition:
        # ~0.7 ms for one 办件 at 27 partitions); the rated slots are in ratings_ratingkey, one index.
        scope = self.scope
        rows = _rows(
            ("cases-only", scope),
            list(values),
            lambda v: scope.filter(ServiceCase.objects.filter(case_no__in=v)).values_list(*_CASE_FIELDS),
        )
        ids = []
        for row in rows:
            self.cases[row[1]] = dict(zip(_CASE_FIELDS, row, strict=True))
            ids.append(row[0])
        if ids:
            slots = RatingKey.objects.filter(service_case_id__in=ids)
            self.taken.update(slots.values_list("service_case_id", "stage", "sequence"))

    def _fetch(self, model, key: str, values: set, fields: tuple[str, ...]) -> dict[str, dict]:
        if not values:
            return {}
        names = tuple(dict.fromkeys((key, *fields)))
        scope = self.scope
        rows = _rows(
            (model, key, names, scope),
            list(values),
            lambda v: scope.filter(model.objects.filter(**{f"{key}__in": v})).values_list(*names),
        )
        # values_list + zip: Django's values() costs ~2 µs more per row, which shows at 1,000-item batches.
        return {row[0]: dict(zip(names, row, strict=True)) for row in rows}


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


def build_row(item: RatingIn, refs: References, *, client: str, now: datetime, device_kind: str = "") -> dict[str, Any]:
    grade = int(GRADE_NAMES[item.grade])
    row = _targets(item, refs)
    stage = ""
    if row["service_case_id"]:
        stage = item.stage or refs.cases[item.case_no]["stage"]
    elif item.stage or item.sequence != 1:
        raise ValidationFailed("只有办件评价才有评价环节和追评", field="stage" if item.stage else "sequence")
    rated_at = item.rated_at
    if rated_at is None:
        rated_at = now
    else:
        if timezone.is_naive(rated_at):
            rated_at = timezone.make_aware(rated_at)
        if rated_at > now + FUTURE_TOLERANCE:
            raise ValidationFailed("评价时间不能晚于当前时间", field="rated_at")
    # A rating on the system-default channel is a default rating whatever the flag says; a default rating may
    # keep the channel the case was handled on.
    is_default = item.is_default or item.channel == "default"
    if is_default and (item.comment or item.tags):
        raise ValidationFailed("默认评价不能带标签或文字评价", field="is_default")
    tag_set_id, tags = _resolve_tags(item, grade, item.channel)
    # Only a rating with answers records the questionnaire version they answer (None when nothing was answered).
    questionnaire_id = None
    if item.answers:
        questionnaire = questionnaires.questionnaire_for(row["service_item_id"], item.channel)
        error = questionnaires.answers_error(questionnaire, item.answers)
        if error:
            raise ValidationFailed(error, field="answers")
        questionnaire_id = questionnaire.id
    anonymous = item.anonymous and not (item.rater_phone or item.rater_cert or item.rater_name)
    phone_enc, phone_hash = _protected(item.rater_phone)
    cert_enc, cert_hash = _protected(item.rater_cert)
    row.update(
        public_id=uuid7(),
        stage=stage,
        sequence=item.sequence,
        grade=grade,
        channel=item.channel,
        tag_set_id=tag_set_id,
        tags=tags,
        answers=item.answers,
        questionnaire_id=questionnaire_id,
        comment=item.comment.strip(),
        is_default=is_default,
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
        device_kind=device_kind,
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
    raw_items: Iterable[Any], *, scope: Scope, client: str, now: datetime | None = None, device_kind: str = ""
) -> list[ItemResult]:
    """Validate and store ratings; one result per input item, in order. Never raises for a bad item.

    ``device_kind`` (Rating.device_kind: "tablet", "buttons3", "buttons4") is for trusted internal callers, the
    evaluator services: it is a keyword, not an item field, so no API payload can set it.
    """
    if device_kind not in _DEVICE_KINDS:
        raise ValueError(f"unknown device_kind {device_kind!r}")
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
        _store(parsed, results, scope=scope, client=client, now=now, device_kind=device_kind)
    return [r for r in results if r is not None]


def _stored_by_key(client: str, keys: set[str]) -> dict[str, tuple]:
    """Ratings already stored under these idempotency keys of this client, by key."""
    if not keys:
        return {}
    rows = _rows(
        ("idempotency", client),
        list(keys),
        lambda v: Rating.objects.filter(client=client, idempotency_key__in=v).values_list(
            "idempotency_key", "public_id", "stage", "sequence", "grade", "service_case__case_no"
        ),
    )
    return {r[0]: r for r in rows}


def _retry_result(item: RatingIn, stored: tuple) -> ItemResult:
    """The answer to an idempotent retry: the stored rating, or 409 when the key was used for another one."""
    _, public_id, stage, sequence, grade, case_no = stored
    if case_no != item.case_no:
        return ItemResult(
            status=409,
            message="幂等键已用于另一条评价",
            errors=[{"field": "idempotency_key", "message": "幂等键已用于另一条评价"}],
        )
    return ItemResult(
        status=200,
        rating_id=str(public_id if isinstance(public_id, uuid.UUID) else uuid.UUID(public_id)),
        created=False,
        case_no=item.case_no,
        stage=stage or None,
        sequence=sequence,
        grade=grade,
    )


def _slot_taken(slot: tuple[int, str, int]) -> Conflict:
    what = "追评" if slot[2] == 2 else "评价"
    return Conflict(f"该办件此环节已有{what}，不能重复评价", field="case_no")


def _store(
    parsed: list[tuple[int, RatingIn]],
    results: list,
    *,
    scope: Scope,
    client: str,
    now: datetime,
    device_kind: str = "",
) -> None:
    # Look-ups and checks run before the write, which stays short: on SQLite it holds the database's one
    # write lock. The unique constraints catch what changes in between (_insert). Idempotency keys are
    # looked up only when an item cannot be stored as new: an idempotent retry conflicts with the stored
    # rating (its slot or its key) and is then answered from it, so new ratings cost no key look-up.
    refs = References([item for _, item in parsed], scope)
    taken = refs.taken
    rows: list[tuple[int, RatingIn, dict]] = []
    first_with_key: dict[str, int] = {}
    duplicates: list[tuple[int, RatingIn, int]] = []
    refused: list[tuple[int, RatingIn, DomainError]] = []
    for index, item in parsed:
        key = item.idempotency_key
        if key and key in first_with_key:
            duplicates.append((index, item, first_with_key[key]))
            continue
        try:
            row = build_row(item, refs, client=client, now=now, device_kind=device_kind)
            case_id = row["service_case_id"]
            if case_id:
                # One rating per 办件 per stage per sequence; a follow-up needs a first rating.
                slot = (case_id, row["stage"], row["sequence"])
                if slot in taken:
                    raise _slot_taken(slot)
                if row["sequence"] == 2 and (case_id, row["stage"], 1) not in taken:
                    raise ValidationFailed("追评前须有首次评价", field="sequence")
                if row["sequence"] == 2:
                    follow_up_window_check(_first_rated_at(case_id, row["stage"], rows), row["rated_at"])
                taken.add(slot)
        except DomainError as exc:
            if key:
                refused.append((index, item, exc))
            else:
                results[index] = ItemResult.from_error(exc)
            continue
        rows.append((index, item, row))
        if key:
            first_with_key[key] = index

    lost: list[tuple[int, RatingIn, dict]] = []
    if rows:
        landed = _insert([row for _, _, row in rows])
        for entry in rows:
            if landed is None or entry[2]["public_id"] in landed:
                results[entry[0]] = _result_for_row(entry[2], entry[1], created=True)
            else:
                lost.append(entry)
    if refused or lost:
        _answer_late(refused, lost, results, client=client)
    # The same key twice in one batch: the later items get the first one's answer, as a retry.
    rows_by_index = {index: row for index, _, row in rows}
    for index, item, first in duplicates:
        answer = results[first]
        if answer.status == 201:
            results[index] = _result_for_row(rows_by_index[first], item, created=False)
        else:
            results[index] = replace(answer, created=False)


def follow_up_window_check(first_rated_at: datetime | None, at: datetime, *, field: str = "sequence") -> None:
    """追评 is accepted once, within HAOCHAPING_FOLLOW_UP_DAYS of the first rating."""
    days = settings.HAOCHAPING_FOLLOW_UP_DAYS
    if first_rated_at is not None and at > first_rated_at + timedelta(days=days):
        raise ValidationFailed(f"追评须在首次评价后{days}天内", field=field)


def _first_rated_at(case_id: int, stage: str, pending: list[tuple[int, RatingIn, dict]]) -> datetime | None:
    # One query, only for a follow-up; the first rating may also be earlier in this same batch.
    stored = Rating.objects.filter(service_case_id=case_id, stage=stage, sequence=1).values_list("rated_at").first()
    if stored is not None:
        return stored[0]
    for _, _, row in pending:
        if row["service_case_id"] == case_id and row["stage"] == stage and row["sequence"] == 1:
            return row["rated_at"]
    return None


# Work other apps do in the transaction that stores ratings (the cases app opens a case per 差评): a
# predicate picks the rows a hook wants, and the hook gets those that landed. Intake imports no such app.
_after_write: list[tuple[Callable[[dict], bool], Callable[[list[dict]], Any]]] = []
_after_write_order: dict[Callable, int] = {}


def register_after_write(
    hook: Callable[[list[dict]], Any], wants: Callable[[dict], bool], *, late: bool = False
) -> None:
    """`late`: run after the others. A hook that upserts a row many transactions share (a unit's day in the
    rollups) holds that row's lock until the commit: run last, it holds it for the commit only, so concurrent
    single ratings of one unit queue for less time (bench/load_intake.py found them waiting there)."""
    if all(h is not hook for _, h in _after_write):
        _after_write_order[hook] = 1 if late else 0
        _after_write.append((wants, hook))
        _after_write.sort(key=lambda pair: _after_write_order[pair[1]])  # stable: registration order otherwise


def _write(rows: list[dict]) -> set | None:
    """One INSERT … ON CONFLICT DO NOTHING of the rows (partitioned: a claim of their keys, then the INSERT;
    ratings/partitioning.py), in a transaction: None when all landed, else the
    public ids of those that did (a concurrent writer may have taken a slot or key since the checks: such
    rows are left out instead of failing the others, so no savepoint is needed either). The after-write
    hooks run in the same transaction."""
    writer = _rating_writer()
    hooked = [(hook, wanted) for wants, hook in _after_write if (wanted := [r for r in rows if wants(r)])]
    if connection.in_atomic_block:
        return _write_rows(writer, rows, hooked)
    if len(rows) == 1 and not hooked:
        if not partitioning.is_partitioned():
            return _write_rows(writer, rows, hooked)  # one statement is a transaction of its own
        # Partitioned: the key guard's trigger refuses a taken key, in this single statement; cheaper for a
        # lone row than claim + insert in a transaction (four round trips instead of one).
        try:
            writer.insert(rows)
        except IntegrityError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != "23505":  # unique_violation: lost the race
                raise
            return set()
        return None
    with transaction.atomic():
        return _write_rows(writer, rows, hooked)


def _write_rows(writer: RowWriter, rows: list[dict], hooked: list) -> set | None:
    if partitioning.is_partitioned():
        # Claim the keys in ratings_ratingkey first (ON CONFLICT DO NOTHING there), then insert the rows
        # whose claim landed: the partitioned table has no global unique index to skip conflicts on.
        claimed = partitioning.claim(rows)
        landed = None if len(claimed) == len(rows) else claimed
        if claimed:
            writer.insert(rows if landed is None else [r for r in rows if r["public_id"] in claimed])
    else:
        inserted = writer.insert(rows, skip_conflicts=True)
        if inserted == len(rows):
            landed = None
        elif inserted == 0:
            landed = set()
        else:
            ids = [row["public_id"] for row in rows]
            landed = set(Rating.objects.filter(public_id__in=ids).values_list("public_id", flat=True))
    for hook, wanted in hooked:
        mine = wanted if landed is None else [r for r in wanted if r["public_id"] in landed]
        if mine:
            hook(mine)
    return landed


@dataclass(eq=False)
class _Job:
    rows: list[dict]
    done: bool = False
    landed: set | None = None
    error: BaseException | None = None


class _SQLiteGroupCommit:
    """Group commit for SQLite: concurrent writers of a process share one transaction.

    SQLite has one write lock, and each commit writes every page the transaction touched: a rating row
    changes a page in each of the table's 16 indexes, so a single-row commit costs 0.2–0.6 ms and single
    POSTs were bound by commits (docs/performance.md). A writer also polls for a taken lock (sleeping
    1, 2, 5 … ms), which leaves the lock idle between commits. Here a writer queues its rows; whoever
    holds the write turn writes all queued rows in one transaction, and the others find their rows
    written when their turn comes. Worker processes take turns through an flock on
    ``<database>.intake-lock``. Each caller still returns only after its rows are committed, or raises
    the error that kept them out.
    """

    def __init__(self, write: Callable[[list[dict]], set | None]) -> None:
        self._write = write
        self._queue_lock = threading.Lock()
        self._turn = threading.Lock()
        self._queue: list[_Job] = []
        self._fd: int | None = None
        self._pid = 0

    def _lock_file(self) -> int | None:
        name = str(connection.settings_dict["NAME"])
        if connection.vendor != "sqlite" or fcntl is None or not name or name == ":memory:" or "mode=memory" in name:
            return None
        if self._pid != os.getpid():  # a descriptor inherited through fork would share the lock: reopen
            self._fd = os.open(f"{name}.intake-lock", os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    def write(self, rows: list[dict]) -> set | None:
        job = _Job(rows)
        with self._queue_lock:
            self._queue.append(job)
        with self._turn:
            if not job.done:
                with self._queue_lock:
                    jobs, self._queue = self._queue, []
                try:
                    fd = self._lock_file()
                    if fd is not None:
                        fcntl.flock(fd, fcntl.LOCK_EX)
                    try:
                        self._write_jobs(jobs)
                    finally:
                        if fd is not None:
                            fcntl.flock(fd, fcntl.LOCK_UN)
                except BaseException as exc:
                    for j in jobs:
                        if not j.done:
                            j.error = exc
                    raise
                finally:
                    for j in jobs:
                        j.done = True
        if job.error is not None:
            raise job.error
        return job.landed

    def _write_jobs(self, jobs: list[_Job]) -> None:
        try:
            landed = self._write([row for j in jobs for row in j.rows])
        except Exception as exc:
            if len(jobs) == 1:
                jobs[0].error = exc
                jobs[0].done = True
                return
            # Whatever failed, let each caller get its own outcome.
            for j in jobs:
                try:
                    j.landed = self._write(j.rows)
                except Exception as own:
                    j.error = own
                j.done = True
            return
        for j in jobs:
            if landed is not None:
                mine = {row["public_id"] for row in j.rows} & landed
                j.landed = None if len(mine) == len(j.rows) else mine
            j.done = True


_group_commit = _SQLiteGroupCommit(_write)


def _insert(rows: list[dict]) -> set | None:
    """Store the rows; None when all landed, else the public ids of those that did."""
    if connection.vendor == "sqlite" and not connection.in_atomic_block:
        return _group_commit.write(rows)
    # PostgreSQL commits concurrent transactions in parallel (and groups their WAL flushes itself); inside
    # the caller's transaction (the token page's) the rows go with it.
    return _write(rows)


def write_rows(rows: list[dict]) -> set | None:
    """Store fully built rating rows (the exchange receiver's copies of a subordinate's ratings) through the
    same write path and after-write hooks as intake. None when all landed, else the public ids that did;
    a row whose public_id is already stored is skipped (that is how a re-delivered rating is deduplicated)."""
    for row in rows:
        row.setdefault("device_kind", "")  # columns added since the caller's row shape was written
    return _insert(rows)


def _answer_late(
    refused: list[tuple[int, RatingIn, DomainError]],
    lost: list[tuple[int, RatingIn, dict]],
    results: list,
    *,
    client: str,
) -> None:
    """Answer the items that could not be stored as new, in the order of precedence of the rules.

    A rating already stored under the item's idempotency key answers first (a retry: 200, or 409 when the
    key was used for another rating). Otherwise a refused item keeps its error, and an item a concurrent
    writer got in first is answered as if it had come after that writer.
    """
    keys = {item.idempotency_key for _, item, _ in refused if item.idempotency_key}
    keys.update(item.idempotency_key for _, item, _ in lost if item.idempotency_key)
    stored = _stored_by_key(client, keys)
    for index, item, exc in refused:
        key = item.idempotency_key
        results[index] = _retry_result(item, stored[key]) if key in stored else ItemResult.from_error(exc)
    if not lost:
        return
    case_ids = {row["service_case_id"] for _, _, row in lost if row["service_case_id"]}
    taken = set(Rating.objects.filter(service_case_id__in=case_ids).values_list("service_case_id", "stage", "sequence"))
    for index, item, row in lost:
        slot = (row["service_case_id"], row["stage"], row["sequence"])
        if item.idempotency_key in stored:
            results[index] = _retry_result(item, stored[item.idempotency_key])
        elif slot in taken:
            results[index] = ItemResult.from_error(_slot_taken(slot))
        else:
            results[index] = ItemResult(
                status=409,
                message="该评价与已存储的评价冲突（重复提交）",
                errors=[{"field": "case_no", "message": "重复评价"}],
            )


def submit_one(raw: Any, *, scope: Scope, client: str) -> ItemResult:
    return submit_ratings([raw], scope=scope, client=client)[0]


def grade_of(name: str) -> Grade:
    return GRADE_NAMES[name]
