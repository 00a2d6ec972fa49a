"""The JSON API under /api/v1/ (django-ninja): authentication, the single error shape, and the routers."""

from __future__ import annotations

from django.http import Http404
from ninja import NinjaAPI, Router
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.renderers import JSONRenderer

from haochaping.accounts.auth import KEY_AUTH
from haochaping.lib.errors import DomainError
from haochaping.lib.validation import error_list, summary


class UTF8Renderer(JSONRenderer):
    json_dumps_params = {"ensure_ascii": False}


api = NinjaAPI(
    renderer=UTF8Renderer(),
    title="haochaping 好差评 API",
    version="1",
    description=(
        "政务服务“好差评”平台接口：办件登记、评价提交（单条/批量）、评价查询与数据交换。"
        "调用系统使用接口密钥（`Authorization: Bearer hcp_…` 或 `X-API-Key`）。"
        "错误统一为 `{message, errors:[{field, message}]}`。"
    ),
    urls_namespace="api",
    auth=KEY_AUTH,
)


def add_error_handlers(target: NinjaAPI, *, headers: dict[str, str] | None = None) -> None:
    """The single error shape ``{message, errors:[{field, message}]}`` on every error of ``target`` (this API and
    the public one, disclosure/api.py), with ``headers`` on each error response."""

    def error(request, status: int, message: str, errors: list | None = None):
        response = target.create_response(request, {"message": message, "errors": errors or []}, status=status)
        for name, value in (headers or {}).items():
            response[name] = value
        return response

    @target.exception_handler(DomainError)
    def _domain_error(request, exc: DomainError):
        response = error(request, exc.status, exc.message, exc.errors)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response

    @target.exception_handler(NinjaValidationError)
    def _validation_error(request, exc: NinjaValidationError):
        errors = error_list(exc.errors)
        return error(request, 422, summary(errors), errors)

    @target.exception_handler(AuthenticationError)
    def _auth_error(request, exc):
        return error(request, 401, "未认证：请提供有效的接口密钥（Authorization: Bearer hcp_…）")

    @target.exception_handler(HttpError)
    def _http_error(request, exc: HttpError):
        return error(request, exc.status_code, str(exc))

    @target.exception_handler(Http404)
    def _not_found(request, exc: Http404):
        return error(request, 404, str(exc) or "不存在")


add_error_handlers(api)

meta_router = Router(tags=["meta"])


@meta_router.api_operation(["GET", "POST"], "/ping", auth=None, summary="连通性检查（不做任何操作）")
def ping(request) -> dict:
    """A no-op through the whole stack (middleware, routing, ninja): the yardstick for endpoint costs."""
    return {"status": "ok"}


api.add_router("/", meta_router)

from haochaping.ratings.api import router as ratings_router  # noqa: E402
from haochaping.ratings.api_interchange import router as interchange_router  # noqa: E402

api.add_router("/", ratings_router)
api.add_router("/", interchange_router)

from haochaping.cases.api import router as cases_router  # noqa: E402
from haochaping.entry.api import router as entry_router  # noqa: E402
from haochaping.evaluator.api import router as evaluator_router  # noqa: E402
from haochaping.evaluator.api_legacy import router as evaluator_legacy_router  # noqa: E402
from haochaping.messaging.api import router as messaging_router  # noqa: E402
from haochaping.qrcodes.api import router as qrcodes_router  # noqa: E402

api.add_router("/evaluator", evaluator_router)
api.add_router("/evaluator/legacy", evaluator_legacy_router)
api.add_router("/qr", qrcodes_router)
api.add_router("/entry", entry_router)
api.add_router("/sms", messaging_router)
api.add_router("/", cases_router)

from haochaping.exchange.api import router as exchange_router  # noqa: E402

api.add_router("/exchange", exchange_router)

from haochaping.hotline.api import router as hotline_router  # noqa: E402
from haochaping.queuing.api import router as queuing_router  # noqa: E402

api.add_router("/queue", queuing_router)
api.add_router("/hotline", hotline_router)
