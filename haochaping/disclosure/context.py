"""Template context for the public pages: the small-cell threshold the footer states."""

from __future__ import annotations

from django.http import HttpRequest

from haochaping.disclosure.suppression import min_cell


def public(request: HttpRequest) -> dict:
    return {"OPEN_DATA_MIN_CELL": min_cell()}
