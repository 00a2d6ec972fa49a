"""整改公开: the public copies of handled bad reviews (sync from cases) and their moderation.

Eligible: a case with an outcome that is not 不予采纳 (立行立改, 限期整改, 解释说明) whose rating, if any, is still
adopted. ``sync`` copies what may be shown into a ``Publication`` (pending), with personal data removed
automatically (disclosure/masking.py); a moderator of the management agency publishes it, redacts more, or withholds
it with a reason. Every step is a ``ModerationEvent``. A case that changes later is copied again; one reopened or
set aside is retracted (withheld with a system reason) until it is eligible again.

Who moderates: the management agency of the region (agency administrators, system administrators); inspectors and
auditors see the queue read-only; department administrators may look at their units' items but not moderate.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from haochaping.accounts.scope import Scope, get_in_scope, scope_for_user
from haochaping.cases.models import Case, Kind, Outcome
from haochaping.disclosure.masking import mask_public
from haochaping.disclosure.models import ModerationEvent, Publication, SyncCursor
from haochaping.insight.text import PLACEHOLDER_RE
from haochaping.lib.errors import Conflict, PermissionDenied, ValidationFailed
from haochaping.ratings.codes import Adoption

Status = Publication.Status
Action = ModerationEvent.Action

CURSOR = "publication"
BATCH = 500
# Cases committed a little after a later-stamped one are not missed: each run looks back this far again (the work
# is idempotent: a case whose updated_at equals the copy's source_updated_at is skipped).
OVERLAP = timedelta(minutes=15)
ELIGIBLE_OUTCOMES = (Outcome.FIXED_NOW, Outcome.LEDGER, Outcome.EXPLAINED)
SYSTEM = "系统"
RETRACTED_REASON = "工单重新办理或差评不予采纳，系统自动撤回"
# What a redaction may put in place of removed text.
REDACTION_MARKS = ("〔已删除〕", "＊", "*", "[地址]", "[账号]")
TEXT_MAX = 4000

# The fields copied from the case (besides the texts); a change of any of them is a refresh.
COPIED = (
    "kind",
    "region_id",
    "unit_id",
    "service_item_id",
    "hall_id",
    "grade",
    "opened_on",
    "outcome",
    "outcome_on",
    "deadline",
    "rectified_on",
    "feedback_grade",
    "comment_allowed",
)


def _day(value: datetime | None):
    return timezone.localdate(value) if value else None


def eligible(case: Case) -> bool:
    """May this case be published (after moderation)? An outcome other than 不予采纳, its rating still adopted."""
    if case.outcome not in ELIGIBLE_OUTCOMES:
        return False
    if case.kind == Kind.SUGGESTION:
        # 意见建议 are answered to the person who made them (SMS, or the tracking page with the 查询码), not in the
        # 差评整改公开 list: a suggestion is not a finding against the unit (docs/society.md).
        return False
    return case.rating_id is None or case.rating.adoption == Adoption.ADOPTED


def _known(case: Case) -> tuple[str, ...]:
    """The case's own contact name and phone (decrypted only here, to be removed from its texts)."""
    from haochaping.lib import protect

    return tuple(v for v in (protect.decrypt(case.contact_name_enc), protect.decrypt(case.contact_phone_enc)) if v)


def copy_of(case: Case) -> dict:
    """What a publication takes from a case: the shown fields and the automatically masked texts."""
    rating = case.rating if case.rating_id else None
    allowed = bool(case.kind == Kind.BAD_REVIEW and rating is not None and rating.is_public)
    known = _known(case)
    comment_auto = mask_public(rating.comment, known) if allowed else ""
    response = case.explanation if case.outcome == Outcome.EXPLAINED else case.measures
    response_auto = mask_public(response or case.measures or case.explanation, known)
    return {
        "kind": case.kind,
        "region_id": case.region_id,
        "unit_id": case.unit_id,
        "service_item_id": case.service_item_id,
        "hall_id": case.hall_id,
        "grade": case.grade,
        "opened_on": _day(case.opened_at),
        "outcome": case.outcome,
        "outcome_on": _day(case.outcome_at),
        "deadline": case.deadline,
        "rectified_on": _day(case.rectified_at),
        "feedback_grade": case.feedback_grade,
        "comment_allowed": allowed,
        "comment_auto": comment_auto[:TEXT_MAX],
        "response_auto": response_auto[:TEXT_MAX],
    }


def _event(pub: Publication, action: str, user=None, *, reason: str = "", before=None, after=None, now=None):
    return ModerationEvent(
        publication=pub,
        action=action,
        actor=user,
        actor_label=_label(user),
        at=now or timezone.now(),
        reason=reason,
        before=before or {},
        after=after or {},
    )


def _label(user) -> str:
    if user is None:
        return SYSTEM
    return (user.get_full_name() or user.get_username())[:60]


def _texts(pub: Publication) -> dict:
    return {"comment": pub.comment, "response": pub.response}


# --- sync ---------------------------------------------------------------------------------------------------------


def sync(now: datetime | None = None, *, batch: int = BATCH) -> dict:
    """Copy the cases changed since the last run into publications; refresh and retract changed ones.

    Returns counts: seen, created, refreshed, retracted, back (retracted ones eligible again → pending)."""
    now = now or timezone.now()
    cursor, _ = SyncCursor.objects.get_or_create(name=CURSOR)
    since = cursor.updated_after - OVERLAP if cursor.updated_after else None
    counts = {"seen": 0, "created": 0, "refreshed": 0, "retracted": 0, "back": 0}
    qs = Case.objects.select_related("rating").order_by("updated_at", "id")
    if since is not None:
        qs = qs.filter(updated_at__gt=since)
    last_key: tuple | None = None
    while True:
        page = qs
        if last_key is not None:
            page = page.filter(updated_at__gte=last_key[0]).exclude(updated_at=last_key[0], id__lte=last_key[1])
        cases = list(page[:batch])
        if not cases:
            break
        with transaction.atomic():
            _sync_batch(cases, now, counts)
        last_key = (cases[-1].updated_at, cases[-1].id)
        counts["seen"] += len(cases)
    if last_key is not None and (cursor.updated_after is None or last_key[0] > cursor.updated_after):
        cursor.updated_after = last_key[0]
        cursor.save(update_fields=["updated_after"])
    return counts


def _sync_batch(cases: list[Case], now: datetime, counts: dict) -> None:
    existing = {p.case_id: p for p in Publication.objects.select_for_update().filter(case_id__in=[c.pk for c in cases])}
    new_pubs: list[Publication] = []
    events: list[ModerationEvent] = []
    for case in cases:
        pub = existing.get(case.pk)
        if pub is not None and pub.source_updated_at == case.updated_at:
            continue
        ok = eligible(case)
        if pub is None:
            if ok:
                copy = copy_of(case)
                new_pubs.append(
                    Publication(
                        case=case,
                        **copy,
                        comment=copy["comment_auto"],
                        response=copy["response_auto"],
                        status=Status.PENDING,
                        synced_at=now,
                        source_updated_at=case.updated_at,
                        created_at=now,
                    )
                )
            continue
        if not ok:
            if not (pub.status == Status.WITHHELD and pub.withheld_reason == RETRACTED_REASON):
                before = {"status": pub.status}
                pub.status, pub.withheld_reason = Status.WITHHELD, RETRACTED_REASON
                pub.published_at = None
                events.append(
                    _event(pub, Action.RETRACTED, reason=RETRACTED_REASON, before=before, after={"status": pub.status},
                           now=now)
                )  # fmt: skip
                counts["retracted"] += 1
            pub.source_updated_at, pub.synced_at = case.updated_at, now
            pub.save()
            continue
        event = _refresh(pub, copy_of(case), now, counts)
        if event is not None:
            events.append(event)
        pub.source_updated_at, pub.synced_at = case.updated_at, now
        pub.save()
    if new_pubs:
        Publication.objects.bulk_create(new_pubs)
        if any(p.pk is None for p in new_pubs):  # a backend that does not return keys
            ids = dict(
                Publication.objects.filter(case_id__in=[p.case_id for p in new_pubs]).values_list("case_id", "id")
            )
            for p in new_pubs:
                p.pk = p.id = ids[p.case_id]
        for p in new_pubs:
            events.append(_event(p, Action.CREATED, after=_texts(p), now=now))
        counts["created"] += len(new_pubs)
    if events:
        ModerationEvent.objects.bulk_create(events)


def _refresh(pub: Publication, copy: dict, now: datetime, counts: dict) -> ModerationEvent | None:
    """Take the case's new state; keep the moderator's redactions unless the source text changed."""
    before = {f: _plain(getattr(pub, f)) for f in COPIED} | _texts(pub) | {"status": pub.status}
    texts_changed = False
    for field in ("comment", "response"):
        auto = copy[f"{field}_auto"]
        if auto != getattr(pub, f"{field}_auto"):
            setattr(pub, f"{field}_auto", auto)
            setattr(pub, field, auto)
            texts_changed = True
    for field in COPIED:
        setattr(pub, field, copy[field])
    reason = ""
    if pub.status == Status.WITHHELD and pub.withheld_reason == RETRACTED_REASON:
        pub.status, pub.withheld_reason = Status.PENDING, ""
        counts["back"] += 1
        reason = "工单重新作出处理结果，待重新审核"
    elif texts_changed and pub.status == Status.PUBLISHED:
        pub.status, pub.published_at = Status.PENDING, None
        reason = "工单文字变化，已撤下待重新审核"
    after = {f: _plain(getattr(pub, f)) for f in COPIED} | _texts(pub) | {"status": pub.status}
    if after == before:
        return None
    counts["refreshed"] += 1
    changed = [k for k in after if after[k] != before[k]]
    return _event(
        pub,
        Action.REFRESHED,
        reason=reason,
        before={k: before[k] for k in changed},
        after={k: after[k] for k in changed},
        now=now,
    )


def _plain(value):
    return value.isoformat() if hasattr(value, "isoformat") else value


# --- moderation ---------------------------------------------------------------------------------------------------


def may_moderate(scope: Scope) -> bool:
    """The management agency of a region (or a system administrator), not read-only roles or departments."""
    return scope.kind in ("all", "region") and scope.supervises and not scope.read_only


def _locked(pub: Publication | int, user) -> Publication:
    scope = scope_for_user(user)
    if not scope.supervises:
        raise PermissionDenied("整改公开审核仅向管理机构开放")
    pk = pub.pk if isinstance(pub, Publication) else pub
    found = get_in_scope(Publication.objects.select_for_update(of=("self",)), scope, pk=pk)
    if not may_moderate(scope):
        raise PermissionDenied("当前角色不能审核整改公开（仅管理机构管理员）")
    return found


def _require_eligible(pub: Publication) -> None:
    case = Case.objects.select_related("rating").get(pk=pub.case_id)
    if not eligible(case):
        raise Conflict("工单已重新办理或差评不予采纳，不能公开", field="status")


def _reason(reason: str, *, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise ValidationFailed("请填写理由", field="reason")
    if len(reason) > 500:
        raise ValidationFailed("理由不能超过500字", field="reason")
    return reason


_MARKS_RE = re.compile("|".join(re.escape(m) for m in REDACTION_MARKS) + "|" + PLACEHOLDER_RE.pattern)


def _only_removes(new: str, source: str) -> bool:
    """Is ``new`` ``source`` with parts removed or replaced by a redaction mark (characters kept in order)?
    Whitespace and punctuation may be added (they add no words)."""
    rest = [ch for ch in _MARKS_RE.sub("", new) if not ch.isspace() and not unicodedata.category(ch).startswith("P")]
    chars = iter("".join(source.split()))
    return all(ch in chars for ch in rest)


def redact(pub: Publication | int, user, *, comment: str | None = None, response: str | None = None,
           reason: str = "") -> Publication:  # fmt: skip
    """A moderator removes more: the new texts may only leave out parts of the automatically masked texts (or put
    〔已删除〕 / ＊ in their place), never add words. A reason is required; before/after are kept."""
    reason = _reason(reason, required=True)
    with transaction.atomic():
        pub = _locked(pub, user)
        before = _texts(pub)
        new = dict(before)
        for field, value in (("comment", comment), ("response", response)):
            if value is None:
                continue
            value = value.strip()
            if len(value) > TEXT_MAX:
                raise ValidationFailed(f"文字不能超过{TEXT_MAX}字", field=field)
            if field == "comment" and not pub.comment_allowed and value:
                raise ValidationFailed("评价人未同意公开文字内容，评价内容应为空", field="comment")
            source = getattr(pub, f"{field}_auto")
            if not _only_removes(value, source):
                raise ValidationFailed("人工删改只能删除文字或替换为〔已删除〕、＊，不能增加内容", field=field)
            new[field] = value
        if new == before:
            raise ValidationFailed("文字没有变化", field="comment" if comment is not None else "response")
        pub.comment, pub.response = new["comment"], new["response"]
        pub.moderated_by, pub.moderated_at = user, timezone.now()
        pub.save()
        changed = [k for k in new if new[k] != before[k]]
        _event(
            pub,
            Action.REDACTED,
            user,
            reason=reason,
            before={k: before[k] for k in changed},
            after={k: new[k] for k in changed},
        ).save()
        return pub


def publish(pub: Publication | int, user) -> Publication:
    with transaction.atomic():
        pub = _locked(pub, user)
        if pub.status != Status.PENDING:
            raise Conflict(f"当前状态为{pub.get_status_display()}，只有待审核的条目可以公开", field="status")
        _require_eligible(pub)
        now = timezone.now()
        pub.status, pub.published_at, pub.moderated_by, pub.moderated_at = Status.PUBLISHED, now, user, now
        pub.save()
        _event(pub, Action.PUBLISHED, user, before={"status": Status.PENDING}, after={"status": pub.status}).save()
        return pub


def withhold(pub: Publication | int, user, reason: str) -> Publication:
    reason = _reason(reason, required=True)
    with transaction.atomic():
        pub = _locked(pub, user)
        if pub.status == Status.WITHHELD:
            raise Conflict("该条目已不予公开", field="status")
        before = {"status": pub.status}
        now = timezone.now()
        pub.status, pub.withheld_reason, pub.published_at = Status.WITHHELD, reason, None
        pub.moderated_by, pub.moderated_at = user, now
        pub.save()
        _event(pub, Action.WITHHELD, user, reason=reason, before=before, after={"status": pub.status}).save()
        return pub


def restore(pub: Publication | int, user, reason: str = "") -> Publication:
    """A withheld item back to pending (to be reviewed again)."""
    reason = _reason(reason, required=False)
    with transaction.atomic():
        pub = _locked(pub, user)
        if pub.status != Status.WITHHELD:
            raise Conflict("只有不予公开的条目可以恢复待审核", field="status")
        _require_eligible(pub)
        before = {"status": pub.status, "withheld_reason": pub.withheld_reason}
        now = timezone.now()
        pub.status, pub.withheld_reason = Status.PENDING, ""
        pub.moderated_by, pub.moderated_at = user, now
        pub.save()
        _event(pub, Action.RESTORED, user, reason=reason, before=before, after={"status": pub.status}).save()
        return pub


def publish_many(ids: Iterable[int | str], user, *, now: datetime | None = None) -> int:
    """Publish the selected pending, eligible items within the user's scope; returns how many were published."""
    try:
        wanted = sorted({int(i) for i in ids})
    except (TypeError, ValueError) as exc:
        raise ValidationFailed("所选条目编号无效", field="ids") from exc
    if not wanted:
        raise ValidationFailed("请选择要公开的条目", field="ids")
    scope = scope_for_user(user)
    if not may_moderate(scope):
        raise PermissionDenied("当前角色不能审核整改公开（仅管理机构管理员）")
    now = now or timezone.now()
    done = 0
    with transaction.atomic():
        qs = scope.filter(Publication.objects.select_for_update(of=("self",)).select_related("case__rating"))
        for chunk in range(0, len(wanted), BATCH):
            pubs = [
                p for p in qs.filter(pk__in=wanted[chunk : chunk + BATCH], status=Status.PENDING) if eligible(p.case)
            ]
            if not pubs:
                continue
            Publication.objects.filter(pk__in=[p.pk for p in pubs]).update(
                status=Status.PUBLISHED, published_at=now, moderated_by=user, moderated_at=now
            )
            ModerationEvent.objects.bulk_create(
                _event(p, Action.PUBLISHED, user, before={"status": Status.PENDING},
                       after={"status": Status.PUBLISHED}, now=now)
                for p in pubs
            )  # fmt: skip
            done += len(pubs)
    return done


# --- public selectors -----------------------------------------------------------------------------------------------


def published():
    """The publications the public sees."""
    return Publication.objects.filter(status=Status.PUBLISHED)


_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


def public_filters(params) -> dict:
    """The public list's filters from a query string: region (code, with its subtree), unit (id), outcome, month
    (YYYY-MM of the 受理日期). Bad values raise ValidationFailed naming the field."""
    from haochaping.directory.models import Organisation, Region

    out: dict = {}
    code = (params.get("region") or "").strip()
    if code:
        region = Region.objects.filter(code=code).first() if code.isdigit() and len(code) == 12 else None
        if region is None:
            raise ValidationFailed("行政区划代码应为存在的12位代码", field="region")
        out["region"] = region
    unit = (params.get("unit") or "").strip()
    if unit:
        found = Organisation.objects.filter(pk=int(unit)).first() if unit.isdigit() and len(unit) < 10 else None
        if found is None:
            raise ValidationFailed("单位不存在", field="unit")
        out["unit"] = found
    outcome = (params.get("outcome") or "").strip()
    if outcome:
        if outcome not in ELIGIBLE_OUTCOMES:
            raise ValidationFailed("处理方式应为立行立改、限期整改或解释说明", field="outcome")
        out["outcome"] = outcome
    month = (params.get("month") or "").strip()
    if month:
        m = _MONTH_RE.match(month)
        if not m or not (1 <= int(m.group(2)) <= 12) or int(m.group(1)) < 2000:
            raise ValidationFailed("月份格式应为 YYYY-MM", field="month")
        out["month"] = (int(m.group(1)), int(m.group(2)))
    return out


def filtered(filters: dict, qs=None):
    """Apply ``public_filters`` output to the published list (or ``qs``)."""
    qs = published() if qs is None else qs
    if "region" in filters:
        qs = qs.filter(region__path__startswith=filters["region"].path)
    if "unit" in filters:
        qs = qs.filter(unit=filters["unit"])
    if "outcome" in filters:
        qs = qs.filter(outcome=filters["outcome"])
    if "month" in filters:
        year, month = filters["month"]
        qs = qs.filter(opened_on__year=year, opened_on__month=month)
    return qs


def summary(qs) -> dict:
    """Published count and counts by outcome (labels in the order of the outcomes)."""
    from django.db.models import Count

    by = dict(qs.order_by().values_list("outcome").annotate(n=Count("id")))
    rows = [{"outcome": o, "label": Outcome(o).label, "n": by.get(o, 0)} for o in ELIGIBLE_OUTCOMES]
    return {"total": sum(by.values()), "by_outcome": rows}
