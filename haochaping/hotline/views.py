"""12345热线对接 (/hotline/): the links per region and the work orders that went out, with their state.

Who: supervisors read (system administrators; agency administrators, inspectors and auditors of a region; department
administrators see their units' work orders); handlers and window staff get 403. A link is edited by system
administrators and by the agency administrators of a region in their own; another region's link is 404.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from haochaping.accounts.scope import Scope, scope_for_request
from haochaping.directory.models import Region
from haochaping.hotline import selectors, services
from haochaping.hotline.models import HotlineLink
from haochaping.lib.errors import DomainError


def _forbidden(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)


def _scope(request: HttpRequest) -> Scope | HttpResponse:
    scope = scope_for_request(request)
    if scope.supervises:
        return scope
    return _forbidden(
        request, _("12345热线对接仅向系统管理员和管理机构、主管部门的管理员、监督检查人员、审计人员开放。")
    )


@login_required
def index(request: HttpRequest) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    can_edit = services.can_edit(scope)
    code = request.GET.get("region", "").strip()
    if code and can_edit:
        region = Region.objects.filter(code=code).first()
        if region is not None and scope.allows_region_path(region.path):
            return redirect("hotline:link_edit", region_id=region.pk)
        messages.error(request, _("行政区划代码不存在或不在您的管辖范围内。"))
    links = selectors.links(scope)
    for link in links:
        link.editable = can_edit and scope.allows_region_path(link.region.path)
    context = {
        "scope": scope,
        "links": links,
        "can_edit": can_edit,
        "own_region": scope.region_id if scope.kind == "region" else None,
        **selectors.overview(scope),
    }
    return render(request, "hotline/index.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def link_edit(request: HttpRequest, region_id: int) -> HttpResponse:
    scope = _scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    if not services.can_edit(scope):
        return _forbidden(request, _("仅系统管理员和本地区管理机构的管理员可以配置12345热线对接。"))
    region = Region.objects.filter(pk=region_id).first()
    if region is None or not scope.allows_region_path(region.path):
        raise Http404
    link = HotlineLink.objects.filter(region=region).first()
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            services.link_save(
                scope, region, endpoint=request.POST.get("endpoint", ""), enabled=bool(request.POST.get("enabled")),
                include_complaints=bool(request.POST.get("include_complaints")),
                credential=request.POST.get("credential") or None, user=request.user,
            )  # fmt: skip
        except DomainError as exc:
            errors = {e.get("field") or "": e.get("message", "") for e in exc.errors} or {"": exc.message}
        else:
            messages.success(request, _("已保存%(region)s的12345热线对接配置。") % {"region": region.name})
            return redirect("hotline:index")
    context = {"region": region, "link": link, "errors": errors, "form": request.POST if errors else None}
    return render(request, "hotline/link_edit.html", context, status=422 if errors else 200)
