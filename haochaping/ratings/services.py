"""Services of the ratings app: 办件 registration and token-based rating (writes; views and API call these)."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import ALL_SCOPE, Scope
from haochaping.directory.models import Hall, Organisation, ServiceItem, Staff, Window
from haochaping.lib import protect
from haochaping.lib.errors import Conflict, Gone, NotFound, ValidationFailed
from haochaping.ratings.codes import CaseStatus, Stage
from haochaping.ratings.intake import ItemResult, follow_up_window_check, submit_ratings
from haochaping.ratings.models import EvaluationToken, Rating, ServiceCase
from haochaping.ratings.schemas import RatingIn, TokenRatingIn


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def evaluation_url(token: str) -> str:
    return settings.SITE_URL + reverse("ratings:rate", args=[token])


@dataclass
class Registration:
    case: ServiceCase
    created: bool
    token: str | None
    url: str | None
    expires_at: datetime | None


def _scoped_get(model, scope: Scope, field: str, what: str, **lookup):
    obj = scope.filter(model.objects.filter(**lookup)).first()
    if obj is None:
        raise NotFound(f"{what}不存在或不在调用方数据范围内：{next(iter(lookup.values()))}", field=field)
    return obj


def hall_in_scope(scope: Scope, hall_code: str) -> Hall:
    """A hall is usable by those who manage it and by every unit that staffs one of its windows."""
    hall = Hall.objects.filter(code=hall_code).first()
    if hall is not None and (
        scope.filter(Hall.objects.filter(pk=hall.pk)).exists()
        or scope.filter(Window.objects.filter(hall=hall)).exists()
    ):
        return hall
    raise NotFound(f"大厅不存在或不在调用方数据范围内：{hall_code}", field="hall_code")


def service_case_register(
    *,
    scope: Scope,
    case_no: str,
    item_code: str,
    unit_uscc: str | None = None,
    hall_code: str | None = None,
    window_code: str | None = None,
    staff_code: str | None = None,
    stage: str = Stage.ACCEPT,
    status: int = CaseStatus.ACCEPTED,
    online: bool = False,
    applicant_kind: int = 1,
    applicant_name: str = "",
    applicant_phone: str = "",
    applicant_cert: str = "",
    accepted_at: datetime | None = None,
    completed_at: datetime | None = None,
    api_key: ApiKey | None = None,
) -> Registration:
    """Register (or update the stage/status of) a 办件 and issue a token for rating its current stage.

    Re-registering the same 办件编号 updates stage, status and timestamps (a business system reports 受理 and
    later 办结); a token is issued for each stage once, so retries don't mint extra tokens.
    """
    scope.require_write()
    item = _scoped_get(ServiceItem, scope, "item_code", "事项", implementation_code=item_code)
    unit = _scoped_get(Organisation, scope, "unit_uscc", "单位", uscc=unit_uscc) if unit_uscc else item.unit
    hall = hall_in_scope(scope, hall_code) if hall_code else None
    window = None
    if window_code:
        if hall is None:
            raise ValidationFailed("提供窗口编号时须同时提供大厅编码", field="hall_code")
        window = Window.objects.filter(hall=hall, code=window_code).first()
        if window is None:
            raise NotFound(f"窗口不存在：{hall_code}/{window_code}", field="window_code")
    staff = _scoped_get(Staff, scope, "staff_code", "工作人员", code=staff_code) if staff_code else None
    if status == CaseStatus.COMPLETED:
        stage = Stage.COMPLETE
    now = timezone.now()
    with transaction.atomic():
        case = ServiceCase.objects.select_for_update().filter(case_no=case_no).first()
        created = case is None
        before = None if created else (case.status, case.completed_at, case.region_id, case.unit_id)
        if created:
            name_enc = protect.encrypt(applicant_name)
            phone_enc, cert_enc = protect.encrypt(applicant_phone), protect.encrypt(applicant_cert)
            case = ServiceCase.objects.create(
                case_no=case_no,
                service_item=item,
                unit=unit,
                region_id=unit.region_id,
                hall=hall,
                window=window,
                staff=staff,
                stage=stage,
                status=status,
                online=online,
                applicant_kind=applicant_kind,
                applicant_name_enc=name_enc,
                applicant_phone_enc=phone_enc,
                applicant_phone_hash=protect.lookup_hash(applicant_phone),
                applicant_cert_enc=cert_enc,
                applicant_cert_hash=protect.lookup_hash(applicant_cert),
                accepted_at=accepted_at or now,
                completed_at=completed_at or (now if status == CaseStatus.COMPLETED else None),
                registered_by=api_key,
            )
        else:
            if not scope.filter(ServiceCase.objects.filter(pk=case.pk)).exists():
                raise Conflict(f"办件编号已被其他单位使用：{case_no}", field="case_no")
            if case.service_item_id != item.id:
                raise Conflict("办件编号已登记为其他事项，不能更改事项", field="item_code")
            case.stage, case.status = stage, status
            case.completed_at = completed_at or (now if status == CaseStatus.COMPLETED else case.completed_at)
            case.save(update_fields=["stage", "status", "completed_at", "updated_at"])
        for hook in _case_hooks:
            hook(before, case)
        token, expires_at = None, None
        if not EvaluationToken.objects.filter(service_case=case, stage=case.stage, sequence=1).exists():
            token, expires_at = _issue_token(case, case.stage, 1, now)
    return Registration(
        case=case, created=created, token=token, url=evaluation_url(token) if token else None, expires_at=expires_at
    )


def _issue_token(case: ServiceCase, stage: str, sequence: int, now: datetime) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(18)
    expires_at = now + timedelta(days=settings.HAOCHAPING_TOKEN_TTL_DAYS)
    EvaluationToken.objects.create(
        token_hash=token_hash(token), service_case=case, stage=stage, sequence=sequence, expires_at=expires_at
    )
    return token, expires_at


def token_reissue(*, scope: Scope, case_no: str, stage: str | None = None, follow_up: bool = False) -> Registration:
    """Issue a fresh token for a stage (e.g. SMS invitation) or for the one follow-up rating (追评)."""
    scope.require_write()
    case = _scoped_get(ServiceCase, scope, "case_no", "办件", case_no=case_no)
    stage = stage or case.stage
    sequence = 2 if follow_up else 1
    if follow_up:
        first_at = Rating.objects.filter(service_case=case, stage=stage, sequence=1).values_list("rated_at").first()
        if first_at is None:
            raise ValidationFailed("追评前须有首次评价", field="follow_up")
        follow_up_window_check(first_at[0], timezone.now(), field="follow_up")
    if Rating.objects.filter(service_case=case, stage=stage, sequence=sequence).exists():
        raise Conflict("该环节已评价，不再签发评价令牌", field="stage")
    now = timezone.now()
    with transaction.atomic():
        EvaluationToken.objects.filter(service_case=case, stage=stage, sequence=sequence, used_at__isnull=True).update(
            expires_at=now
        )
        token, expires_at = _issue_token(case, stage, sequence, now)
    return Registration(case=case, created=False, token=token, url=evaluation_url(token), expires_at=expires_at)


def token_lookup(token: str) -> EvaluationToken:
    """The token row, or a 404/410 explaining why it cannot be used."""
    row = (
        EvaluationToken.objects.select_related(
            "service_case__service_item", "service_case__unit", "service_case__staff"
        )
        .filter(token_hash=token_hash(token))
        .first()
    )
    if row is None:
        raise NotFound("评价令牌无效", field="token")
    if row.used_at is not None:
        raise Gone("评价令牌已使用：该环节已评价，每个令牌只能评价一次", field="token")
    if row.expires_at <= timezone.now():
        raise Gone("评价令牌已过期", field="token")
    return row


def rating_submit_with_token(token: str, data: TokenRatingIn) -> ItemResult:
    """Rate with a single-use token: claim the token and store the rating in one transaction."""
    now = timezone.now()
    digest = token_hash(token)
    with transaction.atomic():
        row = EvaluationToken.objects.select_related("service_case").filter(token_hash=digest).first()
        if row is None:
            raise NotFound("评价令牌无效", field="token")
        if data.idempotency_key and row.used_at is not None:
            stored = Rating.objects.filter(
                client="token", idempotency_key=data.idempotency_key, service_case_id=row.service_case_id
            ).first()
            if stored is not None:
                return ItemResult(
                    status=200,
                    rating_id=str(stored.public_id),
                    created=False,
                    case_no=row.service_case.case_no,
                    stage=stored.stage,
                    sequence=stored.sequence,
                    grade=stored.grade,
                )
        claimed = EvaluationToken.objects.filter(pk=row.pk, used_at__isnull=True, expires_at__gt=now).update(
            used_at=now
        )
        if not claimed:
            token_lookup(token)  # raises the precise 410
            raise Gone("评价令牌不可用", field="token")
        item = RatingIn(
            case_no=row.service_case.case_no,
            stage=row.stage,
            sequence=row.sequence,
            grade=data.grade,
            channel=data.channel,
            tags=data.tags,
            answers=data.answers,
            comment=data.comment,
            anonymous=data.anonymous,
            public=data.public,
            rater_phone=data.rater_phone,
            idempotency_key=data.idempotency_key,
        )
        result = submit_ratings([item], scope=ALL_SCOPE, client="token", now=now)[0]
        if not result.ok:
            transaction.set_rollback(True)  # the token stays unused when the rating is refused
    return result


# --- adoption (采纳状态): set by the appeal review of the cases app ----------------------------------------

_case_hooks: list[Callable[[tuple | None, ServiceCase], Any]] = []


def register_case_hook(hook: Callable[[tuple | None, ServiceCase], Any]) -> None:
    """``hook(before, case)`` runs in the transaction that registers or updates a 办件; ``before`` is
    (status, completed_at, region_id, unit_id) as it was, or None for a new 办件."""
    if hook not in _case_hooks:
        _case_hooks.append(hook)


_adoption_hooks: list[Callable[[dict, str], Any]] = []
ADOPTION_FIELDS = (
    "id", "rated_at", "region_id", "unit_id", "hall_id", "window_id", "staff_id", "service_item_id", "channel",
    "rater_kind", "grade", "is_default", "adoption",
)  # fmt: skip


def register_adoption_hook(hook: Callable[[dict, str], Any]) -> None:
    """``hook(rating_row, new_adoption)`` runs in the transaction that changes a rating's adoption."""
    if hook not in _adoption_hooks:
        _adoption_hooks.append(hook)


def rating_set_adoption(rating_id: int, adoption: str) -> None:
    """Mark a rating adopted, under review or not adopted (误评/恶意差评). Never deletes it."""
    with transaction.atomic():
        row = Rating.objects.select_for_update().filter(pk=rating_id).values(*ADOPTION_FIELDS).first()
        if row is None or row["adoption"] == adoption:
            return
        Rating.objects.filter(pk=rating_id).update(adoption=adoption)
        for hook in _adoption_hooks:
            hook(row, adoption)
