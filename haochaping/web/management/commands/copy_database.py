"""haochaping copy_database --source sqlite:////path/haochaping.sqlite3: move a SQLite installation to PostgreSQL."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from haochaping.web.backup import verify_after_load
from haochaping.web.copydb import CHUNK, copy_database


class Command(BaseCommand):
    help = (
        "把整个数据库（如 SQLite 演示库）复制到 DATABASE_URL 指向的已迁移空 PostgreSQL 库，随后校验"
        " / copy a whole database into the migrated, empty PostgreSQL database of DATABASE_URL, then verify"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--source", required=True, help="源数据库 URL / source database URL, e.g. sqlite:////srv/haochaping.sqlite3"
        )
        parser.add_argument("--chunk", type=int, default=CHUNK, help=f"每批行数 / rows per chunk (default {CHUNK})")

    def handle(self, *args, source: str, chunk: int, **options):
        if chunk < 1:
            raise CommandError("--chunk 必须为正整数 / --chunk must be positive")
        started = time.perf_counter()
        self.stdout.write(f"复制 / copying {source} → DATABASE_URL:")
        done = copy_database(source, write=self.stdout.write, chunk=chunk)
        total = sum(t.rows for t in done)
        self.stdout.write(
            self.style.SUCCESS(
                f"已复制 / copied {total:,} 行 rows, {len(done)} 张表 tables, {time.perf_counter() - started:.1f}s"
            )
        )
        if not verify_after_load(self.stdout.write):
            raise CommandError("复制完成，但校验未通过（见上）/ copied, but verification did not pass (see above)")
        self.stdout.write(self.style.SUCCESS("校验通过 / verified"))
