"""Typed input/output of the case API (投诉 intake, 工单 queries). Contact data is taken in, never given out."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Schema
from pydantic import Field

from haochaping.cases.models import Kind, State
from haochaping.ratings.codes import Channel
from haochaping.ratings.schemas import WindowRef

# Any rating channel a person can use; "default" is the system's own (默认评价), never a complainant's.
ComplaintChannel = Literal[tuple(c.value for c in Channel if c != Channel.DEFAULT)]  # type: ignore[valid-type]
StateName = Literal[tuple(s.value for s in State)]  # type: ignore[valid-type]
KindName = Literal[tuple(k.value for k in Kind)]  # type: ignore[valid-type]
# The rater's rating of the handling, by name like every grade of the API (FeedbackGrade 3/2/1).
FeedbackGradeName = Literal["satisfied", "basic", "dissatisfied"]
FEEDBACK_GRADE_NAME_OF = {3: "satisfied", 2: "basic", 1: "dissatisfied"}


class ComplaintBody(Schema):
    """One 投诉. Name what it is about: a 办件编号, a window, a staff member, a 事项 or the unit."""

    content: str = Field(..., max_length=2000, description="投诉内容（必填，≤2000字）")
    contact_phone: str = Field(..., max_length=20, description="投诉人11位手机号码（必填，用于告知处理结果；加密存储）")
    contact_name: str = Field("", max_length=50, description="投诉人姓名（可选，加密存储）")
    channel: ComplaintChannel = Field("app", description="投诉渠道（评价渠道代码，不含 default）")
    case_no: str | None = Field(None, max_length=50, description="办件编号：工单分派给该办件的办理单位")
    unit_uscc: str | None = Field(None, max_length=18, description="被投诉单位统一社会信用代码")
    staff_code: str | None = Field(None, max_length=40, description="被投诉人员工号")
    item_code: str | None = Field(None, max_length=60, description="事项实施编码")
    window: WindowRef | None = Field(None, description="被投诉窗口")


class CaseUnit(Schema):
    uscc: str
    name: str


class ComplaintCreated(Schema):
    case_number: str = Field(..., description="工单编号，如 TS20261127-000123")
    state: StateName
    unit: CaseUnit = Field(..., description="责任单位（谁办理、谁负责）")
    callback_due: date = Field(..., description="回访时限（工作日计算）")


class CaseRecord(Schema):
    number: str = Field(..., description="工单编号：CP（差评）/TS（投诉）+ 立案日期 + 序号")
    kind: KindName
    state: StateName
    outcome: str | None = Field(None, description="处理方式：fixed_now / ledger / explained / not_adopted")
    is_fixed: bool = Field(..., description="已整改（立行立改，或台账整改已完成）；与办结状态相互独立")
    unit: CaseUnit
    case_no: str | None = Field(None, description="办件编号")
    rating_id: str | None = Field(None, description="差评的评价编号（投诉为空）")
    grade: str | None = Field(None, description="差评的满意度等级名称（投诉为空）")
    channel: str
    opened_at: datetime
    due_on: date | None = Field(None, description="当前环节时限")
    overdue: bool
    deadline: date | None = Field(None, description="整改期限（含延期）")
    rectified_at: datetime | None = None
    notified_at: datetime | None = Field(None, description="向评价人/投诉人反馈处理结果的时间")
    feedback_grade: FeedbackGradeName | None = Field(None, description="评价人对处理结果的评价")
    closed_at: datetime | None = None
    close_reason: str | None = Field(None, description="rated / no_response / final")
    reopen_count: int
    adoption: str | None = Field(None, description="差评是否采纳：adopted / under_review / not_adopted")


class CaseRecordPage(Schema):
    count: int = Field(..., description="符合条件的工单总数")
    limit: int
    offset: int
    items: list[CaseRecord]


class CaseRecordQuery(Schema):
    state: StateName | None = None
    kind: KindName | None = None
    unit_uscc: str | None = Field(None, max_length=18)
    opened_after: datetime | None = Field(None, description="立案时间不早于（ISO 8601）")
    limit: int = Field(100, ge=1, le=500)
    offset: int = Field(0, ge=0)
