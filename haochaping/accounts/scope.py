"""Data scope: the one place that decides what a login or API key may see (数据权限).

Every page, API endpoint and admin list goes through ``scope_for_user`` / ``scope_for_api_key`` and then
``Scope.filter`` or ``get_in_scope``. Objects outside the scope are reported as not found (404), so a user
of county A cannot even learn that an object of county B exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import models

from haochaping.accounts.models import ApiKey, Membership, Role
from haochaping.directory.models import Organisation
from haochaping.lib.errors import NotFound, PermissionDenied

READ_ONLY_ROLES = {Role.AUDITOR, Role.INSPECTOR}
REGION_ROLES = {Role.AGENCY_ADMIN, Role.INSPECTOR, Role.AUDITOR}
UNIT_SUPERVISOR_ROLES = {Role.DEPARTMENT_ADMIN, Role.INSPECTOR, Role.AUDITOR}


@dataclass(frozen=True)
class Scope:
    """What an actor may see. kind: all | region | units | staff | none."""

    kind: str
    region_path: str = ""
    region_id: int | None = None
    unit_ids: frozenset[int] = field(default_factory=frozenset)
    staff_id: int | None = None
    read_only: bool = False
    role: str = ""
    label: str = ""

    def filter(self, qs: models.QuerySet) -> models.QuerySet:
        lookups: dict[str, str] = getattr(qs.model, "SCOPE_LOOKUPS", {})
        if self.kind == "all":
            return qs
        if self.kind == "region" and "region" in lookups:
            return qs.filter(**{f"{lookups['region']}__startswith": self.region_path})
        if self.kind == "units" and "unit" in lookups:
            return qs.filter(**{f"{lookups['unit']}__in": self.unit_ids})
        if self.kind == "staff" and "staff" in lookups:
            return qs.filter(**{lookups["staff"]: self.staff_id})
        return qs.none()

    @property
    def supervises(self) -> bool:
        """A supervisor's view (督办、统计、排名、报告): system admins; agency admins, inspectors and auditors of a
        region; department admins, inspectors and auditors of units. Not case handlers or window staff."""
        if self.kind == "all":
            return True
        if self.kind == "region":
            return self.role in REGION_ROLES
        if self.kind == "units":
            return self.role in UNIT_SUPERVISOR_ROLES
        return False

    def require_write(self) -> None:
        if self.read_only or self.kind == "none":
            raise PermissionDenied("当前角色为只读，不能执行此操作")

    def allows_region_path(self, path: str) -> bool:
        return self.kind == "all" or (self.kind == "region" and path.startswith(self.region_path))

    def allows_unit(self, unit: Organisation) -> bool:
        if self.kind == "all":
            return True
        if self.kind == "region":
            return unit.region.path.startswith(self.region_path)
        if self.kind == "units":
            return unit.pk in self.unit_ids
        return False


NO_SCOPE = Scope(kind="none", label="无数据权限")
ALL_SCOPE = Scope(kind="all", label="全部数据")


def unit_and_descendants(unit_id: int) -> frozenset[int]:
    ids = {unit_id}
    frontier = [unit_id]
    while frontier:
        frontier = list(
            Organisation.objects.filter(parent_id__in=frontier).exclude(id__in=ids).values_list("id", flat=True)
        )
        ids.update(frontier)
    return frozenset(ids)


def scope_for_user(user) -> Scope:
    if not user or not user.is_authenticated or not user.is_active:
        return NO_SCOPE
    if user.is_superuser:
        return ALL_SCOPE
    try:
        membership = Membership.objects.select_related("unit__region").get(user=user)
    except Membership.DoesNotExist:
        return NO_SCOPE
    role, unit = membership.role, membership.unit
    read_only = role in READ_ONLY_ROLES
    if role == Role.SYSTEM_ADMIN:
        return Scope(kind="all", role=role, label="全部数据")
    if role in REGION_ROLES and unit.kind == Organisation.Kind.AGENCY:
        return Scope(
            kind="region",
            region_path=unit.region.path,
            region_id=unit.region_id,
            read_only=read_only,
            role=role,
            label=unit.region.name,
        )
    if role == Role.WINDOW_STAFF:
        staff_id = getattr(getattr(user, "staff_profile", None), "id", None)
        if staff_id is None:
            return NO_SCOPE
        return Scope(kind="staff", staff_id=staff_id, read_only=True, role=role, label=user.get_full_name())
    return Scope(
        kind="units",
        unit_ids=unit_and_descendants(unit.id),
        region_id=unit.region_id,
        read_only=read_only,
        role=role,
        label=unit.name,
    )


def scope_for_request(request) -> Scope:
    """The signed-in user's scope, computed once per request."""
    scope = getattr(request, "_hcp_scope", None)
    if scope is None:
        scope = request._hcp_scope = scope_for_user(request.user)
    return scope


def scope_for_api_key(key: ApiKey) -> Scope:
    if key.revoked_at is not None:
        return NO_SCOPE
    if key.region_id:
        return Scope(kind="region", region_path=key.region.path, region_id=key.region_id, label=key.region.name)
    return Scope(kind="units", unit_ids=unit_and_descendants(key.unit_id), label=key.unit.name)


def get_in_scope(qs: models.QuerySet, scope: Scope, **lookup):
    """Fetch one object through the scope; out-of-scope and missing objects both raise NotFound."""
    obj = scope.filter(qs).filter(**lookup).first()
    if obj is None:
        name = qs.model._meta.verbose_name
        raise NotFound(f"{name}不存在或不在您的数据范围内")
    return obj
