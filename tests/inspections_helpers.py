"""Shared setup of the inspections tests (and tests/authz_inspections.py): checklists, plans, inspections made
through the real services."""

from __future__ import annotations

import io
from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from haochaping.accounts.scope import scope_for_user
from haochaping.inspections import services
from haochaping.inspections.models import Checklist, Inspection, Mode, Plan

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)
ITEMS = (
    ("窗口礼仪", "窗口人员着装规范、佩戴工作牌", 10, 6),
    ("一次性告知", "提供一次性告知材料清单", 10, 6),
    ("服务秩序", "叫号等候时长不超过30分钟", 5, 3),
)


def jpeg(size: tuple[int, int] = (64, 48)) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 40)).save(out, format="JPEG", quality=70)
    return out.getvalue()


def upload(name: str = "现场.jpg", data: bytes | None = None) -> SimpleUploadedFile:
    data = jpeg() if data is None else data
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def item_rows(items=ITEMS) -> list[services.ItemIn]:
    return [
        services.ItemIn(None, (n + 1) * 10, category, text, "", max_score, pass_score)
        for n, (category, text, max_score, pass_score) in enumerate(items)
    ]


def make_checklist(world, region=None, actor=None, name: str = "窗口服务检查表") -> Checklist:
    return services.checklist_save(
        checklist=None,
        region=region or world.city,
        name=name,
        items=item_rows(),
        actor=actor or world.users["root"],
    )


def make_plan(
    world, county=None, inspector=None, checklist=None, mode: str = Mode.UNANNOUNCED, visits: int = 2
) -> Plan:
    county = county or world.a
    today = timezone.localdate()
    return services.plan_create(
        region=county.region,
        name=f"{county.region.name}暗访计划",
        checklist_id=(checklist or make_checklist(world)).pk,
        mode=mode,
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=30),
        hall_ids=[county.hall.pk],
        inspector_ids=[(inspector or world.users["a_inspector"]).pk],
        visits=visits,
        actor=world.users["root"],
    )


def start(world, user, plan: Plan | None = None, county=None, window: bool = True, checklist=None) -> Inspection:
    county = county or world.a
    if plan is not None:
        return services.inspection_start(
            actor=user, scope=scope_for_user(user), plan_id=plan.pk, hall_id=county.hall.pk,
            window_id=county.window.pk if window else None,
        )  # fmt: skip
    return services.inspection_start(
        actor=user, scope=scope_for_user(user), hall_id=county.hall.pk,
        window_id=county.window.pk if window else None, mode=Mode.UNANNOUNCED,
        checklist_id=(checklist or Checklist.objects.order_by("id").first() or make_checklist(world)).pk,
    )  # fmt: skip


def score_all(inspection: Inspection, user, values: list[int] | None = None, photo: bool = False) -> None:
    items = list(inspection.checklist.items.filter(is_active=True).order_by("order", "id"))
    values = values if values is not None else [item.max_score for item in items]
    pairs = list(zip(items, values, strict=True))
    scores = {item.pk: value for item, value in pairs}
    notes = {item.pk: ("窗口人员未佩戴工作牌" if value < item.pass_score else "") for item, value in pairs}
    photos = [services.PhotoIn(upload(), items[0].pk)] if photo else []
    services.inspection_save(inspection.pk, actor=user, scores=scores, notes=notes, photos=photos)


def submitted(
    world, user=None, county=None, values: list[int] | None = None, photo: bool = True, checklist=None
) -> Inspection:
    """A submitted inspection of the county's window (the first item below its threshold unless ``values``)."""
    user = user or world.users["a_inspector"]
    inspection = start(world, user, county=county, checklist=checklist)
    items = list(inspection.checklist.items.filter(is_active=True).order_by("order", "id"))
    values = values if values is not None else [2] + [item.max_score for item in items[1:]]
    score_all(inspection, user, values, photo=photo)
    return services.inspection_submit(inspection.pk, actor=user)
