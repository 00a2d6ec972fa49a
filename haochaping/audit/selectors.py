"""Reading the audit logs: who may, what they see (their region), and the filters of the log pages."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from haochaping.accounts.models import Role
from haochaping.accounts.scope import Scope
from haochaping.audit.models import AdminAction, IdentityAccess

AUDIT_ROLES = {Role.AUDITOR, Role.AGENCY_ADMIN}


def may_read_audit(user, scope: Scope) -> bool:
    """Auditors, agency administrators (of their region) and superusers read the audit logs."""
    return bool(user.is_superuser or (scope.role in AUDIT_ROLES and scope.kind in ("region", "units", "all")))


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


class _LogFilterForm(forms.Form):
    user = forms.CharField(label=_("操作人账号"), max_length=150, required=False)
    record = forms.CharField(label=_("记录编号"), max_length=64, required=False)
    since = forms.DateField(label=_("起始日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", _("截止日期不能早于起始日期"))
        return data

    def _dates(self, qs: QuerySet) -> QuerySet:
        data = self.cleaned_data
        if data.get("since"):
            qs = qs.filter(at__gte=_day_start(data["since"]))
        if data.get("until"):
            qs = qs.filter(at__lt=_day_start(data["until"] + timedelta(days=1)))
        return qs


class AccessFilterForm(_LogFilterForm):
    field = forms.ChoiceField(
        label=_("字段"), required=False, choices=[("", _("全部"))] + list(IdentityAccess.Field.choices)
    )

    def apply(self, qs: QuerySet) -> QuerySet:
        data = self.cleaned_data
        if data.get("user"):
            qs = qs.filter(username=data["user"].strip())
        if data.get("record"):
            value = data["record"].strip()
            qs = qs.filter(
                Q(record_id=value) | Q(rating_public_id=value) | Q(case_number=value) | Q(service_case_no=value)
            )
        if data.get("field"):
            qs = qs.filter(field=data["field"])
        return self._dates(qs)


class AdminLogFilterForm(_LogFilterForm):
    record = forms.CharField(label=_("对象编号/名称"), max_length=64, required=False)
    model = forms.CharField(label=_("对象类型"), max_length=50, required=False)
    action = forms.ChoiceField(
        label=_("操作"), required=False, choices=[("", _("全部"))] + list(AdminAction.Action.choices)
    )
    source = forms.ChoiceField(
        label=_("来源"), required=False, choices=[("", _("全部"))] + list(AdminAction.Source.choices)
    )

    def apply(self, qs: QuerySet) -> QuerySet:
        data = self.cleaned_data
        if data.get("user"):
            qs = qs.filter(actor_name=data["user"].strip())
        if data.get("record"):
            value = data["record"].strip()
            qs = qs.filter(Q(object_id=value) | Q(object_repr__icontains=value))
        for name in ("model", "action", "source"):
            if data.get(name):
                qs = qs.filter(**{name: data[name].strip()})
        return self._dates(qs)


def identity_log(scope: Scope, form: AccessFilterForm | None) -> QuerySet:
    qs = scope.filter(IdentityAccess.objects.all())
    if form is not None and form.is_valid():
        qs = form.apply(qs)
    return qs.order_by("-at", "-id")


def admin_log(scope: Scope, form: AdminLogFilterForm | None) -> QuerySet:
    qs = scope.filter(AdminAction.objects.all())
    if form is not None and form.is_valid():
        qs = form.apply(qs)
    return qs.order_by("-at", "-id")
