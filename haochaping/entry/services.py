"""Keying hotline calls and paper forms into the rating store (the writes of the entry app).

Every keyed rating goes through the one intake path (ratings.intake.submit_ratings) with the keying user's own
scope, so a user can only key ratings of units, windows and 办件 they may see. The KeyedEntry row recording who
keyed it is written in the same transaction as the rating. A paper form's serial number may be keyed once per
unit: checked before the rating is written (a clear message naming who keyed it and when) and enforced by a
unique constraint for concurrent keying.
"""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import PurePath
from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from haochaping.accounts.scope import Scope, get_in_scope
from haochaping.directory.models import ServiceItem, Staff, Window
from haochaping.entry.models import KeyedEntry
from haochaping.lib.documents import CONTENT_TYPES, check_document
from haochaping.lib.errors import Conflict, ValidationFailed
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import Rating, ServiceCase

CHANNEL_OF = {KeyedEntry.Kind.HOTLINE: "phone", KeyedEntry.Kind.PAPER: "paper"}
# Scans: photos or PDFs of the paper form, recognised by their first bytes rather than by their name.
SCAN_CONTENT_TYPES = CONTENT_TYPES


def scan_max_bytes() -> int:
    return int(getattr(settings, "HAOCHAPING_SCAN_MAX_BYTES", 10 * 1024 * 1024))


def client_of(user) -> str:
    return f"entry:{user.pk}"


def validate_scan(upload: UploadedFile) -> None:
    """Refuse anything but a JPEG, PNG or PDF within the size limit (checked on the content, not the name)."""
    check_document(upload, field="scan", what="扫描件", max_bytes=scan_max_bytes())


def form_date_to_datetime(value: date) -> datetime:
    """The date written on a paper form as the rating time: that day's start, or now when it is today."""
    if value == timezone.localdate():
        return timezone.now()
    return timezone.make_aware(datetime.combine(value, time.min))


def target_unit_id(scope: Scope, item: dict) -> int | None:
    """The unit a rating of `item` counts for, as intake resolves it (办件 > window > staff > 事项); None if unknown."""
    lookups: list[tuple[Any, dict]] = []
    if item.get("case_no"):
        lookups.append((ServiceCase, {"case_no": item["case_no"]}))
    if item.get("window"):
        lookups.append((Window, {"hall__code": item["window"]["hall"], "code": item["window"]["code"]}))
    if item.get("staff_code"):
        lookups.append((Staff, {"code": item["staff_code"]}))
    if item.get("item_code"):
        lookups.append((ServiceItem, {"implementation_code": item["item_code"]}))
    for model, lookup in lookups[:1]:
        return scope.filter(model.objects.filter(**lookup)).values_list("unit_id", flat=True).first()
    return None


def double_entry_error(entry: KeyedEntry, *, field: str = "form_no") -> ValidationFailed:
    who = entry.keyed_by.get_full_name() or entry.keyed_by.get_username()
    when = timezone.localtime(entry.keyed_at).strftime("%Y-%m-%d %H:%M")
    message = f"该纸质评价表（编号{entry.form_no}）已录入，录入人{who}，时间{when}"
    return ValidationFailed(message, field=field)


def paper_entry_existing(unit_id: int, form_no: str) -> KeyedEntry | None:
    return (
        KeyedEntry.objects.select_related("keyed_by")
        .filter(kind=KeyedEntry.Kind.PAPER, unit_id=unit_id, form_no=form_no)
        .first()
    )


def _call_ref_error(call_ref: str) -> ValidationFailed | None:
    entry = KeyedEntry.objects.select_related("keyed_by").filter(call_ref=call_ref).first()
    if entry is None:
        return None
    who = entry.keyed_by.get_full_name() or entry.keyed_by.get_username()
    when = timezone.localtime(entry.keyed_at).strftime("%Y-%m-%d %H:%M")
    return ValidationFailed(f"该热线工单（{call_ref}）已录入，录入人{who}，时间{when}", field="call_ref")


def _retry(user, item: dict) -> KeyedEntry | None:
    """The entry a resubmitted form (same hidden idempotency key) already stored."""
    key = item.get("idempotency_key")
    if not key:
        return None
    return (
        KeyedEntry.objects.select_related("rating")
        .filter(rating__client=client_of(user), rating__idempotency_key=key)
        .first()
    )


def _keyed_create(
    *,
    user,
    scope: Scope,
    kind: str,
    item: dict,
    form_no: str = "",
    call_ref: str = "",
    call_at: datetime | None = None,
    scan: UploadedFile | None = None,
) -> KeyedEntry:
    scope.require_write()
    item = {**item, "channel": CHANNEL_OF[kind]}
    if (entry := _retry(user, item)) is not None:
        return entry
    if kind == KeyedEntry.Kind.PAPER:
        if not form_no:
            raise ValidationFailed("请填写表单编号", field="form_no")
        unit_id = target_unit_id(scope, item)
        if unit_id is not None and (old := paper_entry_existing(unit_id, form_no)) is not None:
            raise double_entry_error(old)
    if call_ref and (error := _call_ref_error(call_ref)) is not None:
        raise error
    if scan is not None:
        validate_scan(scan)
    stored = ""
    try:
        with transaction.atomic():
            result = submit_ratings([item], scope=scope, client=client_of(user))[0]
            if not result.ok:
                raise result.as_error()
            rating = Rating.objects.get(public_id=result.rating_id)
            entry = KeyedEntry(
                rating=rating,
                kind=kind,
                keyed_by=user,
                unit_id=rating.unit_id,
                form_no=form_no,
                call_ref=call_ref,
                call_at=call_at,
                source="form",
            )
            if scan is not None:
                entry.scan.save(scan.name, scan, save=False)
                stored = entry.scan.name
            entry.save()
    except IntegrityError:
        # Someone keyed the same form or call at the same moment: report it as the check above would have.
        _drop_file(stored)
        if kind == KeyedEntry.Kind.PAPER and (old := paper_entry_existing(rating.unit_id, form_no)):
            raise double_entry_error(old) from None
        if call_ref and (error := _call_ref_error(call_ref)) is not None:
            raise error from None
        raise Conflict("录入冲突，请刷新后重试") from None
    except BaseException:
        _drop_file(stored)
        raise
    return entry


def _drop_file(name: str) -> None:
    if name:
        KeyedEntry._meta.get_field("scan").storage.delete(name)


def entry_hotline_create(
    *, user, scope: Scope, item: dict, call_ref: str = "", call_at: datetime | None = None
) -> KeyedEntry:
    """Key a hotline satisfaction call (channel phone). `item` is shaped like ratings.schemas.RatingIn."""
    item = dict(item)
    if call_at is not None and not item.get("rated_at"):
        item["rated_at"] = call_at
    return _keyed_create(
        user=user, scope=scope, kind=KeyedEntry.Kind.HOTLINE, item=item, call_ref=call_ref.strip(), call_at=call_at
    )


def entry_paper_create(*, user, scope: Scope, item: dict, form_no: str, scan: UploadedFile | None = None) -> KeyedEntry:
    """Key a paper evaluation form (channel paper), refusing a form number already keyed for the unit."""
    return _keyed_create(
        user=user, scope=scope, kind=KeyedEntry.Kind.PAPER, item=item, form_no=form_no.strip(), scan=scan
    )


def entry_scan_get(*, scope: Scope, entry_id: int) -> KeyedEntry:
    """An entry with a scan, only inside the scope (NotFound otherwise, as for a missing one)."""
    return get_in_scope(KeyedEntry.objects.exclude(scan=""), scope, pk=entry_id)


def scan_content_type(entry: KeyedEntry) -> str:
    return SCAN_CONTENT_TYPES.get(PurePath(entry.scan.name).suffix.lower(), "application/octet-stream")
