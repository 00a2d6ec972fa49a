"""Case actions (the writes of the cases app): every change goes through ``case_act`` and the table in machine.py.

One action = one transaction: the case row is locked, the rule checked, the fields changed, the event appended,
evidence stored and notifications written together; an illegal action changes nothing and raises a
DomainError naming the rule or the field.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from haochaping.cases import access, rollup, workdays
from haochaping.cases.lookup import lookup_code
from haochaping.cases.machine import ACTIONS, REOPEN_TARGET, Action
from haochaping.cases.models import (
    Appeal,
    CallbackAttempt,
    Case,
    CaseAttachment,
    CaseEvent,
    CloseReason,
    FeedbackGrade,
    Notification,
    NotifiedVia,
    Outcome,
    State,
)
from haochaping.cases.policy import Policy, policy_for_path
from haochaping.directory.models import Organisation
from haochaping.lib import protect
from haochaping.lib.documents import check_document
from haochaping.lib.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from haochaping.ratings.codes import Adoption
from haochaping.ratings.services import rating_set_adoption

TEXT_MAX = 5000
MAX_FILES = 10


def evidence_max_bytes() -> int:
    return int(getattr(settings, "HAOCHAPING_EVIDENCE_MAX_BYTES", 10 * 1024 * 1024))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def feedback_url(token: str) -> str:
    return settings.SITE_URL + reverse("cases:feedback", args=[token])


# --- field parsing: each returns the clean value or raises ValidationFailed naming the field -------------


def _text(data: dict, name: str, label: str, *, required: bool = True) -> str:
    value = str(data.get(name) or "").strip()
    if required and not value:
        raise ValidationFailed(f"请填写{label}", field=name)
    if len(value) > TEXT_MAX:
        raise ValidationFailed(f"{label}不能超过{TEXT_MAX}字", field=name)
    return value


def _date(data: dict, name: str, label: str) -> date:
    value = data.get(name)
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, str):
        value = parse_date(value.strip()) if value.strip() else None
    if not isinstance(value, date):
        raise ValidationFailed(f"请填写有效的{label}（YYYY-MM-DD）", field=name)
    return value


def _datetime(data: dict, name: str, label: str) -> datetime:
    value = data.get(name)
    if isinstance(value, str):
        value = parse_datetime(value.strip()) if value.strip() else None
    if not isinstance(value, datetime):
        raise ValidationFailed(f"请填写有效的{label}", field=name)
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _bool(data: dict, name: str, label: str) -> bool:
    value = data.get(name)
    if isinstance(value, bool):
        return value
    text = str(value or "").strip().lower()
    if text in ("1", "true", "yes", "on", "是"):
        return True
    if text in ("0", "false", "no", "off", "否"):
        return False
    raise ValidationFailed(f"请选择{label}", field=name)


def _choice(data: dict, name: str, label: str, choices) -> str:
    value = str(data.get(name) or "").strip()
    if value not in choices.values:
        raise ValidationFailed(f"{label}无效", field=name)
    return value


# --- outcome ------------------------------------------------------------------------------------------


@dataclass
class Actor:
    """Who acts: a signed-in user (with their case roles), the rater through a token, or the system sweep."""

    user: Any = None
    label: str = ""
    roles: frozenset[str] = frozenset()

    @classmethod
    def system(cls) -> Actor:
        return cls(None, "系统", frozenset({"system"}))

    @classmethod
    def rater(cls) -> Actor:
        return cls(None, "评价人", frozenset({"rater"}))

    @classmethod
    def for_user(cls, user, case: Case) -> Actor:
        name = user.get_full_name() or user.get_username()
        return cls(user, name, frozenset(access.actor_roles(user, case)))


def _event(case: Case, action: str, actor: Actor, *, before: str, note: str = "", now: datetime, **data) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case,
        action=action,
        from_state=before,
        to_state=case.state,
        actor=actor.user,
        actor_label=actor.label[:60],
        at=now,
        note=note,
        data={k: v for k, v in data.items() if v not in (None, "")},
    )


def _notify(users: Iterable, case: Case, kind: str, text: str, now: datetime) -> int:
    rows = [Notification(recipient=u, case=case, kind=kind, text=text[:300], created_at=now) for u in users]
    Notification.objects.bulk_create(rows)
    return len(rows)


def policy_of(case: Case) -> Policy:
    return policy_for_path(case.region.path)


def refresh_due(case: Case) -> None:
    """Set ``due_on``, the date the current step must be done by (None when nothing is due of the unit)."""
    if case.state in (State.NEW, State.ASSIGNED):
        case.due_on = case.callback_due if case.called_back_at is None else case.resolve_due
    elif case.state == State.VERIFIED:
        case.due_on = case.resolve_due
    elif case.state == State.RECTIFYING:
        case.due_on = case.deadline
    elif case.state == State.FEEDBACK:
        case.due_on = case.feedback_due
    elif case.state == State.CLOSED:
        case.due_on = None
    # APPEALING: set on entry (the agency's review period) and kept.


def is_overdue(case: Case, today: date | None = None) -> bool:
    today = today or workdays.today()
    return bool(
        case.due_on and case.state not in (State.FEEDBACK, State.CLOSED) and not case.paused_at and today > case.due_on
    )


def _store_files(
    case: Case, event: CaseEvent, files: Sequence[UploadedFile], user, now: datetime, stored: list
) -> None:
    for upload in files:
        content_type = check_document(upload, field="files", what="证明材料", max_bytes=evidence_max_bytes())
        digest = hashlib.sha256()
        for chunk in upload.chunks():
            digest.update(chunk)
        upload.seek(0)
        attachment = CaseAttachment(
            case=case,
            event=event,
            name=(upload.name or "file")[:200],
            content_type=content_type,
            size=upload.size or 0,
            sha256=digest.hexdigest(),
            uploaded_by=user,
            uploaded_at=now,
        )
        attachment.file.save(upload.name or "file", upload, save=False)
        stored.append(attachment.file)  # removed again if the transaction does not commit
        attachment.save()


# --- the engine ---------------------------------------------------------------------------------------


def case_act(
    *,
    case_id: int,
    action: str,
    actor: Actor | None = None,
    user=None,
    data: dict | None = None,
    files: Sequence[UploadedFile] = (),
    now: datetime | None = None,
) -> Case:
    """Apply one action of the machine to a case, or raise a DomainError and change nothing."""
    spec = ACTIONS.get(action)
    if spec is None:
        raise ValidationFailed(f"未知的操作：{action}", field="action")
    data = dict(data or {})
    files = list(files)
    if len(files) > MAX_FILES:
        raise ValidationFailed(f"一次最多上传{MAX_FILES}个证明材料", field="files")
    now = now or timezone.now()
    stored: list = []
    try:
        with transaction.atomic():
            case = (
                Case.objects.select_for_update(of=("self",))
                .select_related("region", "unit", "rating")
                .filter(pk=case_id)
                .first()
            )
            if case is None:
                raise NotFound("工单不存在", field="case")
            if actor is None:
                if user is None:
                    raise PermissionDenied("未指定操作人")
                actor = Actor.for_user(user, case)
            _check(case, spec, actor, files)
            before = case.state
            before_key = rollup.key_of(case.opened_at, case.region_id, case.unit_id)
            event_data, note = _APPLY[action](case, spec, actor, data, now)
            if spec.target is not None and case.state == before and action not in ("rate_handling",):
                case.state = spec.target
            refresh_due(case)
            case.save()
            rollup.mark([before_key, rollup.key_of(case.opened_at, case.region_id, case.unit_id)])
            event = _event(case, action, actor, before=before, note=note, now=now, **event_data)
            if files:
                _store_files(case, event, files, actor.user, now, stored)
            return case
    except BaseException:
        for file in stored:
            with suppress(OSError):
                file.storage.delete(file.name)
        raise


def _check(case: Case, spec: Action, actor: Actor, files: list) -> None:
    if case.state not in spec.sources:
        raise Conflict(f"工单当前状态为“{case.get_state_display()}”，不能执行“{spec.label}”", field="action")
    if not (actor.roles & spec.actors):
        raise PermissionDenied(f"您无权对该工单执行“{spec.label}”")
    if spec.evidence and not files:
        raise ValidationFailed(f"“{spec.label}”须上传证明材料（照片或PDF）", field="files")
    if spec.code in ("callback", "verify", "open_ledger", "fix_now", "explain", "appeal", "extend", "complete"):
        if case.paused_at and spec.code not in ("callback",):
            raise Conflict("工单正在暂停计时，请先恢复计时", field="action")


# --- one function per action: change the case, return (event data, note) -------------------------------


def _assign(case, spec, actor, data, now):
    handler = _handler(case, data)
    case.handler = handler
    _notify([handler], case, Notification.Kind.ASSIGNED, f"新分派工单 {case.number}：{case.unit.name}", now)
    return {"handler": handler.get_username()}, ""


def _reassign(case, spec, actor, data, now):
    reason = _text(data, "reason", "改派理由")
    handler = _handler(case, data)
    if handler.pk == case.handler_id:
        raise ValidationFailed("新处理人与当前处理人相同", field="handler")
    case.handler = handler
    _notify([handler], case, Notification.Kind.ASSIGNED, f"改派给您的工单 {case.number}", now)
    return {"handler": handler.get_username()}, reason


def _handler(case: Case, data: dict):
    raw = data.get("handler")
    try:
        pk = int(getattr(raw, "pk", raw))
    except (TypeError, ValueError):
        raise ValidationFailed("请选择处理人", field="handler") from None
    handler = access.eligible_handlers(case).filter(pk=pk).first()
    if handler is None:
        raise ValidationFailed("处理人须为责任单位的差评处理人员或部门管理员", field="handler")
    return handler


def _transfer(case, spec, actor, data, now):
    reason = _text(data, "reason", "转办理由")
    raw = data.get("to_unit")
    try:
        pk = int(getattr(raw, "pk", raw))
    except (TypeError, ValueError):
        raise ValidationFailed("请选择转办单位", field="to_unit") from None
    unit = Organisation.objects.select_related("region").filter(pk=pk, is_active=True).first()
    if unit is None:
        raise ValidationFailed("转办单位不存在或已停用", field="to_unit")
    if unit.pk == case.unit_id:
        raise ValidationFailed("转办单位与当前责任单位相同", field="to_unit")
    province = case.region.path.split("/")[0]
    if not unit.region.path.startswith(province + "/"):
        raise ValidationFailed("只能转办本省（区、市）内的单位", field="to_unit")
    from_unit = case.unit.name
    if case.paused_at:  # the new unit starts with a running clock
        _resume(case, spec, actor, {}, now)
    case.unit, case.region, case.handler = unit, unit.region, None
    case.state = State.NEW
    text = f"工单 {case.number} 由{from_unit}转办至{unit.name}：{reason}"
    _notify(access.unit_heads(unit), case, Notification.Kind.TRANSFERRED, text, now)
    return {"from_unit": from_unit, "to_unit": unit.name}, reason


def _callback(case, spec, actor, data, now):
    at = _datetime(data, "at", "回访时间")
    if at > now + timedelta(minutes=10):
        raise ValidationFailed("回访时间不能晚于现在", field="at")
    if at < case.opened_at - timedelta(days=1):
        raise ValidationFailed("回访时间不能早于立案时间", field="at")
    channel = _choice(data, "channel", "回访方式", CallbackAttempt.Channel)
    reached = _bool(data, "reached", "是否联系上")
    said = _text(data, "rater_said", "评价人反映的情况", required=reached)
    CallbackAttempt.objects.create(
        case=case, at=at, channel=channel, reached=reached, rater_said=said, recorded_by=actor.user, recorded_at=now
    )
    if reached and case.called_back_at is None:
        case.called_back_at = at
    return {"at": at.isoformat(), "channel": channel, "reached": reached}, said


def _verify(case, spec, actor, data, now):
    facts = _text(data, "facts", "核实情况")
    callbacks = case.callbacks.all()
    if case.reopen_count:
        # 重办: the call-backs of the first round do not count for the second.
        reopened = case.events.filter(action="rate_handling", data__reopened=True).order_by("-at").first()
        if reopened is not None:
            callbacks = callbacks.filter(recorded_at__gte=reopened.at)
    if case.real_name and not callbacks.exists():
        raise ValidationFailed("实名工单须先记录回访，再填写核实情况", field="facts")
    case.facts, case.verified_at = facts, now
    return {}, facts


def _fix_now(case, spec, actor, data, now):
    case.measures = _text(data, "measures", "整改措施")
    case.outcome, case.outcome_at = Outcome.FIXED_NOW, now
    _enter_feedback(case, now)
    return {"outcome": case.outcome}, case.measures


def _open_ledger(case, spec, actor, data, now):
    measures = _text(data, "measures", "整改措施")
    deadline = _date(data, "deadline", "整改期限")
    policy = policy_of(case)
    latest = workdays.add_workdays(now, policy.rectify_days)
    if deadline < timezone.localtime(now).date():
        raise ValidationFailed("整改期限不能早于今天", field="deadline")
    if deadline > latest:
        raise ValidationFailed(f"整改期限最长{policy.rectify_days}个工作日（至{latest:%Y-%m-%d}）", field="deadline")
    if not workdays.is_workday(deadline):
        raise ValidationFailed(f"{deadline:%Y-%m-%d}不是工作日，请选择工作日", field="deadline")
    case.measures, case.rectify_deadline = measures, deadline
    case.outcome, case.outcome_at = Outcome.LEDGER, now
    return {"deadline": deadline.isoformat()}, measures


def _progress(case, spec, actor, data, now):
    return {}, _text(data, "note", "整改进展")


def _extend(case, spec, actor, data, now):
    reason = _text(data, "reason", "延期理由")
    if case.extended_deadline is not None:
        raise Conflict("每项整改只能延期一次", field="deadline")
    policy = policy_of(case)
    if policy.extension_days == 0:
        raise Conflict("本地区规则不允许延期", field="deadline")
    deadline = _date(data, "deadline", "延期后期限")
    latest = workdays.add_workdays(case.rectify_deadline, policy.extension_days)
    if deadline <= case.rectify_deadline:
        raise ValidationFailed("延期后期限须晚于原整改期限", field="deadline")
    if deadline > latest:
        raise ValidationFailed(f"最多延期{policy.extension_days}个工作日（至{latest:%Y-%m-%d}）", field="deadline")
    if not workdays.is_workday(deadline):
        raise ValidationFailed(f"{deadline:%Y-%m-%d}不是工作日，请选择工作日", field="deadline")
    case.extended_deadline, case.extension_reason = deadline, reason
    return {"from": case.rectify_deadline.isoformat(), "to": deadline.isoformat()}, reason


def _complete(case, spec, actor, data, now):
    case.measures = _text(data, "measures", "整改完成情况")
    case.rectified_at = now
    on_time = timezone.localtime(now).date() <= case.deadline
    _enter_feedback(case, now)
    return {"on_time": on_time}, case.measures


def _explain(case, spec, actor, data, now):
    case.explanation = _text(data, "explanation", "解释说明")
    case.outcome, case.outcome_at = Outcome.EXPLAINED, now
    _enter_feedback(case, now)
    return {"outcome": case.outcome}, case.explanation


def _appeal(case, spec, actor, data, now):
    ground = _choice(data, "ground", "申诉类型", Appeal.Ground)
    reason = _text(data, "reason", "申诉理由")
    Appeal.objects.create(case=case, ground=ground, reason=reason, applied_by=actor.user, applied_at=now)
    if case.rating_id:
        rating_set_adoption(case.rating_id, Adoption.UNDER_REVIEW)
    policy = policy_of(case)
    case.state = State.APPEALING
    case.due_on = workdays.add_workdays(now, policy.appeal_review_days)
    label = Appeal.Ground(ground).label
    text = f"{case.unit.name}申请将工单 {case.number} 认定为{label}，请复核"
    _notify(access.agency_admins(case.region_id), case, Notification.Kind.APPEAL, text, now)
    return {"ground": ground}, reason


def _pending_appeal(case: Case) -> Appeal:
    appeal = case.appeals.filter(decision="").first()
    if appeal is None:  # the machine's state says there is one; a missing row is a data error
        raise Conflict("没有待复核的申诉", field="action")
    return appeal


def _approve_appeal(case, spec, actor, data, now):
    note = _text(data, "note", "复核意见")
    appeal = _pending_appeal(case)
    appeal.decision, appeal.decided_by, appeal.decided_at, appeal.decision_note = "approved", actor.user, now, note
    appeal.save()
    if case.rating_id:
        # Set aside, never deleted: the record stays, every figure leaves it out.
        rating_set_adoption(case.rating_id, Adoption.NOT_ADOPTED)
    case.outcome, case.outcome_at = Outcome.NOT_ADOPTED, now
    case.explanation = note
    _enter_feedback(case, now)
    ground = appeal.get_ground_display()
    _notify(
        access.agency_admins(case.region_id),
        case,
        Notification.Kind.NOT_ADOPTED,
        f"工单 {case.number} 经复核认定为{ground}，差评不予采纳（{case.unit.name}）",
        now,
    )
    if case.handler_id:
        _notify([case.handler], case, Notification.Kind.APPEAL_DECIDED, f"工单 {case.number} 申诉已同意", now)
    return {"decision": "approved", "ground": appeal.ground}, note


def _reject_appeal(case, spec, actor, data, now):
    note = _text(data, "note", "驳回理由")
    appeal = _pending_appeal(case)
    appeal.decision, appeal.decided_by, appeal.decided_at, appeal.decision_note = "rejected", actor.user, now, note
    appeal.save()
    if case.rating_id:
        rating_set_adoption(case.rating_id, Adoption.ADOPTED)
    if case.handler_id:
        text = f"工单 {case.number} 申诉被驳回，请继续办理：{note}"
        _notify([case.handler], case, Notification.Kind.APPEAL_DECIDED, text, now)
    return {"decision": "rejected"}, note


def _enter_feedback(case: Case, now: datetime) -> None:
    """Tell the rater the outcome (反馈): SMS with a link to rate the handling, or public notice without contact."""
    case.state = State.FEEDBACK
    case.notified_at = now
    case.feedback_due = workdays.add_workdays(now, policy_of(case).feedback_days)
    phone = protect.decrypt(case.contact_phone_enc) if case.contact_phone_enc else ""
    if not phone:
        case.notified_via = NotifiedVia.PUBLIC
        case.feedback_token_hash = None
        return
    token = secrets.token_urlsafe(24)
    case.feedback_token_hash = token_hash(token)
    case.notified_via = NotifiedVia.SMS
    url = feedback_url(token)
    code = lookup_code(case.pk)  # 差评进度查询 (/open/track/) after the link is used
    text = (
        f"{settings.HAOCHAPING_SMS_SIGNATURE}您反映的问题（工单{case.number}）已由{case.unit.name}处理："
        f"{case.get_outcome_display()}，进度查询码{code}。查看处理结果并评价：{url}"
    )
    stored = text.replace(token, "…").replace(code, "…")  # the log keeps neither the link's token nor the code

    def send() -> None:
        from haochaping.messaging.gateway import sms_send
        from haochaping.messaging.models import SmsMessage

        sms_send(phone=phone, text=text, kind=SmsMessage.Kind.CASE_FEEDBACK, stored_text=stored)

    transaction.on_commit(send)


def _rate_handling(case, spec, actor, data, now):
    grade = int(
        _choice(
            {"feedback_grade": str(data.get("feedback_grade", ""))}, "feedback_grade", "对处理结果的评价", _GradeValues
        )
    )
    comment = _text(data, "comment", "评价意见", required=False)
    label = FeedbackGrade(grade).label
    if grade == FeedbackGrade.DISSATISFIED and case.reopen_count == 0:
        _reopen(case, now, comment)
        return {"feedback_grade": grade, "reopened": True}, comment or label
    case.feedback_grade, case.feedback_comment, case.feedback_at = grade, comment, now
    case.state, case.closed_at = State.CLOSED, now
    case.close_reason = CloseReason.FINAL if grade == FeedbackGrade.DISSATISFIED else CloseReason.RATED
    case.feedback_token_hash = None
    return {"feedback_grade": grade}, comment or label


class _GradeValues:
    values = [str(v) for v in FeedbackGrade.values]


def _reopen(case: Case, now: datetime, comment: str) -> None:
    """不满意 once: the case goes back to its handler (重办), escalated to the management agency."""
    policy = policy_of(case)
    if case.outcome == Outcome.NOT_ADOPTED and case.rating_id:
        # The rater disputes the set-aside: it no longer stands; a new appeal may set it aside again.
        rating_set_adoption(case.rating_id, Adoption.ADOPTED)
    case.state = REOPEN_TARGET
    case.reopen_count += 1
    case.escalation_level = 2
    case.outcome, case.outcome_at, case.rectified_at = "", None, None
    case.rectify_deadline = case.extended_deadline = None
    case.extension_reason = ""
    case.notified_at, case.notified_via, case.feedback_due, case.feedback_token_hash = None, "", None, None
    case.called_back_at = None
    case.callback_due = workdays.add_workdays(now, policy.callback_days)
    case.resolve_due = workdays.add_workdays(now, policy.rectify_days)
    text = f"评价人对工单 {case.number} 的处理结果不满意，已重新办理并由管理机构督办" + (
        f"：{comment}" if comment else ""
    )
    recipients = list(access.agency_admins(case.region_id))
    if case.handler_id:
        recipients.append(case.handler)
    _notify(recipients, case, Notification.Kind.REOPENED, text, now)


def _close_no_response(case, spec, actor, data, now):
    if case.feedback_due and timezone.localtime(now).date() <= case.feedback_due:
        raise Conflict(f"评价反馈期至{case.feedback_due:%Y-%m-%d}，期满后才能办结", field="action")
    case.state, case.closed_at, case.close_reason = State.CLOSED, now, CloseReason.NO_RESPONSE
    case.feedback_token_hash = None
    return {}, ""


def _pause(case, spec, actor, data, now):
    reason = _text(data, "reason", "暂停理由")
    if not policy_of(case).pause_for_rater:
        raise Conflict("本地区规则不允许暂停计时", field="action")
    if case.paused_at:
        raise Conflict("工单已在暂停计时中", field="action")
    case.paused_at = now
    return {}, reason


def _resume(case, spec, actor, data, now):
    if not case.paused_at:
        raise Conflict("工单未暂停计时", field="action")
    shift = workdays.workdays_between(case.paused_at, now)
    if shift:
        case.callback_due = workdays.add_workdays(case.callback_due, shift)
        case.resolve_due = workdays.add_workdays(case.resolve_due, shift)
        if case.rectify_deadline:
            case.rectify_deadline = workdays.add_workdays(case.rectify_deadline, shift)
        if case.extended_deadline:
            case.extended_deadline = workdays.add_workdays(case.extended_deadline, shift)
    case.paused_at = None
    return {"paused_workdays": shift}, str(data.get("note") or "").strip()[:TEXT_MAX]


def _note(case, spec, actor, data, now):
    return {}, _text(data, "note", "备注")


def _remind(case, spec, actor, data, now):
    return {"level": data.get("level", "")}, str(data.get("note", ""))


_APPLY = {
    "assign": _assign,
    "reassign": _reassign,
    "transfer": _transfer,
    "callback": _callback,
    "verify": _verify,
    "fix_now": _fix_now,
    "open_ledger": _open_ledger,
    "progress": _progress,
    "extend": _extend,
    "complete": _complete,
    "explain": _explain,
    "appeal": _appeal,
    "approve_appeal": _approve_appeal,
    "reject_appeal": _reject_appeal,
    "rate_handling": _rate_handling,
    "close_no_response": _close_no_response,
    "pause": _pause,
    "resume": _resume,
    "note": _note,
    "remind": _remind,
    "escalate": _remind,
}
assert set(_APPLY) == set(ACTIONS), "every action of the machine has its function"


# --- the rater's side -----------------------------------------------------------------------------------


def case_for_feedback_token(token: str) -> Case:
    case = Case.objects.select_related("unit", "region").filter(feedback_token_hash=token_hash(token or "")).first()
    if case is None:
        raise NotFound("链接无效或已评价", field="token")
    return case


def case_rate_by_token(token: str, *, feedback_grade: Any, comment: str = "", now: datetime | None = None) -> Case:
    case = case_for_feedback_token(token)
    return case_act(
        case_id=case.pk,
        action="rate_handling",
        actor=Actor.rater(),
        data={"feedback_grade": feedback_grade, "comment": comment},
        now=now,
    )


def case_contact_reveal(
    *, case_id: int, user, reason: str = "", request=None, now: datetime | None = None
) -> dict[str, str]:
    """The rater's full name and phone number for the call-back: to the handler of an open case only (the one who
    calls back), with a stated reason.

    Evaluator identities are protected (regime §2.12): pages show them masked; each reveal is recorded in the
    case's history and in the identity-access log (audit app: who, when, which record and field, why, from
    where) in the same transaction, so that a leak can be traced.
    """
    from haochaping.audit.services import clean_reason, record_identity_access

    now = now or timezone.now()
    with transaction.atomic():
        case = (
            Case.objects.select_for_update(of=("self",))
            .select_related("region", "rating", "service_case")
            .filter(pk=case_id)
            .first()
        )
        if case is None:
            raise NotFound("工单不存在", field="case")
        if "handler" not in access.actor_roles(user, case):
            raise PermissionDenied("只有该工单的处理人可以查看完整联系电话（请先分派处理人）")
        if not case.is_open:
            raise Conflict("工单已不在办理中，不再提供完整联系电话", field="action")
        reason = clean_reason(reason)
        phone = protect.decrypt(case.contact_phone_enc) if case.contact_phone_enc else ""
        if not phone:
            raise NotFound("该工单没有联系电话", field="case")
        name = protect.decrypt(case.contact_name_enc) if case.contact_name_enc else ""
        note = f"查看完整联系电话：{reason}"
        _event(case, "view_contact", Actor.for_user(user, case), before=case.state, now=now, note=note)
        record_identity_access(
            user=user,
            fields=["phone", "name"] if name else ["phone"],
            reason=reason,
            record_kind="case",
            record_id=case.number,
            region_path=case.region.path,
            unit_id=case.unit_id,
            rating_public_id=str(case.rating.public_id) if case.rating_id else "",
            case_number=case.number,
            service_case_no=case.service_case.case_no if case.service_case_id else "",
            request=request,
            now=now,
        )
    return {"phone": phone, "name": name}


def available_actions(case: Case, user) -> list[Action]:
    """The actions this user may take on this case now (for the case page)."""
    roles = access.actor_roles(user, case)
    return [a for a in ACTIONS.values() if case.state in a.sources and roles & a.actors]
