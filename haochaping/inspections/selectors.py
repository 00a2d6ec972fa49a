"""Reads of the inspections app: what a user may see, the plans' progress, the report's rows, per-unit figures."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Avg, Count, Q, QuerySet, Sum
from django.utils import timezone

from haochaping.accounts.models import Membership, Role
from haochaping.accounts.scope import Scope
from haochaping.directory.models import Hall, Organisation, Region, Window
from haochaping.inspections.access import Access, access_for
from haochaping.inspections.models import Checklist, ChecklistItem, Inspection, ItemScore, Photo, Plan

# Who may be named as a plan's inspector: inspectors and agency administrators of an agency.
INSPECTOR_ROLES = (Role.INSPECTOR, Role.AGENCY_ADMIN)


def ancestor_paths(path: str) -> list[str]:
    """The materialised paths of a region and its ancestors: "a/b/" → ["a/", "a/b/"]."""
    parts = [p for p in path.split("/") if p]
    return ["".join(f"{p}/" for p in parts[: n + 1]) for n in range(len(parts))]


# --- checklists -----------------------------------------------------------------------------------------------


def checklists_visible(access: Access) -> QuerySet[Checklist]:
    """Checklists a user may read and use: their region's and below, and those of the regions above (a province's
    checklist serves its cities and counties)."""
    qs = Checklist.objects.select_related("region")
    scope = access.scope
    if not access.reads_region:
        return qs.none()
    if scope.kind == "all":
        return qs
    below = Q(region__path__startswith=scope.region_path)
    return qs.filter(below | Q(region__path__in=ancestor_paths(scope.region_path)))


def checklists_editable(access: Access) -> QuerySet[Checklist]:
    """Checklists a manager may change: those of their own region and below (not a higher region's)."""
    if not access.manages:
        return Checklist.objects.none()
    return access.scope.filter(Checklist.objects.select_related("region"))


def checklists_usable_in(region: Region) -> QuerySet[Checklist]:
    """Active checklists of ``region`` or a region above it, with at least one active item."""
    return (
        Checklist.objects.filter(is_active=True, region__path__in=ancestor_paths(region.path))
        .filter(items__is_active=True)
        .distinct()
    )


def active_items(checklist: Checklist) -> list[ChecklistItem]:
    return list(checklist.items.filter(is_active=True).order_by("order", "id"))


def regions_for_manager(scope: Scope) -> QuerySet[Region]:
    """Regions a manager may create checklists and plans for: their own (region scope) or any province, city or
    county (system administrators)."""
    if scope.kind == "all":
        return Region.objects.filter(level__lte=Region.Level.COUNTY).order_by("path")
    if scope.kind == "region":
        return Region.objects.filter(pk=scope.region_id)
    return Region.objects.none()


# --- plans ----------------------------------------------------------------------------------------------------


def plans_visible(access: Access) -> QuerySet[Plan]:
    if not access.reads_region:
        return Plan.objects.none()
    return access.scope.filter(Plan.objects.select_related("region", "checklist"))


def plans_assigned(user, *, today: date | None = None) -> QuerySet[Plan]:
    """The plans naming ``user`` as an inspector that have not ended."""
    today = today or timezone.localdate()
    return (
        Plan.objects.filter(inspectors=user, ends_on__gte=today)
        .select_related("region", "checklist")
        .order_by("starts_on", "id")
    )


def halls_in_region(region: Region) -> QuerySet[Hall]:
    return Hall.objects.filter(is_active=True, region__path__startswith=region.path).order_by("code")


def halls_for(scope: Scope) -> QuerySet[Hall]:
    """Halls a user may inspect ad hoc: active halls of their region (all for system administrators)."""
    if scope.kind == "all":
        return Hall.objects.filter(is_active=True).order_by("code")
    if scope.kind == "region":
        return Hall.objects.filter(is_active=True, region__path__startswith=scope.region_path).order_by("code")
    return Hall.objects.none()


def inspector_candidates(region: Region) -> QuerySet:
    """Users who may inspect all of ``region``: inspectors and agency administrators of an agency of the region or
    of a region above it (their data scope covers the region)."""
    user_ids = Membership.objects.filter(
        role__in=INSPECTOR_ROLES,
        unit__kind=Organisation.Kind.AGENCY,
        unit__region__path__in=ancestor_paths(region.path),
        user__is_active=True,
    ).values("user_id")
    return get_user_model().objects.filter(pk__in=user_ids).order_by("username")


def inspector_candidates_for(scope: Scope) -> QuerySet:
    """The plan form's choice of inspectors: those covering the manager's region (any, for system administrators)."""
    if scope.kind == "region":
        return inspector_candidates(Region.objects.get(pk=scope.region_id))
    if scope.kind == "all":
        user_ids = Membership.objects.filter(
            role__in=INSPECTOR_ROLES, unit__kind=Organisation.Kind.AGENCY, user__is_active=True
        ).values("user_id")
        return get_user_model().objects.filter(pk__in=user_ids).order_by("username")
    return get_user_model().objects.none()


@dataclass
class HallProgress:
    hall: Hall
    planned: int
    done: int
    drafts: int
    windows: list[Window] = field(default_factory=list)

    @property
    def open(self) -> int:
        return max(self.planned - self.done, 0)


def plan_progress(plan: Plan) -> list[HallProgress]:
    """Visits done (submitted) against visits planned, per hall of the plan."""
    counts = {
        row["hall_id"]: row
        for row in plan.inspections.values("hall_id").annotate(
            done=Count("id", filter=Q(state=Inspection.State.SUBMITTED)),
            drafts=Count("id", filter=Q(state=Inspection.State.DRAFT)),
        )
    }
    windows: dict[int, list[Window]] = {}
    for window in plan.windows.select_related("hall").order_by("hall_id", "code"):
        windows.setdefault(window.hall_id, []).append(window)
    return [
        HallProgress(
            hall=hall,
            planned=plan.visits,
            done=counts.get(hall.pk, {}).get("done", 0),
            drafts=counts.get(hall.pk, {}).get("drafts", 0),
            windows=windows.get(hall.pk, []),
        )
        for hall in plan.halls.select_related("region").order_by("code")
    ]


def plan_totals(plan: Plan) -> tuple[int, int]:
    """(visits done, visits planned) over the whole plan."""
    rows = plan_progress(plan)
    return sum(min(r.done, r.planned) for r in rows), sum(r.planned for r in rows)


# --- inspections ------------------------------------------------------------------------------------------------


def inspections_visible(access: Access) -> QuerySet[Inspection]:
    """Inspections a user may open: all of their region (readers of a region), or the submitted ones of their
    units (department administrators)."""
    qs = Inspection.objects.select_related("hall", "window", "unit", "inspector", "plan", "checklist", "region")
    if access.reads_region:
        return access.scope.filter(qs)
    if access.reads_units:
        return access.scope.filter(qs).filter(state=Inspection.State.SUBMITTED)
    return qs.none()


def inspections_filtered(access: Access, params: dict[str, str]) -> QuerySet[Inspection]:
    """The list page's filters: state, mode, plan, failed-only, and a date range on the visit's start."""
    qs = inspections_visible(access)
    if params.get("state") in Inspection.State.values:
        qs = qs.filter(state=params["state"])
    if params.get("mode"):
        qs = qs.filter(mode=params["mode"])
    if (params.get("plan") or "").isdigit():
        qs = qs.filter(plan_id=int(params["plan"]))
    if params.get("failed"):
        qs = qs.filter(failed_items__gt=0)
    for key, lookup in (("start", "started_at__gte"), ("end", "started_at__lt")):
        value = params.get(key) or ""
        try:
            day = date.fromisoformat(value)
        except ValueError:
            continue
        qs = qs.filter(**{lookup: local_midnight(day + timedelta(days=1) if key == "end" else day)})
    return qs


def local_midnight(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@dataclass
class ItemRow:
    """One checklist item on the form or the report: its score (if given), photos and rectification."""

    item: ChecklistItem
    score: ItemScore | None
    photos: list[Photo]

    @property
    def choices(self) -> list[int]:
        return list(range(self.item.max_score + 1))

    @property
    def segmented(self) -> bool:
        """Small scales are tapped (one button per point); larger ones are typed."""
        return self.item.max_score <= 10


def inspection_rows(inspection: Inspection) -> list[ItemRow]:
    """The rows of an inspection: the active items while it is a draft, the scored ones once submitted."""
    scores = {s.item_id: s for s in inspection.scores.select_related("item", "rectification")}
    photos: dict[int | None, list[Photo]] = {}
    for photo in inspection.photos.all():
        photos.setdefault(photo.item_id, []).append(photo)
    if inspection.state == Inspection.State.SUBMITTED:
        items = [s.item for s in sorted(scores.values(), key=lambda s: (s.item.order, s.item_id))]
    else:
        items = active_items(inspection.checklist)
    return [ItemRow(item, scores.get(item.pk), photos.get(item.pk, [])) for item in items]


def general_photos(inspection: Inspection) -> list[Photo]:
    return list(inspection.photos.filter(item__isnull=True))


def photo_for(scope: Scope, pk: int) -> Photo | None:
    """A photo, if the user may see its inspection."""
    return Photo.objects.filter(pk=pk, inspection__in=inspections_visible(access_for(scope))).first()


# --- figures for analytics ----------------------------------------------------------------------------------------


def unit_scores(scope: Scope, start: date, end: date) -> dict[int, dict]:
    """Submitted inspections per unit in the period (local dates of submission, both included), within ``scope``:
    {unit_id: {"inspections": n, "score": mean 0–100 (Decimal, 1 place), "failed_items": n}}."""
    qs = scope.filter(Inspection.objects.filter(state=Inspection.State.SUBMITTED)).filter(
        submitted_at__gte=local_midnight(start), submitted_at__lt=local_midnight(end + timedelta(days=1))
    )
    rows = qs.values("unit_id").annotate(n=Count("id"), mean=Avg("score"), failed=Sum("failed_items"))
    return {
        row["unit_id"]: {
            "inspections": row["n"],
            "score": Decimal(str(row["mean"])).quantize(Decimal("0.1")) if row["mean"] is not None else None,
            "failed_items": row["failed"] or 0,
        }
        for row in rows
    }
