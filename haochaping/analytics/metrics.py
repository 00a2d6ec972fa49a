"""Metric definitions (指标口径), written once: every page, report, ranking and export computes them here.

All rating metrics derive from grade counts in three groups (analytics/models.py): ``act`` active ratings
(主动评价) that count, ``def`` default ratings (默认评价) that count, ``out`` ratings set aside (不予采纳) after an
approved appeal. A rating under appeal still counts until the agency approves. Set-aside ratings are in no rate;
``set_aside`` reports how many there were. docs/metrics.md is the same text for people.

Rates are None when their denominator is 0 (shown as "—"), never 0 or 100%.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from haochaping.analytics.models import GRADES, MEASURES

# Satisfaction index weights, grade → points (非常不满意 0 … 非常满意 100): an evenly spaced 0–100 scale.
SCORE_WEIGHTS = {1: 0, 2: 25, 3: 50, 4: 75, 5: 100}
GOOD = (4, 5)
BAD = (1, 2)
BASIC = (3,)


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


_ACT_KEYS = tuple((g, f"act_{g}") for g in GRADES)
_DEF_KEYS = tuple((g, f"def_{g}") for g in GRADES)
_OUT_KEYS = tuple((g, f"out_{g}") for g in GRADES)


@dataclass
class Counts:
    """Grade counts of one group of ratings: act[g], default[g], out[g] for g = 1 … 5."""

    act: dict[int, int] = field(default_factory=lambda: dict.fromkeys(GRADES, 0))
    default: dict[int, int] = field(default_factory=lambda: dict.fromkeys(GRADES, 0))
    out: dict[int, int] = field(default_factory=lambda: dict.fromkeys(GRADES, 0))

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> Counts:
        """From a mapping with the cube's measure names (act_1 … out_5), e.g. an aggregate over a cube."""
        # Called once per row of a staff or 事项 list (thousands per page): no per-call string formatting.
        get = row.get
        return cls(
            {g: int(get(k) or 0) for g, k in _ACT_KEYS},
            {g: int(get(k) or 0) for g, k in _DEF_KEYS},
            {g: int(get(k) or 0) for g, k in _OUT_KEYS},
        )

    @classmethod
    def total(cls, rows: Iterable[Mapping[str, Any]]) -> Counts:
        c = cls()
        for row in rows:
            c += cls.from_row(row)
        return c

    def __iadd__(self, other: Counts) -> Counts:
        for g in GRADES:
            self.act[g] += other.act[g]
            self.default[g] += other.default[g]
            self.out[g] += other.out[g]
        return self

    # --- counts --------------------------------------------------------------------------------------
    @property
    def active(self) -> int:
        return sum(self.act.values())

    @property
    def defaults(self) -> int:
        return sum(self.default.values())

    @property
    def counted(self) -> int:
        """评价数: ratings that count (active + default), set-aside ones excluded."""
        return self.active + self.defaults

    @property
    def set_aside(self) -> int:
        """不予采纳: ratings set aside after an approved appeal (in no rate; reported)."""
        return sum(self.out.values())

    def _n(self, grades: tuple[int, ...], *, with_default: bool) -> int:
        n = sum(self.act[g] for g in grades)
        return n + sum(self.default[g] for g in grades) if with_default else n

    # --- rates ---------------------------------------------------------------------------------------
    @property
    def active_rate(self) -> float | None:
        """主动评价率 = active ÷ counted."""
        return _rate(self.active, self.counted)

    def good_rate(self, *, with_default: bool = False) -> float | None:
        """好评率 = (非常满意 + 满意) ÷ ratings; without default ratings unless asked."""
        return _rate(self._n(GOOD, with_default=with_default), self.counted if with_default else self.active)

    def bad_rate(self, *, with_default: bool = False) -> float | None:
        """差评率 = (不满意 + 非常不满意) ÷ ratings; set-aside ratings are in neither part."""
        return _rate(self._n(BAD, with_default=with_default), self.counted if with_default else self.active)

    def basic_share(self, *, with_default: bool = False) -> float | None:
        """基本满意 share = 基本满意 ÷ ratings (default ratings are usually 基本满意: compare both)."""
        return _rate(self._n(BASIC, with_default=with_default), self.counted if with_default else self.active)

    def score(self, *, with_default: bool = False) -> float | None:
        """满意度指数 0–100 = mean of SCORE_WEIGHTS over the ratings (active only unless asked)."""
        source = [self.act] + ([self.default] if with_default else [])
        n = sum(sum(d.values()) for d in source)
        points = sum(SCORE_WEIGHTS[g] * d[g] for d in source for g in GRADES)
        return points / n if n else None

    def good(self, *, with_default: bool = False) -> int:
        return self._n(GOOD, with_default=with_default)

    def bad(self, *, with_default: bool = False) -> int:
        return self._n(BAD, with_default=with_default)

    def as_dict(self) -> dict[str, Any]:
        """Every figure, for JSON, CSV and templates."""
        return {
            "counted": self.counted,
            "active": self.active,
            "defaults": self.defaults,
            "set_aside": self.set_aside,
            "good": self.good(),
            "bad": self.bad(),
            "basic": self.act[3],
            "by_grade": {g: self.act[g] + self.default[g] for g in GRADES},
            "active_rate": self.active_rate,
            "good_rate": self.good_rate(),
            "good_rate_with_default": self.good_rate(with_default=True),
            "bad_rate": self.bad_rate(),
            "bad_rate_with_default": self.bad_rate(with_default=True),
            "basic_share": self.basic_share(),
            "basic_share_with_default": self.basic_share(with_default=True),
            "score": self.score(),
            "score_with_default": self.score(with_default=True),
        }


def rate_of(numerator: int, denominator: int) -> float | None:
    """评价率 (rated 办件 ÷ completed 办件), offered → rated and the like: the same None-for-zero rule."""
    return _rate(numerator, denominator)


__all__ = ["BAD", "BASIC", "GOOD", "MEASURES", "SCORE_WEIGHTS", "Counts", "rate_of"]
