"""服务调查 reads: which surveys a scope sees, response rates, per-question results, results by unit and 事项.

Figures always come from the invitations inside the reader's scope: a department administrator sees the province's
survey, counted over the invitations of their units only.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db.models import Avg, Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from haochaping.accounts.scope import Scope
from haochaping.directory.models import Organisation, Region, ServiceItem
from haochaping.surveys.models import Answer, Invitation, Question, Response, Survey

TEXT_ANSWERS_SHOWN = 20


def _ancestor_paths(path: str) -> list[str]:
    """'33/3301/330102/' → ['33/', '33/3301/', '33/3301/330102/'] (the region and the regions above it)."""
    parts = [p for p in path.split("/") if p]
    return ["".join(f"{p}/" for p in parts[: n + 1]) for n in range(len(parts))]


def visible_surveys(scope: Scope) -> QuerySet[Survey]:
    """Surveys the scope may read: those of its region or below, and those of a region above it (about it too);
    for department scopes, the surveys limited to their units or not limited to a unit in a region above them."""
    qs = Survey.objects.select_related("region", "unit", "service_item")
    if scope.kind == "all":
        return qs
    if scope.kind == "region":
        return qs.filter(Q(region__path__startswith=scope.region_path) | Q(region__path__in=_ancestor_paths(
            scope.region_path)))  # fmt: skip
    if scope.kind == "units" and scope.region_id:
        region = Region.objects.filter(pk=scope.region_id).first()
        if region is None:
            return qs.none()
        return qs.filter(
            Q(unit_id__in=scope.unit_ids) | Q(unit__isnull=True, region__path__in=_ancestor_paths(region.path))
        )
    return qs.none()


def managed_surveys(scope: Scope) -> QuerySet[Survey]:
    """Surveys the scope may change and distribute: of its own region or below."""
    qs = Survey.objects.select_related("region", "unit", "service_item")
    if scope.kind == "all":
        return qs
    if scope.kind == "region":
        return qs.filter(region__path__startswith=scope.region_path)
    return qs.none()


def invitations_in_scope(survey: Survey, scope: Scope) -> QuerySet[Invitation]:
    return scope.filter(Invitation.objects.filter(survey=survey))


def responses_in_scope(survey: Survey, scope: Scope) -> QuerySet[Response]:
    return scope.filter(Response.objects.filter(survey=survey))


def _rate(responded: int, invited: int) -> float | None:
    return round(responded * 100 / invited, 1) if invited else None


@dataclass
class Rates:
    label: str
    invited: int = 0
    opened: int = 0
    responded: int = 0
    score: Decimal | None = None
    key: object = None

    @property
    def rate(self) -> float | None:
        return _rate(self.responded, self.invited)

    @property
    def open_rate(self) -> float | None:
        return _rate(self.opened, self.invited)


def _counted(qs: QuerySet[Invitation], by: str | None) -> list[dict]:
    values = qs.values(by) if by else qs.values()
    if not by:
        return [
            qs.aggregate(
                invited=Count("id"),
                opened=Count("id", filter=Q(opened_at__isnull=False)),
                responded=Count("id", filter=Q(responded_at__isnull=False)),
                score=Avg("response__score"),
            )
        ]
    return list(
        values.annotate(
            invited=Count("id"),
            opened=Count("id", filter=Q(opened_at__isnull=False)),
            responded=Count("id", filter=Q(responded_at__isnull=False)),
            score=Avg("response__score"),
        ).order_by(by)
    )


def _score(value) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(Decimal("0.1"))


def overall(survey: Survey, scope: Scope) -> Rates:
    row = _counted(invitations_in_scope(survey, scope), None)[0]
    return Rates(_("合计"), row["invited"], row["opened"], row["responded"], _score(row["score"]))


def by_channel(survey: Survey, scope: Scope) -> list[Rates]:
    labels = dict(Invitation.Channel.choices)
    return [
        Rates(str(labels.get(r["channel"], r["channel"])), r["invited"], r["opened"], r["responded"],
              _score(r["score"]), r["channel"])
        for r in _counted(invitations_in_scope(survey, scope), "channel")
    ]  # fmt: skip


def by_unit(survey: Survey, scope: Scope) -> list[Rates]:
    rows = _counted(invitations_in_scope(survey, scope), "unit_id")
    names = dict(Organisation.objects.filter(pk__in=[r["unit_id"] for r in rows]).values_list("pk", "name"))
    out = [Rates(names.get(r["unit_id"], "—"), r["invited"], r["opened"], r["responded"], _score(r["score"]),
                 r["unit_id"]) for r in rows]  # fmt: skip
    return sorted(out, key=lambda r: (r.score is None, r.score or 0, r.label))


def by_item(survey: Survey, scope: Scope) -> list[Rates]:
    rows = _counted(invitations_in_scope(survey, scope), "service_item_id")
    # 事项 of the same name are implemented by many units: the unit tells them apart.
    names = {pk: f"{name} · {unit}" for pk, name, unit in ServiceItem.objects.filter(
        pk__in=[r["service_item_id"] for r in rows]).values_list("pk", "name", "unit__name")}  # fmt: skip
    out = [Rates(names.get(r["service_item_id"], "—"), r["invited"], r["opened"], r["responded"], _score(r["score"]),
                 r["service_item_id"]) for r in rows]  # fmt: skip
    return sorted(out, key=lambda r: (-r.invited, r.label))


@dataclass
class QuestionResult:
    question: Question
    answered: int = 0
    # single / multiple: (option, count, share %)
    options: list[tuple[str, int, float]] = field(default_factory=list)
    # scale: (value, count, share %) for 1…max, and the mean
    scale: list[tuple[int, int, float]] = field(default_factory=list)
    mean: float | None = None
    texts: list[tuple[datetime, str]] = field(default_factory=list)


def question_results(survey: Survey, scope: Scope) -> list[QuestionResult]:
    responses = responses_in_scope(survey, scope)
    results = []
    for question in survey.questions.order_by("order", "id"):
        answers = Answer.objects.filter(question=question, response__in=responses)
        result = QuestionResult(question)
        if question.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
            counts: Counter[int] = Counter()
            for choices in answers.values_list("choices", flat=True):
                result.answered += 1
                counts.update(int(c) for c in choices or [])
            result.options = [
                (option, counts[i], _share(counts[i], result.answered)) for i, option in enumerate(question.options)
            ]
        elif question.kind == Question.Kind.SCALE:
            values = Counter(answers.exclude(scale=None).values_list("scale", flat=True))
            result.answered = sum(values.values())
            top = question.scale_max
            result.scale = [(v, values[v], _share(values[v], result.answered)) for v in range(1, top + 1)]
            if result.answered:
                result.mean = round(sum(v * n for v, n in values.items()) / result.answered, 2)
        else:
            texts = answers.exclude(text="").order_by("-response__submitted_at", "-id")
            result.answered = texts.count()
            result.texts = list(texts.values_list("response__submitted_at", "text")[:TEXT_ANSWERS_SHOWN])
        results.append(result)
    return results


def _share(n: int, total: int) -> float:
    return round(n * 100 / total, 1) if total else 0.0


def answer_rows(survey: Survey, scope: Scope):
    """Every response in scope with its (masked) answers, for the CSV export: (response, invitation, {qid: text})."""
    questions = {q.pk: q for q in survey.questions.all()}
    responses = responses_in_scope(survey, scope).select_related("invitation__unit", "invitation__service_item")
    for response in responses.order_by("submitted_at", "id").iterator(chunk_size=500):
        shown: dict[int, str] = {}
        for answer in response.answers.all():
            q = questions.get(answer.question_id)
            if q is None:
                continue
            if q.kind in (Question.Kind.SINGLE, Question.Kind.MULTIPLE):
                shown[q.pk] = "；".join(q.options[i] for i in answer.choices if 0 <= i < len(q.options))
            elif q.kind == Question.Kind.SCALE:
                shown[q.pk] = "" if answer.scale is None else str(answer.scale)
            else:
                shown[q.pk] = answer.text
        yield response, response.invitation, shown


# --- figures for analytics (helper of the dashboards and the performance sheet) ----------------------------------


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    tz = timezone.get_current_timezone()
    return (timezone.make_aware(datetime.combine(start, time.min), tz),
            timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), tz))  # fmt: skip


def _scores(scope: Scope, start: date, end: date, by: str) -> dict[int, dict]:
    low, high = _bounds(start, end)
    invitations = scope.filter(Invitation.objects.exclude(**{by: None}))
    out: dict[int, dict] = {}
    for row in invitations.filter(created_at__gte=low, created_at__lt=high).values(by).annotate(n=Count("id")):
        out.setdefault(row[by], {"invited": 0, "responses": 0, "score": None})["invited"] = row["n"]
    answered = invitations.filter(response__submitted_at__gte=low, response__submitted_at__lt=high)
    for row in answered.values(by).annotate(n=Count("id"), score=Avg("response__score")):
        entry = out.setdefault(row[by], {"invited": 0, "responses": 0, "score": None})
        entry["responses"], entry["score"] = row["n"], _score(row["score"])
    return out


def unit_scores(scope: Scope, start: date, end: date) -> dict[int, dict]:
    """{unit_id: {"invited": invitations sent in the period, "responses": responses submitted in the period,
    "score": their mean Response.score (0–100, None without scale answers)}} by the invitation's unit, over every
    survey in the scope; start and end are local dates, both included."""
    return _scores(scope, start, end, "unit_id")


def item_scores(scope: Scope, start: date, end: date) -> dict[int, dict]:
    """As unit_scores, by the invitation's 事项 (service_item_id)."""
    return _scores(scope, start, end, "service_item_id")
