"""Queuing reads: a day's tickets of the halls in a scope, and ratings joined to a 办件 through tickets."""

from __future__ import annotations

from datetime import date

from django.db.models import Q, QuerySet

from haochaping.accounts.scope import Scope
from haochaping.directory.models import Hall, Window
from haochaping.queuing.models import QueueTicket, QueueTicketRating
from haochaping.ratings.models import Rating, ServiceCase


def halls_in_scope(scope: Scope) -> QuerySet[Hall]:
    """The halls a reader sees: a region's halls; a unit's halls (managed, or with one of its windows)."""
    halls = Hall.objects.filter(is_active=True).order_by("code")
    if scope.kind == "all":
        return halls
    if scope.kind == "region":
        return halls.filter(region__path__startswith=scope.region_path)
    if scope.kind == "units":
        staffed = Window.objects.filter(unit_id__in=scope.unit_ids).values("hall_id")
        return halls.filter(Q(unit_id__in=scope.unit_ids) | Q(id__in=staffed))
    return halls.none()


def tickets_of_day(scope: Scope, day: date, hall: Hall) -> QuerySet[QueueTicket]:
    """A hall's tickets of one business day that the reader may see (a unit: those called to its windows)."""
    qs = QueueTicket.objects.filter(hall=hall, business_day=day).select_related("window", "service_case")
    if scope.kind == "units" and hall.unit_id not in scope.unit_ids:
        qs = qs.filter(window__unit_id__in=scope.unit_ids)
    return qs.order_by("issued_at", "id")


def day_summary(tickets: list[QueueTicket]) -> dict[str, int | float | None]:
    served = [t for t in tickets if t.state in (QueueTicket.State.CALLED, QueueTicket.State.FINISHED)]
    finished = [t for t in tickets if t.state == QueueTicket.State.FINISHED]
    rated = [t for t in served if t.rated_at is not None]
    return {
        "tickets": len(tickets),
        "served": len(served),
        "finished": len(finished),
        "with_case": sum(1 for t in finished if t.service_case_id),
        "rated": len(rated),
        "rated_rate": round(100 * len(rated) / len(served), 1) if served else None,
    }


def ticket_rating_ids(ticket: QueueTicket) -> list[str]:
    return [str(u) for u in QueueTicketRating.objects.filter(ticket=ticket).values_list("rating_public_id", flat=True)]


def ratings_for_case(case: ServiceCase) -> QuerySet[Rating]:
    """Ratings of a 办件: those made of it, and those keyed by a ticket the 办件 was later attached to (the join).

    A walk-in rating given on the evaluator (or the ticket's QR page) before the 办件 was known stays a rating of
    the window/staff in the store; the ticket row is what joins it to the 办件.
    """
    joined = QueueTicketRating.objects.filter(ticket__service_case=case).values("rating_public_id")
    return Rating.objects.filter(Q(service_case=case) | Q(public_id__in=joined)).order_by("rated_at", "id")
