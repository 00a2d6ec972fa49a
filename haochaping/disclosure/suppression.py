"""Small-cell suppression (小样本抑制): no published figure may single out a rater.

A row (a unit, hall or 事项 in a period) whose ratings number fewer than k (``HAOCHAPING_OPEN_DATA_MIN_CELL``,
default 10) is published without figures: its count and every rate are withheld and the row says so. Zero is not
suppressed (it reveals nothing about anybody).

Secondary suppression: where rows are published beside their total (a region's departments beside the region's
figures), the suppressed rows' sum could be recovered by subtraction. So, within each group, while the suppressed
rows hold between 1 and k-1 ratings together, the smallest row still shown is suppressed too. The same rules apply
on the portal's pages, in the open datasets and in the public API.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable
from typing import Any

from django.conf import settings

DEFAULT_MIN_CELL = 10


def min_cell() -> int:
    return int(getattr(settings, "HAOCHAPING_OPEN_DATA_MIN_CELL", DEFAULT_MIN_CELL))


def is_small(counted: int, k: int | None = None) -> bool:
    k = min_cell() if k is None else k
    return 0 < counted < k


def suppress(
    rows: list[dict[str, Any]],
    *,
    count_key: str = "counted",
    group: Callable[[dict[str, Any]], Hashable] | None = None,
    k: int | None = None,
) -> list[dict[str, Any]]:
    """Mark rows ``suppressed`` (True/False) in place and return them: primary (count below k) then secondary
    (per ``group``; one group when None). The caller blanks the figures of suppressed rows (``blank``)."""
    k = min_cell() if k is None else k
    groups: dict[Hashable, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        row["suppressed"] = is_small(int(row[count_key] or 0), k)
        groups[group(row) if group else None].append(row)
    for members in groups.values():
        while True:
            hidden = sum(int(r[count_key] or 0) for r in members if r["suppressed"])
            if not 0 < hidden < k:
                break
            shown = [r for r in members if not r["suppressed"] and int(r[count_key] or 0) > 0]
            if not shown:
                break
            min(shown, key=lambda r: int(r[count_key] or 0))["suppressed"] = True
    return rows


def blank(row: dict[str, Any], keep: tuple[str, ...]) -> dict[str, Any]:
    """A suppressed row keeps only its identifying columns (``keep``); every figure becomes None."""
    return {key: (value if key in keep or key == "suppressed" else None) for key, value in row.items()}
