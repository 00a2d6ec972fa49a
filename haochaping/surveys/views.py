"""Staff pages of 服务调查 (/surveys/…): list, create, builder, detail with distribution and results, exports.

Thin: access is surveys/access.py, writes surveys/services.py, figures surveys/selectors.py.
"""

from __future__ import annotations

import csv
from dataclasses import asdict
from datetime import date

import segno
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from haochaping.accounts.scope import Scope
from haochaping.directory.models import Organisation, Region
from haochaping.lib.errors import DomainError
from haochaping.surveys import access, selectors, services
from haochaping.surveys.models import Invitation, Question, Survey

PAGE_SIZE = 30
LINKS_KEY = "surveys:links:%s"
REPORT_KEY = "surveys:report:%s"  # the last distribution's report, shown once after the redirect


SURVEY_FIELDS = frozenset({"title", "intro", "region", "unit", "service_item", "closes_on"})
QUESTION_FIELDS = frozenset({"kind", "text", "options", "scale_max"})


def _errors(exc: DomainError, known: frozenset[str] | None = None) -> dict[str, str]:
    """Errors by field; a field the form does not show (or none) goes to "form", above the form."""
    out: dict[str, str] = {}
    for error in exc.errors or [{"field": None, "message": exc.message}]:
        name = error.get("field") or "form"
        out[name if known is None or name in known else "form"] = error["message"]
    return out


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _date(value: str, field: str) -> date | None:
    from haochaping.lib.errors import ValidationFailed

    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(_("日期格式应为 YYYY-MM-DD"), field=field) from None


def _survey_in(data) -> services.SurveyIn:
    return services.SurveyIn(
        title=data.get("title", ""),
        intro=data.get("intro", ""),
        region_id=_int(data.get("region")),
        unit_id=_int(data.get("unit")),
        service_item_code=data.get("service_item", ""),
        closes_on=_date(data.get("closes_on", ""), "closes_on"),
    )


def _form_choices(scope: Scope) -> dict:
    regions = Region.objects.filter(units__kind=Organisation.Kind.AGENCY, units__is_active=True).distinct()
    units = Organisation.objects.filter(is_active=True).exclude(kind=Organisation.Kind.AGENCY)
    if scope.kind == "region":
        regions = regions.filter(path__startswith=scope.region_path)
        units = units.filter(region__path__startswith=scope.region_path)
    return {"regions": regions.order_by("path")[:500], "units": units.select_related("region").order_by(
        "region__path", "name")[:2000]}  # fmt: skip


@login_required
@require_GET
def survey_list(request: HttpRequest) -> HttpResponse:
    scope = access.reader_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    qs = selectors.visible_surveys(scope)
    state = request.GET.get("state", "")
    if state in Survey.State.values:
        qs = qs.filter(state=state)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [(s, selectors.overall(s, scope)) for s in page.object_list]
    return render(request, "surveys/list.html", {
        "page": page, "rows": rows, "state": state, "states": Survey.State.choices,
        "can_manage": access.may_manage(scope), "scope": scope,
    })  # fmt: skip


@login_required
@require_http_methods(["GET", "POST"])
def survey_create(request: HttpRequest) -> HttpResponse:
    scope = access.reader_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    if not access.may_manage(scope):
        return access.forbidden(request, _("只有管理机构管理员和系统管理员可以创建调查。"))
    errors: dict[str, str] = {}
    posted = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            survey = services.survey_create(_survey_in(request.POST), scope=scope, actor=request.user)
        except DomainError as exc:
            errors = _errors(exc, SURVEY_FIELDS)
        else:
            messages.success(request, _("已创建调查，请添加题目。"))
            return redirect("surveys:builder", pk=survey.pk)
    return render(request, "surveys/create.html", {"errors": errors, "posted": posted, **_form_choices(scope)},
                  status=422 if errors else 200)  # fmt: skip


def _question_in(data) -> services.QuestionIn:
    return services.QuestionIn(
        kind=data.get("kind", ""),
        text=data.get("text", ""),
        required=data.get("required") == "on",
        options=services.parse_options(data.get("options", "")),
        scale_max=_int(data.get("scale_max")) or 0,
    )


@login_required
@require_http_methods(["GET", "POST"])
def survey_builder(request: HttpRequest, pk: int) -> HttpResponse:
    scope = access.reader_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    survey = access.readable_survey(scope, pk)
    if not access.may_manage_survey(scope, survey):
        return access.forbidden(request, _("只有本区划的管理机构管理员可以编辑问卷。"))
    errors: dict[str, str] = {}
    target = ""  # which form the errors belong to: "survey", "add" or a question id
    if request.method == "POST":
        action = request.POST.get("action", "")
        target = request.POST.get("question", "") or ("survey" if action == "survey" else "add")
        try:
            _builder_act(survey, action, request, scope)
        except DomainError as exc:
            errors = _errors(exc, SURVEY_FIELDS if target == "survey" else QUESTION_FIELDS)
        else:
            messages.success(request, _("已保存"))
            return redirect("surveys:builder", pk=survey.pk)
    survey.refresh_from_db()
    posted = request.POST if request.method == "POST" else {}
    questions = list(survey.questions.order_by("order", "id"))
    for q in questions:
        q.prefix = f"q{q.pk}"
        mine = target == str(q.pk) and request.POST.get("action") == "update"
        q.form_values = _question_values(posted) if mine else {
            "kind": q.kind, "text": q.text, "options": "\n".join(q.options), "scale_max": q.scale_max,
            "required": q.required}  # fmt: skip
        q.form_errors = errors if mine else {}
    values = {"title": survey.title, "intro": survey.intro, "region": survey.region_id, "unit": survey.unit_id or "",
              "service_item": survey.service_item.implementation_code if survey.service_item else "",
              "closes_on": survey.closes_on.isoformat() if survey.closes_on else ""}  # fmt: skip
    return render(request, "surveys/builder.html", {
        "survey": survey, "questions": questions, "errors": errors, "target": target,
        # errors not shown inside a form: moves and removals, and anything once the questionnaire is frozen
        "top_error": errors.get("form", "") if (request.POST.get("action") not in ("add", "update", "survey")
                                                or survey.state != Survey.State.DRAFT) else "",
        "survey_values": posted if target == "survey" else values,
        "survey_errors": errors if target == "survey" else {},
        "new_values": _question_values(posted) if target == "add" else {"kind": "single", "required": True,
                                                                        "scale_max": 5},
        "new_errors": errors if target == "add" else {},
        "kinds": Question.Kind.choices, "scales": services.SCALE_CHOICES, "draft": survey.state == Survey.State.DRAFT,
        **_form_choices(scope),
    }, status=422 if errors else 200)  # fmt: skip


def _question_values(data) -> dict:
    return {"kind": data.get("kind", ""), "text": data.get("text", ""), "options": data.get("options", ""),
            "scale_max": data.get("scale_max", ""), "required": data.get("required") == "on"}  # fmt: skip


def _builder_act(survey: Survey, action: str, request: HttpRequest, scope: Scope) -> None:
    from haochaping.lib.errors import NotFound, ValidationFailed

    data = request.POST
    if action == "survey":
        services.survey_update(survey, _survey_in(data), scope=scope)
        return
    if action == "add":
        services.question_add(survey, _question_in(data))
        return
    question = survey.questions.filter(pk=_int(data.get("question"))).first()
    if question is None:
        raise NotFound(_("题目不存在"), field="question")
    if action == "update":
        services.question_update(question, _question_in(data))
    elif action in ("up", "down"):
        services.question_move(question, up=action == "up")
    elif action == "remove":
        services.question_remove(question)
    else:
        raise ValidationFailed(_("未知的操作"), field="action")


@login_required
@require_http_methods(["GET", "POST"])
def survey_detail(request: HttpRequest, pk: int) -> HttpResponse:
    scope = access.reader_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    survey = access.readable_survey(scope, pk)
    can_manage = access.may_manage_survey(scope, survey)
    errors: dict[str, str] = {}
    report = None
    posted = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        if not can_manage:
            return access.forbidden(request, _("只有本区划的管理机构管理员可以发布、结束或发放调查。"))
        action = request.POST.get("action", "")
        try:
            if action == "open":
                services.survey_open(survey)
                messages.success(request, _("问卷已发布，可以发放邀请。"))
            elif action == "close":
                services.survey_close(survey)
                messages.success(request, _("调查已结束。"))
            elif action == "distribute":
                _distribute(request, survey)
            elif action == "forget_links":
                request.session.pop(LINKS_KEY % survey.pk, None)
            else:
                errors["action"] = _("未知的操作")
        except DomainError as exc:
            errors = _errors(exc)
        if not errors:
            # Post/redirect/get: a reload must not sample and send again.
            return redirect("surveys:detail", pk=survey.pk)
        survey.refresh_from_db()
    else:
        report = request.session.pop(REPORT_KEY % survey.pk, None)
    return render(request, "surveys/detail.html", {
        "survey": survey, "can_manage": can_manage, "errors": errors, "posted": posted, "report": report,
        "overall": selectors.overall(survey, scope), "channels": selectors.by_channel(survey, scope),
        "units": selectors.by_unit(survey, scope), "items": selectors.by_item(survey, scope),
        "questions": selectors.question_results(survey, scope), "channel_choices": Invitation.Channel.choices,
        "accepting": services.is_accepting(survey), "links_ready": bool(request.session.get(LINKS_KEY % survey.pk)),
        "max_sample": services.max_sample(), "scope": scope,
    }, status=422 if errors else 200)  # fmt: skip


def _distribute(request: HttpRequest, survey: Survey) -> services.SampleReport:
    from haochaping.lib.errors import ValidationFailed

    size, days = _int(request.POST.get("size")), _int(request.POST.get("days") or 30)
    if size is None:
        raise ValidationFailed(_("请填写样本量"), field="size")
    if days is None:
        raise ValidationFailed(_("请填写办结时间范围（天）"), field="days")
    report = services.invitations_create(
        survey, channel=request.POST.get("channel", ""), size=size, days=days, actor=request.user
    )
    if report.links:
        # Only hashes are stored: the links live in this session until downloaded or forgotten.
        request.session[LINKS_KEY % survey.pk] = [list(row) for row in report.links]
    summary = {k: v for k, v in asdict(report).items() if k != "links"}
    request.session[REPORT_KEY % survey.pk] = {**summary, "short": report.short}
    return report


def _links(request: HttpRequest, survey_pk: int) -> list[list[str]]:
    return request.session.get(LINKS_KEY % survey_pk) or []


def _handed_out_links(request: HttpRequest, pk: int) -> tuple[Survey, list[list[str]]] | HttpResponse:
    """The survey and the links of its last link/QR distribution kept in this session, for a manager of the survey;
    else the refusal (403/404) or 410 when none are kept."""
    scope = access.reader_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    survey = access.readable_survey(scope, pk)
    if not access.may_manage_survey(scope, survey):
        return access.forbidden(request, _("只有本区划的管理机构管理员可以下载问卷链接。"))
    rows = _links(request, survey.pk)
    if not rows:
        return _gone(request)
    return survey, rows


def _gone(request: HttpRequest) -> HttpResponse:
    message = _("问卷链接只在发放后提供一次下载（系统只保存链接的摘要，无法再次生成）。如需更多链接，请再次发放。")
    return render(request, "web/message.html", {"title": _("没有可下载的链接"), "message": message}, status=410)


@login_required
@never_cache
@require_GET
def links_csv(request: HttpRequest, pk: int) -> HttpResponse:
    found = _handed_out_links(request, pk)
    if isinstance(found, HttpResponse):
        return found
    survey, rows = found
    response = _csv_response(f"survey-{survey.pk}-links.csv")
    writer = csv.writer(response)
    writer.writerow([_("序号"), _("问卷链接"), _("办件编号"), _("办理单位"), _("事项")])
    for n, (_token, url, case_no, unit, item) in enumerate(rows, start=1):
        writer.writerow([n, url, case_no, unit, item])
    return response


@login_required
@never_cache
@require_GET
def qr_sheet(request: HttpRequest, pk: int) -> HttpResponse:
    found = _handed_out_links(request, pk)
    if isinstance(found, HttpResponse):
        return found
    survey, rows = found
    cards = []
    for _token, url, case_no, unit, item in rows:
        svg = segno.make(url, error="m").svg_inline(scale=3, border=2, omitsize=True, title=survey.title)
        cards.append({"svg": mark_safe(svg), "url": url, "case_no": case_no, "unit": unit, "item": item})  # noqa: S308
    return render(request, "surveys/qr_sheet.html", {"survey": survey, "cards": cards})


def _csv_response(filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")  # Excel opens UTF-8 CSV with a BOM
    return response


@login_required
@require_GET
def results_csv(request: HttpRequest, pk: int) -> HttpResponse:
    scope = access.reader_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    survey = access.readable_survey(scope, pk)
    response = _csv_response(f"survey-{survey.pk}-results.csv")
    w = csv.writer(response)
    w.writerow([_("部分"), _("项目"), _("邀请数"), _("打开数"), _("答卷数"), _("回收率%"), _("满意度得分")])
    total = selectors.overall(survey, scope)
    w.writerow([_("合计"), total.label, total.invited, total.opened, total.responded, total.rate, total.score])
    for section, rows in ((_("发放方式"), selectors.by_channel(survey, scope)),
                          (_("办理单位"), selectors.by_unit(survey, scope)),
                          (_("事项"), selectors.by_item(survey, scope))):  # fmt: skip
        for r in rows:
            w.writerow([section, r.label, r.invited, r.opened, r.responded, r.rate, r.score])
    w.writerow([])
    w.writerow([_("题号"), _("题目"), _("题型"), _("选项/分值"), _("人数"), _("占比%"), _("作答人数")])
    for n, result in enumerate(selectors.question_results(survey, scope), start=1):
        q = result.question
        for label, count, share in result.options or result.scale:
            w.writerow([n, q.text, q.get_kind_display(), label, count, share, result.answered])
        if q.kind == Question.Kind.SCALE:
            w.writerow([n, q.text, q.get_kind_display(), _("平均分"), result.mean, "", result.answered])
        if q.kind == Question.Kind.TEXT:
            w.writerow([n, q.text, q.get_kind_display(), "", "", "", result.answered])
    return response


@login_required
@require_GET
def answers_csv(request: HttpRequest, pk: int) -> HttpResponse:
    scope = access.reader_scope(request)
    if isinstance(scope, HttpResponse):
        return scope
    survey = access.readable_survey(scope, pk)
    questions = list(survey.questions.order_by("order", "id"))
    response = _csv_response(f"survey-{survey.pk}-answers.csv")
    w = csv.writer(response)
    w.writerow([_("答卷编号"), _("提交时间"), _("发放方式"), _("办理单位"), _("事项"), _("满意度得分")]
               + [f"{n}. {q.text}" for n, q in enumerate(questions, start=1)])  # fmt: skip
    tz = timezone.get_current_timezone()
    for resp, inv, shown in selectors.answer_rows(survey, scope):
        w.writerow([resp.pk, timezone.localtime(resp.submitted_at, tz).strftime("%Y-%m-%d %H:%M"),
                    inv.get_channel_display(), inv.unit.name if inv.unit else "",
                    inv.service_item.name if inv.service_item else "", "" if resp.score is None else resp.score]
                   + [_csv_safe(shown.get(q.pk, "")) for q in questions])  # fmt: skip
    return response


def _csv_safe(value: str) -> str:
    """No formula injection when the CSV is opened in a spreadsheet."""
    return "'" + value if value[:1] in ("=", "+", "-", "@") else value
