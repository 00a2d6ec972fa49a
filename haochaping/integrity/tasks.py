"""Periodic task of the worker (`haochaping worker`): integrity signals, hourly.

Hourly, over today and yesterday: a burst is shown to supervisors the same working day, and the late ratings of
yesterday (queued offline devices, keyed paper forms) are still looked at. Reruns refresh signals, never
duplicate them (fingerprint), so an overlapping run does no harm.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="25"))
@lock_task("haochaping-integrity-signals")
def integrity_signals() -> None:
    from haochaping.integrity.services import signals_compute

    found = signals_compute(days=2)
    logger.info("integrity signals: %s", dict(found))
