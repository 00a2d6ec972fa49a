"""/api/v1/hotline: what the 12345 hotline sends back — status updates of our work orders, call-back results.

Authenticated with an API key scoped to the region (``haochaping apikey create --region …``): a work order or case
outside the key's region is 404; a unit key is refused (403). docs/hotline-12345.md §3 describes the shapes.
"""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema
from pydantic import field_validator

from haochaping.hotline import inbound
from haochaping.lib.errors import ValidationFailed
from haochaping.ratings.api import api_client
from haochaping.ratings.schemas import API_ERRORS

router = Router(tags=["hotline"])

CALLBACK_BATCH_MAX = 500


STATUS_HELP = (
    "热线工单状态，如 received 已受理 / dispatched 已派单 / processing 办理中 / replied 已答复 / closed 已办结 / "
    "returned 退回"
)


def _no_nul(value):
    """PostgreSQL text cannot hold NUL: such input is refused as invalid (422), never a 500."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("不能包含 NUL 字符")
    return value


class StatusIn(Schema):
    status: str = Field(..., min_length=1, max_length=40, description=STATUS_HELP)
    note: str = Field("", max_length=2000, description="说明")
    at: datetime = Field(..., description="状态发生时间（ISO 8601，带时区）")

    _clean = field_validator("status", "note")(_no_nul)


class StatusOut(Schema):
    work_order_no: str
    order_no: str = Field(..., description="本平台工单编号")
    status: str
    recorded: bool = Field(..., description="true 新记录；false 已记录过（重复回传）")
    case_state: str = Field(..., description="本平台工单状态（热线状态不改变它）")


class CallbackItem(Schema):
    call_id: str = Field(..., min_length=1, max_length=64, description="回访编号（热线侧唯一；重发按它去重）")
    called_at: datetime = Field(..., description="回访时间（ISO 8601）")
    satisfaction: str | int = Field(..., description="满意 / 基本满意 / 不满意（或 非常满意 / 非常不满意），或等级 1–5")
    comment: str = Field("", max_length=2000, description="回访意见")
    work_order_no: str | None = Field(None, max_length=64, description="热线工单编号（本平台转派的工单的回访）")
    case_no: str | None = Field(None, max_length=40, description="本平台工单编号（CP…/TS…），无热线工单编号时")
    service_case_no: str | None = Field(None, max_length=50, description="办件编号（热线自己的满意度回访）")
    item_code: str | None = Field(None, max_length=60, description="事项实施编码")
    unit_uscc: str | None = Field(None, max_length=18, description="单位统一社会信用代码")
    phone: str | None = Field(None, max_length=20, description="被回访人电话（实名评价；加密存储）")

    _clean = field_validator(
        "call_id", "satisfaction", "comment", "work_order_no", "case_no", "service_case_no", "item_code", "unit_uscc",
        "phone",
    )(_no_nul)  # fmt: skip


class CallbackBatch(Schema):
    callbacks: list[CallbackItem] = Field(
        ..., min_length=1, description=f"回访结果，单条也放在列表中；最多 {CALLBACK_BATCH_MAX} 条"
    )


class CallbackResultOut(Schema):
    index: int
    call_id: str
    status: str = Field(..., description="stored 已记录 / duplicate 已记录过 / rejected 拒收")
    outcome: str = Field("", description="feedback 记为工单评价 / note 记入工单记录 / rating 存为热线渠道评价")
    rating_id: str = ""
    case_no: str = ""
    work_order_no: str = ""
    message: str = ""
    errors: list[dict[str, str | None]] = []


class CallbackAnswer(Schema):
    stored: int
    duplicates: int
    rejected: int
    results: list[CallbackResultOut]


@router.post(
    "/work-orders/{work_order_no}/status",
    response={200: StatusOut, **API_ERRORS},
    summary="热线回传工单状态（记入本平台工单记录，不改变工单状态）",
)
def work_order_status(request: HttpRequest, work_order_no: str, payload: StatusIn):
    """按（热线工单编号, status, at）去重：重复回传同一状态答复 recorded=false。"""
    if len(work_order_no) > 64 or "\x00" in work_order_no:
        raise ValidationFailed("热线工单编号无效", field="work_order_no")
    result = inbound.status_record(
        request.scope, work_order_no, status=payload.status, note=payload.note, at=payload.at
    )
    return {
        "work_order_no": result.order.work_order_no,
        "order_no": result.order.order_no,
        "status": result.update.status,
        "recorded": result.created,
        "case_state": result.order.case.state,
    }


@router.post("/callbacks", response={200: CallbackAnswer, **API_ERRORS}, summary="热线回访满意度结果（单条或批量）")
def callbacks(request: HttpRequest, payload: CallbackBatch):
    """每条按 call_id 去重；转派工单的回访记为工单的处理结果评价，其余作为 12345 渠道的评价入库。逐条答复。"""
    inbound.require_region_key(request.scope)
    if len(payload.callbacks) > CALLBACK_BATCH_MAX:
        raise ValidationFailed(f"一批最多 {CALLBACK_BATCH_MAX} 条回访结果", field="callbacks")
    items = [
        inbound.CallbackIn(
            call_id=c.call_id,
            called_at=c.called_at,
            satisfaction=c.satisfaction,
            comment=c.comment,
            work_order_no=c.work_order_no or "",
            case_no=c.case_no or "",
            service_case_no=c.service_case_no or "",
            item_code=c.item_code or "",
            unit_uscc=c.unit_uscc or "",
            phone=c.phone or "",
        )  # fmt: skip
        for c in payload.callbacks
    ]
    results = inbound.callbacks_record(request.scope, items, client=api_client(request))
    out = []
    for index, r in enumerate(results):
        errors = [{"field": f"callbacks[{index}].{e.get('field')}", "message": e.get("message")} for e in r.errors]
        out.append({**r.__dict__, "index": index, "errors": errors})
    return {
        "stored": sum(r.status == "stored" for r in results),
        "duplicates": sum(r.status == "duplicate" for r in results),
        "rejected": sum(r.status == "rejected" for r in results),
        "results": out,
    }
