"""Demo data of the qrcodes app: the lead's `haochaping demo` calls seed_demo() after the directory exists."""

from __future__ import annotations

from haochaping.directory.models import Window
from haochaping.qrcodes.services import window_codes_ensure


def seed_demo() -> int:
    """Give every active window of the demo an active QR code (bulk insert; idempotent). Returns how many."""
    return window_codes_ensure(Window.objects.filter(is_active=True).only("pk"))
