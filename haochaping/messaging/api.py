"""JSON API endpoints of the messaging app (mounted under /api/v1/sms/)."""

from __future__ import annotations

import hmac

from django.conf import settings
from ninja import Field, Router, Schema

from haochaping.lib import protect
from haochaping.lib.errors import DomainError
from haochaping.lib.ratelimit import client_ip, hit
from haochaping.messaging.services import inbound_receive, normalise_phone
from haochaping.ratings.schemas import API_ERRORS

router = Router(tags=["messaging"])
AUTH_FAILURES_PER_10_MIN = 20
# Authenticated posts per gateway address per minute: a leaked secret cannot flood the intake.
INBOUND_PER_IP_PER_MINUTE = 600


class Unauthorized(DomainError):
    status = 401


class InboundIn(Schema):
    phone: str = Field(..., max_length=20, description="发送方手机号")
    text: str = Field(..., max_length=2000, description="短信内容，如“1”或“5 服务很好”")
    received_at: str = Field("", max_length=40, description="网关接收时间（参与幂等判断）")
    message_id: str = Field("", max_length=80, description="网关上行消息编号（有则按其去重）")


class InboundOut(Schema):
    status: str = Field(
        ..., description="rated 已评价 / unparsed 无法识别 / unmatched 无待评邀请 / refused / duplicate 重复"
    )
    reply: str = Field(..., description="回复给用户的短信（duplicate 时为空，不重复回复）")
    rating_id: str | None = None
    case_no: str | None = None
    grade: str | None = None


@router.post(
    "/inbound", auth=None, response={200: InboundOut, **API_ERRORS}, summary="短信网关上行回调：回复数字即评价"
)
def inbound(request, payload: InboundIn) -> dict:
    """The gateway posts each reply here with the shared secret in `X-Sms-Secret`. Rate-limited per phone."""
    secret = settings.HAOCHAPING_SMS_INBOUND_SECRET
    given = request.headers.get("X-Sms-Secret", "")
    if not secret or not hmac.compare_digest(given.encode(), secret.encode()):
        # Failed attempts are limited per address: the secret cannot be probed at speed.
        hit("sms-inbound-auth", client_ip(request), limit=AUTH_FAILURES_PER_10_MIN, window_seconds=600)
        raise Unauthorized("未认证：短信上行密钥（X-Sms-Secret）无效")
    hit("sms-inbound-ip", client_ip(request), limit=INBOUND_PER_IP_PER_MINUTE, window_seconds=60)
    phone = normalise_phone(payload.phone)
    hit(
        "sms-inbound",
        protect.lookup_hash(phone) or "none",
        limit=settings.HAOCHAPING_SMS_INBOUND_PER_HOUR,
        window_seconds=3600,
    )
    result = inbound_receive(
        phone=phone, text=payload.text, received_at=payload.received_at, gateway_id=payload.message_id
    )
    return {
        "status": result.status,
        "reply": result.reply,
        "rating_id": result.rating_id,
        "case_no": result.case_no,
        "grade": result.grade,
    }
