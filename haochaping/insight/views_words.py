"""意见挖掘 home: hot words with the word cloud (PNG and interactive), the comments of a word, and surge alerts.

Who: supervisors (Scope.supervises: system admins; agency admins, inspectors and auditors of a region; department
admins, inspectors and auditors of units), each within their scope; acknowledging an alert needs a role that may
write (inspectors and auditors are read-only: 403). Out-of-scope regions, units and alerts are 404; bad parameters
400 naming the field. Thin views: insight/words.py, cloud.py and surge.py do the work.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods

from haochaping.accounts.scope import Scope
from haochaping.analytics import dashboard as dash
from haochaping.insight import cloud, surge, words
from haochaping.insight.models import Source, SurgeAlert
from haochaping.lib.errors import DomainError
from haochaping.web.access import supervisor_scope

DENIED = gettext_lazy("意见挖掘仅对管理、督查和审计人员开放")
PAGE_SIZE = 30
TABLE_WORDS = 50
CLOUD_WORDS = 100


@dataclass
class Query:
    scope: Scope
    focus: dash.Focus
    period: dash.Period
    band: str

    @property
    def params(self) -> dict[str, str]:
        return {**self.period.params, **self.focus.params, "band": self.band}


def _query(scope: Scope, request: HttpRequest) -> Query:
    focus = dash.resolve_focus(scope, request.GET)
    if focus.kind == "staff":
        raise dash.DashboardError(_("热词不按工作人员统计，请选择地区或单位"), "staff")
    return Query(scope, focus, dash.parse_period(request.GET), words.parse_band(request.GET.get("band")))


def _url(name: str, *params: dict[str, str]) -> str:
    merged: dict[str, str] = {}
    for p in params:
        merged.update(p)
    return reverse(f"insight:{name}") + ("?" + urlencode(merged) if merged else "")


def _alerts_in(q: Query):
    alerts = q.scope.filter(SurgeAlert.objects.select_related("region"))
    region = q.focus.region or (q.focus.unit.region if q.focus.kind == "unit" else None)
    if region is not None:
        alerts = alerts.filter(region__path__startswith=region.path)
    return alerts


def _error_page(request: HttpRequest, template: str, e: dash.DashboardError) -> HttpResponse:
    return render(request, template, {"error": e, "params": request.GET, "quick": _quick({}, "")}, status=e.status)


def _quick(keep: dict[str, str], current: str, name: str = "index") -> list[dict]:
    return [
        {"label": label, "url": _url(name, keep, {"period": code}), "current": code == current}
        for code, label in dash.period_choices().items()
    ]


@login_required
@require_GET
def index(request: HttpRequest) -> HttpResponse:
    scope = supervisor_scope(request, str(DENIED))
    if isinstance(scope, HttpResponse):
        return scope
    try:
        q = _query(scope, request)
        hot = words.hot_words(q.focus, q.period, band=q.band, limit=TABLE_WORDS)
    except dash.DashboardError as e:
        return _error_page(request, "insight/index.html", e)
    keep = {**q.focus.params, "band": q.band}
    context = {
        "q": q,
        "words": [{**w.as_dict(), "url": _url("comments", q.params, {"term": w.term})} for w in hot],
        "bands": words.band_labels().items(),
        "quick": _quick(keep, q.period.choice),
        "focus_params": keep,
        "params": request.GET,
        "has_font": cloud.cjk_font_path() is not None,
        "png_url": _url("cloud_png", q.params),
        "data_url": _url("words_json", q.params),
        "alerts": _alerts_in(q).filter(status=SurgeAlert.Status.OPEN)[:10],
        "alerts_url": _url("alerts", q.focus.params),
    }
    return render(request, "insight/index.html", context)


@login_required
@require_GET
def cloud_png(request: HttpRequest) -> HttpResponse:
    scope = supervisor_scope(request, str(DENIED))
    if isinstance(scope, HttpResponse):
        return scope
    try:
        q = _query(scope, request)
    except dash.DashboardError as e:
        return JsonResponse(e.as_dict(), status=e.status)
    png = cloud.cached_png(
        {**q.params, "start": q.period.start.isoformat(), "end": q.period.end.isoformat()},
        lambda: words.hot_words(q.focus, q.period, band=q.band, limit=CLOUD_WORDS),
    )
    if png is None:
        reason = _("服务器未安装中文字体，无法生成词云图片") if cloud.cjk_font_path() is None else _("期间内没有热词")
        return HttpResponse(reason, status=404, content_type="text/plain; charset=utf-8")
    response = HttpResponse(png, content_type="image/png")
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
@require_GET
def words_json(request: HttpRequest) -> JsonResponse:
    scope = supervisor_scope(request, str(DENIED))
    if isinstance(scope, HttpResponse):
        return JsonResponse({"error": str(DENIED), "field": ""}, status=403)
    try:
        q = _query(scope, request)
        hot = words.hot_words(q.focus, q.period, band=q.band, limit=CLOUD_WORDS)
    except dash.DashboardError as e:
        return JsonResponse(e.as_dict(), status=e.status)
    payload = {
        "focus": q.focus.as_dict(),
        "period": {"start": q.period.start.isoformat(), "end": q.period.end.isoformat()},
        "band": q.band,
        "comments_url": _url("comments", q.params),
        "words": [w.as_dict() for w in hot],
    }
    return JsonResponse(payload, json_dumps_params={"ensure_ascii": False})


def _case_links(docs: list) -> dict[int, int]:
    """CommentDoc id → case id: a complaint is its own case; a 差评 has one when a case was opened for it."""
    from haochaping.cases.models import Case

    links = {d.pk: d.source_id for d in docs if d.source == Source.COMPLAINT}
    rating_ids = {d.source_id: d.pk for d in docs if d.source == Source.RATING and d.is_bad}
    for rating_id, case_id in Case.objects.filter(rating_id__in=rating_ids).values_list("rating_id", "id"):
        links[rating_ids[rating_id]] = case_id
    return links


@login_required
@require_GET
def comments(request: HttpRequest) -> HttpResponse:
    scope = supervisor_scope(request, str(DENIED))
    if isinstance(scope, HttpResponse):
        return scope
    try:
        q = _query(scope, request)
        term = words.parse_term(request.GET.get("term"))
        docs = scope.filter(words.comments_for_term(q.focus, q.period, term, q.band))
    except dash.DashboardError as e:
        return _error_page(request, "insight/comments.html", e)
    page = Paginator(docs, PAGE_SIZE).get_page(request.GET.get("page"))
    links = _case_links(list(page.object_list))
    rows = [{"doc": d, "case": links.get(d.pk)} for d in page.object_list]
    base = {**q.params, "term": term}
    return render(request, "insight/comments.html", {
        "q": q, "term": term, "page": page, "rows": rows, "back": _url("index", q.params),
        "prev": _url("comments", base, {"page": str(page.number - 1)}) if page.has_previous() else "",
        "next": _url("comments", base, {"page": str(page.number + 1)}) if page.has_next() else "",
    })  # fmt: skip


@login_required
@require_GET
def alerts(request: HttpRequest) -> HttpResponse:
    scope = supervisor_scope(request, str(DENIED))
    if isinstance(scope, HttpResponse):
        return scope
    status = request.GET.get("status", SurgeAlert.Status.OPEN)
    try:
        if status not in ("", *SurgeAlert.Status.values):
            raise dash.DashboardError(_("未知的状态：%(value)s") % {"value": status[:20]}, "status")
        focus = dash.resolve_focus(scope, request.GET)
    except dash.DashboardError as e:
        return render(request, "insight/alerts.html", {"error": e}, status=e.status)
    qs = _alerts_in(Query(scope, focus, dash.parse_period({}), "bad"))
    if status:
        qs = qs.filter(status=status)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "insight/alerts.html", {
        "scope": scope, "focus": focus, "page": page, "status": status, "statuses": SurgeAlert.Status.choices,
        "focus_params": focus.params,
    })  # fmt: skip


class AcknowledgeForm(forms.Form):
    note = forms.CharField(label=gettext_lazy("处理说明"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


@login_required
@require_http_methods(["GET", "POST"])
def alert_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = supervisor_scope(request, str(DENIED))
    if isinstance(scope, HttpResponse):
        return scope
    alert = (
        scope.filter(SurgeAlert.objects.select_related("region", "problem", "acknowledged_by")).filter(pk=pk).first()
    )
    if alert is None:
        raise Http404(_("预警不存在或不在您的数据范围内"))
    if request.method == "POST" and scope.read_only:
        message = _("当前角色为只读，不能处理预警")
        return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)
    form = AcknowledgeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            surge.alert_acknowledge(alert=alert, user=request.user, scope=scope, note=form.cleaned_data["note"])
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, _("已记录为已知悉"))
            return redirect("insight:alert_detail", pk=alert.pk)
    comments_url = ""
    if alert.subject_kind == SurgeAlert.Subject.TERM:
        window = {"start": alert.window_start.isoformat(), "end": alert.window_end.isoformat()}
        comments_url = _url("comments", window, {"region": str(alert.region_id), "band": "bad", "term": alert.subject})
    weeks = alert.evidence.get("weeks", [])
    return render(request, "insight/alert_detail.html", {
        "scope": scope, "alert": alert, "form": form, "weeks": weeks, "can_ack": not scope.read_only,
        "comments_url": comments_url, "peak": max([w.get("n", 0) for w in weeks] or [1]) or 1,
    }, status=400 if request.method == "POST" else 200)  # fmt: skip
