"""The deadline policy in force for a region: its own ``CasePolicy`` or its nearest ancestor's, else defaults."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields

from haochaping.cases.models import CasePolicy


@dataclass(frozen=True)
class Policy:
    callback_days: int = 1
    rectify_days: int = 5
    extension_days: int = 5
    appeal_review_days: int = 5
    feedback_days: int = 5
    due_soon_days: int = 1
    escalate_after_days: int = 2
    pause_for_rater: bool = True
    region_code: str = ""  # where it was set; "" = the built-in defaults


_NAMES = [f.name for f in fields(Policy) if f.name != "region_code"]
_TTL = 30.0
_cache: dict = {"at": 0.0, "by_code": {}}


def clear_cache() -> None:
    _cache["at"] = 0.0


def _by_code() -> dict[str, Policy]:
    now = time.monotonic()
    if now - _cache["at"] > _TTL:
        rows = CasePolicy.objects.values("region__code", *_NAMES)
        _cache["by_code"] = {
            r["region__code"]: Policy(**{n: r[n] for n in _NAMES}, region_code=r["region__code"]) for r in rows
        }
        _cache["at"] = now
    return _cache["by_code"]


def policy_for_path(region_path: str) -> Policy:
    """The policy of the region with this materialised path, inherited from the nearest ancestor that has one."""
    by_code = _by_code()
    for code in reversed([c for c in region_path.split("/") if c]):
        if code in by_code:
            return by_code[code]
    return Policy()
