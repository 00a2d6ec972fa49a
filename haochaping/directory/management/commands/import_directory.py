"""haochaping import_directory: bulk-import the directory (组织机构与事项目录) from a CSV file or an .xlsx workbook."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from haochaping.directory.importer import KINDS, SHEET_NAMES, import_file, resolve_kind
from haochaping.lib.tabular import report_import


def kind_argument(value: str) -> str:
    kind = resolve_kind(value)
    if kind is None:
        names = ", ".join(f"{k} ({SHEET_NAMES[k]})" for k in KINDS)
        raise argparse.ArgumentTypeError(f"未知类型 / unknown kind: {value}; 可选 / choose from: {names}")
    return kind


class Command(BaseCommand):
    help = (
        "从 CSV 或 Excel（.xlsx）批量导入组织机构与事项目录；按编码幂等，整个文件要么全部导入要么不导入 / "
        "bulk-import the directory from CSV or Excel (.xlsx); idempotent on codes, all or nothing per file"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="CSV 文件或 .xlsx 工作簿 / a CSV file or an .xlsx workbook")
        parser.add_argument(
            "--kind",
            type=kind_argument,
            help=(
                "导入类型（CSV 必填，除非能从列名判断；工作簿不填则按工作表名导入全部类型）/ kind of rows "
                "(needed for CSV unless the headers tell; a workbook without it imports every sheet): "
                + ", ".join(KINDS)
            ),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="只检查并报告错误，不写入任何数据 / check and report, write nothing"
        )

    def handle(self, *args, file: str, kind: str | None, dry_run: bool, **options):
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"文件不存在 / no such file: {file}")
        started = time.perf_counter()
        result = import_file(path, kind=kind, dry_run=dry_run)
        elapsed = time.perf_counter() - started
        report_import(self, result, elapsed)
