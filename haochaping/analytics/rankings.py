"""Fair rankings (公平排名) of units, halls, windows and staff members by their ratings.

A plain ranking by 好评率 rewards luck: a unit with 3 ratings, all 满意, would top one with 3,000 ratings at 97%.
The method (docs/rankings.md is the same text for people):

1. Only active ratings that count (``Counts.active``): default ratings (默认评价) are not opinions, ratings set
   aside (不予采纳) are in no rate.
2. Minimum volume: an entity with fewer than ``min_ratings`` active ratings is listed apart (样本不足，不参与排名)
   with its counts, never ranked.
3. Score: the Wilson score interval (95%, z = 1.96) of the rate. metric "good" ranks by the LOWER bound of the
   好评率 (the rate we are 97.5% sure it is at least) — best first; metric "bad" ranks by the UPPER bound of the
   差评率 (the rate it may well reach) — worst first. The point estimate and the interval are shown too.
4. Peer groups: the ranked entities also fall into fixed volume bands (min–99, 100–999, ≥ 1000 active ratings)
   and get a rank within their band, so that small units are compared with small units.
5. Ties: bounds rounded to 4 decimals (0.01 percentage point, as shown); the same rounded bound → the same rank,
   competition ranking ("1224").

Counts come from ``analytics.selectors.counts_by`` (the rollups); hall, window and staff counts are per whole
months (the period is widened, ``RankingResult.start/end`` say so). Nothing here names a rater.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date

from haochaping.accounts.scope import Scope
from haochaping.analytics.metrics import Counts
from haochaping.analytics.selectors import counts_by, slice_for_scope
from haochaping.directory.models import Hall, Organisation, Staff, Window

LEVELS = ("unit", "hall", "window", "staff")
METRICS = ("good", "bad")
Z95 = 1.96
DEFAULT_MIN_RATINGS = {"unit": 30, "hall": 30, "window": 20, "staff": 20}
MIN_RATINGS_BOUNDS = (1, 10000)
# Lower edges of the volume bands (active ratings); the first band starts at the minimum volume.
BAND_EDGES = (100, 1000)
TIE_DECIMALS = 4  # the bound as shown (xx.xx%): differences below that are noise, not a rank


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float] | None:
    """Wilson score interval of a proportion ``successes / n``; None when n is 0.

    Unlike the normal approximation it stays inside [0, 1] and is honest at p = 0 or 1 and small n
    (3/3 → [0.438, 1]).
    """
    if n <= 0:
        return None
    if not 0 <= successes <= n:
        raise ValueError("successes must lie in 0..n")
    p = successes / n
    z2 = z * z
    denom = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
    # Clamp float dust (e.g. 1.0000000000000002) so the shown interval never leaves [0, 1].
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Band:
    """A peer group of similar volume: low ≤ active ratings ≤ high (high None = no upper edge)."""

    index: int
    low: int
    high: int | None

    @property
    def label(self) -> str:
        return f"{self.low}–{self.high}" if self.high is not None else f"≥{self.low}"

    def holds(self, n: int) -> bool:
        return n >= self.low and (self.high is None or n <= self.high)


def bands_for(min_ratings: int) -> list[Band]:
    """Fixed volume bands above the minimum: [min, 99], [100, 999], [1000, ∞), dropping bands under the minimum."""
    bands: list[Band] = []
    low = min_ratings
    for edge in BAND_EDGES:
        if low < edge:
            bands.append(Band(len(bands) + 1, low, edge - 1))
            low = edge
    bands.append(Band(len(bands) + 1, max(low, min_ratings), None))
    return bands


@dataclass
class Entry:
    """One unit / hall / window / staff member and its figures."""

    key: int
    name: str
    detail: str  # unit: its region; hall: its region; window and staff: their unit
    counts: Counts
    active: int
    hits: int  # 好评 (metric good) or 差评 (metric bad) among the active ratings
    point: float | None
    lower: float | None
    upper: float | None
    score: float | None = None  # the bound that ranks: lower (good) or upper (bad), rounded to TIE_DECIMALS
    rank: int | None = None
    band: Band | None = None
    band_rank: int | None = None


@dataclass
class RankingResult:
    level: str
    metric: str
    start: date  # the period actually counted (hall/window/staff: widened to whole months)
    end: date
    whole_months: bool  # True when the period was widened to whole months
    min_ratings: int
    bands: list[Band]
    ranked: list[Entry] = field(default_factory=list)
    not_ranked: list[Entry] = field(default_factory=list)
    excluded_none: int = 0  # active ratings with no hall/window/staff (id 0): in no row


def _competition_ranks(entries: list[Entry], attr: str) -> None:
    """Assign 1224 ranks over entries already sorted best first, by equal ``score``."""
    previous: float | None = None
    rank = 0
    for position, e in enumerate(entries, start=1):
        if e.score != previous:
            rank = position
            previous = e.score
        setattr(e, attr, rank)


def rank_counts(
    rows: dict[int, Counts], *, metric: str, min_ratings: int, names: dict[int, tuple[str, str]] | None = None
) -> tuple[list[Entry], list[Entry], list[Band]]:
    """Rank grade counts per entity (the method in the module docstring); pure, no database.

    Returns (ranked best first — worst first for metric "bad", not ranked, bands).
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    names = names or {}
    bands = bands_for(min_ratings)
    ranked: list[Entry] = []
    not_ranked: list[Entry] = []
    for key, counts in rows.items():
        active = counts.active
        hits = counts.good() if metric == "good" else counts.bad()
        interval = wilson_interval(hits, active)
        name, detail = names.get(key, (f"#{key}", ""))
        entry = Entry(
            key=key,
            name=name,
            detail=detail,
            counts=counts,
            active=active,
            hits=hits,
            point=hits / active if active else None,
            lower=interval[0] if interval else None,
            upper=interval[1] if interval else None,
        )
        if active < min_ratings:
            not_ranked.append(entry)
            continue
        bound = entry.lower if metric == "good" else entry.upper
        entry.score = round(bound, TIE_DECIMALS)
        entry.band = next(b for b in bands if b.holds(active))
        ranked.append(entry)
    # Best first (good: highest lower bound; bad: highest upper bound = worst first); equal scores keep a stable,
    # readable order: more ratings first, then name.
    ranked.sort(key=lambda e: (-e.score, -e.active, e.name, e.key))
    _competition_ranks(ranked, "rank")
    for band in bands:
        _competition_ranks([e for e in ranked if e.band == band], "band_rank")
    not_ranked.sort(key=lambda e: (-e.active, e.name, e.key))
    return ranked, not_ranked, bands


# --- names: one query per level ------------------------------------------------------------------------


def _names(level: str, ids: list[int]) -> dict[int, tuple[str, str]]:
    if not ids:
        return {}
    if level == "unit":
        return {o.id: (o.name, o.region.name) for o in Organisation.objects.filter(id__in=ids).select_related("region")}
    if level == "hall":
        return {h.id: (h.name, h.region.name) for h in Hall.objects.filter(id__in=ids).select_related("region")}
    if level == "window":
        return {
            w.id: (f"{w.hall.name}·{w.code}（{w.name}）", w.unit.name)
            for w in Window.objects.filter(id__in=ids).select_related("hall", "unit")
        }
    return {s.id: (s.name, s.unit.name) for s in Staff.objects.filter(id__in=ids).select_related("unit")}


def rank(
    scope: Scope, level: str, start: date, end: date, *, metric: str = "good", min_ratings: int | None = None
) -> RankingResult:
    """The fair ranking of ``level`` entities within the scope over [start, end]."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    if min_ratings is None:
        min_ratings = DEFAULT_MIN_RATINGS[level]
    if not MIN_RATINGS_BOUNDS[0] <= min_ratings <= MIN_RATINGS_BOUNDS[1]:
        raise ValueError("min_ratings out of bounds")
    answer = counts_by(slice_for_scope(scope, start, end), level)
    rows = dict(answer.rows)
    excluded_none = 0
    if level != "unit":
        # id 0 = rated without a hall / window / staff member: not an entity that can be ranked.
        none = rows.pop(0, None)
        excluded_none = none.active if none else 0
    ranked, not_ranked, bands = rank_counts(
        rows, metric=metric, min_ratings=min_ratings, names=_names(level, list(rows))
    )
    return RankingResult(
        level=level,
        metric=metric,
        start=answer.start,
        end=answer.end,
        whole_months=(answer.start, answer.end) != (start, end),
        min_ratings=min_ratings,
        bands=bands,
        ranked=ranked,
        not_ranked=not_ranked,
        excluded_none=excluded_none,
    )


__all__ = [
    "DEFAULT_MIN_RATINGS",
    "LEVELS",
    "METRICS",
    "Band",
    "Entry",
    "RankingResult",
    "bands_for",
    "rank",
    "rank_counts",
    "wilson_interval",
]
