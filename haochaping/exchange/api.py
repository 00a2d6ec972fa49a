"""The receiving endpoint of the exchange: a registered subordinate platform pushes a batch of records.

Authenticated by the API key the superior issued when it registered the subordinate (`haochaping exchange
register`); an ordinary business-system key gets 403. docs/exchange.md §2 describes the shapes.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Router, Schema

from haochaping.exchange import receive
from haochaping.exchange.models import Subordinate
from haochaping.lib.errors import DomainError, PermissionDenied, ValidationFailed
from haochaping.ratings.schemas import API_ERRORS

router = Router(tags=["exchange"])


class TooLarge(DomainError):
    status = 413


class BatchPush(Schema):
    schema_: int = Field(1, alias="schema", description="载荷版本，当前为 1")
    batchId: uuid.UUID = Field(..., description="批次编号（发送方生成，用于日志；去重按记录编号）")
    platform: str = Field(..., max_length=40, description="发送平台编码")
    records: list[Any] = Field(..., description="记录：type = rating / adoption / case（见 docs/exchange.md）")


class RecordResult(Schema):
    index: int
    status: str = Field(..., description="accepted 已接收 / duplicate 已有（重复投递）/ rejected 拒收")
    errors: list[dict[str, str]] | None = None


class BatchAnswer(Schema):
    batchId: uuid.UUID
    accepted: int
    duplicates: int
    rejected: int
    results: list[RecordResult]


class SubordinateOut(Schema):
    code: str
    name: str
    region: str
    received: int
    duplicates: int
    rejected: int
    last_push_at: Any = None


def _subordinate(request: HttpRequest) -> Subordinate:
    key = getattr(request, "api_key", None)
    found = Subordinate.objects.select_related("region").filter(api_key=key).first() if key else None
    if found is None:
        raise PermissionDenied("该接口密钥未登记为下级平台，不能上报交换数据")
    return found


@router.post(
    "/batches", response={200: BatchAnswer, **API_ERRORS}, summary="下级平台上报一批记录（评价、采纳状态、工单结果）"
)
def push_batch(request: HttpRequest, batch: BatchPush):
    """Each record is answered in order. Re-sending a batch is safe: records already here answer `duplicate`."""
    subordinate = _subordinate(request)
    if batch.schema_ != 1:
        raise ValidationFailed("不支持的载荷版本：当前仅支持 1", field="schema")
    if len(batch.records) > settings.HAOCHAPING_EXCHANGE_BATCH_MAX:
        raise TooLarge(f"一批最多 {settings.HAOCHAPING_EXCHANGE_BATCH_MAX} 条记录", field="records")
    result = receive.receive_batch(subordinate, batch.batchId, batch.records)
    return {
        "batchId": batch.batchId,
        "accepted": result.accepted,
        "duplicates": result.duplicates,
        "rejected": result.rejected,
        "results": result.results,
    }


@router.get("/me", response={200: SubordinateOut, **API_ERRORS}, summary="本下级平台在上级的接收情况")
def me(request: HttpRequest):
    subordinate = _subordinate(request)
    return {
        "code": subordinate.code,
        "name": subordinate.name,
        "region": subordinate.region.code,
        "received": subordinate.received,
        "duplicates": subordinate.duplicates,
        "rejected": subordinate.rejected,
        "last_push_at": subordinate.last_push_at,
    }
