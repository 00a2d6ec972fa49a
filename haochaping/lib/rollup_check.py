"""Comparing a stored summary table with its recomputation: what every ``verify`` of a rollup does."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def table_differences(
    model: type, expected: Mapping[tuple, tuple], dimensions: Sequence[str], measures: Sequence[str]
) -> list[tuple[str, tuple, tuple, tuple]]:
    """Each (table, key, expected, stored) that differs; a key absent on one side counts as all zeros there."""
    width = len(dimensions)
    stored = {}
    for row in model.objects.values_list(*dimensions, *measures):
        if any(row[width:]):
            stored[tuple(row[:width])] = tuple(row[width:])
    zero = (0,) * len(measures)
    differences = []
    for key in expected.keys() | stored.keys():
        e, s = expected.get(key, zero), stored.get(key, zero)
        if e != s:
            differences.append((model.__name__, key, e, s))
    return differences
