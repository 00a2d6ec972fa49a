"""JSON API endpoints of the qrcodes app (mounted under /api/v1/)."""

from ninja import Router

router = Router(tags=["qrcodes"])
