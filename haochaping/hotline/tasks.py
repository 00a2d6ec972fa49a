"""Periodic task of the hotline link (`haochaping worker`, huey): send pending work orders, every minute, locked."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
@lock_task("haochaping-hotline-send")
def hotline_send() -> None:
    from haochaping.hotline import outbound

    for result in outbound.send_pending(seconds=50):
        if result.status != "accepted":
            logger.info("hotline send: %s", result)
