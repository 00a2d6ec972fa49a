"""Writes of the hotline link's configuration (the work orders are written by outbound.py, inbound.py)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils import timezone

from haochaping.accounts.models import Role
from haochaping.accounts.scope import Scope
from haochaping.cases.lookup import case_id_of
from haochaping.cases.models import Case
from haochaping.directory.models import Region
from haochaping.hotline import outbound
from haochaping.hotline.models import HotlineLink, WorkOrder
from haochaping.lib import protect
from haochaping.lib.errors import Conflict, NotFound, PermissionDenied, ValidationFailed


def credential_encrypt(value: str) -> str:
    """Encrypted under the PII keys like rater data, but kept as typed (protect.encrypt normalises case)."""
    return protect._current_cipher().encrypt(value.encode()).decode()  # noqa: SLF001


def credential_decrypt(token: str) -> str:
    return protect.decrypt(token)


def can_edit(scope: Scope) -> bool:
    """System administrators, and the agency administrators of a region (for regions in their own)."""
    if scope.read_only:
        return False
    return scope.kind == "all" or (scope.kind == "region" and scope.role == Role.AGENCY_ADMIN)


def link_save(
    scope: Scope, region: Region, *, endpoint: str, enabled: bool, include_complaints: bool = False,
    credential: str | None = None, user=None,
) -> HotlineLink:  # fmt: skip
    """Create or change the link of ``region``; ``credential`` None or "" keeps the stored one."""
    if not can_edit(scope):
        raise PermissionDenied("仅系统管理员和本地区管理机构的管理员可以配置12345热线对接")
    if not scope.allows_region_path(region.path):
        raise NotFound("行政区划不存在", field="region")
    endpoint = (endpoint or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(endpoint)
    except DjangoValidationError:
        raise ValidationFailed("请填写有效的热线接口地址（http:// 或 https://）", field="endpoint") from None
    if len(endpoint) > 300:
        raise ValidationFailed("热线接口地址过长", field="endpoint")
    with transaction.atomic():
        link = HotlineLink.objects.select_for_update().filter(region=region).first() or HotlineLink(region=region)
        link.endpoint, link.enabled, link.include_complaints = endpoint, bool(enabled), bool(include_complaints)
        if credential:
            link.credential_enc = credential_encrypt(credential.strip())
        link.updated_by = user if getattr(user, "pk", None) else None
        link.save()
    return link


def queue_case(number: str) -> WorkOrder:
    """Queue one existing case by its number (`hotline send --case`): opened before the link, or a re-send."""
    case_id = case_id_of(number)
    case = Case.objects.select_related("region").filter(pk=case_id).first() if case_id and case_id < 2**31 else None
    if case is None or case.number != number.strip().upper():
        raise NotFound(f"工单不存在：{number}", field="case")
    existing = WorkOrder.objects.filter(case=case).first()
    if existing:
        if existing.state == WorkOrder.State.FAILED:
            outbound.retry_failed(order_no=existing.order_no)
            existing.refresh_from_db()
        return existing
    with transaction.atomic():
        if not outbound.queue_cases([case], now=timezone.now()):
            raise Conflict("该工单所在地区未启用12345热线对接，或该类工单不转派", field="case")
    return WorkOrder.objects.get(case=case)
