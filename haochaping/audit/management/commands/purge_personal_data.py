"""`haochaping purge_personal_data [--dry-run] [--months N]`: clear personal data past its retention period."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from haochaping.audit.retention import BATCH_SIZE, purge_personal_data
from haochaping.audit.services import audit_source


class Command(BaseCommand):
    help = "清除超过保存期限的评价人、申请人、投诉人个人信息（保留评价和工单本身）"

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--months", type=int, default=None, help="保存期限（月），默认取 HAOCHAPING_PII_RETENTION_MONTHS"
        )
        parser.add_argument("--dry-run", action="store_true", help="只统计将被清除的记录数，不写入")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, months, dry_run, batch_size, **options) -> None:
        months = settings.HAOCHAPING_PII_RETENTION_MONTHS if months is None else months
        if months < 0 or batch_size < 1:
            raise CommandError("--months must be ≥ 0 and --batch-size ≥ 1")
        if months == 0:
            self.stdout.write("保存期限为 0（不清除）/ retention 0: nothing purged")
            return
        with audit_source("command", "command:purge_personal_data"):
            counts = purge_personal_data(months=months, dry_run=dry_run, batch_size=batch_size)
        verb = "将清除" if dry_run else "已清除"
        for label, n in counts.items():
            self.stdout.write(f"{verb} {label}: {n}")
