"""SMS gateway adapter: one interface, `send(phone, text) -> message id`, with the backend chosen by settings.

- console: logs the message (development); the SmsMessage row is the store.
- file: appends one JSON line per message to DATA_DIR/sms-outbox.jsonl (development, tests, hand-off).
- http: POSTs HAOCHAPING_SMS_TEMPLATE to HAOCHAPING_SMS_URL with the optional auth header and a timeout.

`sms_send` records every outbound message as an SmsMessage (queued → sent/failed) around the backend call.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils import timezone

from haochaping.lib import protect

logger = logging.getLogger("haochaping.sms")


class GatewayError(Exception):
    """The gateway refused or could not be reached; the message is marked failed with this text."""


class Backend(Protocol):
    def send(self, phone: str, text: str) -> str: ...


class ConsoleBackend:
    def send(self, phone: str, text: str) -> str:
        message_id = f"console-{uuid.uuid4().hex[:12]}"
        # Development only: the full number and text go to the log so the developer can act on them.
        logger.debug("SMS %s to %s: %s", message_id, phone, text)
        print(f"[SMS {message_id}] → {phone}: {text}", flush=True)
        return message_id


class FileBackend:
    def __init__(self, path: Path | None = None) -> None:
        self.path = path or Path(settings.DATA_DIR) / "sms-outbox.jsonl"

    def send(self, phone: str, text: str) -> str:
        message_id = f"file-{uuid.uuid4().hex[:12]}"
        line = json.dumps(
            {"id": message_id, "phone": phone, "text": text, "at": timezone.now().isoformat()}, ensure_ascii=False
        )
        with open(self.path, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
        return message_id


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, bytes]:
    """The one outbound HTTP call (tests replace it): status and body of the gateway's answer."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (configured URL)
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def render_template(template: str, phone: str, text: str) -> bytes:
    """Fill {phone} and {text} with JSON-escaped values; the result must be valid JSON."""

    def escaped(value: str) -> str:
        return json.dumps(value, ensure_ascii=False)[1:-1]

    body = template.replace("{phone}", escaped(phone)).replace("{text}", escaped(text))
    try:
        json.loads(body)
    except ValueError as exc:
        raise GatewayError(f"HAOCHAPING_SMS_TEMPLATE 不是有效的 JSON：{exc}") from None
    return body.encode()


class HttpBackend:
    def send(self, phone: str, text: str) -> str:
        headers = {"Content-Type": "application/json; charset=utf-8"}
        if settings.HAOCHAPING_SMS_AUTH_HEADER:
            name, _, value = settings.HAOCHAPING_SMS_AUTH_HEADER.partition(":")
            headers[name.strip()] = value.strip()
        body = render_template(settings.HAOCHAPING_SMS_TEMPLATE, phone, text)
        try:
            status, answer = _post(settings.HAOCHAPING_SMS_URL, body, headers, settings.HAOCHAPING_SMS_TIMEOUT)
        except (OSError, urllib.error.URLError) as exc:  # timeouts and refused connections
            raise GatewayError(f"短信网关不可达：{exc}") from None
        if not 200 <= status < 300:
            raise GatewayError(f"短信网关返回 {status}：{answer[:200].decode('utf-8', 'replace')}")
        try:
            message_id = json.loads(answer or b"{}").get(settings.HAOCHAPING_SMS_ID_FIELD)
        except (ValueError, AttributeError):
            message_id = None
        return str(message_id or f"http-{uuid.uuid4().hex[:12]}")


def get_backend() -> Backend:
    return {"console": ConsoleBackend, "file": FileBackend, "http": HttpBackend}[settings.HAOCHAPING_SMS_BACKEND]()


def sms_send(*, phone: str, text: str, kind: str, stored_text: str | None = None, **links):
    """Send one SMS and record it. `stored_text` replaces the text in the record (a redacted link).

    The row is written before the gateway call and updated after it, so a crash leaves a 'queued' row.
    """
    from haochaping.messaging.models import SmsMessage

    message = SmsMessage.objects.create(
        direction=SmsMessage.Direction.OUT,
        kind=kind,
        phone_enc=protect.encrypt(phone),
        phone_hash=protect.lookup_hash(phone),
        text=stored_text if stored_text is not None else text,
        status=SmsMessage.Status.QUEUED,
        created_at=timezone.now(),
        **links,
    )
    deliver(message, phone, text)
    return message


def deliver(message, phone: str, text: str, backend: Backend | None = None) -> None:
    """Hand a recorded message to the backend (default: the configured one) and store the outcome."""
    message.attempts += 1
    try:
        message.gateway_id = (backend or get_backend()).send(phone, text)[:100]
        message.status, message.sent_at, message.error = message.Status.SENT, timezone.now(), ""
    except GatewayError as exc:
        logger.warning("SMS %s failed: %s", message.pk, exc)
        message.status, message.error = message.Status.FAILED, str(exc)
    message.save(update_fields=["gateway_id", "status", "sent_at", "error", "attempts"])
