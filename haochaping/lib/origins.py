"""Web origins (scheme://host[:port]) as configured for embedding: parsing and validation."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# A serialised origin: no path, query, wildcard or user info, so it can go into a CSP header and be the exact
# targetOrigin of window.postMessage.
_ORIGIN = re.compile(
    r"^https?://(\[[0-9a-f:.]+\]|[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*)(:\d{1,5})?\Z"
)


def origin_normalise(value: str) -> str:
    """Lower-cased origin without a trailing slash; ValidationError naming the value when it is not one."""
    origin = value.strip().rstrip("/").lower()
    if not _ORIGIN.match(origin):
        raise ValidationError(
            _("不是有效的来源（须为 https://主机名[:端口]，不含路径和通配符）：%(value)s"),
            params={"value": value.strip()},
        )
    return origin


def origins_parse(text: str) -> list[str]:
    """One origin per line (blank lines ignored) → normalised origins in order, without duplicates."""
    seen: list[str] = []
    for line in (text or "").splitlines():
        if line.strip():
            origin = origin_normalise(line)
            if origin not in seen:
                seen.append(origin)
    return seen


def validate_origins(text: str) -> None:
    """Model-field validator: every non-blank line is an origin."""
    origins_parse(text)
