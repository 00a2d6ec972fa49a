"""Supervision pages of the integrity signals: the list in the user's scope and one signal with its evidence."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from haochaping.integrity.models import Rule, Signal
from haochaping.integrity.selectors import evidence_ratings
from haochaping.integrity.services import signal_review
from haochaping.lib.errors import DomainError
from haochaping.web.access import supervisor_scope

DENIED = gettext_lazy("数据真实性监测仅对管理、督查和审计人员开放")
PAGE_SIZE = 50


class ReviewForm(forms.Form):
    status = forms.ChoiceField(
        label=gettext_lazy("核查结果"),
        choices=[
            (Signal.Status.CONFIRMED, Signal.Status.CONFIRMED.label),
            (Signal.Status.DISMISSED, Signal.Status.DISMISSED.label),
        ],  # fmt: skip
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=gettext_lazy("核查说明"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    scope = supervisor_scope(request, str(DENIED))
    if isinstance(scope, HttpResponse):
        return scope
    signals = scope.filter(Signal.objects.all())
    counts = _counts(signals)
    rule = request.GET.get("rule", "")
    status = request.GET.get("status", Signal.Status.OPEN)
    if rule in Rule.values:
        signals = signals.filter(rule=rule)
    if status in Signal.Status.values:
        signals = signals.filter(status=status)
    page = Paginator(signals.select_related("unit", "region"), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "integrity/index.html", {
        "scope": scope, "page": page, "counts": counts, "rules": Rule.choices, "statuses": Signal.Status.choices,
        "rule": rule, "status": status,
    })  # fmt: skip


def _counts(signals) -> list[dict]:
    """Per rule: signals open, confirmed, dismissed (one grouped query)."""
    by_rule: dict[str, dict[str, int]] = {}
    for row in signals.values("rule", "status").annotate(n=Count("id")):
        by_rule.setdefault(row["rule"], {})[row["status"]] = row["n"]
    return [
        {"rule": value, "label": label, **{s: by_rule.get(value, {}).get(s, 0) for s in Signal.Status.values}}
        for value, label in Rule.choices
    ]


@login_required
@require_http_methods(["GET", "POST"])
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = supervisor_scope(request, str(DENIED))
    if isinstance(scope, HttpResponse):
        return scope
    signal = scope.filter(Signal.objects.select_related("unit", "region", "reviewed_by")).filter(pk=pk).first()
    if signal is None:
        raise Http404(_("信号不存在或不在您的数据范围内"))
    if request.method == "POST" and scope.read_only:
        message = _("当前角色为只读，不能记录核查结果")
        return render(request, "web/message.html", {"title": _("无权限"), "message": message}, status=403)
    form = ReviewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            signal_review(signal=signal, user=request.user, scope=scope, **form.cleaned_data)
        except DomainError as exc:
            form.add_error(exc.field if exc.field in form.fields else None, str(exc))
        else:
            messages.success(request, _("已记录核查结果"))
            return redirect("integrity:detail", pk=signal.pk)
    return render(request, "integrity/detail.html", {
        "scope": scope, "signal": signal, "form": form, "ratings": evidence_ratings(signal, scope),
        "prompts": signal.evidence.get("prompts", []), "reviews": signal.reviews.select_related("reviewed_by"),
        "can_review": not scope.read_only,
    }, status=400 if request.method == "POST" else 200)  # fmt: skip
