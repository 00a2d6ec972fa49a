"""Periodic reports (定期报告): the archive with its generate form, a report's page with its lifecycle actions,
and the file downloads.

Who: agency administrators (generate, submit; publish and withdraw only for their own region), department
administrators (generate and submit their units' reports), inspectors and auditors (read only), system
administrators (everything). Window staff and everyone else: the 403 page. Reports outside the user's scope
are 404. The work is done in analytics/reports.py.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from haochaping.accounts.models import Role
from haochaping.accounts.scope import Scope, scope_for_request
from haochaping.analytics import reports as service
from haochaping.analytics.models import Report
from haochaping.directory.models import Organisation, Region
from haochaping.lib.errors import DomainError

LIST_MAX = 300
CONTENT_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _forbidden(request: HttpRequest) -> HttpResponse:
    message = _("定期报告仅向管理机构管理员、部门管理员、监督检查人员和审计人员开放。")
    return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)


def _reports_scope(request: HttpRequest) -> Scope | None:
    scope = scope_for_request(request)
    return scope if service.may_view_reports(scope) else None


class GenerateForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("报告类型"), choices=Report.Kind.choices)
    period = forms.CharField(
        label=gettext_lazy("报告期间"),
        max_length=10,
        help_text=gettext_lazy("月报如 2026-10，季报如 2026-Q4，年报如 2026"),
    )
    region = forms.ModelChoiceField(
        label=gettext_lazy("区划"), queryset=Region.objects.none(), required=False, empty_label="—"
    )
    unit = forms.ModelChoiceField(
        label=gettext_lazy("单位"), queryset=Organisation.objects.none(), required=False, empty_label="—"
    )

    def __init__(self, data=None, *, scope: Scope):
        super().__init__(data)
        self.scope = scope
        if scope.kind == "all":
            regions = Region.objects.all()
        elif scope.kind == "region":
            regions = Region.objects.filter(path__startswith=scope.region_path)
        else:
            regions = Region.objects.none()
            del self.fields["region"]  # department admins: their units' reports only
        if "region" in self.fields:
            self.fields["region"].queryset = regions.order_by("path")
            self.fields["region"].error_messages["invalid_choice"] = _("区划不存在或不在您的数据范围内")
        self.fields["unit"].queryset = scope.filter(Organisation.objects.all()).order_by("region__code", "name")
        self.fields["unit"].error_messages["invalid_choice"] = _("单位不存在或不在您的数据范围内")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        region, unit = data.get("region"), data.get("unit")
        if not self.errors and (region is None) == (unit is None):
            self.add_error("unit" if "region" not in self.fields else "region", _("请选择区划或单位（二选一）"))
        if data.get("kind") and data.get("period"):
            try:
                data["start"], data["end"] = service.parse_period(data["kind"], data["period"])
            except DomainError as exc:
                self.add_error("period", exc.message)
        if not self.errors and not service.may_generate(self.scope, region=region, unit=unit):
            self.add_error(
                None, _("您不能生成该报告：管理机构管理员可生成本区划的报告，部门管理员可生成本单位的报告。")
            )
        return data


def _list_context(request: HttpRequest, scope: Scope, form: GenerateForm | None) -> dict[str, Any]:
    qs = scope.filter(Report.objects.select_related("region", "unit"))
    kind, state = request.GET.get("kind", ""), request.GET.get("state", "")
    if kind in Report.Kind.values:
        qs = qs.filter(kind=kind)
    if state in Report.State.values:
        qs = qs.filter(state=state)
    return {
        "scope": scope,
        "reports": list(qs[:LIST_MAX]),
        "form": form,
        "kinds": Report.Kind.choices,
        "states": Report.State.choices,
        "kind": kind,
        "state": state,
        "list_max": LIST_MAX,
    }


@login_required
@require_http_methods(["GET", "POST"])
def reports(request: HttpRequest) -> HttpResponse:
    scope = _reports_scope(request)
    if scope is None:
        return _forbidden(request)
    can_generate = not scope.read_only and (
        scope.kind == "all" or scope.role in (Role.AGENCY_ADMIN, Role.DEPARTMENT_ADMIN)
    )
    if request.method == "GET":
        form = GenerateForm(scope=scope) if can_generate else None
        return render(request, "analytics/reports.html", _list_context(request, scope, form))
    if not can_generate:
        return _forbidden(request)
    form = GenerateForm(request.POST, scope=scope)
    status = 400
    if form.is_valid():
        d = form.cleaned_data
        try:
            result = service.report_generate(
                d["kind"], d["start"], region=d.get("region"), unit=d.get("unit"), user=request.user
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
            status = exc.status
        else:
            messages.success(request, _("报告已生成（%(s).1f 秒）。") % {"s": result.seconds})
            return redirect("analytics:report_detail", pk=result.report.pk)
    return render(request, "analytics/reports.html", _list_context(request, scope, form), status=status)


def _report_or_404(scope: Scope, pk: int) -> Report:
    report = scope.filter(Report.objects.select_related("region", "unit")).filter(pk=pk).first()
    if report is None:
        raise Http404(_("报告不存在或不在您的数据范围内"))
    return report


def _detail(request: HttpRequest, scope: Scope, report: Report, status: int = 200, error: str = "") -> HttpResponse:
    actions = [
        (action, _(service.ACTION_LABELS[action]))
        for action, (source, _target) in service.TRANSITIONS.items()
        if report.state == source and service.may_act(scope, report, action)
    ]
    context = {
        "report": report,
        "scope": scope,
        "actions": actions,
        "error": error,
        "summary": [line for line in report.summary.splitlines() if line],
    }
    return render(request, "analytics/report_detail.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reports_scope(request)
    if scope is None:
        return _forbidden(request)
    report = _report_or_404(scope, pk)
    if request.method == "GET":
        return _detail(request, scope, report)
    action = request.POST.get("action", "")
    if action not in service.TRANSITIONS:
        return _detail(request, scope, report, 400, _("未知的操作：%(a)s") % {"a": action or "—"})
    if not service.may_act(scope, report, action):
        message = _("您无权%(action)s该报告：报告由本区划管理机构管理员或系统管理员发布。") % {
            "action": _(service.ACTION_LABELS[action])
        }
        return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)
    try:
        report = service.report_transition(report.pk, action, request.user)
    except DomainError as exc:
        report.refresh_from_db()
        return _detail(request, scope, report, exc.status, exc.message)
    messages.success(request, _("报告已%(action)s。") % {"action": _(service.ACTION_LABELS[action])})
    return redirect("analytics:report_detail", pk=report.pk)


@login_required
@require_GET
def report_file(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The Excel or PDF file; a published file is re-hashed first and refused (409) if it changed."""
    scope = _reports_scope(request)
    if scope is None:
        return _forbidden(request)
    if fmt not in CONTENT_TYPES:
        raise Http404(_("文件格式只有 xlsx 和 pdf"))
    report = _report_or_404(scope, pk)
    fieldfile = getattr(report, fmt)
    if not fieldfile:
        raise Http404(_("报告文件缺失"))
    if report.state == Report.State.PUBLISHED and not service.file_intact(report, fmt):
        message = _(
            "已发布报告的文件与发布时记录的 SHA-256（%(sha)s）不一致或已缺失，为保证完整性拒绝下载。请联系系统管理员。"
        ) % {"sha": getattr(report, f"{fmt}_sha256")}
        return render(request, "web/message.html", {"title": _("文件校验失败"), "message": message}, status=409)
    try:
        handle = fieldfile.open("rb")
    except FileNotFoundError:
        raise Http404(_("报告文件缺失")) from None
    name = f"{report}.{fmt}".replace(" ", "_")
    response = FileResponse(handle, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response
