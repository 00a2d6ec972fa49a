"""JSON API endpoints of the qrcodes app (mounted under /api/v1/qr/)."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema

from haochaping.accounts.scope import get_in_scope
from haochaping.lib.errors import NotFound
from haochaping.qrcodes.models import WindowCode
from haochaping.qrcodes.services import window_code_url
from haochaping.ratings.schemas import API_ERRORS

router = Router(tags=["qrcodes"])


class WindowCodeOut(Schema):
    hall_code: str
    window_code: str
    slug: str = Field(..., description="窗口二维码码值")
    url: str = Field(..., description="扫码打开的评价页地址（即二维码内容）")
    qr_svg_url: str
    created_at: datetime


@router.get(
    "/windows/{hall_code}/{window_code}",
    response={200: WindowCodeOut, **API_ERRORS},
    summary="查询窗口的有效评价二维码（供业务系统或叫号屏展示）",
)
def window_code_get(request: HttpRequest, hall_code: str, window_code: str):
    qs = WindowCode.objects.select_related("window__hall").filter(revoked_at__isnull=True)
    try:
        code = get_in_scope(qs, request.scope, window__hall__code=hall_code, window__code=window_code)
    except NotFound:
        raise NotFound("该窗口尚未生成二维码，或不在您的数据范围内") from None
    url = window_code_url(code)
    return {
        "hall_code": hall_code,
        "window_code": window_code,
        "slug": code.slug,
        "url": url,
        "qr_svg_url": url + "qr.svg",
        "created_at": code.created_at,
    }
