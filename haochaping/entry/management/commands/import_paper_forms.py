"""haochaping import_paper_forms: batch-import paper evaluation forms (纸质评价表) from CSV or Excel."""

from __future__ import annotations

import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from haochaping.accounts.scope import scope_for_user
from haochaping.entry.importer import import_paper_forms
from haochaping.lib.errors import DomainError
from haochaping.lib.tabular import report_import


class Command(BaseCommand):
    help = (
        "从 CSV 或 Excel（.xlsx）批量导入纸质评价表；整个文件要么全部导入要么不导入，已录入的表单编号被拒绝 / "
        "bulk-import paper evaluation forms; all or nothing per file, forms already keyed are refused"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV 文件或 .xlsx 工作簿 / a CSV file or an .xlsx workbook")
        parser.add_argument(
            "--user", required=True, help="记为录入人的用户名，按其数据范围导入 / the keying user (and scope)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="只检查并报告错误，不写入任何数据 / check and report, write nothing"
        )

    def handle(self, *args, file: str, user: str, dry_run: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在 / no such file: {file}")
        account = get_user_model().objects.filter(username=user, is_active=True).first()
        if account is None:
            raise CommandError(f"用户不存在或已停用 / no such active user: {user}")
        started = time.perf_counter()
        try:
            result = import_paper_forms(path, user=account, scope=scope_for_user(account), dry_run=dry_run)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        elapsed = time.perf_counter() - started
        report_import(self, result, elapsed)
