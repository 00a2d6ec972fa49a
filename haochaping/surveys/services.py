"""服务调查 writes: the questionnaire builder, opening and closing, sampling and inviting, and the respondent's answers.

Every function validates its input and raises haochaping.lib.errors (ValidationFailed naming the field, Conflict for
a survey in the wrong state, NotFound/Gone for a token). Who may call the staff functions is decided by the views
(surveys/access.py); the respondent's token is its own credential.
"""

from __future__ import annotations

import hashlib
import math
import random
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from haochaping.accounts.scope import Scope
from haochaping.directory.models import Organisation, Region, ServiceItem
from haochaping.insight.text import mask, normalise
from haochaping.lib import protect
from haochaping.lib.errors import Conflict, Gone, NotFound, ValidationFailed
from haochaping.ratings.codes import CaseStatus
from haochaping.ratings.models import ServiceCase
from haochaping.surveys.models import Answer, Invitation, Question, Response, Survey

TITLE_MAX = 100
INTRO_MAX = 2000
QUESTION_TEXT_MAX = 300
OPTION_MAX = 100
OPTIONS_MIN, OPTIONS_MAX = 2, 20
SCALE_CHOICES = (5, 10)
QUESTIONS_MAX = 50
TEXT_ANSWER_MAX = 1000
DAYS_MAX = 365


def max_sample() -> int:
    """Most invitations one distribution may create (HAOCHAPING_SURVEY_MAX_SAMPLE, default 5,000)."""
    return int(getattr(settings, "HAOCHAPING_SURVEY_MAX_SAMPLE", 5000))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def survey_url(token: str) -> str:
    return settings.SITE_URL + reverse("survey_public:respond", args=[token])


def _require_draft(survey: Survey) -> None:
    if survey.state != Survey.State.DRAFT:
        raise Conflict("问卷已发布，题目和设置不能再修改", field="state")


# --- the survey -------------------------------------------------------------------------------------------------


@dataclass
class SurveyIn:
    title: str
    intro: str = ""
    region_id: int | None = None
    unit_id: int | None = None
    service_item_id: int | None = None
    service_item_code: str = ""  # 事项实施编码, instead of the id (the builder's form)
    closes_on: date | None = None


def _clean_survey(data: SurveyIn, scope: Scope) -> dict:
    title = (data.title or "").strip()
    if not title:
        raise ValidationFailed("请填写问卷标题", field="title")
    if len(title) > TITLE_MAX:
        raise ValidationFailed(f"问卷标题不能超过{TITLE_MAX}字", field="title")
    intro = (data.intro or "").strip()
    if len(intro) > INTRO_MAX:
        raise ValidationFailed(f"问卷说明不能超过{INTRO_MAX}字", field="intro")
    region_id = data.region_id or scope.region_id
    region = Region.objects.filter(pk=region_id).first() if region_id else None
    if region is None or not scope.allows_region_path(region.path):
        raise ValidationFailed("请选择您管辖范围内的调查区划", field="region")
    unit = None
    if data.unit_id:
        unit = Organisation.objects.filter(pk=data.unit_id, region__path__startswith=region.path).first()
        if unit is None:
            raise ValidationFailed("限定单位须在调查区划内", field="unit")
    item = None
    code = (data.service_item_code or "").strip()
    if data.service_item_id or code:
        items = ServiceItem.objects.filter(region__path__startswith=region.path)
        item = (items.filter(pk=data.service_item_id) if data.service_item_id else items.filter(
            implementation_code=code)).first()  # fmt: skip
        if item is None:
            raise ValidationFailed("限定事项须在调查区划内", field="service_item")
        if unit is not None and item.unit_id != unit.pk:
            raise ValidationFailed("限定事项须由限定单位办理", field="service_item")
    if data.closes_on is not None and data.closes_on < timezone.localdate():
        raise ValidationFailed("截止日期不能早于今天", field="closes_on")
    return {"title": title, "intro": intro, "region": region, "unit": unit, "service_item": item,
            "closes_on": data.closes_on}  # fmt: skip


def survey_create(data: SurveyIn, *, scope: Scope, actor) -> Survey:
    """A new draft survey in the actor's region (or a region below it)."""
    scope.require_write()
    values = _clean_survey(data, scope)
    return Survey.objects.create(created_by=actor, **values)


def survey_update(survey: Survey, data: SurveyIn, *, scope: Scope) -> Survey:
    scope.require_write()
    _require_draft(survey)
    for name, value in _clean_survey(data, scope).items():
        setattr(survey, name, value)
    survey.save()
    return survey


def survey_open(survey: Survey, *, now: datetime | None = None) -> Survey:
    """发布: the questionnaire is frozen from now on; invitations can be sent."""
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        _require_draft(survey)
        if not survey.questions.exists():
            raise ValidationFailed("问卷至少需要一道题目才能发布", field="questions")
        survey.state, survey.opened_at = Survey.State.OPEN, now or timezone.now()
        survey.save(update_fields=["state", "opened_at"])
    return survey


def survey_close(survey: Survey, *, now: datetime | None = None) -> Survey:
    """结束: no more invitations or answers."""
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        if survey.state != Survey.State.OPEN:
            raise Conflict("只能结束进行中的调查", field="state")
        survey.state, survey.closed_at = Survey.State.CLOSED, now or timezone.now()
        survey.save(update_fields=["state", "closed_at"])
    return survey


def is_accepting(survey: Survey, today: date | None = None) -> bool:
    """Open, and not past its closing day."""
    if survey.state != Survey.State.OPEN:
        return False
    return survey.closes_on is None or survey.closes_on >= (today or timezone.localdate())


# --- questions --------------------------------------------------------------------------------------------------


@dataclass
class QuestionIn:
    kind: str
    text: str
    required: bool = True
    options: list[str] = field(default_factory=list)
    scale_max: int = 5


def parse_options(text: str) -> list[str]:
    """Options from a textarea, one per line; blank lines dropped."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _clean_question(data: QuestionIn) -> dict:
    if data.kind not in Question.Kind.values:
        raise ValidationFailed("请选择题型", field="kind")
    text = (data.text or "").strip()
    if not text:
        raise ValidationFailed("请填写题目", field="text")
    if len(text) > QUESTION_TEXT_MAX:
        raise ValidationFailed(f"题目不能超过{QUESTION_TEXT_MAX}字", field="text")
    options: list[str] = []
    scale_max = 5
    if data.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        options = [str(o).strip() for o in data.options if str(o).strip()]
        if not OPTIONS_MIN <= len(options) <= OPTIONS_MAX:
            raise ValidationFailed(f"选择题须有{OPTIONS_MIN}至{OPTIONS_MAX}个选项", field="options")
        if any(len(o) > OPTION_MAX for o in options):
            raise ValidationFailed(f"每个选项不能超过{OPTION_MAX}字", field="options")
        if len(set(options)) != len(options):
            raise ValidationFailed("选项不能重复", field="options")
    elif data.kind == Question.Kind.SCALE:
        if data.scale_max not in SCALE_CHOICES:
            raise ValidationFailed("量表最高分须为5或10", field="scale_max")
        scale_max = data.scale_max
    return {"kind": data.kind, "text": text, "required": bool(data.required), "options": options,
            "scale_max": scale_max}  # fmt: skip


def question_add(survey: Survey, data: QuestionIn) -> Question:
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=survey.pk)
        _require_draft(survey)
        values = _clean_question(data)
        if survey.questions.count() >= QUESTIONS_MAX:
            raise ValidationFailed(f"一份问卷最多{QUESTIONS_MAX}道题", field="questions")
        last = survey.questions.aggregate(m=Max("order"))["m"]
        return Question.objects.create(survey=survey, order=(last or 0) + 1, **values)


def question_update(question: Question, data: QuestionIn) -> Question:
    with transaction.atomic():
        _require_draft(Survey.objects.select_for_update().get(pk=question.survey_id))
        for name, value in _clean_question(data).items():
            setattr(question, name, value)
        question.save()
    return question


def question_move(question: Question, *, up: bool) -> None:
    """Swap the question with its neighbour above (up) or below; the orders are renumbered 1…n."""
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=question.survey_id)
        _require_draft(survey)
        questions = list(survey.questions.order_by("order", "id"))
        i = next(n for n, q in enumerate(questions) if q.pk == question.pk)
        j = i - 1 if up else i + 1
        if 0 <= j < len(questions):
            questions[i], questions[j] = questions[j], questions[i]
        for n, q in enumerate(questions, start=1):
            if q.order != n:
                q.order = n
                q.save(update_fields=["order"])


def question_remove(question: Question) -> None:
    with transaction.atomic():
        survey = Survey.objects.select_for_update().get(pk=question.survey_id)
        _require_draft(survey)
        question.delete()


# --- distribution -----------------------------------------------------------------------------------------------


@dataclass
class SampleReport:
    """What one distribution did: the recent 办件 found, why some were left out, and what was sent."""

    channel: str
    requested: int
    recent: int = 0  # completed 办件 in the period and area
    no_phone: int = 0  # without a phone on file (SMS only)
    already_invited: int = 0  # the 办件 or its phone already invited in this survey
    sampled: int = 0
    sent: int = 0
    failed: int = 0
    # link / QR: the tokens, shown once: [(token, url, case_no, unit, item)]
    links: list[tuple[str, str, str, str, str]] = field(default_factory=list)

    @property
    def short(self) -> int:
        return max(0, self.requested - self.sampled)


def recent_cases(survey: Survey, *, days: int, now: datetime):
    """Completed 办件 of the survey's area (region, and unit / 事项 where set) completed within the last ``days``."""
    qs = ServiceCase.objects.filter(
        status=CaseStatus.COMPLETED,
        completed_at__gte=now - timedelta(days=days),
        completed_at__lte=now,
        region__path__startswith=survey.region.path,
    )
    if survey.unit_id:
        qs = qs.filter(unit_id=survey.unit_id)
    if survey.service_item_id:
        qs = qs.filter(service_item_id=survey.service_item_id)
    return qs


def invitations_create(
    survey: Survey,
    *,
    channel: str,
    size: int,
    days: int = 30,
    seed: int | None = None,
    actor=None,
    now: datetime | None = None,
) -> SampleReport:
    """Sample ``size`` recent applicants (completed 办件) at random and invite each once.

    SMS needs a phone on file; one invitation per 办件 and per phone in a survey. Link / QR invitations return
    their tokens in the report (only the hashes are stored: hand them over now).
    """
    now = now or timezone.now()
    if channel not in Invitation.Channel.values:
        raise ValidationFailed("请选择发放方式", field="channel")
    cap = max_sample()
    if not isinstance(size, int) or size < 1:
        raise ValidationFailed("样本量须为正整数", field="size")
    if size > cap:
        raise ValidationFailed(f"一次最多发放{cap}份邀请，请分批发放", field="size")
    if not isinstance(days, int) or not 1 <= days <= DAYS_MAX:
        raise ValidationFailed(f"办结时间范围须为1至{DAYS_MAX}天", field="days")
    survey = Survey.objects.select_related("region", "unit", "service_item").get(pk=survey.pk)
    if not is_accepting(survey, timezone.localdate(now)):
        raise Conflict("只有进行中的调查可以发放邀请", field="state")
    report = SampleReport(channel=channel, requested=size)
    invited_cases = set(survey.invitations.exclude(service_case=None).values_list("service_case_id", flat=True))
    invited_phones = set(survey.invitations.exclude(phone_hash="").values_list("phone_hash", flat=True))
    rows = list(recent_cases(survey, days=days, now=now).values_list("pk", "applicant_phone_hash").order_by("pk"))
    report.recent = len(rows)
    rng = random.Random(seed)
    rng.shuffle(rows)
    chosen: list[int] = []
    for pk, phone_hash in rows:
        if pk in invited_cases or (phone_hash and phone_hash in invited_phones):
            report.already_invited += 1
            continue
        if channel == Invitation.Channel.SMS and not phone_hash:
            report.no_phone += 1
            continue
        if len(chosen) < size:
            chosen.append(pk)
            if phone_hash:
                invited_phones.add(phone_hash)
    cases = ServiceCase.objects.select_related("service_item").in_bulk(chosen)
    minutes = estimated_minutes(survey)
    for pk in chosen:
        case = cases[pk]
        phone = ""
        if channel == Invitation.Channel.SMS:
            from haochaping.messaging.services import normalise_phone

            phone = normalise_phone(protect.decrypt(case.applicant_phone_enc) or "")
            if not phone:
                report.no_phone += 1  # undecryptable (key rotated away): nothing to send to
                continue
        token = secrets.token_urlsafe(16)
        try:
            with transaction.atomic():
                invitation = Invitation.objects.create(
                    survey=survey, channel=channel, token_hash=token_hash(token), service_case=case,
                    region_id=case.region_id, unit_id=case.unit_id, service_item_id=case.service_item_id,
                    phone_hash=case.applicant_phone_hash or "", created_at=now,
                )  # fmt: skip
        except IntegrityError:  # a concurrent distribution took this 办件
            report.already_invited += 1
            continue
        report.sampled += 1
        url = survey_url(token)
        if channel == Invitation.Channel.SMS:
            message = _send_sms(survey, case, phone, token, url, minutes)
            Invitation.objects.filter(pk=invitation.pk).update(sms=message)
            if message.status == message.Status.SENT:
                report.sent += 1
            else:
                report.failed += 1
        else:
            report.links.append((token, url, case.case_no, case.unit_id, case.service_item.name))
    if report.links:
        names = dict(Organisation.objects.filter(pk__in={row[3] for row in report.links}).values_list("pk", "name"))
        report.links = [(t, u, no, names.get(unit, ""), item) for t, u, no, unit, item in report.links]
    return report


def estimated_minutes(survey: Survey) -> int:
    """About 20 seconds a question, text questions a minute; at least one minute."""
    seconds = sum(60 if q.kind == Question.Kind.TEXT else 20 for q in survey.questions.all())
    return max(1, math.ceil(seconds / 60))


def invitation_text(survey: Survey, url: str, minutes: int) -> str:
    who = survey.unit.name if survey.unit_id else survey.region.name
    return f"{settings.HAOCHAPING_SMS_SIGNATURE}{who}邀请您参加{survey.title}，约{minutes}分钟：{url}"


def _send_sms(survey: Survey, case: ServiceCase, phone: str, token: str, url: str, minutes: int):
    from haochaping.messaging.gateway import sms_send
    from haochaping.messaging.models import SmsMessage

    text = invitation_text(survey, url, minutes)
    # The stored copy has the link's token redacted: nobody reading the log can answer in the applicant's place.
    return sms_send(phone=phone, text=text, kind=SmsMessage.Kind.SURVEY, stored_text=text.replace(token, "…"),
                    service_case=case)  # fmt: skip


# --- the respondent ---------------------------------------------------------------------------------------------


def invitation_for_token(token: str) -> Invitation:
    """The invitation of a link; NotFound for an unknown token, Gone when the survey no longer takes answers."""
    invitation = (
        Invitation.objects.select_related("survey__region", "survey__unit", "unit", "service_item")
        .filter(token_hash=token_hash(token or ""))
        .first()
    )
    if invitation is None:
        raise NotFound("问卷链接无效")
    if not is_accepting(invitation.survey):
        raise Gone("本次调查已结束")
    return invitation


def invitation_mark_opened(invitation: Invitation, *, now: datetime | None = None) -> None:
    """Record the first opening of the link (only the first)."""
    if invitation.opened_at is None:
        now = now or timezone.now()
        Invitation.objects.filter(pk=invitation.pk, opened_at=None).update(opened_at=now)
        invitation.opened_at = now


def _clean_answer(question: Question, values: list[str]) -> dict | None:
    """One question's answer from the posted values, or None when left blank (ValidationFailed if required)."""
    name = f"q{question.pk}"
    values = [v.strip() for v in values if v and v.strip()]
    if not values:
        if question.required:
            raise ValidationFailed("此题为必答题", field=name)
        return None
    if question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
        if question.kind == Question.Kind.SINGLE and len(values) > 1:
            raise ValidationFailed("此题只能选一项", field=name)
        try:
            choices = sorted({int(v) for v in values})
        except ValueError:
            raise ValidationFailed("请选择列出的选项", field=name) from None
        if any(not 0 <= c < len(question.options) for c in choices):
            raise ValidationFailed("请选择列出的选项", field=name)
        return {"choices": choices}
    if question.kind == Question.Kind.SCALE:
        try:
            value = int(values[0])
        except ValueError:
            raise ValidationFailed(f"请打1至{question.scale_max}分", field=name) from None
        if len(values) > 1 or not 1 <= value <= question.scale_max:
            raise ValidationFailed(f"请打1至{question.scale_max}分", field=name)
        return {"scale": value}
    text = values[0]
    if len(text) > TEXT_ANSWER_MAX:
        raise ValidationFailed(f"回答不能超过{TEXT_ANSWER_MAX}字", field=name)
    return {"text": mask(normalise(text))}


def response_score(pairs: list[tuple[int, int]]) -> Decimal | None:
    """Mean over the scale answers (value, scale_max) of (v-1)/(max-1)*100, one decimal; None without any."""
    if not pairs:
        return None
    mean = sum((v - 1) / (top - 1) * 100 for v, top in pairs) / len(pairs)
    return Decimal(str(mean)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def clean_answers(survey: Survey, posted: dict[int, list[str]]) -> dict[int, dict]:
    """Validate every question's answer; ValidationFailed lists every question with an error (field q<id>)."""
    cleaned: dict[int, dict] = {}
    errors: list[dict] = []
    for question in survey.questions.order_by("order", "id"):
        try:
            answer = _clean_answer(question, posted.get(question.pk, []))
        except ValidationFailed as exc:
            errors.extend(exc.errors)
            continue
        if answer is not None:
            cleaned[question.pk] = answer
    if errors:
        raise ValidationFailed("请检查标出的题目", errors=errors)
    if not cleaned:
        raise ValidationFailed("请至少回答一道题", field="answers")
    return cleaned


def response_submit(token: str, posted: dict[int, list[str]], *, now: datetime | None = None) -> Response:
    """Store the answers of one invitation: one response per invitation (Conflict for a second one)."""
    now = now or timezone.now()
    invitation = invitation_for_token(token)
    survey = invitation.survey
    cleaned = clean_answers(survey, posted)
    questions = {q.pk: q for q in survey.questions.all()}
    with transaction.atomic():
        locked = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if locked.responded_at is not None or Response.objects.filter(invitation=locked).exists():
            raise Conflict("您已提交过本问卷，感谢参与", field="answers")
        score = response_score([(a["scale"], questions[pk].scale_max) for pk, a in cleaned.items() if "scale" in a])
        try:
            with transaction.atomic():
                response = Response.objects.create(invitation=locked, survey=survey, submitted_at=now, score=score)
        except IntegrityError:  # the OneToOne: a concurrent submission won
            raise Conflict("您已提交过本问卷，感谢参与", field="answers") from None
        Answer.objects.bulk_create(
            [Answer(response=response, question_id=pk, choices=a.get("choices", []), scale=a.get("scale"),
                    text=a.get("text", "")) for pk, a in cleaned.items()]
        )  # fmt: skip
        locked.responded_at = now
        locked.opened_at = locked.opened_at or now
        locked.save(update_fields=["responded_at", "opened_at"])
    return response
