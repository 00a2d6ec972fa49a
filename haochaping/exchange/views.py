"""数据交换 (/exchange/): the push to the superior platform and the subordinates that push here.

Who: system administrators and the supervisors of a region (agency administrators, inspectors, auditors) read it;
a region's subordinates and files are filtered by their scope. Registering a subordinate needs a writing agency
administrator (for a region in their own); pushing now and re-queueing refused records act on the whole
installation and are the system administrator's. Thin: the work is in push.py, services.py, selectors.py.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from haochaping.accounts.scope import Scope, scope_for_request
from haochaping.directory.models import Region
from haochaping.exchange import push, selectors, services
from haochaping.lib.errors import DomainError


def _scope(request: HttpRequest) -> Scope | HttpResponse:
    scope = scope_for_request(request)
    if scope.supervises and scope.kind in ("all", "region"):
        return scope
    message = _("数据交换仅向系统管理员和管理机构的管理员、监督检查人员、审计人员开放。")
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)


def _regions(scope: Scope) -> list[Region]:
    """Regions a subordinate may be registered for: below the user's own (a city registers its counties)."""
    regions = Region.objects.filter(level__lte=Region.Level.TOWNSHIP).order_by("code")
    if scope.kind == "region":
        regions = regions.filter(path__startswith=scope.region_path).exclude(id=scope.region_id)
    return list(regions[:2000])


@login_required
@require_http_methods(["GET", "POST"])
def status(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    form_errors: dict[str, str] = {}
    new_key = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action in ("push", "retry"):
            if scope.kind != "all" or scope.read_only:
                return _forbidden(request, _("立即上报和重发拒收记录作用于整个平台，仅系统管理员可操作。"))
            if action == "push":
                results = push.push_pending(seconds=20, force=True)
                failed = [r for r in results if r.status == "failed"]
                if failed:
                    messages.error(request, _("上报失败：%(error)s") % {"error": failed[0].error})
                else:
                    sent = sum(r.records for r in results)
                    messages.success(request, _("已上报 %(n)s 条记录。") % {"n": sent})
            else:
                messages.success(request, _("已重新排队 %(n)s 条被拒收的记录。") % {"n": push.retry_failed()})
            return redirect("exchange:status")
        if action == "register":
            if scope.read_only or scope.kind not in ("all", "region"):
                return _forbidden(request, _("当前角色为只读，不能登记下级平台。"))
            allowed = {r.code: r for r in _regions(scope)}
            region = allowed.get(request.POST.get("region", ""))
            if region is None:
                form_errors["region"] = _("请选择本辖区内的下级区划")
            else:
                try:
                    _sub, new_key = services.subordinate_register(
                        code=request.POST.get("code", ""),
                        name=request.POST.get("name", ""),
                        region=region,
                        created_by=request.user,
                    )
                except DomainError as exc:
                    form_errors[exc.field or "code"] = exc.message
        else:
            form_errors["action"] = _("未知操作")
    context = {
        "scope": scope,
        "up": selectors.upstream_status(),
        "subordinates": selectors.subordinates(scope),
        "batches": selectors.received_batches(scope),
        "outcomes": selectors.case_outcome_counts(scope),
        "files": selectors.drop_files(scope),
        "regions": _regions(scope) if not scope.read_only else [],
        "can_operate": scope.kind == "all" and not scope.read_only,
        "form_errors": form_errors,
        "form": request.POST if form_errors else {},
        "new_key": new_key,
    }
    return render(request, "exchange/status.html", context, status=422 if form_errors else 200)
