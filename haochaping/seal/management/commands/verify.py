"""haochaping verify: find altered, inserted and deleted records and a broken hash chain; exit 1 on any finding."""

from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandError

from haochaping.seal.verify import verify


class Command(BaseCommand):
    help = "防篡改校验：重算每条记录的签名与哈希链 / recompute every seal and the hash chain"

    def add_arguments(self, parser):
        parser.add_argument("--since", type=date.fromisoformat, help="只检查该日期（YYYY-MM-DD）起的记录和区块")
        parser.add_argument("--no-record", action="store_true", help="不把结果记入校验记录（页面显示的最近一次校验）")

    def handle(self, *args, since: date | None = None, no_record: bool = False, **options):
        result = verify(since=since, write=self.stdout.write, record=not no_record)
        if not result.ok:
            self.stdout.write(result.summary())
            raise CommandError(result.summary(), returncode=1)
        self.stdout.write(result.summary())
