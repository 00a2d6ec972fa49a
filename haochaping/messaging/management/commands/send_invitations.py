"""haochaping send_invitations: SMS invitations for completed 办件 not yet rated (智能邀评); run from cron."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from haochaping.messaging.services import invitations_send


class Command(BaseCommand):
    help = "向办结后N天内未评价的办件申请人发送短信邀评（每个办件每环节只发一次）"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--days", type=int, default=None, help="办结多少天后仍未评价才邀请（默认取配置）")
        parser.add_argument("--limit", type=int, default=None, help="本次最多发送条数")
        parser.add_argument("--dry-run", action="store_true", help="只列出将发送的办件，不发送")

    def handle(self, *args, days: int | None, limit: int | None, dry_run: bool, **options) -> None:
        if limit is not None and limit < 1:
            self.stderr.write("--limit 须为正整数")
            raise SystemExit(2)
        report = invitations_send(days=days, limit=limit, dry_run=dry_run)
        if dry_run:
            self.stdout.write(f"将发送 {len(report.would_send)} 条：{' '.join(report.would_send)}")
        else:
            self.stdout.write(f"已发送 {len(report.sent)} 条，发送失败 {len(report.failed)} 条")
            for case_no in report.failed:
                self.stdout.write(f"  发送失败：{case_no}")
        if report.capped:
            self.stdout.write(f"因同一手机号当日邀评已达上限而跳过 {len(report.capped)} 条：{' '.join(report.capped)}")
