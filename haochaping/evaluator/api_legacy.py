"""The button-evaluator bridge interface (mounted under /api/v1/evaluator/legacy/), API key auth.

- POST /events   presses and timeouts of the hall's button evaluators, up to 500 per call (a bridge that was offline
                 sends what it buffered); one result per event, in order, like the batch rating intake
- GET  /models   the evaluator models and their button → grade mappings
- POST /devices  register a button evaluator (serial, model) on a window

The device's window must be in the key's scope, else 404. Reference: docs/legacy-evaluators.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from ninja import Field, Router, Schema, Status
from pydantic import BaseModel, ValidationError
from pydantic import Field as PydanticField

from haochaping.evaluator import legacy
from haochaping.lib.errors import DomainError, ValidationFailed
from haochaping.lib.ratelimit import hit
from haochaping.lib.validation import summary, validation_errors
from haochaping.ratings.codes import GRADE_NAME_OF
from haochaping.ratings.schemas import API_ERRORS, ItemError

router = Router(tags=["evaluator-legacy"])

MAX_EVENTS = 500
# Per API key: a hall's bridge sends a batch every few seconds at most.
EVENTS_LIMIT = 120


class EventIn(BaseModel):
    type: Literal["press", "timeout"] = PydanticField(..., description="press 按键评价 / timeout 超时未评")
    device: str = PydanticField(..., min_length=1, max_length=60, description="设备序列号")
    button: int | None = PydanticField(None, description="按键编号 1–N（press 必填）")
    at: datetime | None = PydanticField(None, description="按键或超时的时间（ISO 8601）；默认接收时间")
    idempotency_key: str = PydanticField(..., min_length=1, max_length=100, description="事件唯一键，重发时不变")
    prompt_id: int | None = PydanticField(None, description="推送编号（已知时）；不填则取该窗口当前推送")


class EventsIn(Schema):
    events: list[Any] = Field(..., description=f"事件数组，最多{MAX_EVENTS}条")


class EventResultOut(Schema):
    index: int
    status: int = Field(..., description="201 新记录，200 重复发送（返回已存结果），4xx 拒绝")
    type: str | None = None
    rating_id: str | None = None
    grade: str | None = Field(None, description="对应的满意度等级名称（press）")
    grade_value: int | None = None
    message: str | None = None
    errors: list[ItemError] = Field(default_factory=list)


class EventsOut(Schema):
    accepted: int
    duplicates: int
    rejected: int
    results: list[EventResultOut]


def _one(request, index: int, raw: Any) -> dict:
    kind = raw.get("type") if isinstance(raw, dict) else None
    try:
        try:
            event = EventIn.model_validate(raw)
        except ValidationError as exc:
            errors = validation_errors(exc)
            raise ValidationFailed(summary(errors), errors=errors) from None
        device = legacy.device_for_event(request.scope, event.device)
        if event.type == "press":
            if event.button is None:
                raise ValidationFailed("按键评价须给出 button", field="button")
            result = legacy.press_record(device, event.button, event.idempotency_key, event.at, event.prompt_id)
        else:
            result = legacy.timeout_record(device, event.idempotency_key, event.at, event.prompt_id)
    except DomainError as exc:
        return {"index": index, "status": exc.status, "type": kind, "message": exc.message, "errors": exc.errors}
    return {
        "index": index,
        "status": result.status,
        "type": result.kind,
        "rating_id": result.rating_id,
        "grade": GRADE_NAME_OF[result.grade] if result.grade else None,
        "grade_value": result.grade,
        "message": result.message,
        "errors": result.errors or [],
    }


@router.post("/events", response={200: EventsOut, **API_ERRORS}, summary="上报按键评价器的按键与超时（批量，逐条结果）")
def events(request, payload: EventsIn):
    """按键映射为五级评价后存储（与平板评价器同一路径，渠道 hall_tablet）；超时只记录邀评（已邀未评），不产生评价。
    每条事件带 idempotency_key，重发返回已存结果（200）。"""
    key = getattr(request, "api_key", None)
    hit("legacy-events", str(key.pk if key else "-"), limit=EVENTS_LIMIT, window_seconds=60)
    if not payload.events:
        raise ValidationFailed("events 不能为空", field="events")
    if len(payload.events) > MAX_EVENTS:
        raise ValidationFailed(f"单次最多{MAX_EVENTS}条事件，实际{len(payload.events)}条", field="events")
    results = [_one(request, index, raw) for index, raw in enumerate(payload.events)]
    return {
        "accepted": sum(1 for r in results if r["status"] == 201),
        "duplicates": sum(1 for r in results if r["status"] == 200),
        "rejected": sum(1 for r in results if r["status"] >= 400),
        "results": results,
    }


class MappingEntry(Schema):
    button: int
    label: str
    grade: str = Field(..., description="满意度等级名称")
    grade_value: int


class ModelOut(Schema):
    code: str
    name: str
    vendor: str
    buttons: int
    device_kind: str
    version: int
    region: str | None = Field(None, description="所属地区代码；空为全平台通用")
    mapping: list[MappingEntry]


def model_out(model) -> dict:
    return {
        "code": model.code,
        "name": model.name,
        "vendor": model.vendor,
        "buttons": model.buttons,
        "device_kind": model.device_kind,
        "version": model.version,
        "region": model.region.code if model.region_id else None,
        "mapping": [
            {"button": e["button"], "label": e["label"], "grade": GRADE_NAME_OF[e["grade"]], "grade_value": e["grade"]}
            for e in model.mapping
        ],
    }


@router.get("/models", response={200: list[ModelOut], **API_ERRORS}, summary="评价器型号及按键与等级对应")
def models(request):
    legacy.default_models()
    return [model_out(m) for m in legacy.models_for(request.scope).filter(is_active=True)]


class DeviceIn(Schema):
    serial: str = Field(..., min_length=1, max_length=60, description="设备序列号")
    model: str = Field(..., min_length=1, max_length=40, description="型号编码，如 btn3-std")
    hall: str = Field(..., min_length=1, max_length=40, description="大厅编码")
    window: str = Field(..., min_length=1, max_length=40, description="窗口编号")
    name: str = Field("", max_length=60)


class DeviceOut(Schema):
    serial: str
    model: str
    device_kind: str
    hall: str
    window: str
    name: str
    registered_at: datetime
    state: Literal["active", "revoked"]


@router.post("/devices", response={201: DeviceOut, **API_ERRORS}, summary="登记按键评价器")
def register_device(request, payload: DeviceIn):
    legacy.default_models()
    device = legacy.device_register(
        request.scope,
        serial=payload.serial,
        model_code=payload.model,
        hall=payload.hall,
        window=payload.window,
        name=payload.name,
    )
    return Status(
        201,
        {
            "serial": device.serial,
            "model": device.model.code,
            "device_kind": device.model.device_kind,
            "hall": device.window.hall.code,
            "window": device.window.code,
            "name": device.name,
            "registered_at": device.registered_at,
            "state": "active",
        },
    )
