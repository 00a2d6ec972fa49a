"""Legacy button evaluators (按键评价器): 3- and 4-button devices whose presses are mapped onto the five grades.

A hall's bridge (scripts/legacy_bridge.py, or the vendor's) reports each event of a device known by its serial
number: a press of button n, or a timeout (the device invited a rating and nobody pressed). A press is mapped
through its model's current mapping and stored as a rating (channel hall_tablet, device_kind buttons3/buttons4)
of the window's pushed 办件 when one is open, else a walk-in rating of the window and its staff — the same path as
the tablet's (services.window_rating_submit). A timeout records the offer and never a grade. Every event is kept
(LegacyPress) with the mapping version and entry used. Reference: docs/legacy-evaluators.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from haochaping.accounts.models import Role
from haochaping.accounts.scope import Scope
from haochaping.audit.services import record_admin_action
from haochaping.directory.models import Window
from haochaping.evaluator import services
from haochaping.evaluator.models import EvaluatorPrompt, LegacyDevice, LegacyDeviceModel, LegacyPress
from haochaping.lib.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from haochaping.ratings.codes import GRADE_NAME_OF, Grade
from haochaping.ratings.intake import ItemResult
from haochaping.ratings.offers import offer_record

BUTTON_COUNTS = (3, 4)
GRADES = tuple(int(g) for g in Grade.values)
# The defaults, by name (docs/legacy-evaluators.md): a button means what its label says, so a 3-button device's
# 满意 is 满意 (4), and such a hall cannot reach 非常满意 — which is why figures are split by device kind.
DEFAULT_MODELS: tuple[dict[str, Any], ...] = (
    {
        "code": "btn3-std",
        "name": "三键评价器（满意/基本满意/不满意）",
        "buttons": 3,
        "mapping": [
            {"button": 1, "label": "满意", "grade": 4},
            {"button": 2, "label": "基本满意", "grade": 3},
            {"button": 3, "label": "不满意", "grade": 2},
        ],
    },
    {
        "code": "btn4-std",
        "name": "四键评价器（非常满意/满意/基本满意/不满意）",
        "buttons": 4,
        "mapping": [
            {"button": 1, "label": "非常满意", "grade": 5},
            {"button": 2, "label": "满意", "grade": 4},
            {"button": 3, "label": "基本满意", "grade": 3},
            {"button": 4, "label": "不满意", "grade": 2},
        ],
    },
)
# A press reported without a prompt joins the window's open prompt only if it came after the push and within this.
PROMPT_WINDOW = services.PROMPT_TTL
# Presses may be buffered by an offline bridge; but none is accepted from further back than this.
MAX_AGE = timedelta(days=7)
FUTURE_TOLERANCE = timedelta(minutes=10)
SERIAL = re.compile(r"^[A-Za-z0-9._:-]{1,60}$")
CODE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


def default_models() -> list[LegacyDeviceModel]:
    """The default models (the migration seeds them too; a flushed test database or a new install gets them here)."""
    out = []
    for row in DEFAULT_MODELS:
        obj, _ = LegacyDeviceModel.objects.get_or_create(
            code=row["code"], defaults={k: v for k, v in row.items() if k != "code"}
        )
        out.append(obj)
    return out


# --- mapping ---------------------------------------------------------------------------------------------------


def mapping_clean(buttons: int, mapping: Any) -> list[dict]:
    """The mapping in canonical form (sorted by button), or ValidationFailed naming "mapping"."""
    if buttons not in BUTTON_COUNTS:
        raise ValidationFailed("按键数只能是 3 或 4", field="buttons")
    if not isinstance(mapping, list) or len(mapping) != buttons:
        raise ValidationFailed(f"{buttons}键评价器须为每个按键各给一条对应", field="mapping")
    out: dict[int, dict] = {}
    for entry in mapping:
        if not isinstance(entry, dict):
            raise ValidationFailed("每条对应须含 button、label、grade", field="mapping")
        button, grade, label = entry.get("button"), entry.get("grade"), entry.get("label")
        if type(button) is not int or not 1 <= button <= buttons:
            raise ValidationFailed(f"按键编号须为 1–{buttons}", field="mapping")
        if button in out:
            raise ValidationFailed(f"按键 {button} 重复", field="mapping")
        if type(grade) is not int or grade not in GRADES:
            raise ValidationFailed(f"按键 {button} 的等级须为 1–5", field="mapping")
        if not isinstance(label, str) or not label.strip() or len(label.strip()) > 20:
            raise ValidationFailed(f"按键 {button} 须有标签（20字以内）", field="mapping")
        out[button] = {"button": button, "label": label.strip(), "grade": grade}
    return [out[b] for b in sorted(out)]


def may_edit_model(scope: Scope, model: LegacyDeviceModel | None) -> bool:
    """System administrators edit every model; agency administrators those of regions in their own (and may add)."""
    if scope.read_only:
        return False
    if scope.kind == "all":
        return True
    if scope.kind != "region" or scope.role != Role.AGENCY_ADMIN:
        return False
    return model is None or (model.region_id is not None and scope.allows_region_path(model.region.path))


def may_manage_devices(scope: Scope) -> bool:
    """Registering and revoking devices: system administrators and agency administrators, in their region."""
    return not scope.read_only and (scope.kind == "all" or (scope.kind == "region" and scope.role == Role.AGENCY_ADMIN))


def models_for(scope: Scope):
    """The models usable in the scope: the installation-wide ones, those of the scope's region and the regions under
    it, and those of the regions above it (a city's model serves its counties)."""
    qs = LegacyDeviceModel.objects.select_related("region")
    if scope.kind == "all":
        return qs
    wanted = Q(region__isnull=True)
    if scope.kind == "region":
        parts = scope.region_path.split("/")[:-1]
        ancestors = ["/".join(parts[: i + 1]) + "/" for i in range(len(parts))]
        wanted |= Q(region__path__startswith=scope.region_path) | Q(region__path__in=ancestors)
    return qs.filter(wanted)


def model_save(
    scope: Scope,
    *,
    model: LegacyDeviceModel | None,
    code: str = "",
    name: str,
    vendor: str = "",
    buttons: int,
    mapping: Any,
    is_active: bool = True,
) -> LegacyDeviceModel:
    """Create a model (agency administrators: of their region) or change one; a mapping change bumps its version.
    Audit-logged: the old and the new mapping."""
    if not may_edit_model(scope, model):
        raise PermissionDenied("仅系统管理员和本地区管理机构的管理员可以维护评价器型号")
    name = (name or "").strip()
    if not name or len(name) > 80:
        raise ValidationFailed("请填写型号名称（80字以内）", field="name")
    clean = mapping_clean(buttons, mapping)
    with transaction.atomic():
        if model is None:
            code = (code or "").strip().lower()
            if not CODE.match(code):
                raise ValidationFailed("型号编码只能含小写字母、数字和连字符（40字以内）", field="code")
            if LegacyDeviceModel.objects.filter(code=code).exists():
                raise Conflict(f"型号编码 {code} 已存在", field="code")
            region_id = scope.region_id if scope.kind == "region" else None
            model = LegacyDeviceModel.objects.create(
                code=code, name=name, vendor=vendor.strip()[:80], buttons=buttons, mapping=clean,
                region_id=region_id, is_active=is_active,
            )  # fmt: skip
            before = None
        else:
            model = LegacyDeviceModel.objects.select_for_update().get(pk=model.pk)
            if buttons != model.buttons and LegacyDevice.objects.filter(model=model).exists():
                raise ValidationFailed("已有设备使用该型号，不能改变按键数", field="buttons")
            before = {"mapping": model.mapping, "version": model.version, "name": model.name}
            if clean != model.mapping or buttons != model.buttons:
                model.version += 1
            model.name, model.vendor, model.buttons, model.mapping = name, vendor.strip()[:80], buttons, clean
            model.is_active = is_active
            model.save()
        after = {"mapping": model.mapping, "version": model.version, "name": model.name}
        changes = {k: [before.get(k) if before else None, v] for k, v in after.items() if not before or before[k] != v}
        if changes:
            record_admin_action(
                action="create" if before is None else "update",
                app_label="evaluator",
                model="legacydevicemodel",
                object_id=str(model.pk),
                object_repr=str(model),
                changes=changes,
                region_path=model.region.path if model.region_id else "",
            )
    return model


# --- devices ---------------------------------------------------------------------------------------------------


def device_register(
    scope: Scope, *, serial: str, model_code: str, hall: str, window: str, name: str = ""
) -> LegacyDevice:
    """Register a button evaluator on a window in the scope (API key or administrator)."""
    serial = (serial or "").strip()
    if not SERIAL.match(serial):
        raise ValidationFailed("序列号只能含字母、数字和 . _ : -（60字以内）", field="serial")
    target = (
        scope.filter(Window.objects.filter(hall__code=hall, code=window)).select_related("hall", "hall__region").first()
    )
    if target is None:
        raise NotFound(f"窗口 {hall}/{window} 不存在或不在您的数据范围内", field="window")
    # A region's model serves the windows of that region and the regions below it; another region's is "unknown".
    model = LegacyDeviceModel.objects.select_related("region").filter(code=model_code, is_active=True).first()
    if model is None or (model.region_id and not target.hall.region.path.startswith(model.region.path)):
        raise NotFound(f"评价器型号 {model_code} 不存在或未启用", field="model")
    with transaction.atomic():
        if LegacyDevice.objects.filter(serial=serial).exists():
            raise Conflict(f"序列号 {serial} 已登记", field="serial")
        try:
            with transaction.atomic():
                device = LegacyDevice.objects.create(
                    window=target, model=model, serial=serial, name=(name or "").strip()[:60]
                )
        except IntegrityError:
            raise Conflict(f"序列号 {serial} 已登记", field="serial") from None
        record_admin_action(
            action="create",
            app_label="evaluator",
            model="legacydevice",
            object_id=str(device.pk),
            object_repr=str(device),
            changes={"serial": [None, serial], "model": [None, model.code], "window": [None, f"{hall}/{window}"]},
            region_path=target.hall.region.path,
            unit_id=target.unit_id,
        )
    return device


def device_revoke(scope: Scope, device: LegacyDevice, *, now: datetime | None = None) -> None:
    if scope.filter(LegacyDevice.objects.filter(pk=device.pk)).first() is None:
        raise NotFound("设备不存在或不在您的数据范围内", field="device")
    with transaction.atomic():
        if LegacyDevice.objects.filter(pk=device.pk, revoked_at=None).update(revoked_at=now or timezone.now()):
            record_admin_action(
                action="update",
                app_label="evaluator",
                model="legacydevice",
                object_id=str(device.pk),
                object_repr=str(device),
                changes={"revoked_at": [None, "revoked"]},
                region_path=device.window.hall.region.path,
                unit_id=device.window.unit_id,
            )


def device_for_event(scope: Scope, serial: str) -> LegacyDevice:
    """The device a bridge reports for: 404 outside the scope (or unknown), 403 once revoked."""
    device = (
        scope.filter(LegacyDevice.objects.filter(serial=serial))
        .select_related("window", "window__hall", "window__hall__region", "model")
        .first()
    )
    if device is None:
        raise NotFound(f"按键评价器 {serial} 未登记或不在您的数据范围内", field="device")
    if device.revoked_at is not None:
        raise PermissionDenied(f"按键评价器 {serial} 已停用", field="device")
    return device


# --- events ----------------------------------------------------------------------------------------------------


@dataclass
class EventResult:
    status: int
    kind: str
    rating_id: str | None = None
    grade: int | None = None
    created: bool = False
    message: str | None = None
    errors: list[dict] | None = None

    @property
    def ok(self) -> bool:
        return self.status in (200, 201)


def _key_check(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 100:
        raise ValidationFailed("idempotency_key 须为 1–100 字的事件唯一键", field="idempotency_key")
    return key


def _when(at: datetime | None, now: datetime) -> datetime:
    if at is None:
        return now
    if timezone.is_naive(at):
        at = timezone.make_aware(at)
    if at > now + FUTURE_TOLERANCE:
        raise ValidationFailed("事件时间不能晚于当前时间", field="at")
    if at < now - MAX_AGE:
        raise ValidationFailed(f"事件时间早于{MAX_AGE.days}天前，不再接收", field="at")
    return min(at, now)


def _prompt_for(device: LegacyDevice, prompt_id: int | None, at: datetime) -> EvaluatorPrompt | None:
    """The prompt an event answers: the one named, else the window's open prompt pushed before it (and not too long
    before: a press buffered for hours belongs to no push)."""
    if prompt_id is not None:
        return services.window_prompt(device.window_id, prompt_id)
    prompt = (
        EvaluatorPrompt.objects.select_related("service_case", "staff")
        .filter(window_id=device.window_id, rated_at=None, expired_at=None)
        .order_by("-id")
        .first()
    )
    if prompt is None or not (prompt.created_at - FUTURE_TOLERANCE <= at <= prompt.created_at + PROMPT_WINDOW):
        return None
    return prompt


def _stored(device: LegacyDevice, key: str, kind: str) -> EventResult | None:
    row = LegacyPress.objects.filter(device=device, idempotency_key=key).first()
    if row is None:
        return None
    if row.kind != kind:
        return EventResult(
            409,
            kind,
            message="幂等键已用于另一事件",
            errors=[{"field": "idempotency_key", "message": "幂等键已用于另一事件"}],
        )
    return EventResult(
        200, kind, rating_id=str(row.rating_public_id) if row.rating_public_id else None, grade=row.grade
    )


def _seen(device: LegacyDevice, now: datetime) -> None:
    if device.last_seen_at is None or now - device.last_seen_at > services.SEEN_RESOLUTION:
        LegacyDevice.objects.filter(pk=device.pk).update(last_seen_at=now)
        device.last_seen_at = now


def _offer_once(device: LegacyDevice, prompt: EvaluatorPrompt | None, at: datetime) -> None:
    """Record that the device offered a rating: for a prompt, once (a tablet on the same window may have shown it)."""
    source = f"legacy:{device.pk}"
    if prompt is None:
        staff = services.window_staff(device.window)
        offer_record(
            kind="evaluator", channel=services.CHANNEL, window=device.window,
            staff_id=staff.pk if staff else None, source=source, at=at,
        )  # fmt: skip
        return
    if EvaluatorPrompt.objects.filter(pk=prompt.pk, shown_at=None).update(shown_at=at):
        offer_record(
            kind="evaluator", channel=services.CHANNEL, service_case=prompt.service_case, window=device.window,
            staff_id=prompt.staff_id, source=source, at=at,
        )  # fmt: skip


def press_record(
    device: LegacyDevice,
    button: int | None,
    idempotency_key: str,
    pressed_at: datetime | None = None,
    prompt_id: int | None = None,
) -> EventResult:
    """A press of ``button``: mapped through the model's current mapping and stored as a rating (idempotent per device
    and key). ValidationFailed naming "button" for a button the model does not have."""
    now = timezone.now()
    key = _key_check(idempotency_key)
    stored = _stored(device, key, LegacyPress.Kind.PRESS)
    if stored is not None:
        return stored
    model = device.model
    if type(button) is not int or not 1 <= button <= model.buttons:
        raise ValidationFailed(f"按键须为 1–{model.buttons}（{model.name}）", field="button")
    entry = model.entry(button)
    if entry is None:  # a mapping always has every button (mapping_clean); an edited row in the database may not
        raise ValidationFailed(f"型号 {model.code} 未配置按键 {button} 的对应", field="button")
    at = _when(pressed_at, now)
    with transaction.atomic():
        prompt = _prompt_for(device, prompt_id, at)
        if prompt is not None and prompt.shown_at is None:
            _offer_once(device, prompt, at)  # the device offered it when the citizen pressed
        rating = services.DeviceRating(
            idempotency_key=key, grade=GRADE_NAME_OF[entry["grade"]], prompt_id=None, rated_at=at
        )
        result: ItemResult = services.window_rating_submit(
            window=device.window,
            prompt=prompt,
            rating=rating,
            client=f"legacy:{device.pk}",
            device_kind=model.device_kind,
        )
        if not result.ok:
            transaction.set_rollback(True)  # no offer either: the event is answered with the error, not recorded
            return EventResult(result.status, "press", message=result.message, errors=result.errors)
        if result.status == 201:
            LegacyPress.objects.create(
                device=device, model=model, mapping_version=model.version, mapping_entry=entry,
                kind=LegacyPress.Kind.PRESS, button=button, grade=entry["grade"], prompt=prompt,
                rating_public_id=result.rating_id, idempotency_key=key, at=at,
            )  # fmt: skip
        _seen(device, now)
    if result.status == 200:  # a concurrent duplicate stored the rating first; its press row is (or will be) there
        return _stored(device, key, LegacyPress.Kind.PRESS) or EventResult(
            200, "press", rating_id=result.rating_id, grade=result.grade
        )
    return EventResult(201, "press", rating_id=result.rating_id, grade=entry["grade"], created=True)


def timeout_record(
    device: LegacyDevice, idempotency_key: str, offered_at: datetime | None = None, prompt_id: int | None = None
) -> EventResult:
    """The device invited a rating and nobody pressed: the offer is recorded (offered, not rated), the prompt it
    showed expires, and no rating is ever stored."""
    now = timezone.now()
    key = _key_check(idempotency_key)
    stored = _stored(device, key, LegacyPress.Kind.TIMEOUT)
    if stored is not None:
        return stored
    at = _when(offered_at, now)
    model = device.model
    try:
        with transaction.atomic():
            prompt = _prompt_for(device, prompt_id, at)
            _offer_once(device, prompt, at)
            if prompt is not None:
                EvaluatorPrompt.objects.filter(pk=prompt.pk, rated_at=None, expired_at=None).update(expired_at=now)
            LegacyPress.objects.create(
                device=device, model=model, mapping_version=model.version, mapping_entry={},
                kind=LegacyPress.Kind.TIMEOUT, prompt=prompt, idempotency_key=key, at=at,
            )  # fmt: skip
            _seen(device, now)
    except IntegrityError:  # the same event, sent twice at once: the other one stored it
        return _stored(device, key, LegacyPress.Kind.TIMEOUT) or EventResult(200, "timeout")
    return EventResult(201, "timeout", created=True)
