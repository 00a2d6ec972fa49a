"""JSON API endpoints of the entry app (mounted under /api/v1/)."""

from ninja import Router

router = Router(tags=["entry"])
