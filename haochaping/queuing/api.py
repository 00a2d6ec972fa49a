"""Queue-calling interface, version 1 (mounted under /api/v1/queue/): a hall's 排队叫号 system reports its tickets.

- POST /tickets                 ticket issued (optional): returns the ticket's QR rating link, once
- POST /tickets/called          ticket called to a window (creates an unknown ticket: 201 with its QR link)
- POST /tickets/finished        ticket finished with a 办件 (case_no) or without (no_case): pushes the evaluator prompt
- POST /tickets/no-show         过号
- POST /tickets/cancel          取消
- POST /tickets/attach-case     the 办件 of a ticket finished without one, known later (joins its ratings)
- POST /tickets/qr              a new QR link for a ticket (the old one stops working)
- GET  /tickets?hall=&serial=  the ticket's state

API key auth; the hall (and window) must be in the key's scope, else 404. Re-sent events answer the stored state
without writing; events the state does not allow answer 409. Reference: docs/queue-calling.md.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from ninja import Field, Query, Router, Schema, Status

from haochaping.queuing import selectors, services
from haochaping.queuing.qr import qr_png_data_uri, qr_svg_text
from haochaping.ratings.schemas import API_ERRORS

router = Router(tags=["queuing"])

VERSION = "1"
SERIAL = r"^[A-Za-z0-9-]{1,20}$"
CODE = r"^[^\x00-\x1f\x7f]+$"  # hall and window codes, 办件 numbers: no control characters (PostgreSQL refuses NUL)


class TicketRef(Schema):
    hall: str = Field(..., min_length=1, max_length=40, pattern=CODE, description="大厅编码")
    serial: str = Field(..., pattern=SERIAL, description="票号（如 A023；同一大厅同一营业日唯一）")
    day: date | None = Field(None, description="营业日（本地日期）；默认为事件时间所在日")


class IssueIn(TicketRef):
    at: datetime | None = Field(None, description="取号时间（ISO 8601）；默认接收时间")


class CalledIn(TicketRef):
    window: str = Field(..., min_length=1, max_length=40, pattern=CODE, description="窗口编号")
    at: datetime | None = Field(None, description="叫号时间；默认接收时间")


class FinishedIn(TicketRef):
    case_no: str | None = Field(
        None, max_length=50, pattern=CODE, description="办件编号；未办件时不填并给出 no_case: true"
    )
    no_case: bool = Field(False, description="未办件（咨询等）：评价器提示现场评价窗口与人员")
    at: datetime | None = Field(None, description="结束时间；默认接收时间")


class EndIn(TicketRef):
    at: datetime | None = Field(None, description="事件时间；默认接收时间")


class AttachIn(TicketRef):
    case_no: str = Field(..., min_length=1, max_length=50, pattern=CODE, description="办件编号")


class TicketOut(Schema):
    version: Literal["1"] = Field(VERSION, description="排队叫号接口版本")
    hall: str
    serial: str
    business_day: date
    state: Literal["issued", "called", "finished", "no_show", "cancelled"]
    outcome: Literal["", "case", "no_case", "no_show", "cancelled"]
    window: str | None = Field(None, description="叫号窗口编号")
    called_at: datetime | None = None
    finished_at: datetime | None = None
    case_no: str | None = Field(None, description="关联的办件编号")
    prompt_id: int | None = Field(None, description="推送到窗口评价器的评价编号")
    rated: bool = False
    rating_ids: list[str] = Field(default_factory=list, description="与本票号关联的评价编号")
    created: bool = Field(False, description="本次请求新建了票号")
    changed: bool = Field(False, description="本次请求改变了票号状态（false：重复发送，按已存状态应答）")
    rating_url: str | None = Field(None, description="票号评价链接（仅在生成时返回一次，打印在小票上）")
    qr_svg: str | None = Field(None, description="评价二维码 SVG（仅生成时返回）")
    qr_png: str | None = Field(None, description="评价二维码 PNG（data: URI，仅生成时返回）")


def _caller(request) -> services.Caller:
    key = getattr(request, "api_key", None)
    return services.Caller(scope=request.scope, source=f"queue:{key.prefix if key else '-'}", api_key=key)


def _out(result: services.Outcomes) -> dict:
    ticket = result.ticket
    out = {
        "version": VERSION,
        "hall": ticket.hall.code,
        "serial": ticket.serial,
        "business_day": ticket.business_day,
        "state": ticket.state,
        "outcome": ticket.outcome,
        "window": ticket.window.code if ticket.window_id else None,
        "called_at": ticket.called_at,
        "finished_at": ticket.finished_at,
        "case_no": ticket.service_case.case_no if ticket.service_case_id else None,
        "prompt_id": ticket.prompt_id,
        "rated": ticket.rated_at is not None,
        "rating_ids": selectors.ticket_rating_ids(ticket),
        "created": result.created,
        "changed": result.changed,
    }
    if result.token:
        url = services.rating_url(result.token)
        out.update(rating_url=url, qr_svg=qr_svg_text(url), qr_png=qr_png_data_uri(url))
    return out


def _answer(result: services.Outcomes):
    return Status(201 if result.created else 200, _out(result))


@router.post(
    "/tickets", response={200: TicketOut, 201: TicketOut, **API_ERRORS}, summary="取号（可选，返回票号评价二维码）"
)
def issue(request, payload: IssueIn):
    """登记打印的票号。201：新票号，附评价链接与二维码（仅此一次）；200：已登记（重复发送）。"""
    return _answer(services.ticket_issue(_caller(request), **payload.dict()))


@router.post("/tickets/called", response={200: TicketOut, 201: TicketOut, **API_ERRORS}, summary="叫号到窗口")
def called(request, payload: CalledIn):
    """票号被叫到窗口。未登记的票号在此时登记（201，附评价二维码）；同一窗口重复发送应答 200 且不改变状态。"""
    return _answer(services.ticket_called(_caller(request), **payload.dict()))


@router.post("/tickets/finished", response={200: TicketOut, **API_ERRORS}, summary="办结：推送窗口评价器评价")
def finished(request, payload: FinishedIn):
    """窗口办理结束：有办件给 case_no（评价器提示评价该办件），无办件给 no_case: true（提示现场评价窗口与人员）。
    重复发送不会再次推送；未叫号的票号应答 409。"""
    return _answer(services.ticket_finished(_caller(request), **payload.dict()))


@router.post("/tickets/no-show", response={200: TicketOut, **API_ERRORS}, summary="过号")
def no_show(request, payload: EndIn):
    return _answer(services.ticket_no_show(_caller(request), **payload.dict()))


@router.post("/tickets/cancel", response={200: TicketOut, **API_ERRORS}, summary="取消票号")
def cancel(request, payload: EndIn):
    return _answer(services.ticket_cancel(_caller(request), **payload.dict()))


@router.post("/tickets/attach-case", response={200: TicketOut, **API_ERRORS}, summary="事后关联办件")
def attach_case(request, payload: AttachIn):
    """无办件结束的票号事后得知办件编号：票号与其评价关联到该办件（不再推送评价）。"""
    return _answer(services.ticket_attach_case(_caller(request), **payload.dict()))


@router.post("/tickets/qr", response={200: TicketOut, **API_ERRORS}, summary="重新生成票号评价二维码")
def renew_qr(request, payload: TicketRef):
    """首次应答丢失时使用：生成新的评价链接与二维码，旧的随即失效。"""
    return _answer(services.ticket_qr_renew(_caller(request), **payload.dict()))


@router.get("/tickets", response={200: TicketOut, **API_ERRORS}, summary="查询票号状态")
def ticket_status(request, query: Query[TicketRef]):
    """GET /tickets?hall=…&serial=…[&day=YYYY-MM-DD]：票号的状态、办件与评价。"""
    ticket = services.ticket_get(_caller(request), hall=query.hall, serial=query.serial, day=query.day)
    return Status(200, _out(services.Outcomes(ticket)))
