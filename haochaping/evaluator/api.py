"""JSON API endpoints of the evaluator app (mounted under /api/v1/evaluator/).

- POST /push: a window's business system (API key) asks the window's evaluator to show a rating prompt.
- GET /device/prompt and POST /device/ratings: the paired tablet (its credential cookie) polls and rates.
- GET /device/stream: where the tablet opens its event stream on the push server (docs/evaluator-push.md).
"""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.security import APIKeyCookie

from haochaping.directory.models import Window
from haochaping.evaluator import push as push_events
from haochaping.evaluator import services
from haochaping.lib.errors import NotFound
from haochaping.lib.ratelimit import hit
from haochaping.ratings.schemas import API_ERRORS, GradeName

router = Router(tags=["evaluator"])


def _api():
    from haochaping.api import api  # the NinjaAPI imports this module: import it late

    return api


COOKIE = "hcp_evaluator"
# Per device: a poll every 2 s is 30 a minute; ratings are one per citizen, so 30 a minute is generous.
POLL_LIMIT = 90
RATING_LIMIT = 30
# A stream URL is fetched on connect and at token expiry; a reconnect loop is capped by this.
STREAM_LIMIT = 30


class DeviceAuth(APIKeyCookie):
    """The paired tablet: its credential in an HttpOnly, SameSite=Strict cookie.

    Unsafe methods must also carry `X-Evaluator: 1`, a header a cross-site form cannot send (CSRF).
    """

    param_name = COOKIE

    def __init__(self) -> None:
        super().__init__(csrf=False)

    def authenticate(self, request: HttpRequest, key: str | None):
        if request.method not in ("GET", "HEAD") and request.headers.get("X-Evaluator") != "1":
            return None
        device = services.device_authenticate(key)
        if device is not None:
            request.device = device
        return device


DEVICE_AUTH = [DeviceAuth()]


class PushIn(Schema):
    hall: str = Field(..., max_length=40, description="大厅编码")
    window: str = Field(..., max_length=40, description="窗口编号")
    case_no: str | None = Field(None, max_length=50, description="办件编号；不填则提示现场评价（评价窗口与人员）")


class PushOut(Schema):
    prompt_id: int
    window: str
    case_no: str | None
    devices: int = Field(..., description="该窗口已配对且在用的评价器数量")


@router.post("/push", response={201: PushOut, **API_ERRORS}, summary="推送“请评价”到窗口评价器")
def push(request, payload: PushIn):
    """Called by the window's business system when the clerk finishes a case (一次一评)."""
    window = (
        request.scope.filter(Window.objects.filter(hall__code=payload.hall, code=payload.window))
        .select_related("hall")
        .first()
    )
    if window is None:
        raise NotFound(f"窗口 {payload.hall}/{payload.window} 不存在或不在您的数据范围内", field="window")
    key = request.api_key
    prompt = services.prompt_push(
        window=window, case_no=payload.case_no, scope=request.scope, source=f"api:{key.pk if key else '-'}"
    )
    devices = window.evaluators.filter(revoked_at=None).count()
    return Status(
        201,
        {
            "prompt_id": prompt.pk,
            "window": f"{window.hall.code}/{window.code}",
            "case_no": payload.case_no or None,
            "devices": devices,
        },
    )


@router.get(
    "/device/prompt", auth=DEVICE_AUTH, response={200: dict, **API_ERRORS}, summary="评价器轮询当前推送（设备凭据）"
)
def device_prompt(request):
    """The newest open prompt of the device's window. Cheap to poll: answers 304 to a matching If-None-Match."""
    device = request.device
    hit("evaluator-poll", str(device.pk), limit=POLL_LIMIT, window_seconds=60)
    prompt = services.prompt_current(device)
    etag = f'"p{prompt.pk if prompt else 0}"'
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        if prompt is not None:
            services.prompt_shown(prompt, device)
        response = _api().create_response(request, {"prompt": services.prompt_payload(prompt)}, status=200)
    response["ETag"] = etag
    response["Cache-Control"] = "no-cache"
    return response


class StreamOut(Schema):
    url: str = Field(..., description="事件流地址（含令牌），用 EventSource 打开")
    expires_in: int = Field(..., description="令牌有效秒数；到期时事件流发送 reauth 并关闭")


@router.get(
    "/device/stream",
    auth=DEVICE_AUTH,
    response={200: StreamOut, **API_ERRORS},
    summary="评价器事件流地址（设备凭据；未启用推送时 404，设备改为轮询）",
)
def device_stream(request):
    """The push server's event stream for this device, with a signed token naming the device and its window.

    The stream says only "prompt N is waiting"; the kiosk then GETs /device/prompt. 404 when push is not enabled
    (HAOCHAPING_EVALUATOR_EVENTS_URL empty): the kiosk polls /device/prompt every 2 s instead.
    """
    device = request.device
    if not settings.HAOCHAPING_EVALUATOR_EVENTS_URL:
        raise NotFound(_("未启用评价推送，请轮询当前推送"))
    hit("evaluator-stream", str(device.pk), limit=STREAM_LIMIT, window_seconds=60)
    response = _api().create_response(
        request,
        {"url": push_events.events_url(device), "expires_in": settings.HAOCHAPING_EVALUATOR_STREAM_TTL},
        status=200,
    )
    response["Cache-Control"] = "no-store"
    return response


class DeviceRatingIn(Schema):
    idempotency_key: str = Field(..., max_length=100, description="按下表情时设备生成的 UUID")
    grade: GradeName
    prompt_id: int | None = Field(None, description="推送编号；不填为现场评价（窗口与人员）")
    tags: list[str] = Field(default_factory=list, max_length=20)
    comment: str = Field("", max_length=2000)
    rated_at: datetime | None = Field(None, description="评价时间（离线排队的评价带上原时间）")


class DeviceRatingOut(Schema):
    rating_id: str | None
    created: bool


@router.post(
    "/device/ratings",
    auth=DEVICE_AUTH,
    response={200: DeviceRatingOut, 201: DeviceRatingOut, **API_ERRORS},
    summary="评价器提交评价（设备凭据，幂等）",
)
def device_rating(request, payload: DeviceRatingIn):
    device = request.device
    hit("evaluator-rate", str(device.pk), limit=RATING_LIMIT, window_seconds=60)
    result = services.device_rating_submit(device=device, rating=services.DeviceRating(**payload.dict()))
    if not result.ok:
        return _api().create_response(
            request, {"message": result.message or "", "errors": result.errors}, status=result.status
        )
    return Status(result.status, {"rating_id": result.rating_id, "created": result.created})
