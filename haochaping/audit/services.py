"""Writing the audit logs: identity views (评价人身份查看) and administrative changes (管理操作).

Identity views are written by the code that decrypts (``record_identity_access``), inside the caller's
transaction, so a view that is shown is always logged and a failed one never is. Administrative changes are
captured by model signals for a registry of models (``TRACKED``): the old row is read before save, the changed
fields are stored old → new with personal values masked. Who and where come from the request being served
(``AuditContextMiddleware``) or, outside a request, from the command line (source "command").
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import sys
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import models
from django.db.models.signals import post_delete, post_save, pre_save
from django.http import HttpRequest
from django.utils import timezone

from haochaping.audit.models import AdminAction, IdentityAccess
from haochaping.lib import protect

REASON_MIN = 4
REASON_MAX = 500

_request: contextvars.ContextVar[HttpRequest | None] = contextvars.ContextVar("audit_request", default=None)
_source: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar("audit_source", default=None)


class AuditContextMiddleware:
    """Makes the request being served known to the audit log (actor, source, IP) for signal-recorded changes."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)


@contextlib.contextmanager
def audit_source(source: str, name: str = "") -> Iterator[None]:
    """Attribute the changes made inside the block to a source (e.g. a command or task) outside any request."""
    token = _source.set((source, name))
    try:
        yield
    finally:
        _source.reset(token)


def client_ip(request: HttpRequest | None) -> str | None:
    if request is None:
        return None
    # REMOTE_ADDR only: a proxy in front sets it through the server's trusted-proxy configuration; a client's
    # own X-Forwarded-For header would let the viewer write any address into the log.
    ip = (request.META.get("REMOTE_ADDR") or "").strip()
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:  # "unknown", empty, or a socket path: no address rather than a failed write
        return None


def _user_agent(request: HttpRequest | None) -> str:
    return (request.META.get("HTTP_USER_AGENT", "") if request is not None else "")[:300]


# --- identity views -------------------------------------------------------------------------------------


def clean_reason(reason: str | None) -> str:
    """The stated reason for a view of identity; raises ValidationFailed naming the field ``reason``."""
    from haochaping.lib.errors import ValidationFailed

    text = " ".join(str(reason or "").split())
    if len(text) < REASON_MIN:
        raise ValidationFailed(f"请填写查看理由（至少{REASON_MIN}个字）", field="reason")
    return text[:REASON_MAX]


def record_identity_access(
    *,
    user,
    fields: list[str],
    reason: str,
    record_kind: str,
    record_id: str,
    region_path: str = "",
    unit_id: int | None = None,
    rating_public_id: str = "",
    case_number: str = "",
    service_case_no: str = "",
    request: HttpRequest | None = None,
    now: datetime | None = None,
) -> list[IdentityAccess]:
    """Write one entry per field shown. Call inside the transaction that reads the value."""
    request = request or _request.get()
    now = now or timezone.now()
    rows = [
        IdentityAccess(
            at=now,
            user=user if getattr(user, "pk", None) else None,
            username=getattr(user, "username", "") or "",
            record_kind=record_kind,
            record_id=str(record_id),
            rating_public_id=str(rating_public_id or ""),
            case_number=case_number or "",
            service_case_no=service_case_no or "",
            field=field,
            reason=reason,
            ip=client_ip(request),
            user_agent=_user_agent(request),
            region_path=region_path,
            unit_id=unit_id,
        )
        for field in fields
    ]
    return IdentityAccess.objects.bulk_create(rows)


# --- administrative changes -----------------------------------------------------------------------------

# (app label, model name): the models whose changes are administrative actions.
TRACKED: tuple[tuple[str, str], ...] = (
    ("directory", "region"),
    ("directory", "organisation"),
    ("directory", "hall"),
    ("directory", "window"),
    ("directory", "staff"),
    ("directory", "serviceitem"),
    ("directory", "platform"),
    ("accounts", "membership"),
    ("accounts", "apikey"),
    ("auth", "user"),
    ("auth", "group"),
    ("cases", "casepolicy"),
    ("cases", "calendarday"),
    ("ratings", "defaultratingpolicy"),
    ("ratings", "questionnaire"),
    ("ratings", "questionnaireassignment"),
    ("ratings", "tagset"),
    ("ratings", "tag"),
    ("evaluator", "evaluatordevice"),
    ("qrcodes", "windowcode"),
)

# Bookkeeping columns that change on use, not by an administrator's decision: a save that changes only these
# is not an administrative action (a login's last_login, an API key's or device's last use).
NOISE_FIELDS = frozenset({"last_login", "last_used_at", "last_seen_at", "updated_at"})
# Secrets and personal values: stored as "***" or masked, never in clear.
SECRET_SUFFIXES = ("_hash", "_enc", "password", "secret")
PERSONAL_FIELDS = {"phone": protect.mask_phone, "mobile": protect.mask_phone, "cert": protect.mask_cert}
PERSONAL_NAMES = {"email", "first_name", "last_name", "id_number", "id_card"}
# Columns that are a person's name in these models (a unit's or hall's "name" is not personal).
PERSONAL_NAME_COLUMNS = {"directory.staff": {"name"}}


def mask_value(field: str, value: Any, model_label: str = "") -> Any:
    """The value as it may appear in the admin log: secrets as ***, personal values masked, others as JSON."""
    if value in (None, ""):
        return value
    name = field.lower()
    if name in PERSONAL_NAME_COLUMNS.get(model_label, ()):
        return protect.mask_name(str(value))
    if name.endswith(SECRET_SUFFIXES):
        return "***"
    for key, mask in PERSONAL_FIELDS.items():
        if key in name:
            return mask(str(value))
    if name in PERSONAL_NAMES:
        text = str(value)
        return text[:1] + "***" if "@" not in text else text[:1] + "***@" + text.split("@", 1)[1]
    return _jsonable(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    if isinstance(value, list | dict):
        return value
    return str(value)


def _snapshot(instance: models.Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _diff(before: dict[str, Any] | None, after: dict[str, Any], label: str) -> dict[str, list[Any]]:
    changes = {}
    for field, new in after.items():
        old = before.get(field) if before is not None else None
        if before is not None and old == new:
            continue
        if before is None and new in (None, "", [], {}):
            continue
        changes[field] = [mask_value(field, old, label), mask_value(field, new, label)]
    return changes


def _scope_of(instance: models.Model) -> tuple[str, int | None]:
    """The region path and unit of a changed object, through its model's SCOPE_LOOKUPS (for the auditors' scope)."""
    lookups: dict[str, str] = getattr(type(instance), "SCOPE_LOOKUPS", {})
    wanted = [lookups[k] for k in ("region", "unit") if k in lookups]
    if not wanted or instance.pk is None:
        return "", None
    row = type(instance)._base_manager.filter(pk=instance.pk).values_list(*wanted).first()
    if row is None:
        return "", None
    values = dict(zip([k for k in ("region", "unit") if k in lookups], row, strict=True))
    return values.get("region") or "", values.get("unit")


def _who() -> tuple[str, Any, str, str | None]:
    """(source, user, actor name, ip) of the change being made now."""
    request = _request.get()
    if request is not None:
        path = request.path
        source = AdminAction.Source.ADMIN if path.startswith("/admin/") else AdminAction.Source.WEB
        if path.startswith("/api/"):
            source = AdminAction.Source.API
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return source, user, user.username, client_ip(request)
        key = getattr(request, "auth", None)
        name = f"apikey:{getattr(key, 'prefix', '')}" if key is not None else "anonymous"
        return source, None, name, client_ip(request)
    forced = _source.get()
    if forced is not None:
        return forced[0], None, forced[1], None
    command = sys.argv[1] if len(sys.argv) > 1 else sys.argv[0]
    return AdminAction.Source.COMMAND, None, f"command:{command}"[:150], None


def record_admin_action(
    *,
    action: str,
    app_label: str,
    model: str,
    object_id: str = "",
    object_repr: str = "",
    changes: dict | None = None,
    region_path: str = "",
    unit_id: int | None = None,
    now: datetime | None = None,
) -> AdminAction:
    source, user, name, ip = _who()
    return AdminAction.objects.create(
        at=now or timezone.now(),
        actor=user,
        actor_name=name,
        source=source,
        action=action,
        app_label=app_label,
        model=model,
        object_id=str(object_id),
        object_repr=object_repr[:200],
        changes=changes or {},
        ip=ip,
        region_path=region_path,
        unit_id=unit_id,
    )


def _repr(instance: models.Model) -> str:
    # A login's or staff member's str() may be a personal name: the log names it by id and username/code.
    label = instance._meta.label_lower
    if label == "auth.user":
        return instance.get_username()
    if label == "directory.staff":
        return f"{getattr(instance, 'code', '')} {protect.mask_name(getattr(instance, 'name', '') or '')}".strip()
    try:
        return str(instance)[:200]
    except Exception:  # a half-built object's __str__ must not break the save it is logging
        return ""


def _pre_save(sender, instance, raw=False, update_fields=None, **kwargs):
    instance._audit_before = None
    if raw or (update_fields and set(update_fields) <= NOISE_FIELDS):
        instance._audit_skip = True  # a login's last_login and the like: no read, no entry
        return
    instance._audit_skip = False
    before = None
    if instance.pk is not None:
        old = sender._base_manager.filter(pk=instance.pk).first()
        before = _snapshot(old) if old is not None else None
    instance._audit_before = before


def _post_save(sender, instance, created, raw=False, **kwargs):
    if raw or getattr(instance, "_audit_skip", False):
        return
    before = None if created else getattr(instance, "_audit_before", None)
    changes = _diff(before, _snapshot(instance), sender._meta.label_lower)
    if not created and not set(changes) - NOISE_FIELDS:
        return
    region_path, unit_id = _scope_of(instance)
    record_admin_action(
        action=AdminAction.Action.CREATE if created or before is None else AdminAction.Action.UPDATE,
        app_label=sender._meta.app_label,
        model=sender._meta.model_name,
        object_id=str(instance.pk),
        object_repr=_repr(instance),
        changes={k: v for k, v in changes.items() if k not in NOISE_FIELDS},
        region_path=region_path,
        unit_id=unit_id,
    )


def _pre_delete_scope(sender, instance, **kwargs):
    instance._audit_scope = _scope_of(instance)


def _post_delete(sender, instance, **kwargs):
    region_path, unit_id = getattr(instance, "_audit_scope", ("", None))
    record_admin_action(
        action=AdminAction.Action.DELETE,
        app_label=sender._meta.app_label,
        model=sender._meta.model_name,
        object_id=str(instance.pk),
        object_repr=_repr(instance),
        changes={
            k: [mask_value(k, v, sender._meta.label_lower), None]
            for k, v in _snapshot(instance).items()
            if v not in (None, "")
        },
        region_path=region_path,
        unit_id=unit_id,
    )


def _m2m_changed(sender, instance, action, pk_set, model, **kwargs):
    """Group membership and permission changes of logins (role grants through the admin)."""
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    field = "groups" if model._meta.label_lower == "auth.group" else model._meta.model_name
    verb = {"post_add": "+", "post_remove": "-", "post_clear": "clear"}[action]
    record_admin_action(
        action=AdminAction.Action.UPDATE,
        app_label=instance._meta.app_label,
        model=instance._meta.model_name,
        object_id=str(instance.pk),
        object_repr=_repr(instance),
        changes={field: [verb, sorted(pk_set or [])]},
    )


def connect_signals() -> None:
    from django.db.models.signals import m2m_changed, pre_delete

    for app_label, model_name in TRACKED:
        try:
            model = apps.get_model(app_label, model_name)
        except LookupError:
            continue
        uid = f"audit:{app_label}.{model_name}"
        pre_save.connect(_pre_save, sender=model, dispatch_uid=uid + ":pre")
        post_save.connect(_post_save, sender=model, dispatch_uid=uid + ":post")
        pre_delete.connect(_pre_delete_scope, sender=model, dispatch_uid=uid + ":predel")
        post_delete.connect(_post_delete, sender=model, dispatch_uid=uid + ":del")
    user_model = apps.get_model("auth", "user")
    m2m_changed.connect(_m2m_changed, sender=user_model.groups.through, dispatch_uid="audit:user.groups")
    m2m_changed.connect(_m2m_changed, sender=user_model.user_permissions.through, dispatch_uid="audit:user.permissions")
