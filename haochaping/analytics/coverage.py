"""Coverage report (覆盖情况): what in the scope received no rating in a period, and figures too good to be true.

Unrated: active 事项 (``ServiceItem``), active windows, active staff with a window, and channels, each compared
with the directory. The rated keys come from one grouped cube query per dimension (``counts_by`` by item,
window, staff, channel); the directory is read once per kind. Lists are capped (``LIST_MAX``) and the
totals always given.

Implausible figures are flagged for the integrity work, never hidden or corrected here. Each flag carries its
numbers and a short reason:

- ``perfect``: 好评率 100% on at least ``PERFECT_MIN_ACTIVE`` active ratings;
- ``no_bad_many_defaults``: 差评率 below ``LOW_BAD_RATE`` with a default-rating share above ``HIGH_DEFAULT_SHARE``
  (of counted ratings), on at least ``FLAG_MIN_COUNTED`` counted ratings;
- ``all_top``: every active rating 非常满意 (at least ``IMPROBABLE_MIN_ACTIVE``) where the chance of that at the
  scope's 非常满意 share is below ``IMPROBABLE``: catches a too-perfect unit before it reaches the volume above;
- ``one_channel``: at least ``ONE_CHANNEL_SHARE`` of the active ratings through one channel while the unit is
  rated through several (two or more channels), on at least ``FLAG_MIN_ACTIVE`` active ratings.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from haochaping.accounts.scope import Scope
from haochaping.analytics.metrics import Counts

# The selectors answer one dimension at a time; unit × channel needs both, over the same cube and filter.
from haochaping.analytics.selectors import Slice, counts_by, slice_for_scope, unit_channel_active
from haochaping.directory.models import Organisation, Platform, ServiceItem, Staff, Window
from haochaping.ratings.codes import Channel

LIST_MAX = 200
PERFECT_MIN_ACTIVE = 200
LOW_BAD_RATE = 0.005
HIGH_DEFAULT_SHARE = 0.30
FLAG_MIN_COUNTED = 200
ONE_CHANNEL_SHARE = 0.90
FLAG_MIN_ACTIVE = 200
# Every active rating 非常满意, with a chance below this at the scope's own 非常满意 share (share ** n): about one
# false flag in ten thousand units rated like the rest, whatever the period's volume.
IMPROBABLE = 1e-4
IMPROBABLE_MIN_ACTIVE = 20

# Platform kind → the rating channel its ratings arrive through (an unrated platform shows as an unrated channel).
PLATFORM_CHANNEL = {
    Platform.Kind.WEB: Channel.PC,
    Platform.Kind.APP: Channel.APP,
    Platform.Kind.MINI_PROGRAM: Channel.MINI_PROGRAM,
    Platform.Kind.TERMINAL: Channel.HALL_TERMINAL,
    Platform.Kind.HOTLINE: Channel.PHONE,
}


@dataclass
class Unrated:
    """Directory entries of one kind with no rating in the period: totals and the first ``LIST_MAX`` entries."""

    kind: str
    total: int = 0  # in the directory (scope)
    rated: int = 0
    unrated: int = 0
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def capped(self) -> bool:
        return self.unrated > len(self.entries)


@dataclass
class Flag:
    unit_id: int
    unit_name: str
    uscc: str
    code: str  # perfect | no_bad_many_defaults | one_channel
    reason: str
    figures: dict[str, Any]


@dataclass
class Coverage:
    items: Unrated
    windows: Unrated
    staff: Unrated
    channels: list[dict[str, Any]]  # every channel: code, label, counted, platforms (in scope)
    flags: list[Flag]

    @property
    def unrated_channels(self) -> list[dict[str, Any]]:
        return [c for c in self.channels if not c["counted"]]


def _rated_keys(s: Slice, by: str) -> set:
    """Keys with any rating (counted or set aside) in the slice: one grouped cube query."""
    return {k for k, c in counts_by(s, by).rows.items() if k and (c.counted or c.set_aside)}


def _unrated(kind: str, rows, rated: set, limit: int) -> Unrated:
    out = Unrated(kind)
    for row in rows:
        out.total += 1
        if row["pk"] in rated:
            out.rated += 1
            continue
        out.unrated += 1
        if len(out.entries) < limit:
            out.entries.append(row)
    return out


def unrated_items(scope: Scope, s: Slice, limit: int = LIST_MAX) -> Unrated:
    rows = (
        scope.filter(ServiceItem.objects.filter(is_active=True))
        .order_by("unit__region__code", "unit__name", "implementation_code")
        .values("pk", "implementation_code", "name", "unit_id", "unit__name")
    )
    return _unrated("item", rows.iterator(), _rated_keys(s, "item"), limit)


def unrated_windows(scope: Scope, s: Slice, limit: int = LIST_MAX) -> Unrated:
    rows = (
        scope.filter(Window.objects.filter(is_active=True, hall__is_active=True))
        .order_by("hall__code", "code")
        .values("pk", "code", "name", "hall__code", "hall__name", "unit_id", "unit__name")
    )
    return _unrated("window", rows.iterator(), _rated_keys(s, "window"), limit)


def unrated_staff(scope: Scope, s: Slice, limit: int = LIST_MAX) -> Unrated:
    rows = (
        scope.filter(Staff.objects.filter(is_active=True, window__isnull=False))
        .order_by("unit__region__code", "unit__name", "code")
        .values("pk", "code", "name", "unit_id", "unit__name", "window__code", "window__hall__name")
    )
    return _unrated("staff", rows.iterator(), _rated_keys(s, "staff"), limit)


def channel_coverage(scope: Scope, s: Slice) -> list[dict[str, Any]]:
    """Every rating channel (not 系统默认) with its counted ratings, and the scope's platforms that feed it."""
    counts = counts_by(s, "channel").rows
    platforms: dict[str, list[str]] = defaultdict(list)
    for kind, name in scope.filter(Platform.objects.filter(is_active=True)).values_list("kind", "name"):
        if kind in PLATFORM_CHANNEL:
            platforms[PLATFORM_CHANNEL[kind]].append(name)
    out = []
    for value, label in Channel.choices:
        if value == Channel.DEFAULT:
            continue
        c = counts.get(value, Counts())
        out.append({"code": value, "label": str(label), "counted": c.counted, "platforms": platforms.get(value, [])})
    return out


def _active_by_unit_channel(s: Slice) -> dict[int, dict[str, int]]:
    """Active ratings per unit and channel (one GROUP BY over the day cube)."""
    return unit_channel_active(s)


def _pct(share: float) -> str:
    return f"{share * 100:.1f}%"


def implausible_units(s: Slice) -> list[Flag]:
    """Units whose figures look too good or too uniform to be true (see the module docstring)."""
    per_unit = counts_by(s, "unit").rows
    channels = _active_by_unit_channel(s)
    flags: list[tuple[int, str, str, dict]] = []
    scope_total = Counts()
    for c in per_unit.values():
        scope_total += c
    top_share = scope_total.act[5] / scope_total.active if scope_total.active else None
    for unit_id, c in per_unit.items():
        good_rate, bad_rate = c.good_rate(), c.bad_rate()
        if (
            top_share is not None
            and c.active >= IMPROBABLE_MIN_ACTIVE
            and c.act[5] == c.active
            and top_share**c.active < IMPROBABLE
        ):
            flags.append((unit_id, "all_top", _("主动评价全部为非常满意，按本范围的非常满意占比几乎不可能出现"), {
                "active": c.active, "scope_top_share": top_share, "scope_top_pct": _pct(top_share),
                "chance": top_share**c.active, "chance_text": f"{top_share**c.active:.1e}",
            }))  # fmt: skip
        if c.active >= PERFECT_MIN_ACTIVE and good_rate == 1.0:
            flags.append((unit_id, "perfect", _("主动评价全部为好评（满意或非常满意），且评价量大"), {
                "active": c.active, "good_rate": good_rate, "very_satisfied_share": c.act[5] / c.active,
                "very_satisfied_pct": _pct(c.act[5] / c.active),
            }))  # fmt: skip
        default_share = c.defaults / c.counted if c.counted else None
        if (
            c.counted >= FLAG_MIN_COUNTED
            and bad_rate is not None
            and bad_rate < LOW_BAD_RATE
            and default_share is not None
            and default_share > HIGH_DEFAULT_SHARE
        ):
            flags.append((unit_id, "no_bad_many_defaults", _("差评率近乎为零，而默认评价占比高"), {
                "counted": c.counted, "bad_rate": bad_rate, "default_share": default_share,
                "bad_pct": _pct(bad_rate), "default_pct": _pct(default_share),
            }))  # fmt: skip
        mix = channels.get(unit_id, {})
        active = sum(mix.values())
        if active >= FLAG_MIN_ACTIVE and len(mix) >= 2:
            top, n = max(mix.items(), key=lambda kv: kv[1])
            if n / active >= ONE_CHANNEL_SHARE:
                flags.append((unit_id, "one_channel", _("主动评价几乎全部来自同一渠道，而该单位有多个评价渠道"), {
                    "active": active, "channel": top, "channel_label": str(Channel(top).label)
                    if top in Channel.values else top, "channel_share": n / active, "channels": len(mix),
                    "channel_pct": _pct(n / active),
                }))  # fmt: skip
    units = {u.pk: u for u in Organisation.objects.filter(pk__in={f[0] for f in flags})}
    out = [
        Flag(uid, units[uid].name if uid in units else str(uid), units[uid].uscc if uid in units else "", *rest)
        for uid, *rest in flags
    ]
    out.sort(key=lambda f: (f.unit_name, f.code))
    return out


def coverage(scope: Scope, start, end, limit: int = LIST_MAX) -> Coverage:
    """The whole report for the scope and the period [start, end] (whole months)."""
    s = slice_for_scope(scope, start, end)
    return Coverage(
        items=unrated_items(scope, s, limit),
        windows=unrated_windows(scope, s, limit),
        staff=unrated_staff(scope, s, limit),
        channels=channel_coverage(scope, s),
        flags=implausible_units(s),
    )


__all__ = ["LIST_MAX", "Coverage", "Flag", "Unrated", "coverage", "implausible_units"]
