"""The comment-mining part of the demo: a planted surge, 12345 hotline complaints, then one run of everything the
worker does (index, train the router, detect problems, raise alerts), with a summary in the demo's style.

Called by ``haochaping demo`` after the cases step (seal stays last). The recurring problems themselves are
planted by the generator (demo/planted.py) into the bulk-loaded ratings; what is added here goes through the
real paths: ratings through intake (``submit_ratings``), complaints through ``complaint_open``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, timedelta

from django.db.models import Min
from django.utils import timezone

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases import workdays
from haochaping.cases.models import Case, CaseEvent
from haochaping.cases.opening import ComplaintIn, complaint_open
from haochaping.cases.sweep import sweep
from haochaping.demo import generator as gen
from haochaping.demo import hotline
from haochaping.demo.load import DEMO_PHONE_PREFIX
from haochaping.demo.planted import PlantedProblem, plan_problems
from haochaping.directory.models import Hall, Organisation, Region, Window
from haochaping.insight import index, problems, routing, surge
from haochaping.insight import text as insight_text
from haochaping.insight.models import (
    CommentDoc,
    Problem,
    ProblemMember,
    Router,
    RoutingExample,
    RoutingSuggestion,
    SurgeAlert,
)
from haochaping.ratings.intake import submit_ratings

SURGE_LABEL = "大厅空调故障"
SURGE_VARIANTS = (
    "大厅空调坏了，闷得受不了",
    "空调坏了好几天了，排队的老人都快撑不住了",
    "大厅里空调不工作，又闷又难受",
    "空调一直不开，等了一个小时满身是汗",
    "办事大厅空调坏了也没人修",
    "大厅空调故障，工作人员说报修了还没来",
    "空掉坏了，大厅里闷死了",  # typo: 空掉 for 空调
)
SURGE_DAYS = 5
FULL_SIZE = 20_000  # ratings from which the demo plants the full surge (40–60) and 150–400 complaints
SPREAD_DAYS = 28  # complaints arrive over the last four weeks (older open ones would be long overdue)
HISTORY_ORDERS = 900  # past 12345 work orders imported as labelled routing examples
REGION_ONLY_SHARE = 0.2  # complaints that name no unit, only the district: the router suggests the department


def seed_demo(seed: int, write: Callable[[str], None] = lambda line: None) -> dict:
    """Plant the surge and the hotline complaints, run the comment mining once, write the summary lines."""
    started = time.perf_counter()
    out = lambda line: write("意见挖掘 / insight: " + line)  # noqa: E731
    cities = Region.objects.filter(level=2).count()
    planted = plan_problems(gen.plan_directory(seed, cities)) if cities else []
    rng = random.Random(f"haochaping-demo-insight-{seed}")
    today = workdays.today()

    surge_hall, surge_n = plant_surge(rng, today, avoid={p.hall for p in planted if p.hall})
    complaints, region_only = hotline_complaints(rng, today)
    # The supervision sweep has seen the backdated complaints, as the worker's would have (reminders, escalations).
    sweep()

    insight_text.reset()
    imported = import_history(rng)
    indexed = index.index_new()
    router = routing.train_from_database()
    detected = problems.detect_all(today)
    history = detect_history(today)
    for case in Case.objects.filter(pk__in=region_only, routing_suggestion__isnull=True).select_related("region"):
        routing.suggest_for_case(case)
    alerts = surge.raise_alerts(today)

    found = recognised(planted)
    result = {
        "indexed": sum(indexed.values()),
        "surge_hall": surge_hall,
        "surge_ratings": surge_n,
        "complaints": complaints,
        "region_only": len(region_only),
        "problems": Problem.objects.count(),
        "recent_problems": detected.get("problems", 0),
        "history_problems": history,
        "recognised": found,
        "alerts": alerts,
        "accuracy": router.accuracy if router else None,
        "seconds": time.perf_counter() - started,
    }
    write("")
    out(f"已索引评价文字和投诉 {result['indexed']:,} 条；导入历史 12345 工单 {imported} 条作分派样本")
    out(
        f"12345 热线投诉 {complaints} 件，其中 {len(region_only)} 件只写了区县、未写单位"
        "（看分派建议：/insight/routing/）"
    )
    out(
        f"集中反映问题 / problems: {result['problems']} 个（近30天 {result['recent_problems']}，更早 {history}）；"
        "预置问题 / planted:"
    )
    for p in planted:
        hit = found.get(p.key)
        status = f"已识别为「{hit['label']}」（{hit['size']} 条，{hit['unit']}）" if hit else "未识别 / not found"
        out(f"  {p.label}（{p.place}）: {status}")
    surge_line = (
        f"激增预警 / surge alerts: {alerts} 条；预置激增：{surge_hall} 近{SURGE_DAYS}天 {surge_n} 条「空调坏了」差评"
    )
    out(surge_line)
    if router is not None and router.accuracy is not None:
        out(f"分派模型 / router: {router.examples} 条样本，留出 {router.heldout} 条上的准确率 {router.accuracy:.1%}")
    else:
        out("分派模型 / router: 样本不足，未训练 / not enough labelled texts")
    out("  /insight/ 以 province 或 city_* 登录：热词、词云、集中问题、激增预警、差评成因（/insight/drivers/）")
    out(f"  用时 / took {result['seconds']:.1f}s")
    return result


# --- the planted surge ---------------------------------------------------------------------------------------


def plant_surge(rng: random.Random, today: date, *, avoid: set[str]) -> tuple[str, int]:
    """40–60 (12–16 in a small demo) bad ratings about a broken air conditioner at one county centre over the last
    SURGE_DAYS days,
    through intake like any rating. Returns (hall name, ratings stored)."""
    halls = Hall.objects.filter(kind=Hall.Kind.CENTRE, region__level=3).exclude(code__in=avoid).order_by("code")
    hall = halls.first()
    if hall is None:
        return "", 0
    windows = list(Window.objects.filter(hall=hall).order_by("code").values_list("code", flat=True))
    if not windows:
        return hall.name, 0
    tz = timezone.get_current_timezone()
    items = []
    low, high = (40, 60) if _ratings() >= FULL_SIZE else (12, 16)
    for _ in range(rng.randint(low, high)):
        day = today - timedelta(days=rng.randint(1, SURGE_DAYS))
        at = datetime(day.year, day.month, day.day, rng.randint(9, 16), rng.randrange(60), tzinfo=tz)
        items.append(
            {
                "window": {"hall": hall.code, "code": rng.choice(windows)},
                "grade": rng.choice(("dissatisfied", "very_dissatisfied")),
                "channel": rng.choice(("hall_tablet", "hall_tablet", "qr")),
                "rated_at": at.isoformat(),
                "comment": rng.choice(SURGE_VARIANTS),
            }
        )
    results = submit_ratings(items, scope=ALL_SCOPE, client="demo-insight")
    return hall.name, sum(1 for r in results if r.ok)


# --- 12345 hotline complaints --------------------------------------------------------------------------------


def _ratings() -> int:
    from haochaping.ratings.models import Rating

    return Rating.objects.count()


def complaint_count() -> int:
    """About 300 for the default demo (at least 150); a small test demo gets a few dozen, so that its cases
    stay mostly the handled ones the cases step made."""
    n = _ratings()
    return max(150, min(400, n // 700)) if n >= FULL_SIZE else max(30, n // 100)


def hotline_complaints(rng: random.Random, today: date, n: int | None = None) -> tuple[int, list[int]]:
    """Complaints from the 12345 hotline over the last SPREAD_DAYS days, most naming a unit of the department the
    text is about, some naming only the district. Returns (complaints opened, ids of the ones without a unit)."""
    n = n if n is not None else complaint_count()
    counties = list(Region.objects.filter(level=3).order_by("code"))
    if not counties:
        return 0, []
    units: dict[tuple[int, str], list[int]] = {}
    anywhere: dict[str, list[int]] = {}
    for pk, region_id, category in Organisation.objects.exclude(category="").values_list("pk", "region_id", "category"):
        units.setdefault((region_id, category), []).append(pk)
        anywhere.setdefault(category, []).append(pk)
    categories = [c for c in hotline.CATEGORIES if c in anywhere]
    opened: list[tuple[int, datetime]] = []
    region_only: list[int] = []
    now = timezone.now()
    for _ in range(n):
        category = rng.choice(categories)
        county = rng.choice(counties)
        text = hotline.work_order(rng, category)
        fields = {"content": text, "contact_phone": f"{DEMO_PHONE_PREFIX}{rng.randrange(10000):04d}",
                  "contact_name": gen.person_name(rng), "channel": "phone"}  # fmt: skip
        no_unit = rng.random() < REGION_ONLY_SHARE
        if no_unit:
            fields["region_id"] = county.pk
        else:
            fields["unit_id"] = rng.choice(units.get((county.pk, category)) or anywhere[category])
        case = complaint_open(ComplaintIn(**fields), scope=ALL_SCOPE, actor_label="12345热线")
        back = timedelta(days=rng.randint(0, SPREAD_DAYS - 1), hours=rng.randint(0, 8), minutes=rng.randrange(60))
        opened.append((case.pk, now - back))
        if no_unit:
            region_only.append(case.pk)
    # Spread over the last weeks (they all arrive "now" through complaint_open): the case, its events and its
    # deadlines move back together, so the history stays consistent (opened, then events, then deadlines).
    for pk, at in opened:
        case = Case.objects.get(pk=pk)
        shift = at - case.opened_at
        updates: dict[str, object] = {"opened_at": at}
        for name in ("callback_due", "resolve_due", "due_on"):
            value = getattr(case, name, None)
            if value is not None:
                updates[name] = value + timedelta(days=shift.days)
        Case.objects.filter(pk=pk).update(**updates)
        for event in CaseEvent.objects.filter(case_id=pk):
            CaseEvent.objects.filter(pk=event.pk).update(at=event.at + shift)
    return len(opened), region_only


def import_history(rng: random.Random, n: int = HISTORY_ORDERS) -> int:
    """Past 12345 work orders with the department that handled them, imported as routing examples (as a city
    would with `haochaping insight train --csv`): the router starts with a history, not only this demo's few
    complaints. Texts are masked like every other text in the analysis tables."""
    pipe = insight_text.pipeline()
    categories = [c for c in hotline.CATEGORIES if Organisation.objects.filter(category=c).exists()]
    if not categories:
        return 0
    examples = []
    for _ in range(n):
        category = rng.choice(categories)
        examples.append(
            RoutingExample(text=pipe.mask(hotline.work_order(rng, category)), label=category,
                           origin=RoutingExample.Origin.IMPORTED)
        )  # fmt: skip
    RoutingExample.objects.bulk_create(examples)
    return len(examples)


# --- problems over the earlier months ------------------------------------------------------------------------


def detect_history(today: date) -> int:
    """The problems of the months before detect_all's window (PERIOD_DAYS), per agency region: the planted
    problems recur over the whole year, so the earlier months show them in full. Periods do not overlap, so the
    worker's later runs over the recent window leave these alone."""
    first = CommentDoc.objects.aggregate(d=Min("day"))["d"]
    end = today - timedelta(days=problems.PERIOD_DAYS)
    if first is None or first > end:
        return 0
    found = 0
    agency_regions = Organisation.objects.filter(kind=Organisation.Kind.AGENCY).values("region_id")
    for region in Region.objects.filter(pk__in=agency_regions).order_by("path"):
        found += len(problems.detect(region, first, end))
    return found


def planted_docs(problem: PlantedProblem) -> set[int]:
    """Ids of the CommentDocs that carry this planted problem's wording."""
    docs = CommentDoc.objects.filter(is_bad=True, unit__uscc__in=problem.units).values_list("pk", "text")
    return {pk for pk, text in docs if problem.matches(text)}


def recognised(planted: list[PlantedProblem]) -> dict[str, dict]:
    """Per planted problem, the detected Problem made mostly of its comments (the largest such), if any."""
    found: dict[str, dict] = {}
    for p in planted:
        docs = planted_docs(p)
        if not docs:
            continue
        counts = Counter(ProblemMember.objects.filter(doc_id__in=docs).values_list("problem_id", flat=True))
        best = None
        for problem in Problem.objects.filter(pk__in=list(counts)).order_by("-size", "id"):
            if counts[problem.pk] * 2 >= problem.size and (best is None or counts[problem.pk] > counts[best.pk]):
                best = problem
        if best is not None:
            top = best.units[0]["name"] if best.units else ""
            found[p.key] = {"problem": best.pk, "label": best.label, "size": best.size, "unit": top}
    return found


def summary_counts() -> dict[str, int]:
    return {
        "docs": CommentDoc.objects.count(),
        "problems": Problem.objects.count(),
        "alerts": SurgeAlert.objects.count(),
        "routers": Router.objects.count(),
        "suggestions": RoutingSuggestion.objects.count(),
    }
