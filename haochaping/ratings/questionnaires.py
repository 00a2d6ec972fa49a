"""Detail questionnaires (分项评价, regime.md §2.5): which version is offered, and whether answers fit it.

Resolution for a 事项 and channel, most specific first: an assignment for the item and the channel, one for the
item (any channel), one for the channel (any item), then the active questionnaire of the channel's kind (online
or on-site). Questionnaires are few and rarely changed, so they are cached per process for a short time
(cleared with intake.clear_caches).
"""

from __future__ import annotations

import time
from typing import Any

from django.utils.translation import gettext_noop

from haochaping.ratings.codes import DETAIL_ANSWERS, ONLINE_CHANNELS
from haochaping.ratings.models import Questionnaire, QuestionnaireAssignment

# The default questions' texts, marked for the message catalogue: pages translate a question's stored text when
# the catalogue knows it (texts typed into the admin are shown as typed).
DEFAULT_TEXTS = (
    gettext_noop("服务指引是否清晰"),
    gettext_noop("办事程序是否便利"),
    gettext_noop("材料手续是否精简"),
    gettext_noop("操作界面是否友好"),
    gettext_noop("有何改进意见"),
)

TEXT_MAX = 500
QUESTION_TYPES = ("choice", "text")

_TTL = 30.0
_cache: dict[str, Any] = {"at": 0.0}


def _loaded() -> dict[str, Any]:
    now = time.monotonic()
    if now - _cache["at"] > _TTL:
        by_id = {q.id: q for q in Questionnaire.objects.all()}
        assigned = {
            (a.service_item_id, a.channel): a.questionnaire_id
            for a in QuestionnaireAssignment.objects.only("questionnaire_id", "service_item_id", "channel")
        }
        active = {q.kind: q.id for q in by_id.values() if q.is_active}
        _cache.update(at=now, by_id=by_id, assigned=assigned, active=active)
    return _cache


def clear_cache() -> None:
    _cache["at"] = 0.0


def questionnaire_for(item_id: int | None, channel: str) -> Questionnaire | None:
    """The questionnaire offered for a rating of 事项 `item_id` (None: no 办件) through `channel`."""
    cache = _loaded()
    assigned = cache["assigned"]
    keys = [(None, channel)] if item_id is None else [(item_id, channel), (item_id, ""), (None, channel)]
    for key in keys:
        if key in assigned:
            return cache["by_id"][assigned[key]]
    kind = Questionnaire.Kind.ONLINE if channel in ONLINE_CHANNELS else Questionnaire.Kind.ONSITE
    active = cache["active"].get(kind)
    return cache["by_id"][active] if active else None


def answers_error(questionnaire: Questionnaire | None, answers: dict[str, str]) -> str | None:
    """Why `answers` do not fit `questionnaire`, or None when they do. Unanswered questions are simply absent."""
    if questionnaire is None:
        return "未配置分项评价问卷，不能提交分项评价" if answers else None
    questions = {q["code"]: q for q in questionnaire.questions}
    for code, answer in answers.items():
        question = questions.get(code)
        if question is None:
            offered = ", ".join(questions)
            return f"未知的分项问题：{code}（{questionnaire.code} v{questionnaire.version} 可选：{offered}）"
        if question.get("type", "choice") == "choice":
            if answer not in DETAIL_ANSWERS:
                return f"分项回答无效：{code}={answer}（可选：{'/'.join(DETAIL_ANSWERS)}）"
        elif len(answer) > TEXT_MAX:
            return f"分项回答过长：{code}（最多 {TEXT_MAX} 字）"
    return None


def questions_error(questions: Any) -> str | None:
    """Why a questionnaire's `questions` value is malformed, or None (used by the admin form)."""
    if not isinstance(questions, list) or not questions:
        return "问题应为非空列表"
    seen: set[str] = set()
    for n, q in enumerate(questions, 1):
        if not isinstance(q, dict) or not isinstance(q.get("code"), str) or not isinstance(q.get("text"), str):
            return f"第 {n} 个问题应包含 code 和 text"
        if not q["code"] or not q["text"].strip():
            return f"第 {n} 个问题的 code 和 text 不能为空"
        if q["code"] in seen:
            return f"问题代码重复：{q['code']}"
        if q.get("type", "choice") not in QUESTION_TYPES:
            return f"第 {n} 个问题的 type 应为 choice 或 text"
        seen.add(q["code"])
    return None


def answers_from_post(post: Any) -> dict[str, str]:
    """The answered questions of a posted page form (inputs named q_<code>); unanswered ones stay absent.

    Every posted q_<code> is taken: the form renders only the offered questionnaire's questions, and intake
    checks the codes against it.
    """
    return {key[2:]: value.strip() for key, value in post.items() if key.startswith("q_") and value.strip()}
