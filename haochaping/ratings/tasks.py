"""Periodic tasks of the ratings app (`haochaping worker`, huey).

Crontab times are local (settings.HUEY utc=False: the process runs in TIME_ZONE).
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(day="1,15", hour="3", minute="20"))
@lock_task("haochaping-rating-partitions")
def ensure_rating_partitions() -> None:
    """Keep the coming 12 months' partitions of ratings_rating created (PostgreSQL; nothing on SQLite).

    Twice a month, so that one failed run still leaves months of margin before a month's ratings would
    fall into DEFAULT; ensure_partitions is idempotent and takes an advisory lock of its own.
    """
    from haochaping.ratings.partitioning import ensure_partitions

    report = ensure_partitions(12)
    if report.created:
        logger.info("rating partitions created: %s", ", ".join(report.created))
