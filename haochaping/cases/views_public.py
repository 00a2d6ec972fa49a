"""The public's side of the case module: the complaint form (投诉) and the rater's feedback page (thin views).

Neither needs a login. Both are rate-limited per client address; the feedback page is reached only through the
single-use link sent by SMS when an outcome is recorded, and shows the outcome, never internal notes or staff.
"""

from __future__ import annotations

from itertools import groupby

from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases import lookup, opening, services
from haochaping.cases.lookup import lookup_for_number
from haochaping.cases.models import Case, FeedbackGrade, State
from haochaping.directory.models import Organisation, Region
from haochaping.lib.abuse import captcha_error, honeypot_rejection, limit_public_form
from haochaping.lib.errors import DomainError, NotFound
from haochaping.lib.ratelimit import RateLimited, client_ip, hit
from haochaping.ratings.codes import Channel

COMPLAINT_DONE_KEY = "cases_complaint_done"


def _per_hour(name: str, default: int) -> int:
    return int(getattr(settings, name, default))


# --- complaint form --------------------------------------------------------------------------------------


def unit_choices() -> list:
    """Active units grouped by region (optgroups), so a complainant finds theirs under their county."""
    units = Organisation.objects.filter(is_active=True).select_related("region").order_by("region__code", "name")
    choices: list = [("", gettext_lazy("（请选择，填写办件编号时可不选）"))]
    for region, group in groupby(units, key=lambda u: u.region):
        choices.append((region.name, [(str(u.pk), u.name) for u in group]))
    return choices


def region_choices() -> list:
    """Regions whose management agency can receive a complaint that names no unit (it is then routed from there)."""
    regions = (
        Region.objects.filter(units__kind=Organisation.Kind.AGENCY, units__is_active=True).distinct().order_by("path")
    )
    return [("", gettext_lazy("（不清楚被投诉单位时选择）"))] + [(str(r.pk), r.name) for r in regions]


class ComplaintForm(forms.Form):
    """Field names follow opening.ComplaintIn, so a DomainError's field lands next to its input."""

    unit_id = forms.TypedChoiceField(label=gettext_lazy("被投诉单位"), coerce=int, required=False, empty_value=None)
    case_no = forms.CharField(
        label=gettext_lazy("办件编号（可选）"),
        max_length=50,
        required=False,
        help_text=gettext_lazy("填写办件编号时，投诉将转给办理该事项的单位"),
    )
    region_id = forms.TypedChoiceField(
        label=gettext_lazy("所在地区（可选）"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=gettext_lazy("不清楚被投诉单位时，选择所在地区，由当地政务服务管理机构分派"),
    )
    content = forms.CharField(
        label=gettext_lazy("投诉内容"),
        max_length=2000,
        widget=forms.Textarea({"rows": 6, "maxlength": 2000}),
        error_messages={"required": gettext_lazy("请填写投诉内容")},
    )
    contact_name = forms.CharField(
        label=gettext_lazy("姓名（可选）"),
        max_length=50,
        required=False,
        widget=forms.TextInput({"autocomplete": "name"}),
    )
    contact_phone = forms.CharField(
        label=gettext_lazy("手机号码"),
        max_length=20,
        help_text=gettext_lazy("用于短信告知处理结果，加密保存，不对外公开"),
        error_messages={"required": gettext_lazy("请填写11位手机号码，以便告知处理结果")},
        widget=forms.TextInput({"type": "tel", "inputmode": "numeric", "autocomplete": "tel"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit_id"].choices = unit_choices()
        self.fields["region_id"].choices = region_choices()

    def clean(self):
        data = super().clean()
        if not self.errors and not (data.get("unit_id") or data.get("case_no", "").strip() or data.get("region_id")):
            self.add_error("unit_id", _("请选择被投诉单位，或填写办件编号，或选择所在地区"))
        return data

    def add_domain_error(self, exc: DomainError) -> None:
        for error in exc.errors or [{"field": None, "message": exc.message}]:
            name = error.get("field")
            self.add_error(name if name in self.fields else None, error["message"])


def _mark_errors(form: forms.Form) -> forms.Form:
    """Tie each field's errors to its input for screen readers (aria-invalid, aria-describedby)."""
    for name in form.errors if form.is_bound else ():
        if name in form.fields:
            attrs = form.fields[name].widget.attrs
            attrs.update({"aria-invalid": "true", "aria-describedby": f"{form[name].auto_id}_errors"})
    return form


def _too_many(request: HttpRequest, template: str, exc: RateLimited, context: dict | None = None) -> HttpResponse:
    response = render(request, template, {"blocked": exc.message, **(context or {})}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def complaint(request: HttpRequest) -> HttpResponse:
    if request.method == "GET" and request.GET.get("done"):
        number = request.session.pop(COMPLAINT_DONE_KEY, None)
        if number:
            return render(request, "cases/complaint_done.html", {"number": number, **lookup_for_number(number)})
    if rejected := honeypot_rejection(request, "complaint"):
        return rejected
    form = ComplaintForm(request.POST or None)
    if request.method == "POST":
        try:
            # Every post counts (guessing 办件编号 is a post too); complaints filed count against a tighter limit.
            limit_public_form(
                request, form, bucket="complaint", posts_per_hour=settings.HAOCHAPING_COMPLAINT_POSTS_PER_HOUR,
                filed_per_hour=settings.HAOCHAPING_COMPLAINTS_PER_HOUR,
            )  # fmt: skip
        except RateLimited as exc:
            return _too_many(request, "cases/complaint.html", exc)
        if form.is_valid() and (refused := captcha_error(request)):
            form.add_error(None, refused)
        if form.is_valid():
            data = form.cleaned_data
            try:
                case = opening.complaint_open(
                    opening.ComplaintIn(
                        content=data["content"],
                        contact_phone=data["contact_phone"],
                        contact_name=data["contact_name"],
                        channel=Channel.PC,
                        case_no=data["case_no"].strip(),
                        unit_id=data["unit_id"],
                        region_id=data["region_id"],
                    ),
                    scope=ALL_SCOPE,
                )
            except DomainError as exc:
                form.add_domain_error(exc)
            else:
                # Post/redirect/get: reloading the page must not file the complaint twice.
                request.session[COMPLAINT_DONE_KEY] = case.number
                return redirect(reverse("cases:complaint") + "?done=1")
    status = 422 if form.is_bound else 200
    return render(request, "cases/complaint.html", {"form": _mark_errors(form)}, status=status)


# --- the rater's feedback page ---------------------------------------------------------------------------

FEEDBACK_CHOICES = [
    (FeedbackGrade.SATISFIED, "😀"),
    (FeedbackGrade.BASIC, "🙂"),
    (FeedbackGrade.DISSATISFIED, "🙁"),
]


def _limit_feedback(request: HttpRequest) -> None:
    """Generous for a shared Wi-Fi, fatal for guessing links (a token is 192 random bits anyway)."""
    ip = client_ip(request)
    hit("case-feedback", ip, limit=_per_hour("HAOCHAPING_CASE_FEEDBACK_PER_HOUR", 120), window_seconds=3600)
    if request.method == "POST":
        hit(
            "case-feedback-post",
            ip,
            limit=_per_hour("HAOCHAPING_CASE_FEEDBACK_POSTS_PER_HOUR", 20),
            window_seconds=3600,
        )


def _outcome(case: Case) -> dict:
    """What the rater may see of the handling (the same as the lookup page shows): nothing internal."""
    return lookup.outcome_of(case) or {}


@never_cache
@require_http_methods(["GET", "POST"])
def feedback(request: HttpRequest, token: str) -> HttpResponse:
    if rejected := honeypot_rejection(request, "case feedback"):
        return rejected
    try:
        _limit_feedback(request)
        case = services.case_for_feedback_token(token)
    except RateLimited as exc:
        return _too_many(request, "cases/feedback.html", exc)
    except NotFound as exc:
        return render(request, "cases/feedback.html", {"invalid": exc.message}, status=404)
    context = {
        "case": case,
        "outcome": _outcome(case),
        "choices": [(int(g), g.label, face) for g, face in FEEDBACK_CHOICES],
        "errors": {},
        "chosen": "",
        "comment": "",
    }
    if request.method == "POST":
        chosen = request.POST.get("feedback_grade", "").strip()
        comment = request.POST.get("comment", "").strip()
        context.update(chosen=chosen, comment=comment)
        if chosen not in {str(int(g)) for g in FeedbackGrade}:
            context["errors"]["feedback_grade"] = _("请选择您对处理结果的评价")
        elif len(comment) > 500:
            context["errors"]["comment"] = _("意见不能超过500字")
        elif refused := captcha_error(request):
            context["errors"]["captcha"] = refused
        else:
            try:
                rated = services.case_rate_by_token(token, feedback_grade=int(chosen), comment=comment)
            except NotFound as exc:  # used by a second tab in the meantime
                return render(request, "cases/feedback.html", {"invalid": exc.message}, status=404)
            except DomainError as exc:
                context["errors"][exc.field if exc.field == "comment" else "feedback_grade"] = exc.message
            else:
                reopened = rated.state != State.CLOSED and rated.reopen_count > case.reopen_count
                return render(
                    request,
                    "cases/feedback.html",
                    {"done": True, "case": rated, "grade_label": FeedbackGrade(int(chosen)).label,
                     "reopened": reopened},
                )  # fmt: skip
        return render(request, "cases/feedback.html", context, status=422)
    return render(request, "cases/feedback.html", context)
