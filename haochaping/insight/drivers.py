"""差评成因 (driver analysis): which tags and detail-questionnaire answers most distinguish bad from good ratings.

For a focus (a unit, a 事项, or a region) and a period, every rating that is bad (grade 1–2) or good (4–5) and not a
默认评价 is read — at most MAX_ROWS, the most recent first, so a province-wide question stays cheap. Each tag code
(Rating.tags) and each questionnaire answer (Rating.answers, "question = answer" for choice questions) is a
feature; for each the 2×2 table bad/good × with/without gives:

- share among bad, share among good;
- lift = P(bad | feature) / P(bad): how much likelier a rating with the feature is bad than any rating;
- log-odds ratio ln((a+½)(d+½) / ((b+½)(c+½))) with the Haldane–Anscombe correction (½ added to every cell, so a
  feature never seen among good ratings still has a finite value) and its 95% interval ±1.96·√Σ 1/(cell+½);
- p-value: Pearson's chi-square test (Yates-corrected) of the 2×2 table, or Fisher's exact test when an expected
  cell count is below 5.

Features with fewer than MIN_SUPPORT ratings are left out; the rest are ranked by log-odds ratio, highest first.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from scipy.stats import chi2_contingency, fisher_exact

from haochaping.accounts.scope import Scope
from haochaping.analytics import dashboard as dash
from haochaping.directory.models import ServiceItem
from haochaping.ratings.models import Questionnaire, Rating, Tag

MAX_ROWS = 200_000
MIN_SUPPORT = 5
Z95 = 1.959964
ANSWER_LABELS = {"yes": gettext_lazy("是"), "no": gettext_lazy("否"), "unsure": gettext_lazy("不确定")}


@dataclass
class Feature:
    kind: str  # tag | answer
    code: str  # tag code, or "question=answer"
    label: str
    bad: int  # bad ratings with the feature
    good: int
    bad_share: float
    good_share: float
    lift: float
    log_odds: float
    ci_low: float
    ci_high: float
    p_value: float
    test: str  # chi2 | fisher

    @property
    def odds_ratio(self) -> float:
        return math.exp(self.log_odds)

    @property
    def significant(self) -> bool:
        return self.p_value < 0.05 and self.ci_low > 0


@dataclass
class Drivers:
    focus: dash.Focus
    period: dash.Period
    item: ServiceItem | None
    bad_total: int
    good_total: int
    rows_read: int
    capped: bool
    tags: list[Feature] = field(default_factory=list)
    answers: list[Feature] = field(default_factory=list)


def compare(a: int, bad_total: int, c: int, good_total: int) -> dict[str, Any]:
    """The statistics of one feature: ``a`` of ``bad_total`` bad and ``c`` of ``good_total`` good ratings have it."""
    b, d = bad_total - a, good_total - c
    log_odds = math.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5)))
    se = math.sqrt(sum(1 / (x + 0.5) for x in (a, b, c, d)))
    n = bad_total + good_total
    with_feature = a + c
    bad_rate = bad_total / n if n else 0.0
    lift = (a / with_feature) / bad_rate if with_feature and bad_rate else 0.0
    table = [[a, b], [c, d]]
    expected_min = min(r * k / n for r in (bad_total, good_total) for k in (with_feature, n - with_feature)) if n else 0
    if expected_min < 5 or 0 in (bad_total, good_total, with_feature, n - with_feature):
        test, p = "fisher", float(fisher_exact(table)[1])
    else:
        test, p = "chi2", float(chi2_contingency(table, correction=True)[1])
    return {
        "bad_share": a / bad_total if bad_total else 0.0,
        "good_share": c / good_total if good_total else 0.0,
        "lift": lift,
        "log_odds": log_odds,
        "ci_low": log_odds - Z95 * se,
        "ci_high": log_odds + Z95 * se,
        "p_value": min(max(p, 0.0), 1.0),
        "test": test,
    }


def rank(
    bad: Counter, good: Counter, bad_total: int, good_total: int, labels: dict[str, str], kind: str
) -> list[Feature]:
    """Features with at least MIN_SUPPORT ratings, highest log-odds ratio first."""
    out = []
    for code in set(bad) | set(good):
        a, c = bad[code], good[code]
        if a + c < MIN_SUPPORT:
            continue
        out.append(Feature(kind, code, labels.get(code, code), a, c, **compare(a, bad_total, c, good_total)))
    out.sort(key=lambda f: (-f.log_odds, f.p_value, f.code))
    return out


def tag_labels(codes: set[str]) -> dict[str, str]:
    """Tag code → label (the newest tag set's wording when versions differ)."""
    rows = Tag.objects.filter(code__in=codes).order_by("tag_set__version", "tag_set_id").values_list("code", "label")
    return dict(rows)


def answer_labels(keys: set[str]) -> dict[str, str]:
    """ "question=answer" → "question text：是/否/不确定" (texts from every questionnaire version, newest wins)."""
    texts: dict[str, str] = {}
    for questions in Questionnaire.objects.order_by("version", "id").values_list("questions", flat=True):
        for q in questions or []:
            if isinstance(q, dict) and q.get("code"):
                texts[q["code"]] = q.get("text") or q["code"]
    labels = {}
    for key in keys:
        question, _sep, answer = key.partition("=")
        labels[key] = f"{texts.get(question, question)}：{ANSWER_LABELS.get(answer, answer)}"
    return labels


def _item(scope: Scope, params: Any) -> ServiceItem | None:
    raw = (params.get("item") or "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise dash.DashboardError(_("编号应为数字：%(value)s") % {"value": raw[:20]}, "item")
    item = scope.filter(ServiceItem.objects.select_related("unit")).filter(pk=int(raw)).first()
    if item is None:
        raise dash.DashboardError(_("事项不存在或不在您的数据范围内"), "item", 404)
    return item


def ratings_for(scope: Scope, focus: dash.Focus, period: dash.Period, item: ServiceItem | None):
    """The bad and good ratings (no 默认评价) of the focus, 事项 and period, within the scope."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(period.start, time.min, tzinfo=tz)
    end = datetime.combine(period.end + timedelta(days=1), time.min, tzinfo=tz)
    qs = scope.filter(Rating.objects.all()).filter(rated_at__gte=start, rated_at__lt=end, is_default=False)
    qs = qs.exclude(grade=3)
    if focus.kind == "unit":
        qs = qs.filter(unit_id=focus.unit.pk)
    elif focus.kind == "units":
        qs = qs.filter(unit_id__in=focus.unit_ids)
    elif focus.kind == "staff":
        qs = qs.filter(staff_id=focus.staff.pk)
    elif focus.region is not None:
        qs = qs.filter(region__path__startswith=focus.region.path)
    if item is not None:
        qs = qs.filter(service_item_id=item.pk)
    return qs


def analyse(scope: Scope, params: Any, *, max_rows: int = MAX_ROWS) -> Drivers:
    """The driver analysis asked for by ``params`` (unit/region/staff, item, period/start/end); DashboardError
    (400 or 404, naming the field) for bad parameters."""
    period = dash.parse_period(params)
    focus = dash.resolve_focus(scope, params)
    item = _item(scope, params)
    qs = ratings_for(scope, focus, period, item).order_by("-rated_at")
    rows = list(qs.values_list("grade", "tags", "answers")[: max_rows + 1])
    capped = len(rows) > max_rows
    rows = rows[:max_rows]
    tags_bad: Counter = Counter()
    tags_good: Counter = Counter()
    ans_bad: Counter = Counter()
    ans_good: Counter = Counter()
    bad_total = good_total = 0
    for grade, tags, answers in rows:
        bad = grade <= 2
        if bad:
            bad_total += 1
        else:
            good_total += 1
        t, a = (tags_bad, ans_bad) if bad else (tags_good, ans_good)
        if tags:
            t.update(set(tags))
        if answers:
            a.update(f"{q}={v}" for q, v in answers.items() if v in ANSWER_LABELS)
    result = Drivers(focus, period, item, bad_total, good_total, len(rows), capped)
    tag_codes = set(tags_bad) | set(tags_good)
    answer_keys = set(ans_bad) | set(ans_good)
    result.tags = rank(tags_bad, tags_good, bad_total, good_total, tag_labels(tag_codes), "tag")
    result.answers = rank(ans_bad, ans_good, bad_total, good_total, answer_labels(answer_keys), "answer")
    return result


def choices(scope: Scope, focus: dash.Focus, limit: int = 400) -> dict[str, list[tuple[int, str]]]:
    """The units and 事项 the selectors offer: those in scope (under the focus region), at most ``limit`` each."""
    from haochaping.directory.models import Organisation

    units = scope.filter(Organisation.objects.filter(is_active=True))
    items = scope.filter(ServiceItem.objects.all())
    if focus.kind in ("unit", "staff") and focus.unit is not None:
        items = items.filter(unit_id=focus.unit.pk)
    elif focus.kind == "units":
        items = items.filter(unit_id__in=focus.unit_ids)
    elif focus.region is not None:
        units = units.filter(region__path__startswith=focus.region.path)
        items = items.filter(region__path__startswith=focus.region.path)
    return {
        "units": list(units.order_by("region__path", "name").values_list("pk", "name")[:limit]),
        "items": list(items.order_by("name", "pk").values_list("pk", "name")[:limit]),
    }
