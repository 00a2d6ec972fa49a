"""Periodic task of the worker (`haochaping worker`) for the rectification publication (整改公开).

- every 10 minutes: copy the cases that reached (or changed) an outcome into publications for moderation, refresh
  changed ones and retract reopened or set-aside ones (disclosure/publication.py ``sync``, incremental).
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*/10"))
@lock_task("haochaping-disclosure-sync")
def disclosure_sync() -> None:
    from haochaping.disclosure.publication import sync

    logger.info("disclosure sync: %s", sync())
