"""Periodic tasks of the exchange (`haochaping worker`, huey): the upward push and the file drop, every minute.

Each takes a lock so two workers (or a long push and the next minute's) never run it at once; either could run
twice safely anyway (the superior deduplicates; a file is claimed by renaming it).
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
@lock_task("haochaping-exchange-push")
def exchange_push() -> None:
    from haochaping.exchange import outbox, push

    if not outbox.enabled():
        return
    for result in push.push_pending(seconds=50):
        if result.status not in ("empty", "waiting"):
            logger.info("exchange push: %s", result)


@db_periodic_task(crontab(minute="*"))
@lock_task("haochaping-filedrop-scan")
def filedrop_scan() -> None:
    from haochaping.exchange import filedrop

    stored = filedrop.scan_all()
    if stored:
        logger.info("file drop: %s file(s) processed", stored)
