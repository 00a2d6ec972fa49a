"""Interchange endpoints: export ratings as GB/T 39046 table 9 / provincial records, import them back.

Thin: validation of the query, then the services in ratings/interchange.py, which apply the caller's scope.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.conf import settings
from django.http import HttpRequest, StreamingHttpResponse
from ninja import Body, Field, Query, Router, Schema

from haochaping.accounts.auth import KEY_OR_SESSION_AUTH
from haochaping.lib.errors import ValidationFailed
from haochaping.ratings import interchange
from haochaping.ratings.api import ERRORS, api_client
from haochaping.ratings.schemas import BatchOut

router = Router(tags=["interchange"])

ExportFormat = Literal["gbt39046-csv", "gbt39046-json", "gbt39046-jsonl", "provincial-json", "provincial-jsonl"]
ImportFormat = Literal["gbt39046-json", "provincial-json"]

CONTENT_TYPES = {
    "gbt39046-csv": "text/csv; charset=utf-8",
    "gbt39046-json": "application/json; charset=utf-8",
    "provincial-json": "application/json; charset=utf-8",
    "gbt39046-jsonl": "application/x-ndjson; charset=utf-8",
    "provincial-jsonl": "application/x-ndjson; charset=utf-8",
}


class ExportQuery(Schema):
    format: ExportFormat = Field("gbt39046-json", description="导出格式")
    since: datetime | None = Field(None, description="评价时间起（含）；无时区时按北京时间")
    until: datetime | None = Field(None, description="评价时间止（不含）")
    region: str | None = Field(None, description="12位行政区划代码（含下级）")


@router.get(
    "/export/ratings",
    auth=KEY_OR_SESSION_AUTH,
    response={200: None, **ERRORS},
    summary="导出评价（GB/T 39046 表9 或省级接口格式，流式，数据范围内）",
)
def export_ratings(request: HttpRequest, q: Query[ExportQuery]):
    """Only ratings of a 办件 are exported (both shapes are keyed by 办件编号). Rater identity only masked."""
    chunks = interchange.ratings_export(
        fmt=q.format, scope=request.scope, since=q.since, until=q.until, region=q.region
    )
    response = StreamingHttpResponse(chunks, content_type=CONTENT_TYPES[q.format])
    response["Content-Disposition"] = f'attachment; filename="{interchange.export_filename(q.format)}"'
    return response


class ImportQuery(Schema):
    format: ImportFormat = Field(..., description="记录格式：gbt39046-json（表9，中文或英文键）或 provincial-json")


@router.post(
    "/import/ratings",
    auth=KEY_OR_SESSION_AUTH,
    response={200: BatchOut, **ERRORS},
    summary="导入评价（GB/T 39046 表9 或省级接口格式，最多1000条，逐条返回结果）",
)
def import_ratings(request: HttpRequest, q: Query[ImportQuery], records: list[dict] = Body(...)):  # noqa: B008
    """Each record goes through the same intake as POST /ratings; re-sending a record stores nothing twice."""
    limit = settings.HAOCHAPING_BATCH_MAX
    if not records:
        raise ValidationFailed("记录数组不能为空", field="records")
    if len(records) > limit:
        raise ValidationFailed(f"单次最多{limit}条，实际{len(records)}条", field="records")
    report = interchange.ratings_import(
        enumerate(records, start=1), fmt=q.format, scope=request.scope, client=api_client(request)
    )
    return {
        "accepted": report.accepted,
        "duplicates": report.duplicates,
        "rejected": report.rejected,
        "results": [
            {
                "index": r.row - 1,
                "status": r.status,
                "rating_id": r.rating_id,
                "created": r.created,
                "message": r.message,
                "errors": r.errors,
            }
            for r in report.results
        ],
    }
