"""Typed input/output of the rating API (shared by the ninja endpoints and the lean intake path)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ninja import Schema
from pydantic import BaseModel, Field, field_validator

from haochaping.ratings.codes import Channel, Stage, Target

GradeName = Literal["very_dissatisfied", "dissatisfied", "basic", "satisfied", "very_satisfied"]
ChannelName = Literal[tuple(c.value for c in Channel)]  # type: ignore[valid-type]
StageName = Literal[tuple(s.value for s in Stage)]  # type: ignore[valid-type]
TargetName = Literal[tuple(t.value for t in Target)]  # type: ignore[valid-type]


# RatingIn and WindowRef are plain pydantic models, not ninja Schemas: ninja's Schema wraps every validation in
# an ORM-attribute adapter that costs ~30 µs per item, which is most of the intake's CPU time (bench/).
class WindowRef(BaseModel):
    hall: str = Field(..., max_length=40, description="大厅编码")
    code: str = Field(..., max_length=40, description="窗口编号")


class RatingIn(BaseModel):
    """One rating. Give `case_no` for a 办件 rating; otherwise name the rated window/staff/事项/unit/hall/platform."""

    case_no: str | None = Field(None, max_length=50, description="办件编号")
    stage: StageName | None = Field(None, description="评价环节：accept 受理 / complete 办结；默认取办件当前环节")
    sequence: Literal[1, 2] = Field(1, description="评价次数：1 首次评价，2 追评")
    grade: GradeName = Field(..., description="满意度等级名称（不使用数字代码，避免方向歧义）")
    channel: ChannelName = Field(..., description="评价渠道")
    target: TargetName | None = Field(None, description="评价对象；默认按给出的引用推断")
    item_code: str | None = Field(None, max_length=60, description="事项实施编码")
    unit_uscc: str | None = Field(None, max_length=18, description="单位统一社会信用代码")
    hall_code: str | None = Field(None, max_length=40)
    window: WindowRef | None = None
    staff_code: str | None = Field(None, max_length=40, description="被评价人员工号")
    platform_code: str | None = Field(None, max_length=40)
    tags: list[str] = Field(default_factory=list, max_length=20, description="评价标签代码")
    tag_set: str | None = Field(None, max_length=40, description="标签集 code@version；默认当前版本")
    answers: dict[str, str] = Field(
        default_factory=dict, description="分项评价：问题代码 → yes/no/unsure，文字题为文字（≤500 字）；未作答的不传"
    )
    comment: str = Field("", max_length=2000, description="文字评价")
    is_default: bool = Field(False, description="系统默认评价（超期未评）")
    anonymous: bool = True
    public: bool = Field(False, description="评价人同意公开文字评价")
    rater_kind: Literal["person", "legal_entity"] = "person"
    rater_name: str | None = Field(None, max_length=100)
    rater_phone: str | None = Field(None, max_length=20)
    rater_cert: str | None = Field(None, max_length=30, description="证件号码或统一社会信用代码")
    rated_at: datetime | None = Field(None, description="评价时间（ISO 8601）；默认接收时间")
    idempotency_key: str | None = Field(None, max_length=100, description="重试时重复提交相同键，只存一次")

    @field_validator("answers")
    @classmethod
    def _known_answers(cls, value: dict[str, str]) -> dict[str, str]:
        # Only the shape is checked here: which codes and answers are valid depends on the questionnaire version
        # offered for the 事项 and channel (haochaping.ratings.questionnaires, checked at intake).
        if len(value) > 50:
            raise ValueError("分项评价问题过多（最多 50 个）")
        for question, answer in value.items():
            if not question or len(question) > 40:
                raise ValueError(f"分项问题代码无效：{question[:40]}")
            if len(answer) > 500:
                raise ValueError(f"分项回答过长：{question}（最多 500 字）")
        return value


class TokenRatingIn(Schema):
    """A rating submitted by the applicant with the single-use token from registration."""

    grade: GradeName
    channel: ChannelName = "qr"
    tags: list[str] = Field(default_factory=list, max_length=20)
    answers: dict[str, str] = Field(default_factory=dict)
    comment: str = Field("", max_length=2000)
    anonymous: bool = True
    public: bool = False
    rater_phone: str | None = Field(None, max_length=20)
    idempotency_key: str | None = Field(None, max_length=100)

    _known_answers = field_validator("answers")(RatingIn._known_answers.__func__)  # type: ignore[attr-defined]


class RatingOut(Schema):
    rating_id: str
    created: bool = Field(..., description="false：幂等重试，返回已存储的评价")
    case_no: str | None = None
    stage: str | None = None
    sequence: int
    grade: str
    is_bad: bool


class ItemError(Schema):
    field: str | None = None
    message: str


class BatchItemResult(Schema):
    index: int
    status: int = Field(..., description="该条的HTTP语义状态：201 新建，200 幂等重复，4xx 拒绝")
    rating_id: str | None = None
    created: bool = False
    message: str | None = None
    errors: list[ItemError] = Field(default_factory=list)


class BatchIn(Schema):
    items: list[dict] = Field(..., description="评价数组，每条格式同单条提交，最多1000条")


class BatchOut(Schema):
    accepted: int
    duplicates: int
    rejected: int
    results: list[BatchItemResult]


class ErrorOut(Schema):
    message: str
    errors: list[ItemError] = Field(default_factory=list)


# The error answers every operation may give, declared once so that the OpenAPI schema documents them all
# (tests/test_api_schemathesis.py checks that no undocumented status comes back).
API_ERRORS: dict[int, type[ErrorOut]] = {code: ErrorOut for code in (400, 401, 403, 404, 409, 410, 413, 422, 429)}
