"""第三方评估 (/assessments/): the imports list, the upload form, an import's scores, CSV export, the templates.

Who: supervisors read (system administrators; agency administrators, inspectors and auditors of a region; department
administrators, inspectors and auditors of units — only the imports and rows of their units); agency administrators
and system administrators import. Handlers and window staff: 403. An import outside the scope: 404.
Thin views: the work is in services.py (import) and selectors.py (reads).
"""

from __future__ import annotations

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from haochaping.accounts.scope import Scope
from haochaping.directory.models import Organisation
from haochaping.entry.forms import mark_errors
from haochaping.lib.errors import DomainError, NotFound
from haochaping.society import selectors, services
from haochaping.society.forms import AssessmentUploadForm
from haochaping.web.access import supervisor_scope

PAGE_SIZE = 50
MAX_ERRORS_SHOWN = 200
MAX_WARNINGS_SHOWN = 20


def _reader(request: HttpRequest) -> Scope | HttpResponse:
    return supervisor_scope(request, _("第三方评估结果仅向管理机构、部门管理员、监督检查人员和审计人员开放。"))


def _importer(request: HttpRequest) -> Scope | HttpResponse:
    scope = _reader(request)
    if isinstance(scope, HttpResponse):
        return scope
    if not services.may_import(scope, request.user):
        message = _("仅管理机构管理员和系统管理员可以导入第三方评估结果。")
        return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)
    return scope


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    scope = _reader(request)
    if isinstance(scope, HttpResponse):
        return scope
    qs = selectors.imports_for(scope)
    if request.GET.get("all") != "1":
        qs = qs.filter(superseded_by__isnull=True)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [{"a": a, "period": services.period_label(a.period_start, a.period_end)} for a in page.object_list]
    context = {
        "page": page,
        "rows": rows,
        "show_all": request.GET.get("all") == "1",
        "may_import": services.may_import(scope, request.user),
    }
    return render(request, "society/assessments.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    scope = _importer(request)
    if isinstance(scope, HttpResponse):
        return scope
    form = AssessmentUploadForm(request.POST or None, request.FILES or None, scope=scope)
    outcome = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        upload_file = data["file"]
        if upload_file.size > services.MAX_BYTES:
            form.add_error("file", _("文件不能超过%(n)dMB") % {"n": services.MAX_BYTES // (1024 * 1024)})
        else:
            try:
                outcome = services.assessment_import(
                    services.AssessmentIn(
                        firm=data["firm"],
                        title=data["title"],
                        region_id=data["region_id"],
                        period_start=data["period_start"],
                        period_end=data["period_end"],
                        file_name=upload_file.name or "",
                        data=upload_file.read(),
                    ),
                    scope=scope,
                    user=request.user,
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                if outcome.ok:
                    a = outcome.assessment
                    messages.success(request, _("已导入 %(n)d 个单位的评估结果。") % {"n": a.rows})
                    if outcome.superseded:
                        messages.info(request, _("已替换同一机构、区划、评估期的上一次导入。"))
                    for warning in outcome.warnings[:MAX_WARNINGS_SHOWN]:
                        messages.warning(request, str(warning))
                    if len(outcome.warnings) > MAX_WARNINGS_SHOWN:
                        more = len(outcome.warnings) - MAX_WARNINGS_SHOWN
                        messages.warning(request, _("另有 %(n)d 条提示未列出") % {"n": more})
                    return redirect("assessments:detail", pk=a.pk)
    errors = outcome.errors if outcome else []
    context = {
        "form": mark_errors(form),
        "errors_shown": errors[:MAX_ERRORS_SHOWN],
        "errors_more": max(0, len(errors) - MAX_ERRORS_SHOWN),
        "error_count": len(errors),
        "warnings": outcome.warnings[:MAX_WARNINGS_SHOWN] if outcome else [],
        "headers": services.HEADERS,
    }
    status = 422 if form.is_bound and (form.errors or errors) else 200
    return render(request, "society/assessment_upload.html", context, status=status)


def _detail_rows(scope: Scope, pk: int):
    try:
        assessment = selectors.import_in_scope(scope, pk)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    scores = list(selectors.scores_of(scope, assessment))
    return assessment, scores


@login_required
@require_GET
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    if isinstance(scope, HttpResponse):
        return scope
    assessment, scores = _detail_rows(scope, pk)
    rows = [{"s": s, "subs": [s.sub_scores.get(d) for d in assessment.dimensions]} for s in scores]
    context = {
        "a": assessment,
        "rows": rows,
        "period": services.period_label(assessment.period_start, assessment.period_end),
        "partial": scope.kind == "units",
    }
    return render(request, "society/assessment_detail.html", context)


@login_required
@require_GET
def export(request: HttpRequest, pk: int) -> HttpResponse:
    scope = _reader(request)
    if isinstance(scope, HttpResponse):
        return scope
    assessment, scores = _detail_rows(scope, pk)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([*services.HEADERS, *assessment.dimensions])
    for s in scores:
        subs = [s.sub_scores.get(d, "") for d in assessment.dimensions]
        writer.writerow([s.unit.uscc, _csv_safe(s.unit.name), s.score, s.rank or "", _csv_safe(s.remarks), *subs])
    response = HttpResponse(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"), content_type="text/csv; charset=utf-8")
    name = f"assessment-{assessment.pk}-{assessment.period_start:%Y%m%d}-{assessment.period_end:%Y%m%d}.csv"
    response["Content-Disposition"] = content_disposition_header(True, name)
    response["Cache-Control"] = "private, no-store"
    return response


def _csv_safe(value: str) -> str:
    """No formula injection when the CSV is opened in a spreadsheet (the remarks come from the firm's file)."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value


def _example_units(scope: Scope) -> list[tuple[str, str]]:
    units = scope.filter(Organisation.objects.filter(is_active=True)).order_by("region__path", "name")
    return list(units.values_list("uscc", "name")[:3])


@login_required
@require_GET
def template_xlsx(request: HttpRequest) -> HttpResponse:
    scope = _importer(request)
    if isinstance(scope, HttpResponse):
        return scope
    content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = HttpResponse(services.template_xlsx(_example_units(scope)), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(True, "第三方评估结果模板.xlsx")
    return response


@login_required
@require_GET
def template_csv(request: HttpRequest) -> HttpResponse:
    scope = _importer(request)
    if isinstance(scope, HttpResponse):
        return scope
    response = HttpResponse(services.template_csv(_example_units(scope)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, "第三方评估结果模板.csv")
    return response
