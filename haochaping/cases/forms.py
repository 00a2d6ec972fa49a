"""Forms of the case pages: the queue filters and one form per page action, built from machine.ACTIONS.

The forms only check the shape of what is posted (required, choice, date); the rules (deadline limits,
working days, one extension, who may act) are the services'. Their DomainErrors are put back on the form,
next to the field they name.
"""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from haochaping.cases import access, services, workdays
from haochaping.cases.machine import ACTIONS, PAGE_ACTIONS
from haochaping.cases.models import Appeal, CallbackAttempt, Case, FeedbackGrade, Kind, State
from haochaping.cases.selectors import QueueFilters
from haochaping.directory.models import Organisation
from haochaping.lib.errors import DomainError

DATE = "%Y-%m-%d"
DATETIME_LOCAL = "%Y-%m-%dT%H:%M"

# The page's title of an action where it differs from the machine's label.
PAGE_TITLES = {"rate_handling": _("记录评价人电话反馈")}

FIELD_LABELS = {
    "handler": _("处理人"),
    "reason": _("理由"),
    "to_unit": _("转办单位"),
    "at": _("回访时间"),
    "channel": _("回访方式"),
    "reached": _("是否联系上"),
    "rater_said": _("评价人反映的情况（联系上时必填）"),
    "facts": _("核实情况"),
    "measures": _("整改措施"),
    "deadline": _("整改期限"),
    "note": _("说明"),
    "explanation": _("解释说明"),
    "ground": _("申诉类型"),
    "feedback_grade": _("评价人对处理结果的评价"),
    "comment": _("评价意见（可选）"),
    "files": _("证明材料（照片或PDF，可多选）"),
}
# Labels of a field in one action, where the general one would be vague.
ACTION_FIELD_LABELS = {
    ("reassign", "handler"): _("新处理人"),
    ("reassign", "reason"): _("改派理由"),
    ("transfer", "reason"): _("转办理由"),
    ("extend", "deadline"): _("延期后期限"),
    ("extend", "reason"): _("延期理由"),
    ("appeal", "reason"): _("申诉理由"),
    ("pause", "reason"): _("暂停理由"),
    ("complete", "measures"): _("整改完成情况"),
    ("progress", "note"): _("整改进展"),
    ("approve_appeal", "note"): _("复核意见"),
    ("reject_appeal", "note"): _("驳回理由"),
    ("note", "note"): _("备注"),
    ("resume", "note"): _("说明（可选）"),
}
# Fields an action takes besides the machine's required ones.
OPTIONAL_FIELDS = {"callback": ("rater_said",), "rate_handling": ("comment",), "resume": ("note",)}
TEXT_FIELDS = {"reason", "rater_said", "facts", "measures", "note", "explanation", "comment"}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; the services check type, size and whether any is needed."""

    widget = MultipleFileInput

    def clean(self, data, initial=None):
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Organisation) -> str:
        return f"{obj.region.name} · {obj.name}"


def transfer_units(case: Case):
    """Active units of the case's province other than the current one (services refuse any other)."""
    province = case.region.path.split("/")[0]
    return (
        Organisation.objects.filter(is_active=True, region__path__startswith=province + "/")
        .exclude(pk=case.unit_id)
        .select_related("region")
        .order_by("region__path", "name")
    )


def _date_input(value: date, *, low: date | None = None, high: date | None = None) -> forms.DateInput:
    attrs = {"type": "date"}
    if low:
        attrs["min"] = low.strftime(DATE)
    if high:
        attrs["max"] = high.strftime(DATE)
    return forms.DateInput(attrs, format=DATE)


class ActionForm(forms.Form):
    """Base of the per-action forms: the fields are those the machine requires for ``action``."""

    action: str = ""

    def __init__(self, *args, case: Case, today: date | None = None, **kwargs):
        # Many forms share one page: ids carry the action so that every label points at its own input.
        kwargs.setdefault("auto_id", f"id_{self.action}_%s")
        super().__init__(*args, **kwargs)
        self.case = case
        self.spec = ACTIONS[self.action]
        self.today = today or workdays.today()
        for name in (*self.spec.required, *OPTIONAL_FIELDS.get(self.action, ())):
            self.fields[name] = self._field(name)
            self.fields[name].label = ACTION_FIELD_LABELS.get((self.action, name), FIELD_LABELS.get(name, name))
        if self.spec.evidence:
            self.fields["files"] = MultipleFileField(
                label=FIELD_LABELS["files"],
                required=False,  # the services name the rule ("须上传证明材料") when none is sent
                widget=MultipleFileInput({"accept": ".jpg,.jpeg,.png,.pdf,image/jpeg,image/png,application/pdf"}),
            )

    @property
    def title(self) -> str:
        return str(PAGE_TITLES.get(self.action, self.spec.label))

    @property
    def multipart(self) -> bool:
        return self.spec.evidence

    def _field(self, name: str) -> forms.Field:
        case = self.case
        if name == "handler":
            handlers = [(u.pk, u.get_full_name() or u.get_username()) for u in access.eligible_handlers(case)]
            return forms.ChoiceField(choices=[("", _("（请选择）")), *handlers])
        if name == "to_unit":
            return UnitChoiceField(queryset=transfer_units(case), empty_label=_("（请选择）"))
        if name == "at":
            now = timezone.localtime()
            return forms.DateTimeField(
                initial=now.strftime(DATETIME_LOCAL),
                widget=forms.DateTimeInput({"type": "datetime-local", "max": now.strftime(DATETIME_LOCAL)}),
            )
        if name == "channel":
            return forms.ChoiceField(choices=CallbackAttempt.Channel.choices, initial="phone", widget=forms.RadioSelect)
        if name == "reached":
            return forms.ChoiceField(choices=[("1", _("已联系上")), ("0", _("未联系上"))], widget=forms.RadioSelect)
        if name == "ground":
            return forms.ChoiceField(choices=Appeal.Ground.choices, widget=forms.RadioSelect)
        if name == "feedback_grade":
            return forms.ChoiceField(choices=[("", _("（请选择）")), *FeedbackGrade.choices])
        if name == "deadline":
            return self._deadline_field()
        if name in TEXT_FIELDS:
            required = name not in ("rater_said", "comment") and not (self.action == "resume")
            return forms.CharField(required=required, max_length=services.TEXT_MAX, widget=forms.Textarea({"rows": 3}))
        raise KeyError(f"no form field for {name!r}")  # a new machine field needs its widget here

    def _deadline_field(self) -> forms.DateField:
        """Pre-filled with the latest date the policy allows; the date input is bounded by it."""
        policy = services.policy_of(self.case)
        if self.action == "extend" and self.case.rectify_deadline:
            low = self.case.rectify_deadline + timedelta(days=1)
            high = workdays.add_workdays(self.case.rectify_deadline, policy.extension_days)
            help_text = _("限延期一次，最多%(n)s个工作日（至%(day)s），须为工作日") % {
                "n": policy.extension_days,
                "day": high.strftime(DATE),
            }
        else:
            low = self.today
            high = workdays.add_workdays(self.today, policy.rectify_days)
            help_text = _("最长%(n)s个工作日（至%(day)s），须为工作日") % {
                "n": policy.rectify_days,
                "day": high.strftime(DATE),
            }
        return forms.DateField(initial=high, help_text=help_text, widget=_date_input(high, low=low, high=high))

    def add_domain_error(self, exc: DomainError) -> None:
        """Show the services' refusal next to the field it names, or above the form."""
        if self._errors is None:
            self.full_clean()
        name = exc.field if exc.field in self.fields else None
        self.add_error(name, exc.message)

    def service_data(self) -> dict[str, str]:
        """The posted values, one each, as services.case_act takes them (pks for handler and to_unit)."""
        return {name: self.data.get(name, "") for name in self.fields if name != "files"}


FORMS: dict[str, type[ActionForm]] = {
    code: type(f"{code.title().replace('_', '')}Form", (ActionForm,), {"action": code}) for code in PAGE_ACTIONS
}


def action_form(code: str, case: Case, data=None, files=None) -> ActionForm:
    return FORMS[code](data, files, case=case)


class QueueFilterForm(forms.Form):
    """The queue's GET filters; an invalid value is reported and left out."""

    state = forms.ChoiceField(
        label=_("状态"),
        required=False,
        choices=[("", _("在办（未办结）")), ("all", _("全部（含已办结）")), *State.choices],
    )
    kind = forms.ChoiceField(label=_("类型"), required=False, choices=[("", _("全部")), *Kind.choices])
    # An integer, not a choice: a unit outside the list simply matches nothing (the scope still applies).
    unit = forms.IntegerField(label=_("责任单位"), required=False, min_value=1, widget=forms.Select)
    q = forms.CharField(label=_("工单编号"), required=False, max_length=40)
    overdue = forms.BooleanField(label=_("只看已超期"), required=False)
    due_soon = forms.BooleanField(label=_("只看临期"), required=False)
    mine = forms.BooleanField(label=_("只看分派给我的"), required=False)

    def __init__(self, *args, units: list[tuple[int, str]], **kwargs):
        kwargs.setdefault("auto_id", "filter_%s")
        super().__init__(*args, **kwargs)
        self.fields["unit"].widget.choices = [("", _("全部")), *units]

    def filters(self) -> QueueFilters:
        self.is_valid()
        data = {k: v for k, v in self.cleaned_data.items() if k not in self.errors}
        return QueueFilters(
            state=data.get("state") or "",
            kind=data.get("kind") or "",
            overdue=bool(data.get("overdue")),
            due_soon=bool(data.get("due_soon")),
            unit=data.get("unit"),
            mine=bool(data.get("mine")),
            q=(data.get("q") or "").strip(),
        )
