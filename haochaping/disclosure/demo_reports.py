"""Demo: publish the province's report of the last complete month, so that /open/reports/ lists one.

Generated, submitted and published through the analytics report services (analytics/reports.py), as an agency
administrator would; a region report (unit reports list window staff by name and are never public).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from django.conf import settings

from haochaping.analytics import reports
from haochaping.analytics.models import Report
from haochaping.directory.models import Region
from haochaping.disclosure import periods


def seed_demo(write: Callable[[str], None]) -> Report | None:
    """Generate and publish the top region's monthly report for the last complete month (None: no region)."""
    province = Region.objects.filter(parent__isnull=True).order_by("code").first()
    if province is None:
        return None
    started = time.perf_counter()
    start, _end = reports.last_complete_period(Report.Kind.MONTHLY, periods.today())
    result = reports.report_generate(Report.Kind.MONTHLY, start, region=province, generated_by="demo", schedule=True)
    report = result.report
    if report is None:  # already submitted or published for that month
        report = (
            Report.objects.filter(kind=Report.Kind.MONTHLY, region=province, unit__isnull=True, period_start=start)
            .order_by("-version")
            .first()
        )
    if report is not None and report.state == Report.State.DRAFT:
        report = reports.report_transition(report.pk, "submit", None)
    if report is not None and report.state == Report.State.SUBMITTED:
        report = reports.report_transition(report.pk, "publish", None)
    if report is not None:
        write(
            f"定期报告 / periodic report: {report} 已发布（{time.perf_counter() - started:.1f}s），"
            f"公开于 {settings.SITE_URL}/open/reports/"
        )
    return report
