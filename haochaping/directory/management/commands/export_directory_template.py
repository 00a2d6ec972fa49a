"""haochaping export_directory_template: write the import template (.xlsx with every sheet, or a CSV for one kind)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from haochaping.directory.import_template import template_csv, write_template
from haochaping.directory.importer import KINDS
from haochaping.directory.management.commands.import_directory import kind_argument


class Command(BaseCommand):
    help = (
        "生成目录导入模板：.xlsx 含全部工作表、表头和示例行，.csv 为单一类型 / "
        "write the directory import template: .xlsx with every sheet, headers and example rows, or .csv for one kind"
    )

    def add_arguments(self, parser):
        parser.add_argument("output", help="输出文件（.xlsx 或 .csv）/ output file (.xlsx or .csv)")
        parser.add_argument(
            "--kind",
            type=kind_argument,
            help=f"只生成一种类型（.csv 必填）/ only this kind (required for .csv): {', '.join(KINDS)}",
        )
        parser.add_argument("--no-examples", action="store_true", help="不写示例行 / headers only")
        parser.add_argument("--force", action="store_true", help="覆盖已有文件 / overwrite an existing file")

    def handle(self, *args, output: str, kind: str | None, no_examples: bool, force: bool, **options):
        path = Path(output)
        if path.exists() and not force:
            raise CommandError(f"文件已存在，使用 --force 覆盖 / file exists, use --force: {output}")
        suffix = path.suffix.lower()
        if suffix == ".csv":
            if not kind:
                raise CommandError("CSV 模板须指定 --kind / a CSV template needs --kind")
            path.write_bytes(template_csv(kind, examples=not no_examples))
        elif suffix == ".xlsx":
            write_template(path, kinds=[kind] if kind else KINDS, examples=not no_examples)
        else:
            raise CommandError("输出文件须为 .xlsx 或 .csv / output must end in .xlsx or .csv")
        self.stdout.write(self.style.SUCCESS(f"已生成模板 / template written: {path}"))
