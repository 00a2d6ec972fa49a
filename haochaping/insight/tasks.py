"""Periodic tasks of the worker (`haochaping worker`) for comment mining.

- every 5 minutes: index the comments that arrived (incremental, insight/index.py);
- daily at 02:40: catch up late-committed comments, detect concentrated problems, raise surge alerts;
- weekly (Sunday 03:30): retrain the routing model with the handlers' confirmations and corrections.
Each takes a lock, so an overlapping run waits its turn instead of doing the work twice.
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*/5"))
@lock_task("haochaping-insight-index")
def insight_index() -> None:
    from haochaping.insight.index import index_new

    logger.info("insight index: %s", index_new())


@db_periodic_task(crontab(hour="2", minute="40"))
@lock_task("haochaping-insight-daily")
def insight_daily() -> None:
    from haochaping.insight.index import catch_up, index_new
    from haochaping.insight.problems import detect_all
    from haochaping.insight.surge import raise_alerts

    logger.info("insight catch-up: %s, new: %s", catch_up(), index_new())
    logger.info("insight problems: %s", detect_all())
    logger.info("insight alerts: %s", raise_alerts())


@db_periodic_task(crontab(day_of_week="0", hour="3", minute="30"))
@lock_task("haochaping-insight-router")
def insight_router() -> None:
    from haochaping.insight.routing import train_from_database

    router = train_from_database()
    logger.info("insight router: %s examples, held-out accuracy %s", router.examples if router else 0,
                router.accuracy if router else None)  # fmt: skip
