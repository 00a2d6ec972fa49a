"""JSON API endpoints of the evaluator app (mounted under /api/v1/)."""

from ninja import Router

router = Router(tags=["evaluator"])
