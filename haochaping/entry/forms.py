"""Forms of the staff keying pages. They turn posted fields into the RatingIn-shaped dict intake takes."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from haochaping.accounts.scope import Scope
from haochaping.directory.models import Organisation, Window
from haochaping.ratings.codes import DETAIL_ANSWERS, GRADE_NAME_OF, Channel, Grade, grade_label
from haochaping.ratings.intake import _tag_sets
from haochaping.ratings.models import Tag, TagSet
from haochaping.ratings.questionnaires import questionnaire_for

GRADE_ORDER = [Grade.VERY_SATISFIED, Grade.SATISFIED, Grade.BASIC, Grade.DISSATISFIED, Grade.VERY_DISSATISFIED]
# intake's error fields → form fields
ERROR_FIELDS = {"rated_at": "rated_on", "rater_phone": "caller_phone", "window": "window", "stage": "case_no"}


def grade_choices() -> list[tuple[str, str]]:
    return [(GRADE_NAME_OF[int(g)], grade_label(g)) for g in GRADE_ORDER]


def tag_choices() -> list[tuple[str, str]]:
    """Tags of the active on-site set (hotline and paper are not online channels), with the grades they fit."""
    tag_set_id = _tag_sets()["active"].get(TagSet.Kind.ONSITE)
    if tag_set_id is None:
        return []
    return [
        (t.code, f"{t.label}（{'、'.join(grade_label(g) for g in sorted(t.grades, reverse=True))}）")
        for t in Tag.objects.filter(tag_set_id=tag_set_id)
    ]


def window_choices(scope: Scope) -> list[tuple[str, str]]:
    windows = scope.filter(Window.objects.select_related("hall")).order_by("hall__name", "code")[:500]
    return [("", _("（不选）"))] + [(f"{w.hall.code}|{w.code}", f"{w.hall.name} {w.code} {w.name}") for w in windows]


def mark_errors(form: forms.Form) -> forms.Form:
    """Tie each field's error list to its input for screen readers (aria-invalid, aria-describedby)."""
    if form.is_bound:
        for name in form.errors:
            if name in form.fields:
                attrs = form.fields[name].widget.attrs
                attrs.update({"aria-invalid": "true", "aria-describedby": f"{form[name].auto_id}_errors"})
    return form


class _RatingForm(forms.Form):
    no_target_message = _("请填写办件编号，或选择被评价的窗口")
    case_no = forms.CharField(label=_("办件编号"), max_length=50, required=False)
    window = forms.ChoiceField(label=_("窗口"), required=False)
    grade = forms.ChoiceField(label=_("满意度"), widget=forms.RadioSelect)
    tags = forms.MultipleChoiceField(label=_("评价标签"), required=False, widget=forms.CheckboxSelectMultiple)
    comment = forms.CharField(label=_("文字评价"), max_length=2000, required=False, widget=forms.Textarea({"rows": 3}))
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=100, required=False)

    def __init__(self, *args, scope: Scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["window"].choices = window_choices(scope)
        self.fields["grade"].choices = grade_choices()
        self.fields["tags"].choices = tag_choices()
        self.fields["idempotency_key"].initial = uuid.uuid4().hex

    def clean(self):
        data = super().clean()
        if not (data.get("case_no") or data.get("window") or data.get("item_code")):
            raise forms.ValidationError(self.no_target_message)
        return data

    def item(self) -> dict:
        data = self.cleaned_data
        item: dict = {
            "grade": data["grade"],
            "tags": data["tags"],
            "comment": data["comment"],
            "idempotency_key": data["idempotency_key"] or None,
        }
        if data["case_no"]:
            item["case_no"] = data["case_no"].strip()
        if data["window"]:
            hall, code = data["window"].split("|", 1)
            item["window"] = {"hall": hall, "code": code}
        if data.get("item_code"):
            item["item_code"] = data["item_code"].strip()
        return item

    def add_domain_errors(self, exc) -> None:
        """Show intake's errors next to the fields they are about."""
        errors = exc.errors or [{"field": None, "message": exc.message}]
        for error in errors:
            name = (error.get("field") or "").split(".")[0]
            name = ERROR_FIELDS.get(name, name)
            if name == "answers":
                name = None
            self.add_error(name if name in self.fields else None, error["message"])


class HotlineForm(_RatingForm):
    no_target_message = _("请填写办件编号，或选择被评价的窗口，或填写事项实施编码")
    item_code = forms.CharField(label=_("事项实施编码"), max_length=60, required=False)
    caller_phone = forms.RegexField(
        label=_("来电号码（可选，加密存储）"), regex=r"^\+?[0-9-]{5,20}$", max_length=20, required=False
    )
    call_ref = forms.CharField(label=_("工单号/通话编号（可选）"), max_length=60, required=False)
    call_at = forms.DateTimeField(
        label=_("通话时间"), widget=forms.DateTimeInput({"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )

    field_order = ["case_no", "window", "item_code", "grade", "tags", "comment", "caller_phone", "call_ref", "call_at"]

    def item(self) -> dict:
        item = super().item()
        if phone := self.cleaned_data["caller_phone"]:
            item["rater_phone"] = phone
            item["anonymous"] = False
        item["rated_at"] = self.cleaned_data["call_at"]
        return item


class PaperForm(_RatingForm):
    form_no = forms.CharField(label=_("表单编号"), max_length=40)
    rated_on = forms.DateField(
        label=_("评价日期（表上所填）"), required=False, widget=forms.DateInput({"type": "date"}, format="%Y-%m-%d")
    )
    scan = forms.FileField(
        label=_("扫描件（可选，JPG/PNG/PDF）"),
        required=False,
        widget=forms.ClearableFileInput({"accept": ".jpg,.jpeg,.png,.pdf,image/jpeg,image/png,application/pdf"}),
    )

    field_order = ["form_no", "case_no", "window", "grade", "tags", "comment"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The questions of the paper channel's questionnaire (the 办件's 事项 is not known until the form is keyed).
        questionnaire = questionnaire_for(None, Channel.PAPER)
        self.question_codes = [q["code"] for q in questionnaire.questions] if questionnaire else []
        answers = [("", _("未作答"))] + [(k, v) for k, v in DETAIL_ANSWERS.items()]
        for q in questionnaire.questions if questionnaire else []:
            if q.get("type") == "text":
                field = forms.CharField(label=_(q["text"]), max_length=500, required=False, widget=forms.Textarea)
            else:
                field = forms.ChoiceField(label=_(q["text"]), choices=answers, required=False, widget=forms.RadioSelect)
            self.fields[f"q_{q['code']}"] = field
        self.order_fields([*self.field_order, *(f"q_{c}" for c in self.question_codes), "rated_on", "scan"])

    def item(self) -> dict:
        from haochaping.entry.services import form_date_to_datetime

        item = super().item()
        # A question left unanswered on the form is absent, not "no".
        answered = {c: self.cleaned_data[f"q_{c}"].strip() for c in self.question_codes}
        item["answers"] = {c: a for c, a in answered.items() if a}
        if day := self.cleaned_data["rated_on"]:
            item["rated_at"] = form_date_to_datetime(day)
        return item


class ImportForm(forms.Form):
    file = forms.FileField(label=_("文件（CSV 或 Excel .xlsx）"), required=False)


class HotlineComplaintForm(forms.Form):
    """A 投诉 keyed from a 12345 call: the unit (within the user's scope) or the 办件, what the caller said."""

    # opening.complaint_open's error fields → form fields
    error_fields = {"unit_id": "unit", "contact_phone": "caller_phone", "contact_name": "caller_name"}

    unit = forms.TypedChoiceField(label=_("被投诉单位"), coerce=int, required=False, empty_value=None)
    case_no = forms.CharField(
        label=_("办件编号（可选）"), max_length=50, required=False, help_text=_("填写时工单分派给办理该办件的单位")
    )
    content = forms.CharField(
        label=_("投诉内容"), max_length=2000, widget=forms.Textarea({"rows": 5, "maxlength": 2000})
    )
    caller_phone = forms.CharField(
        label=_("来电人手机号码（加密存储，用于告知处理结果）"),
        max_length=20,
        widget=forms.TextInput({"type": "tel", "inputmode": "numeric"}),
    )
    caller_name = forms.CharField(label=_("来电人姓名（可选）"), max_length=50, required=False)

    def __init__(self, *args, scope: Scope, **kwargs):
        super().__init__(*args, **kwargs)
        units = scope.filter(Organisation.objects.filter(is_active=True)).select_related("region")
        choices: list = [("", _("（不选，按办件编号确定）"))]
        choices += [(str(u.pk), f"{u.region.name} · {u.name}") for u in units.order_by("region__code", "name")]
        self.fields["unit"].choices = choices

    def clean(self):
        data = super().clean()
        if not self.errors and not (data.get("unit") or data.get("case_no", "").strip()):
            self.add_error("unit", _("请选择被投诉单位，或填写办件编号"))
        return data

    def add_domain_errors(self, exc) -> None:
        for error in exc.errors or [{"field": None, "message": exc.message}]:
            name = self.error_fields.get(error.get("field") or "", error.get("field"))
            self.add_error(name if name in self.fields else None, error["message"])
