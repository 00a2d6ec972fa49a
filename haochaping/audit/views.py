"""The audit pages (/integrity/audit/): who viewed which rater's identity and why; administrative changes.

Read-only pages for auditors, agency administrators (their region) and superusers; both lists filter,
paginate and export as CSV (the export is the filtered list, all pages).
"""

from __future__ import annotations

import csv
import itertools
import json

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from haochaping.accounts.scope import Scope, scope_for_request
from haochaping.audit import selectors

PAGE_SIZE = 50


class _Echo:
    def write(self, value: str) -> str:
        return value


def _scope_or_403(request: HttpRequest) -> Scope | HttpResponse:
    scope = scope_for_request(request)
    if selectors.may_read_audit(request.user, scope):
        return scope
    message = _("审计日志仅向审计人员、管理机构管理员和系统管理员开放")
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)


def _query_without_page(request: HttpRequest) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    return query.urlencode()


def _csv(filename: str, header: list[str], rows) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    lines = (writer.writerow(r) for r in itertools.chain([header], rows))
    response = StreamingHttpResponse(("\ufeff", *lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


def _local(at) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M:%S")


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    """评价人身份查看记录: each view of a rater's unmasked phone, name or certificate."""
    scope = _scope_or_403(request)
    if isinstance(scope, HttpResponse):
        return scope
    form = selectors.AccessFilterForm(request.GET or None)
    qs = selectors.identity_log(scope, form if form.is_bound else None)
    if request.GET.get("format") == "csv":
        header = [_("时间"), _("查看人"), _("记录类型"), _("记录编号"), _("评价编号"), _("工单编号"), _("办件编号"),
                  _("字段"), _("理由"), _("IP 地址"), _("浏览器")]  # fmt: skip
        rows = (
            [
                _local(e.at),
                e.username,
                e.get_record_kind_display(),
                e.record_id,
                e.rating_public_id,
                e.case_number,
                e.service_case_no,
                e.get_field_display(),
                e.reason,
                e.ip or "",
                e.user_agent,
            ]  # fmt: skip
            for e in qs.iterator(chunk_size=2000)
        )
        return _csv("identity-access.csv", header, rows)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "query": _query_without_page(request), "scope": scope, "tab": "access"}
    return render(request, "audit/identity_log.html", context)


@login_required
@require_GET
def admin_log(request: HttpRequest) -> HttpResponse:
    """管理操作日志: directory, role grants, API keys, configuration; old → new with personal values masked."""
    scope = _scope_or_403(request)
    if isinstance(scope, HttpResponse):
        return scope
    form = selectors.AdminLogFilterForm(request.GET or None)
    qs = selectors.admin_log(scope, form if form.is_bound else None)
    if request.GET.get("format") == "csv":
        header = [_("时间"), _("操作人/来源"), _("来源"), _("操作"), _("模块"), _("对象类型"), _("对象编号"),
                  _("对象"), _("变更内容"), _("IP 地址")]  # fmt: skip
        rows = (
            [
                _local(e.at),
                e.actor_name,
                e.get_source_display(),
                e.get_action_display(),
                e.app_label,
                e.model,
                e.object_id,
                e.object_repr,
                json.dumps(e.changes, ensure_ascii=False),
                e.ip or "",
            ]  # fmt: skip
            for e in qs.iterator(chunk_size=2000)
        )
        return _csv("admin-log.csv", header, rows)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {"form": form, "page": page, "query": _query_without_page(request), "scope": scope, "tab": "admin"}
    return render(request, "audit/admin_log.html", context)
