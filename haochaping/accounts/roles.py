"""Django groups per role (角色权限组): which admin pages each role may use.

The data scope (accounts/scope.py) decides *which rows* a login sees; these groups decide *which models* it
may view or edit in the admin. Management agencies and department admins maintain the directory
(view/add/change), inspectors and auditors only view. Cases are viewed here by every case role and changed only
on the case pages; agency administrators set the deadline policy of their regions, system administrators also
the holiday calendar. Nothing is deleted through the product, so no group gets delete permissions.
``sync_role_groups`` is idempotent: run it after migrations or new models.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.db import transaction

from haochaping.accounts.models import Membership, Role

VIEW = ("view",)
EDIT = ("view", "add", "change")

DIRECTORY_MODELS = ("region", "organisation", "hall", "window", "staff", "serviceitem", "platform")
RATING_MODELS = ("servicecase", "rating")
# A case and its records (history, call-backs, appeals, evidence), shown read-only in the admin: cases change
# only through the case pages. Notifications are personal and are not among them.
CASE_MODELS = ("case", "caseevent", "callbackattempt", "appeal", "caseattachment")
# The rectification publication and its moderation history: read in the admin; moderated on /disclosure/moderation/.
DISCLOSURE_MODELS = ("publication", "moderationevent")

# 监督查评, 服务调查, 社会评价, 排队叫号 and 12345 records: worked on their own pages (inspections/, surveys/,
# suggestions/, assessments/, queue/, hotline/), read in the admin by the roles that supervise.
SUPERVISED_APPS = ("inspections", "surveys", "society", "queuing", "hotline")

# role → [(app label, model name or None for every model of the app, actions)]
ROLE_PERMISSIONS: dict[str, list[tuple[str, str | None, tuple[str, ...]]]] = {
    Role.SYSTEM_ADMIN: [
        ("directory", None, EDIT),
        ("accounts", None, EDIT),
        ("ratings", None, EDIT),
        ("evaluator", None, EDIT),
        ("qrcodes", None, EDIT),
        ("entry", None, VIEW),
        ("messaging", None, VIEW),
        ("cases", None, VIEW),
        ("cases", "casepolicy", EDIT),
        ("cases", "calendarday", EDIT),
        *[("disclosure", m, VIEW) for m in DISCLOSURE_MODELS],
        ("auth", "user", EDIT),
        ("auth", "group", VIEW),
        *[(app, None, VIEW) for app in SUPERVISED_APPS],
    ],
    Role.AGENCY_ADMIN: [
        ("directory", "region", VIEW),
        *[("directory", m, EDIT) for m in DIRECTORY_MODELS if m != "region"],
        ("accounts", "apikey", EDIT),
        *[("ratings", m, VIEW) for m in (*RATING_MODELS, "tagset", "tag", "ratingoffer")],
        ("ratings", "defaultratingpolicy", EDIT),
        ("evaluator", None, EDIT),
        ("qrcodes", "windowcode", EDIT),
        ("entry", None, VIEW),
        ("messaging", None, VIEW),
        *[("cases", m, VIEW) for m in CASE_MODELS],
        ("cases", "casepolicy", EDIT),
        ("cases", "calendarday", VIEW),
        ("audit", None, VIEW),
        *[("disclosure", m, VIEW) for m in DISCLOSURE_MODELS],
        *[(app, None, VIEW) for app in SUPERVISED_APPS],
    ],
    Role.DEPARTMENT_ADMIN: [
        *[("directory", m, VIEW) for m in ("region", "organisation", "hall", "platform")],
        *[("directory", m, EDIT) for m in ("window", "staff", "serviceitem")],
        *[("ratings", m, VIEW) for m in RATING_MODELS],
        ("evaluator", None, EDIT),
        ("qrcodes", "windowcode", EDIT),
        ("entry", None, VIEW),
        *[("cases", m, VIEW) for m in CASE_MODELS],
    ],
    Role.CASE_HANDLER: [
        *[("ratings", m, VIEW) for m in RATING_MODELS],
        ("entry", None, VIEW),
        *[("cases", m, VIEW) for m in CASE_MODELS],
    ],
    Role.WINDOW_STAFF: [("ratings", "rating", VIEW)],
    Role.INSPECTOR: [
        ("directory", None, VIEW),
        ("ratings", None, VIEW),
        ("qrcodes", None, VIEW),
        ("entry", None, VIEW),
        *[("cases", m, VIEW) for m in (*CASE_MODELS, "casepolicy", "calendarday")],
        *[("disclosure", m, VIEW) for m in DISCLOSURE_MODELS],
        *[(app, None, VIEW) for app in SUPERVISED_APPS],
    ],
    Role.AUDITOR: [
        ("directory", None, VIEW),
        ("ratings", None, VIEW),
        ("accounts", "apikey", VIEW),
        ("qrcodes", None, VIEW),
        ("entry", None, VIEW),
        ("messaging", None, VIEW),
        ("evaluator", None, VIEW),
        *[("cases", m, VIEW) for m in (*CASE_MODELS, "casepolicy", "calendarday")],
        ("audit", None, VIEW),
        *[("disclosure", m, VIEW) for m in DISCLOSURE_MODELS],
        *[(app, None, VIEW) for app in SUPERVISED_APPS],
    ],
}


def group_name(role: str) -> str:
    """Groups are named by the role code so that they can be found again whatever the UI language."""
    return f"role:{role}"


def role_permissions(role: str) -> list[Permission]:
    wanted: set[tuple[str, str]] = set()
    for app_label, model_name, actions in ROLE_PERMISSIONS[role]:
        models = (
            [model_name] if model_name else [m._meta.model_name for m in apps.get_app_config(app_label).get_models()]
        )
        wanted.update((app_label, f"{action}_{m}") for m in models for action in actions)
    perms = Permission.objects.filter(content_type__app_label__in={a for a, _ in wanted}).select_related("content_type")
    return [p for p in perms if (p.content_type.app_label, p.codename) in wanted]


@transaction.atomic
def sync_role_groups() -> dict[str, Group]:
    """Create or update one group per role with exactly the permissions of ROLE_PERMISSIONS."""
    groups = {}
    for role in Role:
        group, _ = Group.objects.get_or_create(name=group_name(role))
        group.permissions.set(role_permissions(role))
        groups[role.value] = group
    return groups


def assign_role_group(user, groups: dict[str, Group] | None = None) -> None:
    """Put a login in the group of its membership's role (and no other role group)."""
    groups = groups or sync_role_groups()
    membership = Membership.objects.filter(user=user).first()
    role_groups = [g for g in user.groups.all() if g.name.startswith("role:")]
    user.groups.remove(*role_groups)
    if membership is not None:
        user.groups.add(groups[membership.role])
