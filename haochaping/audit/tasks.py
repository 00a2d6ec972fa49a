"""Periodic tasks of the audit app (`haochaping worker`): the nightly retention purge."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(hour="3", minute="40"))
@lock_task("haochaping-purge-personal-data")
def purge_personal_data_nightly() -> None:
    """Clear personal data older than HAOCHAPING_PII_RETENTION_MONTHS (0: never); the records stay."""
    from haochaping.audit.retention import purge_personal_data
    from haochaping.audit.services import audit_source

    with audit_source("system", "task:purge_personal_data"):
        counts = purge_personal_data()
    logger.info("personal-data purge: %s", counts)
