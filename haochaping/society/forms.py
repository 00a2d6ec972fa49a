"""Forms of the society app: the public suggestion box and the assessment upload. Field names follow the services'
inputs (opening.SuggestionIn, services.AssessmentIn), so a DomainError's field lands next to its input."""

from __future__ import annotations

from datetime import date
from itertools import groupby

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from haochaping.accounts.scope import Scope
from haochaping.cases.opening import SUGGESTION_MAX, SuggestionTopic
from haochaping.directory.models import Hall, Organisation, Region
from haochaping.lib.errors import DomainError
from haochaping.society import services


class DomainErrorsMixin:
    def add_domain_error(self, exc: DomainError) -> None:
        for error in exc.errors or [{"field": None, "message": exc.message}]:
            name = error.get("field")
            self.add_error(name if name in self.fields else None, error["message"])  # type: ignore[attr-defined]


class PathSelect(forms.Select):
    """A select whose options carry their region's path (data-path), so that static/society/suggestion.js can show
    only the units and halls of the chosen region. Without JavaScript every option stays available."""

    def __init__(self, *args, paths: dict[str, str] | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.paths = paths or {}

    def create_option(self, name, value, label, selected, index, subindex=None, attrs=None):
        option = super().create_option(name, value, label, selected, index, subindex, attrs)
        path = self.paths.get(str(value))
        if path:
            option["attrs"]["data-path"] = path
        return option


def _grouped(rows, empty_label) -> tuple[list, dict[str, str]]:
    """Choices grouped by region (optgroups) and each choice's region path."""
    choices: list = [("", empty_label)]
    paths: dict[str, str] = {}
    for region, group in groupby(rows, key=lambda o: o.region):
        options = []
        for obj in group:
            options.append((str(obj.pk), obj.name))
            paths[str(obj.pk)] = region.path
        choices.append((region.name, options))
    return choices, paths


def region_choices() -> tuple[list, dict[str, str]]:
    """Regions whose management agency can receive a suggestion that names no unit."""
    regions = (
        Region.objects.filter(units__kind=Organisation.Kind.AGENCY, units__is_active=True).distinct().order_by("path")
    )
    choices: list = [("", gettext_lazy("（请选择）"))]
    paths: dict[str, str] = {}
    for r in regions:
        choices.append((str(r.pk), r.name))
        paths[str(r.pk)] = r.path
    return choices, paths


class SuggestionForm(DomainErrorsMixin, forms.Form):
    region_id = forms.TypedChoiceField(
        label=gettext_lazy("所在地区"),
        coerce=int,
        required=False,
        empty_value=None,
        help_text=gettext_lazy("不清楚涉及哪个单位时，选择地区即可，由当地政务服务管理机构分派"),
    )
    unit_id = forms.TypedChoiceField(
        label=gettext_lazy("涉及单位（可选）"), coerce=int, required=False, empty_value=None
    )
    hall_id = forms.TypedChoiceField(
        label=gettext_lazy("涉及大厅（可选）"), coerce=int, required=False, empty_value=None
    )
    topic = forms.ChoiceField(
        label=gettext_lazy("意见类别（可选）"),
        required=False,
        choices=[("", gettext_lazy("（不选）")), *SuggestionTopic.choices],
    )
    content = forms.CharField(
        label=gettext_lazy("意见建议"),
        max_length=SUGGESTION_MAX,
        widget=forms.Textarea({"rows": 6, "maxlength": SUGGESTION_MAX}),
        error_messages={"required": gettext_lazy("请填写意见建议内容")},
    )
    contact_name = forms.CharField(
        label=gettext_lazy("姓名（可选）"),
        max_length=50,
        required=False,
        widget=forms.TextInput({"autocomplete": "name"}),
    )
    contact_phone = forms.CharField(
        label=gettext_lazy("手机号码（可选）"),
        max_length=20,
        required=False,
        help_text=gettext_lazy(
            "留下号码可收到处理结果短信；不留则匿名提交，凭工单编号和查询码查看答复。号码加密保存，不公开。"
        ),
        widget=forms.TextInput({"type": "tel", "inputmode": "numeric", "autocomplete": "tel"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        region_choices_, region_paths = region_choices()
        self.fields["region_id"].choices = region_choices_
        self.fields["region_id"].widget = PathSelect(choices=region_choices_, paths=region_paths)
        units = Organisation.objects.filter(is_active=True).select_related("region").order_by("region__path", "name")
        unit_choices, unit_paths = _grouped(units, gettext_lazy("（不清楚可不选）"))
        self.fields["unit_id"].choices = unit_choices
        self.fields["unit_id"].widget = PathSelect(choices=unit_choices, paths=unit_paths)
        halls = Hall.objects.filter(is_active=True).select_related("region").order_by("region__path", "name")
        hall_choices, hall_paths = _grouped(halls, gettext_lazy("（不选）"))
        self.fields["hall_id"].choices = hall_choices
        self.fields["hall_id"].widget = PathSelect(choices=hall_choices, paths=hall_paths)

    def clean(self):
        data = super().clean()
        targets = ("region_id", "unit_id", "hall_id")
        if not any(data.get(f) for f in targets) and not any(f in self.errors for f in targets):
            self.add_error("region_id", _("请选择所在地区，或意见涉及的单位、大厅"))
        return data


# --- assessment upload -----------------------------------------------------------------------------------------

CUSTOM = "custom"


def period_choices(today: date | None = None) -> list[tuple[str, str]]:
    """The last 12 months, 8 quarters and 3 years, newest first, then 自定义 (explicit dates)."""
    today = today or timezone.localdate()
    months, quarters, years = [], [], []
    y, m = today.year, today.month
    for _i in range(12):
        months.append((f"{y}-{m:02d}", _("%(y)d年%(m)d月") % {"y": y, "m": m}))
        y, m = (y, m - 1) if m > 1 else (y - 1, 12)
    y, q = today.year, (today.month - 1) // 3 + 1
    for _i in range(8):
        quarters.append((f"{y}-Q{q}", _("%(y)d年第%(q)d季度") % {"y": y, "q": q}))
        y, q = (y, q - 1) if q > 1 else (y - 1, 4)
    for i in range(3):
        years.append((str(today.year - i), _("%(y)d年") % {"y": today.year - i}))
    return [("", _("（请选择）")), *months, *quarters, *years, (CUSTOM, _("自定义起止日期"))]


class AssessmentUploadForm(DomainErrorsMixin, forms.Form):
    firm = forms.CharField(label=gettext_lazy("评估机构"), max_length=services.FIRM_MAX)
    title = forms.CharField(label=gettext_lazy("评估项目（可选）"), max_length=services.TITLE_MAX, required=False)
    region_id = forms.TypedChoiceField(label=gettext_lazy("评估区划"), coerce=int, empty_value=None)
    period = forms.ChoiceField(label=gettext_lazy("评估周期"))
    period_start = forms.DateField(
        label=gettext_lazy("评估期起（自定义时填写）"), required=False, widget=forms.DateInput({"type": "date"})
    )
    period_end = forms.DateField(
        label=gettext_lazy("评估期止（自定义时填写）"), required=False, widget=forms.DateInput({"type": "date"})
    )
    file = forms.FileField(
        label=gettext_lazy("评估结果文件（.xlsx 或 .csv）"),
        widget=forms.ClearableFileInput({"accept": ".xlsx,.csv"}),
    )

    def __init__(self, *args, scope: Scope, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region_id"].choices = [
            ("", _("（请选择）")),
            *((str(r.pk), f"{r.name}（{r.code}）") for r in services.import_regions(scope)[:2000]),
        ]
        self.fields["period"].choices = period_choices()

    def clean(self):
        data = super().clean()
        period = data.get("period")
        if period == CUSTOM:
            if not data.get("period_start"):
                self.add_error("period_start", _("自定义评估期时请填写起始日期"))
            if not data.get("period_end"):
                self.add_error("period_end", _("自定义评估期时请填写截止日期"))
        elif period:
            try:
                data["period_start"], data["period_end"] = services.period_bounds(period)
            except DomainError as exc:
                self.add_error("period", exc.message)
        return data
