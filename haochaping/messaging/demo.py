"""Demo hook: SMS invitations for a few completed demo 办件, through the console backend."""

from __future__ import annotations

from haochaping.messaging.gateway import ConsoleBackend
from haochaping.messaging.services import invitations_send


def seed_demo(count: int = 3) -> list[str]:
    """Invite the first `count` eligible completed 办件 (registration order: deterministic); their 办件编号.

    The invitations appear at /sms/console/, where each can be answered (e.g. with "1") as the applicant would.
    """
    report = invitations_send(days=0, limit=count, backend=ConsoleBackend())
    return report.sent
