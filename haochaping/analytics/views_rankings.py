"""The fair rankings page (公平排名): units, halls, windows or staff members by the Wilson bound of their rate.

Who: agency administrators, inspectors and auditors (their region), superusers and system administrators (all),
department administrators and read-only roles of a department (their units). Window staff get the 403 page: a
ranking of colleagues is for supervisors. The method lives in analytics/rankings.py (docs/rankings.md).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from haochaping.accounts.scope import Scope
from haochaping.analytics.rankings import DEFAULT_MIN_RATINGS, MIN_RATINGS_BOUNDS, Entry, RankingResult, rank
from haochaping.web.access import supervisor_scope

LEVEL_CHOICES = (
    ("unit", gettext_lazy("单位")),
    ("hall", gettext_lazy("服务大厅")),
    ("window", gettext_lazy("窗口")),
    ("staff", gettext_lazy("工作人员")),
)
METRIC_CHOICES = (
    ("good", gettext_lazy("好评（好评率下限，从高到低）")),
    ("bad", gettext_lazy("差评（差评率上限，从高到低）")),
)
# The not-ranked list is for reference (largest first); thousands of tiny rows would only slow the page down.
NOT_RANKED_SHOWN = 300


def last_twelve_months(today: date) -> tuple[date, date]:
    """近12个月: the 12 whole months before the current one (a month under way would favour no one fairly)."""
    end = today.replace(day=1) - timedelta(days=1)
    start = end.replace(day=1)
    for _i in range(11):
        start = (start - timedelta(days=1)).replace(day=1)
    return start, end


def _rankings_scope(request: HttpRequest) -> Scope | HttpResponse:
    return supervisor_scope(
        request, _("排名仅向管理机构管理员、监督检查人员、审计人员和部门管理员开放；工作人员排名供上级管理使用。")
    )


class RankingForm(forms.Form):
    level = forms.ChoiceField(label=gettext_lazy("排名对象"), choices=LEVEL_CHOICES, required=False)
    metric = forms.ChoiceField(label=gettext_lazy("指标"), choices=METRIC_CHOICES, required=False)
    start = forms.DateField(label=gettext_lazy("开始日期"), required=False)
    end = forms.DateField(label=gettext_lazy("结束日期"), required=False)
    min_ratings = forms.IntegerField(
        label=gettext_lazy("最少主动评价数"),
        required=False,
        min_value=MIN_RATINGS_BOUNDS[0],
        max_value=MIN_RATINGS_BOUNDS[1],
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        data["level"] = data.get("level") or "unit"
        data["metric"] = data.get("metric") or "good"
        default_start, default_end = last_twelve_months(timezone.localdate())
        start, end = data.get("start") or default_start, data.get("end") or default_end
        if "start" not in self.errors and "end" not in self.errors and start > end:
            self.add_error("end", _("结束日期不能早于开始日期"))
        data["start"], data["end"] = start, end
        return data


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.2f}%"


def _row(e: Entry) -> dict[str, Any]:
    return {
        "rank": e.rank,
        "band_rank": e.band_rank,
        "band": e.band.label if e.band else "",
        "name": e.name,
        "detail": e.detail,
        "active": e.active,
        "hits": e.hits,
        "defaults": e.counts.defaults,
        "set_aside": e.counts.set_aside,
        "point": _pct(e.point),
        "interval": "—" if e.lower is None else f"[{_pct(e.lower)}, {_pct(e.upper)}]",
        "score": "—" if e.score is None else f"{e.score * 100:.2f}%",
    }


@login_required
@require_GET
def rankings(request: HttpRequest) -> HttpResponse:
    scope = _rankings_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    form = RankingForm(request.GET)
    context: dict[str, Any] = {"form": form, "scope": scope, "defaults": DEFAULT_MIN_RATINGS}
    if not form.is_valid():
        return render(request, "analytics/rankings.html", context, status=400)
    data = form.cleaned_data
    result: RankingResult = rank(
        scope, data["level"], data["start"], data["end"], metric=data["metric"], min_ratings=data["min_ratings"]
    )
    context.update(
        result=result,
        level_label=dict(LEVEL_CHOICES)[result.level],
        ranked=[_row(e) for e in result.ranked],
        not_ranked=[_row(e) for e in result.not_ranked[:NOT_RANKED_SHOWN]],
        not_ranked_hidden=max(0, len(result.not_ranked) - NOT_RANKED_SHOWN),
        bands=[{"label": b.label, "n": sum(1 for e in result.ranked if e.band == b)} for b in result.bands],
        requested=(data["start"], data["end"]),
    )
    return render(request, "analytics/rankings.html", context)
