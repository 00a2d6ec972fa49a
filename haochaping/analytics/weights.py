"""绩效考核权重: who may set a region's performance weights, and the one service that writes them.

The weights (analytics.models.PerformanceWeights) decide how the performance sheet's composite score weighs the
evaluation sources (analytics/sources.py ``composite``). A region without a row uses its nearest ancestor's, else
the defaults (60/20/10/10). Agency administrators set their own region's; system administrators any region's;
supervisors read them. Every change is written to the administrative log (管理操作日志).
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from haochaping.accounts.models import Role
from haochaping.accounts.scope import Scope
from haochaping.analytics.models import PerformanceWeights
from haochaping.analytics.sources import WEIGHT_KEYS, Weights, weights_for
from haochaping.audit.models import AdminAction
from haochaping.audit.services import record_admin_action
from haochaping.directory.models import Region
from haochaping.lib.errors import NotFound, PermissionDenied, ValidationFailed

WEIGHT_MAX = 100


def weight_labels() -> dict[str, str]:
    return {
        "ratings": _("好差评权重"),
        "inspections": _("监督查评权重"),
        "surveys": _("服务调查权重"),
        "assessments": _("第三方评估权重"),
    }


def may_set_weights(scope: Scope, region: Region) -> bool:
    """System administrators (and superusers): any region; an agency administrator: their own region only."""
    if scope.read_only or scope.kind == "none":
        return False
    if scope.kind == "all":
        return True
    return scope.kind == "region" and scope.role == Role.AGENCY_ADMIN and scope.region_id == region.pk


def visible_regions(scope: Scope):
    """The regions whose weights the scope may read: a region scope's subtree, a units scope's own region."""
    qs = Region.objects.order_by("path")
    if scope.kind == "all":
        return qs
    if scope.kind == "region":
        return qs.filter(path__startswith=scope.region_path)
    if scope.kind == "units" and scope.region_id:
        return qs.filter(pk=scope.region_id)
    return qs.none()


def region_for(scope: Scope, region_id: int | None) -> Region:
    """The region asked for (default: the scope's own, or the first top-level region); NotFound out of sight."""
    regions = visible_regions(scope)
    if region_id is None:
        region_id = scope.region_id
    region = regions.filter(pk=region_id).first() if region_id is not None else regions.first()
    if region is None:
        raise NotFound(_("区划不存在或不在您的数据范围内"), field="region")
    return region


def clean_weights(values: dict[str, Any]) -> dict[str, int]:
    """Four integers 0–100, at least one above 0; ValidationFailed names the first bad field."""
    labels = weight_labels()
    out: dict[str, int] = {}
    for key in WEIGHT_KEYS:
        raw = values.get(key)
        text = str(raw).strip() if raw is not None else ""
        if not text.lstrip("-").isdigit():
            raise ValidationFailed(_("%(field)s应为 0–100 的整数") % {"field": labels[key]}, field=key)
        n = int(text)
        if not 0 <= n <= WEIGHT_MAX:
            raise ValidationFailed(_("%(field)s应为 0–100 的整数") % {"field": labels[key]}, field=key)
        out[key] = n
    if not any(out.values()):
        raise ValidationFailed(_("至少有一项权重大于 0"), field="ratings")
    return out


def weights_set(scope: Scope, region: Region, values: dict[str, Any], actor) -> PerformanceWeights:
    """Store the region's own weights (a row of its own from now on) and log the change."""
    if not may_set_weights(scope, region):
        raise PermissionDenied(_("只有本级管理机构管理员或系统管理员可以设置权重"))
    clean = clean_weights(values)
    with transaction.atomic():
        row = PerformanceWeights.objects.select_for_update().filter(region=region).first()
        before = {k: getattr(row, k) for k in WEIGHT_KEYS} if row is not None else None
        if row is None:
            row = PerformanceWeights(region=region)
        for key, value in clean.items():
            setattr(row, key, value)
        row.updated_by = actor
        row.save()
        changes = {k: [before[k] if before else None, v] for k, v in clean.items() if not before or before[k] != v}
        record_admin_action(
            action=AdminAction.Action.CREATE if before is None else AdminAction.Action.UPDATE,
            app_label="analytics",
            model="performanceweights",
            object_id=str(row.pk),
            object_repr=f"{region.name} {row.ratings}/{row.inspections}/{row.surveys}/{row.assessments}",
            changes=changes,
            region_path=region.path,
        )
    return row


def weights_reset(scope: Scope, region: Region, actor) -> Weights:
    """Drop the region's own row: the nearest ancestor's weights (or the defaults) apply again."""
    if not may_set_weights(scope, region):
        raise PermissionDenied(_("只有本级管理机构管理员或系统管理员可以设置权重"))
    with transaction.atomic():
        row = PerformanceWeights.objects.select_for_update().filter(region=region).first()
        if row is not None:
            record_admin_action(
                action=AdminAction.Action.DELETE,
                app_label="analytics",
                model="performanceweights",
                object_id=str(row.pk),
                object_repr=f"{region.name} {row.ratings}/{row.inspections}/{row.surveys}/{row.assessments}",
                changes={k: [getattr(row, k), None] for k in WEIGHT_KEYS},
                region_path=region.path,
            )
            row.delete()
    return weights_for(region)


__all__ = [
    "clean_weights",
    "may_set_weights",
    "region_for",
    "visible_regions",
    "weight_labels",
    "weights_reset",
    "weights_set",
]
