"""haochaping sweep_cases: one supervision sweep now (reminders, escalation, expired feedback); cron-friendly."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from haochaping.cases.sweep import sweep


class Command(BaseCommand):
    help = (
        "差评工单督办：临期提醒、超期督办、反馈期满办结（可重复运行，不会重复提醒）/ "
        "one case supervision sweep: reminders, escalation, closing expired feedback periods (idempotent)"
    )

    def handle(self, *args, **options) -> None:
        report = sweep()
        self.stdout.write(
            f"临期提醒 {report.reminded} 件，超期提醒单位负责人 {report.overdue} 件，"
            f"上报管理机构 {report.escalated} 件，反馈期满办结 {report.closed_no_response} 件，"
            f"站内提醒 {report.notifications} 条，失败 {len(report.failed)} 件 / "
            f"reminded {report.reminded}, overdue {report.overdue}, escalated {report.escalated}, "
            f"closed (no response) {report.closed_no_response}, notifications {report.notifications}, "
            f"failed {len(report.failed)}"
        )
        for case_id, reason in report.failed:
            self.stderr.write(f"  失败 failed：工单 {case_id}：{reason}")
        if report.failed:
            raise SystemExit(1)
