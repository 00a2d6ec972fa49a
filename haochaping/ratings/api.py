"""Rating API endpoints: register 办件, submit one rating or a batch, list ratings, rate with a token."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.conf import settings
from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status

from haochaping.accounts.auth import KEY_OR_SESSION_AUTH
from haochaping.lib.errors import ValidationFailed
from haochaping.ratings import services
from haochaping.ratings.codes import GRADE_NAME_OF, CaseStatus, Stage, is_bad
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.schemas import API_ERRORS, BatchIn, BatchOut, RatingIn, RatingOut, TokenRatingIn
from haochaping.ratings.selectors import RatingFilters, rating_list
from haochaping.ratings.views import limit_token_requests

router = Router(tags=["ratings"])

ERRORS = API_ERRORS


def api_client(request: HttpRequest) -> str:
    key = getattr(request, "api_key", None)
    return f"key:{key.prefix}" if key else f"user:{request.user.pk}"


# --- 办件 registration ----------------------------------------------------------------------------------


class CaseIn(Schema):
    case_no: str = Field(..., min_length=1, max_length=50, description="办件编号")
    item_code: str = Field(..., max_length=60, description="事项实施编码")
    unit_uscc: str | None = Field(None, max_length=18, description="办理单位统一社会信用代码；默认事项实施主体")
    hall_code: str | None = Field(None, max_length=40)
    window_code: str | None = Field(None, max_length=40)
    staff_code: str | None = Field(None, max_length=40, description="经办人工号")
    stage: Literal["accept", "complete"] = "accept"
    status: Literal[1, 2, 3] = Field(2, description="办件状态：1 待受理，2 已受理，3 已办结")
    online: bool = False
    applicant_kind: Literal[1, 2] = Field(1, description="申请人类型：1 自然人，2 法人")
    applicant_name: str = Field("", max_length=100)
    applicant_phone: str = Field("", max_length=20)
    applicant_cert: str = Field("", max_length=30, description="证件号码/统一社会信用代码（加密存储）")
    accepted_at: datetime | None = None
    completed_at: datetime | None = None


class CaseOut(Schema):
    case_no: str
    created: bool
    stage: str
    status: int
    token: str | None = Field(None, description="单次有效的评价令牌（每个环节签发一次）")
    evaluation_url: str | None = None
    qr_svg_url: str | None = None
    qr_png_url: str | None = None
    embed_url: str | None = Field(None, description="网上评价组件（iframe）地址，见 docs/widget.md")
    token_expires_at: datetime | None = None


def _case_out(reg: services.Registration) -> dict:
    out = {
        "case_no": reg.case.case_no,
        "created": reg.created,
        "stage": reg.case.stage,
        "status": reg.case.status,
        "token": reg.token,
        "evaluation_url": reg.url,
        "token_expires_at": reg.expires_at,
    }
    if reg.url:
        out["qr_svg_url"] = reg.url + "qr.svg"
        out["qr_png_url"] = reg.url + "qr.png"
        out["embed_url"] = reg.url + "embed/"
    return out


@router.post("/cases", response={201: CaseOut, 200: CaseOut, **ERRORS}, summary="登记办件并签发评价令牌")
def register_case(request: HttpRequest, payload: CaseIn):
    reg = services.service_case_register(
        scope=request.scope, api_key=getattr(request, "api_key", None), **payload.dict()
    )
    return Status(201 if reg.created else 200, _case_out(reg))


class TokenIn(Schema):
    stage: Literal["accept", "complete"] | None = None
    follow_up: bool = Field(False, description="签发追评令牌（评价次数=2）")


@router.post("/cases/{case_no}/tokens", response={201: CaseOut, **ERRORS}, summary="重新签发评价令牌或追评令牌")
def issue_token(request: HttpRequest, case_no: str, payload: TokenIn):
    reg = services.token_reissue(scope=request.scope, case_no=case_no, stage=payload.stage, follow_up=payload.follow_up)
    return Status(201, _case_out(reg))


# --- ratings -------------------------------------------------------------------------------------------


@router.post("/ratings", response={201: RatingOut, 200: RatingOut, **ERRORS}, summary="提交一条评价")
def submit_rating(request: HttpRequest, payload: RatingIn):
    """201 when stored; 200 with the stored rating when the same idempotency key is sent again."""
    idem = request.headers.get("Idempotency-Key")
    if idem and not payload.idempotency_key:
        payload.idempotency_key = idem[:100]
    result = submit_ratings([payload], scope=request.scope, client=api_client(request))[0]
    if not result.ok:
        raise result.as_error()
    return Status(result.status, result.as_rating_out())


@router.post("/ratings/batch", response={200: BatchOut, **ERRORS}, summary="批量提交评价（最多1000条，逐条返回结果）")
def submit_batch(request: HttpRequest, payload: BatchIn):
    limit = settings.HAOCHAPING_BATCH_MAX
    if not payload.items:
        raise ValidationFailed("items 不能为空", field="items")
    if len(payload.items) > limit:
        raise ValidationFailed(f"单批最多{limit}条，实际{len(payload.items)}条", field="items")
    results = submit_ratings(payload.items, scope=request.scope, client=api_client(request))
    out = []
    for index, r in enumerate(results):
        out.append(
            {
                "index": index,
                "status": r.status,
                "rating_id": r.rating_id,
                "created": r.created,
                "message": r.message,
                "errors": r.errors,
            }
        )
    return {
        "accepted": sum(1 for r in results if r.status == 201),
        "duplicates": sum(1 for r in results if r.status == 200),
        "rejected": sum(1 for r in results if not r.ok),
        "results": out,
    }


class RatingRow(Schema):
    rating_id: str
    case_no: str | None
    stage: str | None
    sequence: int
    grade: str
    grade_label: str
    is_bad: bool
    channel: str
    target: str
    item_code: str | None
    unit_uscc: str
    unit_name: str
    region_code: str
    hall_code: str | None
    window_code: str | None
    staff_code: str | None
    platform_code: str | None
    tag_set: str | None
    tags: list[str]
    answers: dict[str, str]
    comment: str
    is_default: bool
    anonymous: bool
    public: bool
    rater_kind: int
    adoption: str
    rated_at: datetime
    received_at: datetime


class RatingPage(Schema):
    items: list[RatingRow]
    next_cursor: str | None = Field(None, description="下一页游标；为空表示已到末页")


class RatingQuery(Schema):
    since: datetime | None = None
    until: datetime | None = None
    grade: Literal["very_dissatisfied", "dissatisfied", "basic", "satisfied", "very_satisfied"] | None = None
    bad_only: bool = False
    channel: str | None = None
    region: str | None = Field(None, description="12位行政区划代码（含下级）")
    unit_uscc: str | None = None
    case_no: str | None = None
    staff_code: str | None = None
    is_default: bool | None = None
    cursor: str | None = None
    limit: int = Field(100, ge=1, le=1000)


def rating_row(r) -> dict:
    from haochaping.ratings.codes import grade_label

    return {
        "rating_id": str(r.public_id),
        "case_no": r.service_case.case_no if r.service_case_id else None,
        "stage": r.stage or None,
        "sequence": r.sequence,
        "grade": GRADE_NAME_OF[r.grade],
        "grade_label": grade_label(r.grade),
        "is_bad": is_bad(r.grade),
        "channel": r.channel,
        "target": r.target,
        "item_code": r.service_item.implementation_code if r.service_item_id else None,
        "unit_uscc": r.unit.uscc,
        "unit_name": r.unit.name,
        "region_code": r.region.code,
        "hall_code": r.hall.code if r.hall_id else None,
        "window_code": r.window.code if r.window_id else None,
        "staff_code": r.staff.code if r.staff_id else None,
        "platform_code": r.platform.code if r.platform_id else None,
        "tag_set": f"{r.tag_set.code}@{r.tag_set.version}" if r.tag_set_id else None,
        "tags": r.tags,
        "answers": r.answers,
        "comment": r.comment,
        "is_default": r.is_default,
        "anonymous": r.is_anonymous,
        "public": r.is_public,
        "rater_kind": r.rater_kind,
        "adoption": r.adoption,
        "rated_at": r.rated_at,
        "received_at": r.received_at,
    }


@router.get(
    "/ratings",
    response={200: RatingPage, **ERRORS},
    auth=KEY_OR_SESSION_AUTH,
    summary="查询评价（数据范围内，游标分页）",
)
def list_ratings(request: HttpRequest, q: Query[RatingQuery]):
    filters = RatingFilters(**q.dict(exclude={"cursor", "limit"}))
    rows, next_cursor = rating_list(scope=request.scope, filters=filters, cursor=q.cursor, limit=q.limit)
    return {"items": [rating_row(r) for r in rows], "next_cursor": next_cursor}


@router.post(
    "/evaluations/{token}",
    auth=None,
    response={201: RatingOut, 200: RatingOut, **ERRORS},
    summary="申请人凭评价令牌提交评价（无需登录）",
    tags=["public"],
)
def rate_with_token(request: HttpRequest, token: str, payload: TokenRatingIn):
    limit_token_requests(request)
    result = services.rating_submit_with_token(token, payload)
    if not result.ok:
        raise result.as_error()
    return Status(result.status, result.as_rating_out())


__all__ = ["router", "Stage", "CaseStatus"]
