"""The lean rating-intake path of the production server.

``POST /api/v1/ratings`` is the hottest request of the platform (every counter press, QR scan and online
rating). In production the WSGI server sends it here before Django's request stack (middleware, URL
resolution, ninja's parameter binding), which costs more than the work itself. The endpoint's behaviour is
defined once: authentication (``accounts.apikeys``), validation (``schemas.RatingIn``), the rules and the
write (``intake.submit_ratings``) are the same code the ninja endpoint calls, and the error shape is the
API's. Every other request goes to Django untouched.
"""

from __future__ import annotations

import json
import logging

from django.db import close_old_connections
from pydantic import ValidationError

from haochaping.accounts.apikeys import authenticate, secret_from_headers
from haochaping.lib.validation import summary, validation_errors
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.schemas import RatingIn

log = logging.getLogger(__name__)

PATH = "/api/v1/ratings"
MAX_BODY = 64 * 1024
_JSON = [("Content-Type", "application/json; charset=utf-8")]
_STATUS = {
    200: "200 OK",
    201: "201 Created",
    400: "400 Bad Request",
    401: "401 Unauthorized",
    403: "403 Forbidden",
    404: "404 Not Found",
    409: "409 Conflict",
    410: "410 Gone",
    413: "413 Payload Too Large",
    422: "422 Unprocessable Entity",
    500: "500 Internal Server Error",
}


def _error(status: int, message: str, errors: list | None = None) -> tuple[int, dict]:
    return status, {"message": message, "errors": errors or []}


def handle(
    body: bytes, authorization: str | None, x_api_key: str | None, idempotency_key: str | None
) -> tuple[int, dict]:
    found = authenticate(secret_from_headers(authorization, x_api_key))
    if found is None:
        return _error(401, "未认证：请提供有效的接口密钥（Authorization: Bearer hcp_…）")
    key, scope = found
    try:
        item = RatingIn.model_validate_json(body)
    except ValidationError as exc:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):
            return _error(400, "请求体不是有效的JSON")
        errors = validation_errors(exc)
        return _error(422, summary(errors), errors)
    if idempotency_key and not item.idempotency_key:
        item.idempotency_key = idempotency_key[:100]
    result = submit_ratings([item], scope=scope, client=f"key:{key.prefix}")[0]
    if not result.ok:
        return _error(result.status, result.message or "rejected", result.errors)
    return result.status, result.as_rating_out()


class IntakeFastPath:
    """WSGI middleware: serve rating POSTs directly, pass everything else to Django."""

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "POST" or environ.get("PATH_INFO") != PATH:
            return self.app(environ, start_response)
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            status, out = _error(413, f"请求体过大（上限{MAX_BODY}字节）")
        else:
            body = environ["wsgi.input"].read(length) if length else b""
            try:
                status, out = handle(
                    body,
                    environ.get("HTTP_AUTHORIZATION"),
                    environ.get("HTTP_X_API_KEY"),
                    environ.get("HTTP_IDEMPOTENCY_KEY"),
                )
            except Exception:
                log.exception("rating intake failed")
                close_old_connections()
                status, out = _error(500, "服务器内部错误，请稍后重试（可用相同幂等键重试）")
        data = json.dumps(out, ensure_ascii=False, default=str).encode()
        start_response(_STATUS.get(status, f"{status} Error"), [*_JSON, ("Content-Length", str(len(data)))])
        return [data]
