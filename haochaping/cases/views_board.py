"""The management agency's pages: supervision board (督办看板), closed-loop figures (闭环指标) and the ledger export.

Who: agency administrators, inspectors and auditors (their region), superusers and system administrators (all),
department administrators (their units). Everyone else gets the 403 page; anonymous users the login page.
Every figure and row goes through the user's scope (accounts/scope.py). Thin views: the figures are computed in
cases/metrics.py, the workbook in cases/ledger.py.
"""

from __future__ import annotations

import tempfile
from datetime import date
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import FileResponse, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from haochaping.accounts.scope import Scope
from haochaping.cases import ledger, workdays
from haochaping.cases import metrics as figures
from haochaping.cases.models import OPEN_STATES, Appeal, State
from haochaping.directory.models import Organisation
from haochaping.web.access import supervisor_scope

LIST_MAX = 200  # appeals and escalated cases shown on the board (the queue lists the rest)


def _board_scope(request: HttpRequest) -> Scope | HttpResponse:
    """The user's scope if they may see the board, figures and ledger, else the 403 page."""
    return supervisor_scope(
        request, _("督办看板、闭环指标和整改台账仅向管理机构管理员、监督检查人员、审计人员和部门管理员开放。")
    )


# --- filters ---------------------------------------------------------------------------------------------


class CaseFilter(forms.Form):
    """GET filters shared by the board and the ledger; start/end only where a period applies."""

    unit = forms.ModelChoiceField(
        label=gettext_lazy("责任单位"),
        queryset=Organisation.objects.none(),
        required=False,
        empty_label=gettext_lazy("全部单位"),
    )
    state = forms.ChoiceField(label=gettext_lazy("状态"), required=False)
    start = forms.DateField(label=gettext_lazy("立案日期自"), required=False)
    end = forms.DateField(label=gettext_lazy("至"), required=False)

    def __init__(self, data, *, scope: Scope, states, period: bool = True, units: bool = True):
        super().__init__(data)
        self.fields["unit"].queryset = scope.filter(Organisation.objects.all()).order_by("region__code", "name")
        self.fields["unit"].error_messages["invalid_choice"] = _("责任单位不存在或不在您的数据范围内")
        self.fields["state"].choices = [("", _("全部状态")), *[(s.value, s.label) for s in states]]
        if not period:
            del self.fields["start"], self.fields["end"]
        if not units:
            del self.fields["unit"], self.fields["state"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if "start" in self.fields:
            default = figures.Period.this_year()
            start, end = data.get("start") or default.start, data.get("end") or default.end
            if start > end:
                self.add_error("end", _("结束日期不能早于开始日期"))
            data["period"] = figures.Period(start, end)
        return data

    def apply(self, qs: QuerySet) -> QuerySet:
        if unit := self.cleaned_data.get("unit"):
            qs = qs.filter(unit=unit)
        if state := self.cleaned_data.get("state"):
            qs = qs.filter(state=state)
        return qs

    def errors_list(self) -> list[dict[str, str]]:
        return [{"field": f, "message": str(m)} for f, msgs in self.errors.items() for m in msgs]


def _bad_filter(request: HttpRequest, form: CaseFilter) -> HttpResponse:
    errors = form.errors_list()
    text = "；".join(f"{form.fields[e['field']].label if e['field'] in form.fields else e['field']}：{e['message']}"
                    for e in errors)  # fmt: skip
    return render(request, "web/message.html", {"title": _("筛选条件有误"), "message": text}, status=400)


# --- board ---------------------------------------------------------------------------------------------


@login_required
@require_GET
def board(request: HttpRequest) -> HttpResponse:
    scope = _board_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    form = CaseFilter(request.GET, scope=scope, states=figures.OPEN_STATE_ORDER, period=False)
    if not form.is_valid():
        return render(request, "cases/board.html", {"form": form, "scope": scope}, status=400)
    qs = form.apply(figures.cases_in(scope))
    today = workdays.today()
    pending = Appeal.objects.filter(case=OuterRef("pk"), decision="").order_by("-applied_at")
    appeals = (
        qs.filter(state=State.APPEALING)
        .select_related("unit")
        .annotate(applied_at=Subquery(pending.values("applied_at")[:1]), ground=Subquery(pending.values("ground")[:1]))
        .order_by("due_on", "opened_at")
    )
    escalated = (
        qs.filter(state__in=OPEN_STATES, escalation_level__gte=1)
        .select_related("unit", "handler")
        .order_by("-escalation_level", "due_on", "opened_at")
    )
    grounds = dict(Appeal.Ground.choices)
    appeal_list = list(appeals[:LIST_MAX])
    for a in appeal_list:
        a.ground_label = grounds.get(a.ground, "")
        a.review_overdue = bool(a.due_on and a.due_on < today)
    escalated_list = list(escalated[:LIST_MAX])
    for c in escalated_list:
        c.age = workdays.workdays_between(c.opened_at, today)
    context = {
        "form": form,
        "scope": scope,
        "board": figures.open_board(qs, today),
        "appeals": appeal_list,
        "appeals_total": appeals.count() if len(appeal_list) == LIST_MAX else len(appeal_list),
        "escalated": escalated_list,
        "escalated_total": escalated.count() if len(escalated_list) == LIST_MAX else len(escalated_list),
        "states": [(s.value, s.label) for s in figures.OPEN_STATE_ORDER],
        "query": request.GET.urlencode(),
    }
    return render(request, "cases/board.html", context)


# --- metrics -------------------------------------------------------------------------------------------

# (key, label, kind): kind "n" count, "rate" a share, "days" a mean.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("opened", gettext_lazy("立案"), "n"),
    ("open", gettext_lazy("办理中"), "n"),
    ("overdue", gettext_lazy("超期"), "n"),
    ("closed", gettext_lazy("办结"), "n"),
    ("fixed", gettext_lazy("已整改"), "n"),
    ("explained", gettext_lazy("解释说明"), "n"),
    ("not_adopted", gettext_lazy("不予采纳"), "n"),
    ("in_ledger", gettext_lazy("列入台账"), "n"),
    ("callback_rate", gettext_lazy("回访率"), "rate"),
    ("real_name_rate", gettext_lazy("实名差评回访整改率"), "rate"),
    ("on_time_rate", gettext_lazy("按期整改率"), "rate"),
    ("fix_rate", gettext_lazy("整改率"), "rate"),
    ("reopen_rate", gettext_lazy("重办率"), "rate"),
    ("avg_days", gettext_lazy("平均办结天数"), "days"),
    ("avg_workdays", gettext_lazy("平均办结工作日"), "days"),
    ("satisfied", gettext_lazy("满意"), "n"),
    ("basic", gettext_lazy("基本满意"), "n"),
    ("dissatisfied", gettext_lazy("不满意"), "n"),
    ("no_response", gettext_lazy("未评价"), "n"),
)


def _cell(m: dict[str, Any], key: str, kind: str) -> dict[str, str]:
    value = m.get(key)
    cell = {"key": key, "text": "—", "title": "", "css": ""}
    if kind == "rate":
        num, den = figures.RATES[key]
        cell["title"] = f"{m[num]}/{m[den]}"
        if value is not None:
            cell["text"] = f"{value * 100:.1f}%"
            if key == "real_name_rate" and value < figures.REAL_NAME_TARGET:
                cell["css"] = "below-target"
    elif value is not None:
        cell["text"] = f"{value:.1f}" if kind == "days" else str(value)
    return cell


def _table(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**r, "cells": [_cell(r["metrics"], k, kind) for k, _label, kind in COLUMNS]} for r in rows]


def _json_safe(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return value


@login_required
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    scope = _board_scope(request)
    as_json = request.GET.get("format") == "json"
    if isinstance(scope, HttpResponse):
        if as_json:
            return JsonResponse({"message": _("无权限"), "errors": []}, status=403)
        return scope
    form = CaseFilter(request.GET, scope=scope, states=(), period=True, units=False)
    if not form.is_valid():
        if as_json:
            return JsonResponse(
                {"message": _("筛选条件有误"), "errors": form.errors_list()},
                status=400,
                json_dumps_params={"ensure_ascii": False},
            )
        return render(request, "cases/metrics.html", {"form": form, "scope": scope}, status=400)
    period: figures.Period = form.cleaned_data["period"]
    totals = figures.case_metrics(figures.cases_in(scope, period), figures.ratings_in(scope, period))
    by_region = figures.metrics_by(scope, "region", period.start, period.end) if scope.kind != "units" else []
    by_unit = figures.metrics_by(scope, "unit", period.start, period.end)
    if as_json:
        payload = {
            "scope": scope.label,
            "start": period.start.isoformat(),
            "end": period.end.isoformat(),
            "targets": {"real_name_rate": figures.REAL_NAME_TARGET},
            "totals": totals,
            "by_region": [{k: _json_safe(v) for k, v in r.items()} for r in by_region],
            "by_unit": by_unit,
        }
        return JsonResponse(payload, json_dumps_params={"ensure_ascii": False})
    headline = [{"label": label, **_cell(totals, key, "rate")} for key, label, kind in COLUMNS if kind == "rate"]
    context = {
        "form": form,
        "scope": scope,
        "period": period,
        "totals": totals,
        "headline": headline,
        "total_cells": [{"label": label, **_cell(totals, k, kind)} for k, label, kind in COLUMNS if kind != "rate"],
        "columns": COLUMNS,
        "by_region": _table(by_region),
        "by_unit": _table(by_unit),
        "target": figures.REAL_NAME_TARGET,
        "real_name_text": _cell(totals, "real_name_rate", "rate")["text"],
        "real_name_below": totals["real_name_rate"] is not None and totals["real_name_rate"] < figures.REAL_NAME_TARGET,
    }
    return render(request, "cases/metrics.html", context)


# --- ledger --------------------------------------------------------------------------------------------


@login_required
@require_GET
def ledger_export(request: HttpRequest) -> HttpResponse:
    scope = _board_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    form = CaseFilter(request.GET, scope=scope, states=State, period=True)
    if not form.is_valid():
        return _bad_filter(request, form)
    period: figures.Period = form.cleaned_data["period"]
    qs = form.apply(figures.cases_in(scope, period))
    unit = form.cleaned_data.get("unit")
    title = _("%(scope)s差评/投诉整改台账（%(period)s）") % {
        "scope": unit.name if unit else scope.label,
        "period": period.label(),
    }
    out = tempfile.TemporaryFile()  # the workbook is zipped at save: build it on disk, not in memory
    ledger.write_ledger(qs, out, title=title)
    out.seek(0)
    name = f"整改台账_{period.start:%Y%m%d}-{period.end:%Y%m%d}.xlsx"
    return FileResponse(
        out,
        as_attachment=True,
        filename=name,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
