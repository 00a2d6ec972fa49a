"""What the public portal's figure pages show (selectors): a region, a department, a hall, a 事项, the fair
rankings of a region, the integrity page, and the search.

Every figure comes from the same places as the internal dashboards: rating counts from the rollups
(``analytics.selectors.counts_by`` or the month cubes it reads), the metric definitions of
``analytics.metrics.Counts``, case figures from ``cases.rollup.figures``, rankings from ``analytics.rankings``.
Every row of a unit, hall, window, 事项, region or month goes through ``suppression.suppress`` before it leaves
here: a suppressed row keeps its name and no figure.

The computed data (never the HTML: the language and the elderly mode change the HTML) is kept in Django's cache for
``HAOCHAPING_PUBLIC_CACHE_SECONDS``, keyed by page, object and period; ``computed_at`` in it is the time the page
states as its freshness. Nothing here names a staff member or a rater.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, Sum
from django.utils import timezone

from haochaping.accounts.scope import Scope
from haochaping.analytics.metrics import Counts
from haochaping.analytics.models import MEASURES, Cube, ItemMonth, StaffMonth
from haochaping.analytics.rankings import rank
from haochaping.analytics.selectors import Slice, counts_by, is_everywhere, region_ids
from haochaping.cases import rollup as case_rollup
from haochaping.directory.models import Hall, Organisation, Region, ServiceItem, Window
from haochaping.disclosure.periods import PublicPeriod
from haochaping.disclosure.suppression import is_small, suppress
from haochaping.seal.models import VerifyRun
from haochaping.seal.selectors import public_digests

CACHE_VERSION = "v1"
TABLE_CAP = 60  # rows shown in one table of a page (the open data has them all)
SEARCH_CAP = 50  # results per kind
NOT_RANKED_CAP = 100
RANK_LEVELS = ("unit", "hall")
RANK_METRICS = ("good", "bad")
CASE_RATES = ("fix_rate", "on_time_rate", "callback_rate", "real_name_rate")
DIGEST_DAYS = 30


# --- caching ------------------------------------------------------------------------------------------------


def cache_seconds() -> int:
    return int(getattr(settings, "HAOCHAPING_PUBLIC_CACHE_SECONDS", 300))


def refresh_minutes() -> int:
    return max(1, round(cache_seconds() / 60))


def cached(parts: Iterable[Any], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``compute()``'s dict from the cache, or computed now and kept; ``computed_at`` says when it was computed."""
    key = ":".join(["open", CACHE_VERSION, *(str(p) for p in parts)])
    data = cache.get(key)
    if data is None:
        data = compute()
        data["computed_at"] = timezone.now()
        seconds = cache_seconds()
        if seconds > 0:
            cache.set(key, data, seconds)
    return data


def _period_key(period: PublicPeriod) -> str:
    # "12m" moves with today: the key carries the dates too.
    return f"{period.code}:{period.start:%Y%m%d}-{period.end:%Y%m%d}"


# --- figures ------------------------------------------------------------------------------------------------


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def num(x: float | None, digits: int = 1) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def figures(c: Counts) -> dict[str, Any]:
    """The headline figures of one group of ratings, with the definitions of ``Counts`` (docs/metrics.md), and
    their display texts (``*_text``)."""
    share = c.defaults / c.counted if c.counted else None
    out = {
        "counted": c.counted,
        "active": c.active,
        "defaults": c.defaults,
        "set_aside": c.set_aside,
        "good_rate": c.good_rate(),
        "bad_rate": c.bad_rate(),
        "score": c.score(),
        "active_rate": c.active_rate,
        "default_share": share,
    }
    out.update(
        counted_text=f"{c.counted:,}",
        set_aside_text=f"{c.set_aside:,}",
        good_rate_text=pct(out["good_rate"]),
        bad_rate_text=pct(out["bad_rate"]),
        score_text=num(out["score"]),
        active_rate_text=pct(out["active_rate"]),
        default_share_text=pct(share),
    )
    return out


def _headline(c: Counts) -> dict[str, Any]:
    """A page's own figures: shown unless the whole page holds fewer than k ratings (then none at all)."""
    return {**figures(c), "suppressed": is_small(c.counted)}


def _table(rows: list[dict[str, Any]], *, cap: int = TABLE_CAP, ordered: bool = False) -> dict[str, Any]:
    """Suppress a table's rows as one group (primary and secondary), blank the suppressed ones, cap its length;
    ``ordered``: largest first, the suppressed rows last."""
    rows_in = rows
    suppress(rows, count_key="counted")
    for row in rows:
        if row["suppressed"]:
            row["fig"] = None
            row["counted"] = None
    if ordered:  # largest first; suppressed rows after them in their given (name) order: no hint of their size
        rows = [r for r in rows if not r["suppressed"]]
        rows.sort(key=lambda r: -(r["counted"] or 0))
        rows += [r for r in rows_in if r["suppressed"]]
    return {"rows": rows[:cap], "total_rows": len(rows), "capped": len(rows) > cap, "cap": cap}


def _row(key: Any, name: str, c: Counts | None, **extra: Any) -> dict[str, Any]:
    c = c or Counts()
    return {"key": key, "name": name, "counted": c.counted, "fig": figures(c), **extra}


def _trend(period: PublicPeriod, by_month: dict[date, Counts]) -> dict[str, Any]:
    """Per month of the period: counted, 好评率, 差评率 (a month with fewer than k ratings is suppressed, and so
    is the next smallest while the suppressed months could be recovered from the period's total)."""
    rows = [_row(m, f"{m:%Y-%m}", by_month.get(m)) for m in period.months]
    return _table(rows, cap=len(rows))


def _cases(start: date, end: date, *, region_ids_: list[int] | None = None, unit_ids: list[int] | None = None):
    m = case_rollup.figures(start, end, region_ids=region_ids_, unit_ids=unit_ids)
    out = {k: m.get(k) for k in ("opened", "closed", "fixed", "not_adopted", *CASE_RATES)}
    out["suppressed"] = is_small(int(m.get("opened") or 0))
    for rate in CASE_RATES:
        out[f"{rate}_text"] = pct(out[rate])
    if out["suppressed"]:  # a handful of cases: a rate would speak of one or two people
        for rate in CASE_RATES:
            out[rate], out[f"{rate}_text"] = None, "—"
    return out


def _digest() -> dict[str, Any] | None:
    latest = public_digests(1)
    if not latest:
        return None
    d = latest[0]
    return {**d, "short_hash": d["block_hash"][:12]}


def _cube_by(model: type[Cube], period: PublicPeriod, q: Q, column: str) -> dict[Any, Counts]:
    """Counts of a month cube within the period's whole months, filtered by ``q``, per ``column``."""
    q &= Q(month__gte=period.start.replace(day=1), month__lte=period.end)
    rows = model.objects.filter(q).values(column).annotate(**{m: Sum(m) for m in MEASURES}).order_by()
    out: dict[Any, Counts] = {}
    for row in rows:
        key = row[column]
        if isinstance(key, str) and column == "month":
            key = date.fromisoformat(key)
        out[key] = Counts.from_row(row)
    return out


def _total(rows: dict[Any, Counts]) -> Counts:
    total = Counts()
    for c in rows.values():
        total += c
    return total


# --- the pages' objects -------------------------------------------------------------------------------------


def root_regions() -> list[Region]:
    return list(Region.objects.filter(parent__isnull=True).order_by("code"))


def region_by_code(code: str) -> Region | None:
    return Region.objects.filter(code=code).first() if code.isdigit() and len(code) == 12 else None


def unit_by_pk(pk: int) -> Organisation | None:
    return Organisation.objects.filter(pk=pk, is_active=True).select_related("region").first()


def hall_by_pk(pk: int) -> Hall | None:
    return Hall.objects.filter(pk=pk, is_active=True).select_related("region", "unit").first()


def item_by_pk(pk: int) -> ServiceItem | None:
    return (
        ServiceItem.objects.filter(pk=pk, is_active=True, unit__is_active=True).select_related("unit", "region").first()
    )


def breadcrumb(region: Region) -> list[dict[str, str]]:
    codes = region.path.strip("/").split("/")
    names = dict(Region.objects.filter(code__in=codes).values_list("code", "name"))
    return [{"code": c, "name": names.get(c, c)} for c in codes]


def _region_ids_or_none(path: str) -> list[int] | None:
    return None if is_everywhere(path) else region_ids(path)


# --- the pages' data ----------------------------------------------------------------------------------------


def region_page(region: Region, period: PublicPeriod) -> dict[str, Any]:
    return cached(["region", region.pk, _period_key(period)], lambda: _region_page(region, period))


def _region_page(region: Region, period: PublicPeriod) -> dict[str, Any]:
    s = Slice(period.start, period.end, region_path=region.path)
    total = counts_by(s).total
    by_month = counts_by(s, "month").rows
    by_child = counts_by(s, "region").rows
    children = list(Region.objects.filter(parent=region).order_by("code").values_list("id", "code", "name"))
    child_rows = [_row(rid, name, by_child.get(rid), code=code) for rid, code, name in children]
    units = list(
        Organisation.objects.filter(region=region, is_active=True).order_by("kind", "name").values_list("id", "name")
    )
    by_unit: dict[Any, Counts] = {}
    if units:  # an empty unit_ids filter cannot be compiled into SQL
        by_unit = counts_by(Slice(period.start, period.end, unit_ids=frozenset(u for u, _ in units)), "unit").rows
    unit_rows = [_row(uid, name, by_unit.get(uid)) for uid, name in units]
    return {
        "kpis": _headline(total),
        "cases": _cases(period.start, period.end, region_ids_=_region_ids_or_none(region.path)),
        "digest": _digest(),
        "trend": _trend(period, by_month),
        "children": _table(child_rows, cap=100),
        "units": _table(unit_rows, ordered=True),
    }


def unit_page(unit: Organisation, period: PublicPeriod) -> dict[str, Any]:
    return cached(["unit", unit.pk, _period_key(period)], lambda: _unit_page(unit, period))


def _unit_page(unit: Organisation, period: PublicPeriod) -> dict[str, Any]:
    s = Slice(period.start, period.end, unit_ids=frozenset({unit.pk}))
    total = counts_by(s).total
    by_month = counts_by(s, "month").rows
    by_item = counts_by(s, "item").rows
    items = list(ServiceItem.objects.filter(unit=unit, is_active=True).order_by("name").values_list("id", "name"))
    item_rows = [_row(iid, name, by_item.get(iid)) for iid, name in items]
    halls = list(
        Hall.objects.filter(Q(unit=unit) | Q(windows__unit=unit), is_active=True)
        .distinct()
        .order_by("name")
        .values("id", "name")
    )
    return {
        "kpis": _headline(total),
        "cases": _cases(period.start, period.end, unit_ids=[unit.pk]),
        "digest": _digest(),
        "trend": _trend(period, by_month),
        "items": _table(item_rows, ordered=True),
        "halls": halls,
    }


def hall_page(hall: Hall, period: PublicPeriod) -> dict[str, Any]:
    return cached(["hall", hall.pk, _period_key(period)], lambda: _hall_page(hall, period))


def _hall_page(hall: Hall, period: PublicPeriod) -> dict[str, Any]:
    q = Q(hall_id=hall.pk)
    by_month = _cube_by(StaffMonth, period, q, "month")
    by_window = _cube_by(StaffMonth, period, q, "window_id")
    windows = list(Window.objects.filter(hall=hall, is_active=True).order_by("code").values_list("id", "code", "name"))
    window_rows = [_row(wid, f"{code} {name}", by_window.get(wid), code=code) for wid, code, name in windows]
    return {
        "kpis": _headline(_total(by_month)),
        "digest": _digest(),
        "trend": _trend(period, by_month),
        "windows": _table(window_rows),
        "units": list(
            Organisation.objects.filter(windows__hall=hall, is_active=True)
            .distinct()
            .order_by("name")
            .values("id", "name")
        ),
    }


def item_page(item: ServiceItem, period: PublicPeriod) -> dict[str, Any]:
    return cached(["item", item.pk, _period_key(period)], lambda: _item_page(item, period))


def _item_page(item: ServiceItem, period: PublicPeriod) -> dict[str, Any]:
    q = Q(service_item_id=item.pk)
    by_month = _cube_by(ItemMonth, period, q, "month")
    by_unit = _cube_by(ItemMonth, period, q, "unit_id")
    names = dict(Organisation.objects.filter(id__in=list(by_unit), is_active=True).values_list("id", "name"))
    unit_rows = [_row(uid, names[uid], c) for uid, c in sorted(by_unit.items()) if uid in names]
    return {
        "kpis": _headline(_total(by_month)),
        "digest": _digest(),
        "trend": _trend(period, by_month),
        "units": _table(unit_rows, ordered=True) if len(unit_rows) > 1 else None,
    }


def rankings_page(region: Region, level: str, metric: str, period: PublicPeriod) -> dict[str, Any]:
    return cached(
        ["rank", region.pk, level, metric, _period_key(period)], lambda: _rankings(region, level, metric, period)
    )


def _rankings(region: Region, level: str, metric: str, period: PublicPeriod) -> dict[str, Any]:
    scope = Scope(kind="region", region_path=region.path, region_id=region.pk, label=region.name)
    result = rank(scope, level, period.start, period.end, metric=metric)
    active_ids = set(
        (Organisation if level == "unit" else Hall)
        .objects.filter(is_active=True, id__in=[e.key for e in result.ranked + result.not_ranked])
        .values_list("id", flat=True)
    )
    rows = []
    for e in result.ranked + result.not_ranked:
        if e.key not in active_ids:
            continue
        rows.append(
            {
                "key": e.key,
                "name": e.name,
                "detail": e.detail,
                "counted": e.counts.counted,
                "ranked": e.rank is not None,
                "rank": e.rank,
                "band": e.band.label if e.band else "",
                "band_rank": e.band_rank,
                "active": e.active,
                "point_text": pct(e.point),
                "bound_text": pct(e.lower if metric == "good" else e.upper),
                "interval_text": f"{pct(e.lower)} – {pct(e.upper)}" if e.lower is not None else "—",
            }
        )
    suppress(rows, count_key="counted")
    for row in rows:
        if row["suppressed"]:
            row.update(counted=None, active=None, point_text="", bound_text="", interval_text="")
    ranked = [r for r in rows if r["ranked"]]
    not_ranked = [{"key": r["key"], "name": r["name"], "detail": r["detail"]} for r in rows if not r["ranked"]]
    return {
        "start": result.start,
        "end": result.end,
        "whole_months": result.whole_months,
        "min_ratings": result.min_ratings,
        "ranked": ranked[:TABLE_CAP],
        "ranked_total": len(ranked),
        "cap": TABLE_CAP,
        "not_ranked": not_ranked[:NOT_RANKED_CAP],
        "not_ranked_total": len(not_ranked),
    }


def integrity_page(region: Region, period: PublicPeriod) -> dict[str, Any]:
    return cached(["integrity", region.pk, _period_key(period)], lambda: _integrity(region, period))


def _integrity(region: Region, period: PublicPeriod) -> dict[str, Any]:
    digests = public_digests(DIGEST_DAYS)
    run = VerifyRun.objects.order_by("-id").first()
    s = Slice(period.start, period.end, region_path=region.path)
    by_child = counts_by(s, "region").rows
    children = list(Region.objects.filter(parent=region).order_by("code").values_list("id", "code", "name"))
    rows = [_row(rid, name, by_child.get(rid), code=code) for rid, code, name in children]
    return {
        "digests": digests,
        "verify": None
        if run is None
        else {"finished_at": run.finished_at, "since": run.since, "findings": run.findings, "checked": run.checked},
        "total": _headline(counts_by(s).total),
        "children": _table(rows, cap=100),
    }


# --- search -------------------------------------------------------------------------------------------------


def search(q: str) -> dict[str, list[dict[str, Any]]]:
    """事项 (by name, basic or implementation code), units (name, short name), halls, regions: up to SEARCH_CAP
    of each, active ones only."""
    items = (
        ServiceItem.objects.filter(is_active=True, unit__is_active=True)
        .filter(Q(name__icontains=q) | Q(basic_code=q) | Q(implementation_code=q))
        .order_by("name", "id")
        .values("id", "name", "unit__name", "region__name")[:SEARCH_CAP]
    )
    units = (
        Organisation.objects.filter(is_active=True)
        .filter(Q(name__icontains=q) | Q(short_name__icontains=q))
        .order_by("name", "id")
        .values("id", "name", "region__name")[:SEARCH_CAP]
    )
    halls = (
        Hall.objects.filter(is_active=True, name__icontains=q)
        .order_by("name", "id")
        .values("id", "name", "region__name")
    )[:SEARCH_CAP]
    regions = (
        Region.objects.filter(Q(name__icontains=q) | Q(code=q)).order_by("code").values("code", "name")[:SEARCH_CAP]
    )
    return {"items": list(items), "units": list(units), "halls": list(halls), "regions": list(regions)}


def freshness(data: dict[str, Any]) -> datetime:
    return timezone.localtime(data["computed_at"])


__all__ = [
    "RANK_LEVELS",
    "RANK_METRICS",
    "breadcrumb",
    "cached",
    "figures",
    "hall_page",
    "integrity_page",
    "item_page",
    "rankings_page",
    "region_page",
    "root_regions",
    "search",
    "unit_page",
]
