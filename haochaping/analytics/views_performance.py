"""Performance inputs (绩效数据), watchlist (关注名单) and coverage (覆盖情况) pages.

Who: superusers and system administrators (everything), agency administrators, inspectors and auditors of an
agency (their region), department administrators and read-only roles of a unit (their units). Window staff and
case handlers get the 403 page: these pages compare people. Thin views: figures in analytics/performance.py and
analytics/coverage.py; thresholds from settings, overridable by GET within bounds (a bad value: 400 naming it).
"""

from __future__ import annotations

import io
import tempfile
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from haochaping.accounts.scope import Scope
from haochaping.analytics import coverage as cov
from haochaping.analytics import performance as perf
from haochaping.analytics import sources as src
from haochaping.analytics import weights as wt
from haochaping.analytics.dashboard import format_cell
from haochaping.analytics.models import PerformanceWeights
from haochaping.cases import workdays
from haochaping.lib.errors import DomainError, ValidationFailed
from haochaping.web.access import supervisor_scope

TABLE_MAX = 200  # rows per table on the page; the downloads hold every row
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _allowed_scope(request: HttpRequest) -> Scope | HttpResponse:
    return supervisor_scope(
        request, _("绩效数据、关注名单和覆盖情况仅向管理机构、部门管理员、监督检查人员和审计人员开放。")
    )


def _percent(value: Decimal | None) -> float | None:
    return None if value is None else float(value) / 100


# --- forms ---------------------------------------------------------------------------------------------------


class PeriodField(forms.CharField):
    def __init__(self, **kwargs):
        super().__init__(required=False, max_length=10, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        try:
            return perf.parse_period(value)
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None


class PerformanceForm(forms.Form):
    period = PeriodField(label=gettext_lazy("统计期间"))
    min_wilson = forms.DecimalField(
        label=gettext_lazy("好评率置信下限（%）"), required=False, min_value=50, max_value=100, decimal_places=2
    )
    min_unit = forms.IntegerField(label=gettext_lazy("单位最少主动评价"), required=False, min_value=1, max_value=10**6)
    min_staff = forms.IntegerField(label=gettext_lazy("人员最少主动评价"), required=False, min_value=1, max_value=10**6)
    max_bad = forms.DecimalField(
        label=gettext_lazy("差评率低于（%）"), required=False, min_value=0, max_value=100, decimal_places=2
    )
    format = forms.ChoiceField(
        label=gettext_lazy("格式"), required=False, choices=[("", "HTML"), ("xlsx", "Excel"), ("csv", "CSV")]
    )
    entity = forms.ChoiceField(
        label=gettext_lazy("对象"),
        required=False,
        choices=[("unit", gettext_lazy("单位")), ("staff", gettext_lazy("人员"))],
    )

    def rules(self) -> perf.CommendRules:
        base = perf.CommendRules.from_settings()
        d = self.cleaned_data
        return perf.CommendRules(
            min_wilson=_percent(d.get("min_wilson")) if d.get("min_wilson") is not None else base.min_wilson,
            min_unit_ratings=d.get("min_unit") or base.min_unit_ratings,
            min_staff_ratings=d.get("min_staff") or base.min_staff_ratings,
            max_bad_rate=_percent(d.get("max_bad")) if d.get("max_bad") is not None else base.max_bad_rate,
        )


class WatchForm(forms.Form):
    month = forms.CharField(label=gettext_lazy("截止月份"), required=False, max_length=7)
    n = forms.IntegerField(label=gettext_lazy("每月差评数 ≥"), required=False, min_value=1, max_value=10**5)
    m = forms.IntegerField(label=gettext_lazy("差评月数 ≥"), required=False, min_value=1, max_value=12)
    k = forms.IntegerField(
        label=gettext_lazy("最近月数"), required=False, min_value=1, max_value=perf.MAX_WINDOW_MONTHS
    )
    c = forms.IntegerField(label=gettext_lazy("投诉数 ≥"), required=False, min_value=1, max_value=10**5)
    margin = forms.DecimalField(
        label=gettext_lazy("差评率高出（百分点）"), required=False, min_value=0, max_value=100, decimal_places=2
    )
    volume = forms.IntegerField(label=gettext_lazy("最少主动评价"), required=False, min_value=1, max_value=10**7)

    def clean_month(self):
        try:
            return perf.parse_month(self.cleaned_data.get("month"))
        except ValueError as e:
            raise forms.ValidationError(str(e)) from None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.errors:
            return data
        base = perf.WatchRules.from_settings()
        rules = perf.WatchRules(
            bad_per_month=data.get("n") or base.bad_per_month,
            bad_months=data.get("m") or base.bad_months,
            window_months=data.get("k") or base.window_months,
            complaints=data.get("c") or base.complaints,
            rate_margin=_percent(data.get("margin")) if data.get("margin") is not None else base.rate_margin,
            min_ratings=data.get("volume") or base.min_ratings,
        )
        if rules.bad_months > rules.window_months:
            self.add_error("m", _("差评月数不能多于最近月数（%(k)s）") % {"k": rules.window_months})
        data["rules"] = rules
        return data


class CoverageForm(forms.Form):
    period = PeriodField(label=gettext_lazy("统计期间"))


# --- display -------------------------------------------------------------------------------------------------


def _cells(rows: list[dict], columns) -> list[dict[str, Any]]:
    shown = [(c, k) for c, _label, k in columns if c != "period"]
    return [{**r, "cells": [(format_cell(r.get(c), k), k != "text") for c, k in shown]} for r in rows]


def _commend_texts(rows: list[dict]) -> list[dict]:
    return [
        {
            **r,
            "good_text": format_cell(r["good_rate"], "rate"),
            "wilson_text": format_cell(r["wilson"], "rate"),
            "bad_text": format_cell(r["bad_rate"], "rate"),
            "score_text": format_cell(r["score"], "score"),
        }
        for r in rows
    ]


def _headers(columns) -> list[tuple[str, str]]:
    return [(code, _(label)) for code, label, _kind in columns if code != "period"]


def _period_links(period: perf.Period) -> dict[str, str]:
    """Codes of the neighbouring periods and of the last whole month, quarter and year."""
    today = workdays.today()
    this_quarter = today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    last_quarter = perf.add_months(this_quarter, -3)
    return {
        "previous": period.previous().code,
        "next": period.next().code,
        "last_month": perf.last_whole_month(today).code,
        "last_quarter": perf.Period.quarter(last_quarter.year, (last_quarter.month - 1) // 3 + 1).code,
        "last_year": str(today.year - 1),
    }


def _bad_request(request: HttpRequest, template: str, form: forms.Form, scope: Scope) -> HttpResponse:
    return render(request, template, {"form": form, "scope": scope, "invalid": True}, status=400)


# --- performance -------------------------------------------------------------------------------------------


@login_required
@require_GET
def performance(request: HttpRequest) -> HttpResponse:
    scope = _allowed_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    form = PerformanceForm(request.GET)
    if not form.is_valid():
        return _bad_request(request, "analytics/performance.html", form, scope)
    period: perf.Period = form.cleaned_data["period"]
    fmt = form.cleaned_data.get("format")
    entity = form.cleaned_data.get("entity") or "unit"
    units = perf.unit_sheet(scope, period) if fmt != "csv" or entity == "unit" else []
    staff = perf.staff_sheet(scope, period) if fmt != "csv" or entity == "staff" else []
    if fmt == "xlsx":
        out = tempfile.TemporaryFile()
        perf.write_xlsx(units, staff, out, title=_("%(scope)s绩效数据（%(period)s）") % {
            "scope": scope.label, "period": period.code,
        })  # fmt: skip
        out.seek(0)
        return FileResponse(out, as_attachment=True, filename=f"performance_{period.code}.xlsx", content_type=XLSX)
    if fmt == "csv":
        text = io.StringIO()
        text.write("\ufeff")  # BOM: Excel opens the UTF-8 file with the right encoding
        rows, columns = (staff, perf.STAFF_COLUMNS) if entity == "staff" else (units, perf.UNIT_COLUMNS)
        perf.write_csv(rows, columns, text)
        response = HttpResponse(text.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="performance_{entity}_{period.code}.csv"'
        return response
    rules = form.rules()
    commend = perf.commendations(scope, units, staff, rules)
    context = {
        "form": form,
        "scope": scope,
        "period": period,
        "links": _period_links(period),
        "unit_headers": _headers(perf.UNIT_COLUMNS),
        "staff_headers": _headers(perf.STAFF_COLUMNS),
        "units": _cells(units[:TABLE_MAX], perf.UNIT_COLUMNS),
        "staff": _cells(staff[:TABLE_MAX], perf.STAFF_COLUMNS),
        "unit_total": len(units),
        "staff_total": len(staff),
        "table_max": TABLE_MAX,
        "rules": rules,
        "rules_text": {
            "min_wilson": f"{rules.min_wilson * 100:g}%",
            "max_bad": f"{rules.max_bad_rate * 100:g}%",
        },
        "commend_units": _commend_texts(commend["units"]),
        "commend_staff": _commend_texts(commend["staff"]),
        "query": request.GET.urlencode(),
    }
    return render(request, "analytics/performance.html", context)


# --- watchlist ---------------------------------------------------------------------------------------------


def _entries(entries: list[perf.WatchEntry], rules: perf.WatchRules, labels: dict[str, str]) -> list[dict[str, Any]]:
    return [
        {
            **e.__dict__,
            "reason_texts": [labels[r] for r in e.reasons],
            "month_rows": [(m, bad, active, bad >= rules.bad_per_month) for m, bad, active in e.months],
            "bad_rate_text": format_cell(e.bad_rate, "rate"),
        }
        for e in entries
    ]


@login_required
@require_GET
def watchlist(request: HttpRequest) -> HttpResponse:
    scope = _allowed_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    form = WatchForm(request.GET)
    if not form.is_valid():
        return _bad_request(request, "analytics/watchlist.html", form, scope)
    rules: perf.WatchRules = form.cleaned_data["rules"]
    result = perf.watchlist(scope, form.cleaned_data["month"], rules)
    labels = {
        "bad_months": _("连续多月差评"),
        "complaints": _("投诉较多"),
        "bad_rate": _("差评率明显高于平均"),
    }
    sections = [
        {
            "title": _("单位"),
            "entries": _entries(result.units, rules, labels),
            "avg_text": format_cell(result.scope_unit_bad_rate, "rate"),
        },
        {
            "title": _("人员"),
            "entries": _entries(result.staff, rules, labels),
            "avg_text": format_cell(result.scope_staff_bad_rate, "rate"),
        },
    ]
    context = {
        "form": form,
        "scope": scope,
        "result": result,
        "rules": rules,
        "margin_text": f"{rules.rate_margin * 100:g}",
        "sections": sections,
    }
    return render(request, "analytics/watchlist.html", context)


# --- coverage ----------------------------------------------------------------------------------------------


@login_required
@require_GET
def coverage(request: HttpRequest) -> HttpResponse:
    scope = _allowed_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    form = CoverageForm(request.GET)
    if not form.is_valid():
        return _bad_request(request, "analytics/coverage.html", form, scope)
    period: perf.Period = form.cleaned_data["period"]
    report = cov.coverage(scope, period.start, period.end)
    context = {
        "form": form,
        "scope": scope,
        "period": period,
        "links": _period_links(period),
        "report": report,
        "sections": [
            (_("政务服务事项"), report.items),
            (_("窗口"), report.windows),
            (_("窗口工作人员"), report.staff),
        ],
        "thresholds": {
            "perfect_min": cov.PERFECT_MIN_ACTIVE,
            "low_bad": f"{cov.LOW_BAD_RATE * 100:g}%",
            "high_default": f"{cov.HIGH_DEFAULT_SHARE * 100:g}%",
            "one_channel": f"{cov.ONE_CHANNEL_SHARE * 100:g}%",
            "min_counted": cov.FLAG_MIN_COUNTED,
        },
    }
    return render(request, "analytics/coverage.html", context)


# --- weights (绩效考核权重) -------------------------------------------------------------------------------------


class WeightsForm(forms.Form):
    ratings = forms.IntegerField(label=gettext_lazy("好差评权重"), min_value=0, max_value=wt.WEIGHT_MAX)
    inspections = forms.IntegerField(label=gettext_lazy("监督查评权重"), min_value=0, max_value=wt.WEIGHT_MAX)
    surveys = forms.IntegerField(label=gettext_lazy("服务调查权重"), min_value=0, max_value=wt.WEIGHT_MAX)
    assessments = forms.IntegerField(label=gettext_lazy("第三方评估权重"), min_value=0, max_value=wt.WEIGHT_MAX)


def _region_param(request: HttpRequest) -> int | None:
    raw = (request.GET.get("region") or request.POST.get("region") or "").strip()
    return int(raw) if raw.isdigit() else None


@login_required
@require_http_methods(["GET", "POST"])
def weights(request: HttpRequest) -> HttpResponse:
    """GET: the weights that apply to a region and where they come from; POST (may_set_weights): set or reset."""
    scope = _allowed_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    try:
        region = wt.region_for(scope, _region_param(request))
    except DomainError as e:
        return render(request, "web/message.html", {"title": _("未找到"), "message": e.message}, status=404)
    may_edit = wt.may_set_weights(scope, region)
    applied = src.weights_for(region)
    form = WeightsForm(initial=applied.as_dict())
    status = 200
    if request.method == "POST":
        if not may_edit:
            message = _("只有本级管理机构管理员或系统管理员可以设置权重。")
            return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)
        if request.POST.get("action") == "reset":
            wt.weights_reset(scope, region, request.user)
            messages.success(request, _("已恢复为上级区划或默认权重。"))
            return redirect(f"{request.path}?region={region.pk}")
        form = WeightsForm(request.POST)
        if form.is_valid():
            try:
                wt.weights_set(scope, region, form.cleaned_data, request.user)
            except ValidationFailed as e:
                form.add_error(e.field if e.field in form.fields else None, e.message)
            else:
                messages.success(request, _("权重已保存。"))
                return redirect(f"{request.path}?region={region.pk}")
        status = 400
    own = PerformanceWeights.objects.filter(region=region).exists()
    overrides = (
        scope.filter(PerformanceWeights.objects.select_related("region", "updated_by"))
        if scope.kind in ("all", "region")
        else PerformanceWeights.objects.none()
    )
    context = {
        "scope": scope,
        "region": region,
        "regions": wt.visible_regions(scope)[:500],
        "applied": applied,
        "applied_rows": [(_(label), getattr(applied, code), src.DEFAULT_WEIGHTS[code]) for code, label in src.SOURCES],
        "own": own,
        "may_edit": may_edit,
        "form": form,
        "overrides": overrides.order_by("region__path")[:500],
    }
    return render(request, "analytics/weights.html", context, status=status)
