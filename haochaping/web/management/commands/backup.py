"""haochaping backup --output FILE: a consistent copy of the database while the application runs."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from haochaping.web.backup import backup


class Command(BaseCommand):
    help = (
        "备份数据库（SQLite 在线备份；PostgreSQL pg_dump -Fc）。密钥与上传文件不在备份内 / back up the database"
        " (keys and uploaded files are not included)"
    )

    def add_arguments(self, parser):
        parser.add_argument("--output", required=True, type=Path, help="备份文件 / backup file to write")

    def handle(self, *args, output: Path, **options):
        done = backup(output)
        self.stdout.write(
            self.style.SUCCESS(f"已备份 / backed up: {done.path} ({done.size / 1e6:.1f} MB, {done.seconds:.1f}s)")
        )
        self.stdout.write(
            "提示：SECRET_KEY、HAOCHAPING_PII_KEYS、HAOCHAPING_PII_HASH_KEY、HAOCHAPING_SEAL_KEY 和 DATA_DIR/media"
            " 不在备份内，请另行保管 / keys and media are not in the backup: keep them separately"
        )
