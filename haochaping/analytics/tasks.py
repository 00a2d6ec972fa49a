"""Periodic report tasks of the worker (`haochaping worker`, huey): drafts of the previous period's reports.

Every region with a management agency (管理机构) gets a draft; the agency checks, submits and publishes it. The
service is idempotent: a rerun replaces the drafts, and a period already submitted or published is skipped, so
two workers or a restart do no harm. Crontab times are local (settings.HUEY utc=False).
"""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

logger = logging.getLogger(__name__)


def generate_scheduled(kind: str) -> dict[str, int]:
    """Drafts of the last complete period of ``kind`` for every region with an agency; counts by outcome."""
    from django.utils import timezone

    from haochaping.analytics.reports import last_complete_period, report_generate
    from haochaping.directory.models import Organisation, Region

    start, _end = last_complete_period(kind, timezone.localdate())
    counts = {"generated": 0, "skipped": 0, "failed": 0}
    region_ids = Organisation.objects.filter(kind=Organisation.Kind.AGENCY).values("region_id")
    for region in Region.objects.filter(pk__in=region_ids).order_by("path"):
        try:
            result = report_generate(kind, start, region=region, generated_by="schedule", schedule=True)
        except Exception:  # one region's failure must not stop the others' reports
            logger.exception("%s report of %s for %s failed", kind, region.code, start)
            counts["failed"] += 1
            continue
        counts["generated" if result.report is not None else "skipped"] += 1
    logger.info("%s reports for %s: %s", kind, start, counts)
    return counts


@db_periodic_task(crontab(day="1", hour="3", minute="0"))
@lock_task("haochaping-reports-monthly")
def monthly_reports() -> None:
    """月报 of the previous month, on the 1st at 03:00 (after the 02:10 default ratings of the month's end)."""
    generate_scheduled("monthly")


@db_periodic_task(crontab(month="1,4,7,10", day="1", hour="3", minute="30"))
@lock_task("haochaping-reports-quarterly")
def quarterly_reports() -> None:
    """季报 of the previous quarter, on the first day of each quarter."""
    generate_scheduled("quarterly")


@db_periodic_task(crontab(month="1", day="1", hour="4", minute="0"))
@lock_task("haochaping-reports-annual")
def annual_reports() -> None:
    """年报 of the previous year, on 1 January."""
    generate_scheduled("annual")
