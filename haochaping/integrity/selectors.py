"""Read side of the integrity pages: the ratings a signal's evidence names, masked for display."""

from __future__ import annotations

from typing import Any

from haochaping.accounts.scope import Scope
from haochaping.integrity.models import Signal
from haochaping.lib import protect
from haochaping.ratings.codes import grade_label
from haochaping.ratings.models import Rating

SHOWN_MAX = 200


def evidence_ratings(signal: Signal, scope: Scope) -> list[dict[str, Any]]:
    """The evidence's ratings in the viewer's scope, oldest first: phone masked, never a certificate number."""
    ids = [int(i) for i in signal.evidence.get("rating_ids", [])][:SHOWN_MAX]
    if not ids:
        return []
    phrases = signal.evidence.get("phrases", {})
    rows = (
        scope.filter(Rating.objects.filter(pk__in=ids))
        .select_related("unit", "window__hall", "staff", "service_case")
        .order_by("rated_at", "id")
    )
    return [
        {
            "id": r.pk,
            "public_id": r.public_id,
            "rated_at": r.rated_at,
            "grade": r.grade,
            "grade_label": grade_label(r.grade),
            "channel": r.get_channel_display(),
            "client": r.client,
            "unit": r.unit.name,
            "window": f"{r.window.hall.name} {r.window.code}" if r.window else "",
            "staff": r.staff.name if r.staff else "",
            "case_no": r.service_case.case_no if r.service_case else "",
            "phone": protect.mask_phone(protect.decrypt(r.rater_phone_enc)) if r.rater_phone_enc else "",
            "comment": r.comment,
            "phrases": "、".join(phrases.get(str(r.pk), {}).get("phrases", [])),
            "adoption": r.get_adoption_display(),
        }
        for r in rows
    ]
