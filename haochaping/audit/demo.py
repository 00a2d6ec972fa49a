"""Demo entries of the audit logs: the demo handler reveals a few raters' phones for the call-back (with reasons),
and a few administrative changes are made through the models, so both log pages have content on the demo."""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import transaction

from haochaping.audit.models import AdminAction, IdentityAccess
from haochaping.audit.services import audit_source

REASONS = ("电话回访核实差评情况", "回访未接通，再次拨打", "核实整改结果，征求评价人意见")


def seed_demo(write: Callable[[str], None] = print) -> dict[str, int]:
    from haochaping.accounts.models import Membership, Role
    from haochaping.accounts.roles import assign_role_group
    from haochaping.cases.models import OPEN_STATES, Case
    from haochaping.cases.services import case_contact_reveal
    from haochaping.directory.models import Staff
    from haochaping.lib.errors import DomainError

    User = get_user_model()
    # The demo handler's own open cases first; on a small demo, whichever handlers have open real-name cases.
    open_named = Case.objects.filter(state__in=OPEN_STATES, handler__isnull=False).exclude(contact_phone_enc="")
    cases = list(open_named.filter(handler__username="handler").order_by("pk")[: len(REASONS)])
    cases += list(open_named.exclude(pk__in=[c.pk for c in cases]).order_by("pk")[: len(REASONS) - len(cases)])
    revealed = 0
    for reason, case in zip(REASONS, cases, strict=False):
        try:
            case_contact_reveal(case_id=case.pk, user=case.handler, reason=reason)
            revealed += 1
        except DomainError:
            continue
    with audit_source("command", "command:demo"), transaction.atomic():
        clerk = Staff.objects.filter(user__username="clerk").first()
        if clerk is not None and clerk.title != "综合受理窗口首席代表":
            clerk.title = "综合受理窗口首席代表"
            clerk.save()
        auditor = User.objects.filter(username="auditor").first()
        city_unit = Membership.objects.filter(user__username__startswith="city_").select_related("unit").first()
        if auditor is not None and city_unit is not None and not User.objects.filter(username="city_auditor").exists():
            user = User.objects.create_user(username="city_auditor", password=None, is_staff=True)
            user.password = auditor.password  # the demo password, hashed once by the demo
            user.save()
            Membership.objects.create(user=user, unit=city_unit.unit, role=Role.AUDITOR)
            assign_role_group(user)
    counts = {"identity_access": IdentityAccess.objects.count(), "admin_actions": AdminAction.objects.count()}
    write(
        f"审计日志 / audit log: {revealed} 次查看评价人电话（含理由），"
        f"身份查看记录 {counts['identity_access']} 条，管理操作日志 {counts['admin_actions']} 条；"
        "city_auditor 为市级审计账号"
    )
    return counts
