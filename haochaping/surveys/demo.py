"""Demo: the province's 政务服务满意度调查 sent by SMS (console backend) to 100 recent applicants, a few QR invitations,
~40% of them answered through the respondent's service (some units clearly worse), and last month's closed survey.

Everything goes through surveys/services.py as the pages do: the SMS invitations appear at /sms/console/ (link
redacted), the results by unit at /surveys/ (log in as "province").
"""

from __future__ import annotations

import contextlib
import io
import random
import re
from collections.abc import Callable
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.test.utils import override_settings
from django.utils import timezone

from haochaping.accounts.scope import scope_for_user
from haochaping.directory.models import Region
from haochaping.surveys import services
from haochaping.surveys.models import Invitation, Survey
from haochaping.surveys.services import QuestionIn, SurveyIn

TITLE = "政务服务满意度调查"
PAST_TITLE = "办事体验回访（上月）"
WAITS = ["10分钟以内", "10–30分钟", "30分钟–1小时", "1小时以上"]
TRIPS = ["1次（最多跑一次）", "2次", "3次及以上", "全程网办，未到现场"]
IMPROVE = ["等候时间", "服务态度", "办事指南和材料要求", "线上办理", "场地设施", "无需改进"]
QUESTIONS = [
    QuestionIn("scale", "您对本次办事的总体满意度", True, [], 5),
    QuestionIn("single", "办事等候时间", True, WAITS),
    QuestionIn("single", "本次办事跑了几次", True, TRIPS),
    QuestionIn("multiple", "您认为哪些方面需要改进", False, IMPROVE),
    QuestionIn("scale", "您对工作人员服务的评价", True, [], 5),
    QuestionIn("text", "意见建议", False),
]
GOOD_TEXTS = ["工作人员很耐心，点赞", "一次就办好了，很方便", "大厅引导清楚", "网上预约后基本不用排队"]
BAD_TEXTS = [
    "叫号系统经常出问题，等了一个多小时",
    "材料清单和窗口说的不一样，跑了两趟",
    "窗口太少，中午没人办理",
    "希望增加周末办理时间，有问题可以打我电话13812345678",
    "停车不方便，指引不清楚",
]
INTRO = "为了解政务服务的实际体验，邀请近期办事的群众和企业填写。约需2分钟，回答仅用于统计。"
URL_TOKEN = re.compile(r"/s/([A-Za-z0-9_-]+)/")


def _province() -> Region | None:
    return Region.objects.filter(parent__isnull=True).order_by("code").first()


def _admin():
    return get_user_model().objects.filter(username="province").first()


def _answers(survey: Survey, rng: random.Random, worse: bool) -> dict[int, list[str]]:
    """One applicant's answers: most satisfied; in the worse units longer waits, more trips, lower scores."""
    weights = [1, 2, 6, 14, 22] if worse else [1, 1, 3, 12, 40]
    overall = rng.choices(range(1, 6), weights)[0]
    staff = max(1, min(5, overall + rng.choice([-1, 0, 0, 1])))
    wait = rng.choices(range(4), [2, 4, 3, 2] if worse else [8, 5, 2, 1])[0]
    trips = rng.choices(range(4), [3, 4, 2, 1] if worse else [10, 2, 1, 4])[0]
    if overall >= 5 and not worse:
        improve = [5]
    else:
        improve = sorted(rng.sample(range(5), k=rng.choice([1, 1, 2, 3])))
        if wait >= 2 and 0 not in improve:
            improve = sorted([0, *improve])
    text = ""
    if rng.random() < 0.35:
        text = rng.choice(BAD_TEXTS if overall <= 3 else GOOD_TEXTS)
    values = {"overall": [str(overall)], "staff": [str(staff)], "wait": [str(wait)], "trips": [str(trips)],
              "improve": [str(i) for i in improve], "text": [text] if text else []}  # fmt: skip
    keys = ["overall", "wait", "trips", "improve", "staff", "text"]
    return {q.pk: values[keys[n]] for n, q in enumerate(survey.questions.order_by("order", "id")) if n < len(keys)}


def _sms_tokens(captured: str) -> list[str]:
    """The console backend prints each message in full: the links' tokens, to answer as the applicants would."""
    return URL_TOKEN.findall(captured)


def _respond(survey: Survey, tokens: list[str], *, rng: random.Random, rate: float, start: datetime,
             worse_units: set[int], counts: dict) -> None:  # fmt: skip
    by_hash = {i.token_hash: i for i in Invitation.objects.filter(survey=survey)}
    pairs = [(token, by_hash[services.token_hash(token)]) for token in tokens if services.token_hash(token) in by_hash]
    # Exactly round(rate × invited) answer; the worse units' applicants a little less often.
    pairs.sort(key=lambda pair: rng.random() * (1.3 if pair[1].unit_id in worse_units else 1.0))
    answering = round(rate * len(pairs))
    for n, (token, invitation) in enumerate(pairs):
        opened = start + timedelta(minutes=rng.randrange(5, 3 * 24 * 60))
        if n < answering:
            services.invitation_mark_opened(invitation, now=opened)
            answers = _answers(survey, rng, invitation.unit_id in worse_units)
            services.response_submit(token, answers, now=opened + timedelta(minutes=rng.randrange(1, 8)))
            counts["responses"] += 1
        elif rng.random() < 0.25:
            services.invitation_mark_opened(invitation, now=opened)


def _make(title: str, questions: list[QuestionIn], *, province: Region, admin, opened: datetime, intro: str) -> Survey:
    survey = services.survey_create(SurveyIn(title=title, intro=intro, region_id=province.pk),
                                    scope=scope_for_user(admin), actor=admin)  # fmt: skip
    Survey.objects.filter(pk=survey.pk).update(created_at=opened - timedelta(hours=2))
    for q in questions:
        services.question_add(survey, q)
    return services.survey_open(survey, now=opened)


def seed_demo(out: Callable[[str], None], seed: int) -> None:
    province, admin = _province(), _admin()
    if province is None or admin is None:
        out("服务调查 / surveys: 跳过（没有演示省份或 province 用户）")
        return
    if Survey.objects.filter(title=TITLE, region=province).exists():
        out("服务调查 / surveys: 已存在，跳过")
        return
    rng = random.Random(seed + 10)
    now = timezone.now()
    counts = {"responses": 0}
    with override_settings(HAOCHAPING_SMS_BACKEND="console"):
        past = _past_survey(province, admin, rng, now)
        sent = now - timedelta(days=6)
        survey = _make(TITLE, QUESTIONS, province=province, admin=admin, opened=sent - timedelta(hours=1), intro=INTRO)
        captured = io.StringIO()
        with contextlib.redirect_stdout(captured):
            report = services.invitations_create(survey, channel="sms", size=100, days=30, seed=seed, now=sent)
        units = sorted({u for u in survey.invitations.values_list("unit_id", flat=True) if u})
        worse = set(rng.sample(units, k=max(1, len(units) // 5))) if units else set()
        tokens = _sms_tokens(captured.getvalue())
        qr = services.invitations_create(survey, channel="qr", size=8, days=30, seed=seed + 1, now=sent)
        tokens += [row[0] for row in qr.links]
        _respond(survey, tokens, rng=rng, rate=0.4, start=sent, worse_units=worse, counts=counts)
    rate = counts["responses"] / max(1, report.sampled + qr.sampled)
    out(
        f"服务调查 / surveys: “{TITLE}”短信邀请 {report.sent} 条（失败 {report.failed}），二维码 {qr.sampled} 份，"
        f"答卷 {counts['responses']} 份（回收率 {rate:.0%}）；上月已结束调查答卷 {past} 份。"
    )
    out("  以 province 登录查看 /surveys/（按单位、事项的结果）；短信见 /sms/console/")


def _past_survey(province: Region, admin, rng: random.Random, now: datetime) -> int:
    """Last month's short survey by link, half answered, closed since."""
    opened = now - timedelta(days=40)
    survey = _make(PAST_TITLE, [QUESTIONS[0], QUESTIONS[1], QUESTIONS[4]], province=province, admin=admin,
                   opened=opened, intro="上月办件回访。")  # fmt: skip
    report = services.invitations_create(survey, channel="link", size=40, days=30, seed=rng.randrange(10**6),
                                         now=opened + timedelta(hours=1))  # fmt: skip
    answered = 0
    questions = list(survey.questions.order_by("order", "id"))
    for token in (row[0] for row in report.links):
        if rng.random() >= 0.5:
            continue
        posted = {
            q.pk: [str(rng.choices(range(1, 6), [1, 1, 3, 12, 30])[0])] if q.kind == "scale"
            else [str(rng.randrange(len(q.options)))]
            for q in questions
        }  # fmt: skip
        at = opened + timedelta(hours=rng.randrange(2, 10 * 24))
        services.invitation_mark_opened(Invitation.objects.get(token_hash=services.token_hash(token)), now=at)
        services.response_submit(token, posted, now=at + timedelta(minutes=3))
        answered += 1
    services.survey_close(survey, now=now - timedelta(days=25))
    return answered
