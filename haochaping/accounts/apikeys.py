"""API keys of calling business systems: created once (the secret is shown once), stored hashed, revocable."""

from __future__ import annotations

import hashlib
import secrets
import time

from django.conf import settings
from django.utils import timezone

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import Scope, scope_for_api_key
from haochaping.directory.models import Organisation, Region

KEY_PREFIX = "hcp_"

# secret hash → (monotonic time cached, ApiKey, Scope); short-lived so revocation takes effect quickly.
_cache: dict[str, tuple[float, ApiKey, Scope]] = {}


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_key_create(
    *, name: str, unit: Organisation | None = None, region: Region | None = None, created_by=None
) -> tuple[ApiKey, str]:
    """Create a key scoped to one unit or one region. Returns the row and the secret (shown once)."""
    body = secrets.token_urlsafe(32)
    while body[0] in "-_":  # a prefix starting with "-" would read as an option on the command line
        body = secrets.token_urlsafe(32)
    prefix = body[:8]
    secret = f"{KEY_PREFIX}{body}"
    key = ApiKey(name=name, prefix=prefix, key_hash=_hash(secret), unit=unit, region=region, created_by=created_by)
    key.full_clean()
    key.save()
    return key, secret


def api_key_revoke(key: ApiKey) -> None:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    _cache.clear()


def authenticate(secret: str | None) -> tuple[ApiKey, Scope] | None:
    if not secret or not secret.startswith(KEY_PREFIX):
        return None
    digest = _hash(secret)
    hit = _cache.get(digest)
    now = time.monotonic()
    if hit and now - hit[0] < settings.HAOCHAPING_API_KEY_CACHE_SECONDS:
        return hit[1], hit[2]
    key = ApiKey.objects.select_related("unit", "region").filter(key_hash=digest, revoked_at__isnull=True).first()
    if key is None:
        _cache.pop(digest, None)
        return None
    scope = scope_for_api_key(key)
    _cache[digest] = (now, key, scope)
    if hit is None or now - hit[0] > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=timezone.now())
    return key, scope


def secret_from_headers(authorization: str | None, x_api_key: str | None) -> str | None:
    if x_api_key:
        return x_api_key.strip()
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


def clear_cache() -> None:
    _cache.clear()
