"""Periodic tasks of the worker (`haochaping worker`, huey; docs/operations-cases.md).

Each task only calls a service that is idempotent and safe to overlap, so a task run twice (two workers, a
restart mid-run, cron alongside) does no harm; the locks merely avoid wasted work when one run is slow.
Crontab times are local (settings.HUEY utc=False: the process runs in TIME_ZONE).
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

from haochaping.cases.sweep import sweep

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*/15"))
@lock_task("haochaping-sweep-cases")
def sweep_cases() -> None:
    """督办: due-soon reminders, overdue escalation, closing expired feedback periods."""
    report = sweep()
    logger.info("case sweep: %s", report.counts())


@db_periodic_task(crontab(minute="*"))
@lock_task("haochaping-case-figures")
def refresh_case_figures() -> None:
    """Recompute the case figures whose cases changed (cases/rollup.py), so dashboard readers find little to do."""
    from haochaping.cases.rollup import refresh

    n = refresh()
    if n:
        logger.info("case figures: %d day keys recomputed", n)


@db_periodic_task(crontab(hour="2", minute="10"))
@lock_task("haochaping-default-ratings")
def default_ratings() -> None:
    """默认评价 for completed 办件 left unrated past their region's delay (at night: nobody is waiting on it)."""
    from haochaping.ratings.defaults import default_ratings_sweep

    report = default_ratings_sweep()
    logger.info(
        "default ratings: %d recorded, %d skipped, %d failed",
        len(report.rated),
        len(report.skipped),
        len(report.failed),
    )


@db_periodic_task(crontab(hour="10", minute="0"))
@lock_task("haochaping-invitations")
def sms_invitations() -> None:
    """短信邀评 of unrated completed 办件 — in the morning, not with the 02:10 jobs: nobody wants an SMS at night."""
    from haochaping.messaging.services import invitations_send

    report = invitations_send()
    logger.info(
        "SMS invitations: %d sent, %d failed, %d capped", len(report.sent), len(report.failed), len(report.capped)
    )
