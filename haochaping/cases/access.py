"""Who may do what on a case (written once; pages, API and services ask here)."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from haochaping.accounts.models import Membership, Role
from haochaping.accounts.scope import Scope, scope_for_user, unit_and_descendants
from haochaping.cases.models import Case
from haochaping.directory.models import Organisation

# Roles that may be given cases to handle (a small unit's administrator handles cases too).
HANDLER_ROLES = (Role.CASE_HANDLER, Role.DEPARTMENT_ADMIN)


def actor_roles(user, case: Case, scope: Scope | None = None) -> set[str]:
    """The machine's actor names this user holds on this case (an empty set: read-only or out of scope)."""
    if user is None or not user.is_authenticated:
        return set()
    scope = scope or scope_for_user(user)
    roles: set[str] = set()
    if scope.read_only or scope.kind == "none":
        return roles
    if case.handler_id == user.pk:
        roles.add("handler")
    if scope.kind == "all":
        return roles | {"unit_admin", "agency"}
    if scope.kind == "region" and scope.role == Role.AGENCY_ADMIN and case.region.path.startswith(scope.region_path):
        roles.add("unit_admin")
        if scope.region_id == case.region_id:
            roles.add("agency")
    if scope.kind == "units" and scope.role == Role.DEPARTMENT_ADMIN and case.unit_id in scope.unit_ids:
        roles.add("unit_admin")
    return roles


def eligible_handlers(case: Case) -> QuerySet:
    """Active logins of the responsible unit (or its sub-units) whose role may handle cases."""
    units = unit_and_descendants(case.unit_id)
    return (
        get_user_model()
        .objects.filter(is_active=True, membership__unit_id__in=units, membership__role__in=HANDLER_ROLES)
        .order_by("username")
    )


def unit_heads(unit: Organisation) -> QuerySet:
    """单位负责人: the unit's administrators (department_admin), who get reminders when a case is overdue."""
    return get_user_model().objects.filter(
        is_active=True, membership__unit=unit, membership__role=Role.DEPARTMENT_ADMIN
    )


def agency_admins(region_id: int) -> QuerySet:
    """The administrators of the management agency of this region (同级政务服务管理机构)."""
    return get_user_model().objects.filter(
        is_active=True,
        membership__role=Role.AGENCY_ADMIN,
        membership__unit__kind=Organisation.Kind.AGENCY,
        membership__unit__region_id=region_id,
    )


def membership_of(user) -> Membership | None:
    return Membership.objects.filter(user=user).select_related("unit").first()
