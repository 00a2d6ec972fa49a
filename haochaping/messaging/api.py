"""JSON API endpoints of the messaging app (mounted under /api/v1/)."""

from ninja import Router

router = Router(tags=["messaging"])
