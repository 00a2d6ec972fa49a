"""Pushing prompts to evaluators (评价器推送): the stream token a device presents to the push server, and the
notice a new prompt sends on commit. See docs/evaluator-push.md.

The push server (haochaping.evaluator.events, `haochaping pushserver`) is a separate ASGI process that holds the
devices' event streams. It trusts the signed stream token and nothing else: the token names the device and its
window and expires after HAOCHAPING_EVALUATOR_STREAM_TTL seconds, so it needs no database lookup per connection.
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from django.conf import settings
from django.core import signing
from django.db import connection

from haochaping.evaluator.models import EvaluatorDevice, EvaluatorPrompt

SALT = "haochaping.evaluator.events"
# The PostgreSQL channel the push server LISTENs on; the payload is "<window_id> <prompt_id>".
CHANNEL = "haochaping_evaluator"
EVENTS_PATH = "/api/v1/evaluator/device/events"


def _signer() -> signing.TimestampSigner:
    return signing.TimestampSigner(salt=SALT)


def stream_token(device: EvaluatorDevice) -> str:
    """A signed, timestamped "<device_id>.<window_id>" valid HAOCHAPING_EVALUATOR_STREAM_TTL seconds."""
    return _signer().sign(f"{device.pk}.{device.window_id}")


def stream_token_claims(token: str | None, *, now: float | None = None) -> tuple[int, int, float] | None:
    """(device_id, window_id, expires_at as a Unix time) of a valid, unexpired token; None otherwise."""
    if not token or len(token) > 200:
        return None
    signer = _signer()
    ttl = settings.HAOCHAPING_EVALUATOR_STREAM_TTL
    try:
        value = signer.unsign(token, max_age=ttl)
        # The timestamp is the base62 part after the value; unsign has checked the signature and the age.
        signed_at = signing.b62_decode(token.rsplit(signer.sep, 2)[1])
    except (signing.BadSignature, ValueError, IndexError):
        return None
    expires_at = float(signed_at + ttl)
    if now is not None and now >= expires_at:
        return None
    try:
        device_id, window_id = (int(part) for part in value.split("."))
    except ValueError:
        return None
    return device_id, window_id, expires_at


def stream_token_verify(token: str | None) -> tuple[int, int] | None:
    """(device_id, window_id) of a valid, unexpired stream token, or None."""
    claims = stream_token_claims(token, now=time.time())
    return None if claims is None else (claims[0], claims[1])


def events_url(device: EvaluatorDevice) -> str:
    """The address at which this device opens its event stream (HAOCHAPING_EVALUATOR_EVENTS_URL with its token);
    empty when push is not enabled."""
    base = settings.HAOCHAPING_EVALUATOR_EVENTS_URL
    if not base:
        return ""
    return f"{base}{'&' if '?' in base else '?'}t={stream_token(device)}"


def events_origin() -> str:
    """The push server's origin when it differs from the site's (the demo: another port), for the kiosk page's
    Content-Security-Policy connect-src; empty when the events URL is a path on the site itself (behind nginx)."""
    parts = urlsplit(settings.HAOCHAPING_EVALUATOR_EVENTS_URL or "")
    if not (parts.scheme and parts.netloc):
        return ""
    return f"{parts.scheme}://{parts.netloc}"


def prompt_published(prompt: EvaluatorPrompt) -> None:
    """Called inside prompt_push's transaction. PostgreSQL: pg_notify, delivered on commit (and not at all on a
    rollback); SQLite: nothing (the push server reads new rows of the prompt table)."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, %s)", [CHANNEL, f"{prompt.window_id} {prompt.pk}"])
