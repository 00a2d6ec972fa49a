"""Writes of the inspections app: checklists, plans, and an inspection from its start to its submission.

Every write is one transaction; bad input raises ValidationFailed naming the form field (``items-2-pass_score``,
``score-17``, ``photo-17``, ``halls`` …), a step that no longer fits raises Conflict (a submitted inspection is never
changed), a user acting on someone else's inspection gets PermissionDenied. Who may call which service is decided
by the views through inspections/access.py; the services check the data and the inspection's own inspector.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone

from haochaping.accounts.scope import Scope
from haochaping.cases.rectification import rectification_open
from haochaping.directory.models import Region, Window
from haochaping.inspections import selectors
from haochaping.inspections.access import access_for
from haochaping.inspections.models import Checklist, ChecklistItem, Inspection, ItemScore, Mode, Photo, Plan
from haochaping.lib.documents import check_document
from haochaping.lib.errors import Conflict, NotFound, PermissionDenied, ValidationFailed

logger = logging.getLogger(__name__)

PHOTO_TYPES = {"image/jpeg", "image/png"}
MAX_PHOTOS = 40  # per inspection
MAX_VISITS = 50
NOTE_LIMIT = 2000


def photo_max_bytes() -> int:
    """HAOCHAPING_INSPECTION_PHOTO_MAX_MB (default 10) in bytes."""
    return int(float(getattr(settings, "HAOCHAPING_INSPECTION_PHOTO_MAX_MB", 10)) * 1024 * 1024)


def _text(value: str | None, field: str, label: str, *, required: bool = False, limit: int = 0) -> str:
    value = (value or "").strip()
    if required and not value:
        raise ValidationFailed(f"请填写{label}", field=field)
    if limit and len(value) > limit:
        raise ValidationFailed(f"{label}不能超过 {limit} 个字", field=field)
    return value


def _order(value, prefix: str, n: int) -> int:
    return _int(value if str(value).strip() else n * 10, f"{prefix}-order", f"第{n}项的序号", low=0, high=9999)


def _int(value, field: str, label: str, *, low: int, high: int) -> int:
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed(f"{label}应为整数", field=field) from None
    if not low <= number <= high:
        raise ValidationFailed(f"{label}应在 {low}–{high} 之间", field=field)
    return number


# --- checklists ---------------------------------------------------------------------------------------------------


@dataclass
class ItemIn:
    """One row of the checklist form; ``id`` is None for a new item."""

    id: int | None
    order: object
    category: str
    text: str
    guidance: str
    max_score: object
    pass_score: object
    is_active: bool = True


def checklist_save(
    *,
    checklist: Checklist | None,
    region: Region,
    name: str,
    description: str = "",
    is_active: bool = True,
    items: Sequence[ItemIn],
    actor,
) -> Checklist:
    """Create a checklist (``checklist`` None) or change one. Items are matched by id; an item already scored by an
    inspection keeps its scale (max_score, pass_score) — deactivate it and add a new one instead. Items are never
    deleted: unticking 启用 takes one out of future inspections."""
    name = _text(name, "name", "检查表名称", required=True, limit=100)
    description = _text(description, "description", "说明", limit=2000)
    with transaction.atomic():
        existing: dict[int, ChecklistItem] = {}
        if checklist is not None:
            checklist = Checklist.objects.select_for_update().get(pk=checklist.pk)
            existing = {item.pk: item for item in checklist.items.all()}
        scored = set(ItemScore.objects.filter(item_id__in=list(existing)).values_list("item_id", flat=True))
        cleaned: list[tuple[ChecklistItem | None, dict]] = []
        for index, row in enumerate(items):
            prefix, n = f"items-{index}", index + 1
            values = {
                "order": _order(row.order, prefix, n),
                "category": _text(row.category, f"{prefix}-category", f"第{n}项的类别", limit=40),
                "text": _text(row.text, f"{prefix}-text", f"第{n}项的检查内容", required=True, limit=300),
                "guidance": _text(row.guidance, f"{prefix}-guidance", f"第{n}项的评分标准", limit=2000),
                "max_score": _int(row.max_score, f"{prefix}-max_score", f"第{n}项的满分", low=1, high=100),
                "is_active": bool(row.is_active),
            }
            values["pass_score"] = _int(row.pass_score, f"{prefix}-pass_score", f"第{n}项的合格分", low=0, high=100)
            if values["pass_score"] > values["max_score"]:
                raise ValidationFailed(f"第{n}项：合格分不能高于满分", field=f"{prefix}-pass_score")
            item = None
            if row.id is not None:
                item = existing.get(row.id)
                if item is None:
                    raise ValidationFailed(f"第{n}项不属于该检查表", field=f"{prefix}-text")
                if item.pk in scored:
                    for key, label in (("max_score", "满分"), ("pass_score", "合格分")):
                        if values[key] != getattr(item, key):
                            raise ValidationFailed(
                                f"第{n}项已有检查记录，不能修改{label}；请停用该项并新增一项",
                                field=f"{prefix}-{key}",
                            )
            cleaned.append((item, values))
        active = sum(1 for item, values in cleaned if values["is_active"]) + sum(
            1 for pk, item in existing.items() if item.is_active and pk not in {i.pk for i, _ in cleaned if i}
        )
        if active == 0:
            raise ValidationFailed("检查表至少应有一个启用的检查项", field="items")
        if checklist is None:
            checklist = Checklist.objects.create(
                name=name, description=description, region=region, is_active=is_active, created_by=actor
            )
        else:
            checklist.name, checklist.description, checklist.is_active = name, description, is_active
            checklist.save(update_fields=["name", "description", "is_active"])
        for item, values in cleaned:
            if item is None:
                ChecklistItem.objects.create(checklist=checklist, **values)
            else:
                for key, value in values.items():
                    setattr(item, key, value)
                item.save()
    return checklist


# --- plans ------------------------------------------------------------------------------------------------------


def _ids(values: Iterable) -> list[int]:
    out = []
    for value in values:
        with suppress(TypeError, ValueError):
            out.append(int(value))
    return out


def plan_create(
    *,
    region: Region,
    name: str,
    checklist_id,
    mode: str,
    starts_on: date | None,
    ends_on: date | None,
    hall_ids: Iterable,
    window_ids: Iterable = (),
    inspector_ids: Iterable,
    visits,
    notes: str = "",
    actor,
) -> Plan:
    """A plan of ``region``: its halls (and optionally windows) within the region, a checklist of the region or
    above, inspectors whose scope covers the region, ``visits`` visits per hall between the two dates."""
    name = _text(name, "name", "计划名称", required=True, limit=100)
    notes = _text(notes, "notes", "说明", limit=2000)
    checklist = selectors.checklists_usable_in(region).filter(pk__in=_ids([checklist_id])).first()
    if checklist is None:
        raise ValidationFailed("请选择本区划可用的检查表", field="checklist")
    if mode not in Mode.values:
        raise ValidationFailed("请选择检查方式", field="mode")
    if starts_on is None:
        raise ValidationFailed("请填写开始日期", field="starts_on")
    if ends_on is None:
        raise ValidationFailed("请填写结束日期", field="ends_on")
    if ends_on < starts_on:
        raise ValidationFailed("结束日期不能早于开始日期", field="ends_on")
    hall_ids = set(_ids(hall_ids))
    halls = list(selectors.halls_in_region(region).filter(pk__in=hall_ids))
    if not hall_ids:
        raise ValidationFailed("请选择至少一个检查大厅", field="halls")
    if len(halls) != len(hall_ids):
        raise ValidationFailed("所选大厅不在本区划内", field="halls")
    window_ids = set(_ids(window_ids))
    windows = list(Window.objects.filter(pk__in=window_ids, hall__in=halls, is_active=True))
    if len(windows) != len(window_ids):
        raise ValidationFailed("指定窗口应属于所选大厅", field="windows")
    inspector_ids = set(_ids(inspector_ids))
    inspectors = list(selectors.inspector_candidates(region).filter(pk__in=inspector_ids))
    if not inspector_ids:
        raise ValidationFailed("请选择至少一名检查人员", field="inspectors")
    if len(inspectors) != len(inspector_ids):
        raise ValidationFailed("检查人员应为本区划或上级管理机构的检查人员、管理员", field="inspectors")
    visits = _int(visits, "visits", "每个大厅的检查次数", low=1, high=MAX_VISITS)
    with transaction.atomic():
        plan = Plan.objects.create(
            name=name, region=region, checklist=checklist, mode=mode, starts_on=starts_on, ends_on=ends_on,
            visits=visits, notes=notes, created_by=actor,
        )  # fmt: skip
        plan.halls.set(halls)
        plan.windows.set(windows)
        plan.inspectors.set(inspectors)
    return plan


# --- inspections --------------------------------------------------------------------------------------------------


def inspection_start(
    *,
    actor,
    scope: Scope,
    plan_id=None,
    hall_id=None,
    window_id=None,
    mode: str = "",
    checklist_id=None,
    today: date | None = None,
) -> Inspection:
    """Start a visit (a draft): from a plan naming ``actor`` (its checklist and mode), or ad hoc for a hall of the
    actor's region with a checklist and mode of their choice. The unit answerable is the window's, else the hall's.
    The actor's open draft for the same plan, hall and window is returned instead of a second one."""
    today = today or timezone.localdate()
    access = access_for(scope)
    if not access.inspects:
        raise PermissionDenied("您无权开展监督查评")
    plan = None
    if plan_id not in (None, ""):
        plan = Plan.objects.filter(pk__in=_ids([plan_id]), inspectors=actor).select_related("checklist").first()
        if plan is None:
            raise ValidationFailed("请选择分配给您的检查计划", field="plan")
        if not plan.starts_on <= today <= plan.ends_on:
            raise ValidationFailed(
                f"该计划的检查期为 {plan.starts_on:%Y-%m-%d} 至 {plan.ends_on:%Y-%m-%d}，今天不在检查期内", field="plan"
            )
        halls = plan.halls.filter(is_active=True)
        checklist, mode = plan.checklist, plan.mode
    else:
        halls = selectors.halls_for(scope)
        if mode not in Mode.values:
            raise ValidationFailed("请选择检查方式", field="mode")
        checklist = selectors.checklists_visible(access).filter(pk__in=_ids([checklist_id]), is_active=True).first()
        if checklist is None:
            raise ValidationFailed("请选择检查表", field="checklist")
    hall = halls.select_related("region", "unit").filter(pk__in=_ids([hall_id])).first()
    if hall is None:
        raise ValidationFailed("请选择计划内或您所辖区划内的大厅", field="hall")
    if plan is None and not selectors.checklists_usable_in(hall.region).filter(pk=checklist.pk).exists():
        raise ValidationFailed("该检查表不适用于所选大厅的区划", field="checklist")
    if not checklist.is_active or not checklist.items.filter(is_active=True).exists():
        raise ValidationFailed("检查表已停用或没有启用的检查项", field="checklist" if plan is None else "plan")
    window = None
    if window_id not in (None, ""):
        windows = Window.objects.filter(hall=hall, is_active=True)
        if plan is not None and plan.windows.filter(hall=hall).exists():
            windows = windows.filter(pk__in=plan.windows.values("pk"))
        window = windows.select_related("unit").filter(pk__in=_ids([window_id])).first()
        if window is None:
            raise ValidationFailed("所选窗口不属于该大厅（或不在计划指定的窗口内）", field="window")
    with transaction.atomic():
        draft = Inspection.objects.filter(
            inspector=actor, plan=plan, hall=hall, window=window, state=Inspection.State.DRAFT
        ).first()
        if draft is not None:
            return draft
        return Inspection.objects.create(
            plan=plan, checklist=checklist, mode=mode, region=hall.region, hall=hall, window=window,
            unit=window.unit if window else hall.unit, inspector=actor,
        )  # fmt: skip


def _locked_draft(pk: int, actor) -> Inspection:
    inspection = Inspection.objects.select_for_update().filter(pk=pk).first()
    if inspection is None:
        raise NotFound("检查记录不存在")
    if inspection.state != Inspection.State.DRAFT:
        raise Conflict("检查记录已提交，不能再修改", field="state")
    if inspection.inspector_id != getattr(actor, "pk", None):
        raise PermissionDenied("只有开展该次检查的检查人员可以填写和提交")
    return inspection


@dataclass
class PhotoIn:
    upload: UploadedFile
    item_id: int | None = None  # None: a photo of the whole visit


def inspection_save(
    pk: int,
    *,
    actor,
    scores: dict[int, object],
    notes: dict[int, str] | None = None,
    summary: str | None = None,
    photos: Sequence[PhotoIn] = (),
    now: datetime | None = None,
) -> Inspection:
    """Save the inspector's work so far (the draft): item scores (0 … max; None or "" clears one), findings per item,
    the overall summary, photos (JPEG/PNG, of an item or of the visit). All or nothing."""
    now = now or timezone.now()
    notes = notes or {}
    stored: list = []
    try:
        with transaction.atomic():
            inspection = _locked_draft(pk, actor)
            items = {item.pk: item for item in selectors.active_items(inspection.checklist)}
            current = {s.item_id: s for s in inspection.scores.all()}
            for item_id in set(scores) | set(notes):
                item = items.get(item_id)
                if item is None:
                    raise ValidationFailed("检查项不属于该检查表或已停用", field=f"score-{item_id}")
                raw = scores.get(item_id, current[item_id].score if item_id in current else None)
                saved_note = current[item_id].note if item_id in current else ""
                note = _text(
                    notes.get(item_id, saved_note), f"note-{item_id}", f"「{item.text}」的检查发现", limit=NOTE_LIMIT
                )
                if raw in (None, ""):
                    if note:
                        raise ValidationFailed(f"请先为「{item.text}」打分", field=f"score-{item_id}")
                    if item_id in current:
                        current[item_id].delete()
                    continue
                score = _int(raw, f"score-{item_id}", f"「{item.text}」的得分", low=0, high=item.max_score)
                ItemScore.objects.update_or_create(
                    inspection=inspection,
                    item=item,
                    defaults={"score": score, "passed": score >= item.pass_score, "note": note},
                )
            if summary is not None:
                inspection.summary = _text(summary, "summary", "检查情况", limit=4000)
                inspection.save(update_fields=["summary"])
            if photos:
                if inspection.photos.count() + len(photos) > MAX_PHOTOS:
                    raise ValidationFailed(f"每次检查最多上传 {MAX_PHOTOS} 张照片", field="photo")
                for photo in photos:
                    if photo.item_id is not None and photo.item_id not in items:
                        raise ValidationFailed("照片对应的检查项不存在", field=f"photo-{photo.item_id}")
                    _store_photo(inspection, photo, actor, now, stored)
            return inspection
    except BaseException:
        for file in stored:
            with suppress(OSError):
                file.storage.delete(file.name)
        raise


def _store_photo(inspection: Inspection, photo: PhotoIn, actor, now: datetime, stored: list) -> None:
    field = f"photo-{photo.item_id}" if photo.item_id else "photo"
    upload = photo.upload
    content_type = check_document(upload, field=field, what="现场照片", max_bytes=photo_max_bytes())
    if content_type not in PHOTO_TYPES:
        raise ValidationFailed("现场照片须为 JPG 或 PNG 图片", field=field)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    record = Photo(
        inspection=inspection,
        item_id=photo.item_id,
        name=(upload.name or "photo")[:200],
        content_type=content_type,
        size=upload.size or 0,
        sha256=digest.hexdigest(),
        uploaded_by=actor,
        uploaded_at=now,
    )
    record.file.save(upload.name or "photo.jpg", upload, save=False)
    stored.append(record.file)  # removed again if the transaction does not commit
    record.save()


def photo_delete(pk: int, *, actor) -> None:
    """Remove a photo from a draft (its own inspector only); the file goes once the transaction commits."""
    with transaction.atomic():
        photo = Photo.objects.select_related("inspection").filter(pk=pk).first()
        if photo is None:
            raise ValidationFailed("照片不存在", field="photo")
        _locked_draft(photo.inspection_id, actor)
        name, storage = photo.file.name, photo.file.storage
        photo.delete()
        transaction.on_commit(lambda: storage.delete(name))


def percent(points: int, possible: int) -> Decimal:
    """Points over points possible on a 0–100 scale, one decimal (half up)."""
    if possible <= 0:
        return Decimal("0.0")
    return (Decimal(points) * 100 / Decimal(possible)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def _rectification_text(inspection: Inspection, score: ItemScore) -> str:
    item = score.item
    window = inspection.window
    place = inspection.hall.name + (f" {window.code}号窗口 {window.name}" if window else "")
    lines = [
        f"检查发现：{score.note}",
        f"检查项：{item.category + ' · ' if item.category else ''}{item.text}",
        f"得分：{score.score}/{item.max_score}（合格分 {item.pass_score}）",
        f"检查编号：{inspection.number}（{inspection.get_mode_display()}）",
        f"检查地点：{place}",
        f"检查时间：{timezone.localtime(inspection.started_at):%Y-%m-%d %H:%M}",
    ]
    return "\n".join(lines)


def inspection_submit(pk: int, *, actor, now: datetime | None = None) -> Inspection:
    """Submit: every active item scored (each failed item with its findings), the score (points over points
    possible × 100) and the failed items written, and for every failed item a 整改事项 opened for the unit and
    linked. One transaction; afterwards the inspection is never changed (Conflict)."""
    now = now or timezone.now()
    with transaction.atomic():
        inspection = _locked_draft(pk, actor)
        inspection = Inspection.objects.select_related("hall", "window", "unit", "checklist").get(pk=inspection.pk)
        items = selectors.active_items(inspection.checklist)
        if not items:
            raise ValidationFailed("检查表没有启用的检查项", field="checklist")
        scores = {s.item_id: s for s in inspection.scores.select_related("item")}
        for item in items:
            if item.pk not in scores:
                raise ValidationFailed(f"「{item.text}」尚未打分", field=f"score-{item.pk}")
            score = scores[item.pk]
            if score.score < item.pass_score and not score.note.strip():
                raise ValidationFailed(f"「{item.text}」不合格，请填写检查发现", field=f"note-{item.pk}")
        active = {item.pk for item in items}
        inspection.scores.exclude(item_id__in=active).delete()  # items deactivated after they were scored
        points = possible = failed = 0
        for item in items:
            score = scores[item.pk]
            score.passed = score.score >= item.pass_score
            points += score.score
            possible += item.max_score
            if not score.passed:
                failed += 1
                score.rectification = rectification_open(
                    None,
                    title=f"监督查评：{item.text}"[:120],
                    description=_rectification_text(inspection, score),
                    unit=inspection.unit,
                    actor=actor,
                    source=f"监督查评 {inspection.number}",
                )
            score.save(update_fields=["passed", "rectification"])
        inspection.score = percent(points, possible)
        inspection.failed_items = failed
        inspection.state = Inspection.State.SUBMITTED
        inspection.submitted_at = now
        inspection.save(update_fields=["score", "failed_items", "state", "submitted_at"])
    logger.info("inspection %s submitted: %s, %d failed", inspection.number, inspection.score, failed)
    return inspection
