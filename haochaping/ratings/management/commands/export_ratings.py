"""haochaping export_ratings: write ratings as GB/T 39046 table 9 records or in the provincial interface shape."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.lib.errors import DomainError
from haochaping.ratings.interchange import FORMATS, GB_CSV, ratings_export
from haochaping.ratings.management.commands._interchange_args import parse_moment, region_scope


class Command(BaseCommand):
    help = (
        "按 GB/T 39046 表9 或省级接口格式导出办件评价（流式，不限行数）/ "
        "export ratings of 办件 as GB/T 39046 table 9 records or in the provincial shape (streamed)"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--format",
            choices=FORMATS,
            default=GB_CSV,
            help="导出格式（默认 gbt39046-csv：中文表头、UTF-8 带 BOM）/ output format",
        )
        parser.add_argument("--since", help="评价时间起（含），如 2026-01-01 / rated at or after (Beijing time)")
        parser.add_argument("--until", help="评价时间止（不含），如 2026-02-01 / rated before (Beijing time)")
        parser.add_argument("--region", metavar="CODE", help="12位行政区划代码，含下级 / region code, with subregions")
        parser.add_argument(
            "--output", "-o", metavar="FILE", help="输出文件，默认标准输出 / output file (default stdout)"
        )
        parser.add_argument(
            "--chunk-size", type=int, default=2000, help="每次从数据库读取的行数 / rows fetched per round trip"
        )

    def handle(self, *args, format: str, since, until, region, output, chunk_size: int, **options):
        scope = region_scope(region) if region else ALL_SCOPE
        try:
            stream = ratings_export(
                fmt=format,
                scope=scope,
                since=parse_moment(since, "--since"),
                until=parse_moment(until, "--until"),
                chunk_size=chunk_size,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from None
        if output and output != "-":
            with open(output, "w", encoding="utf-8", newline="") as fh:
                for chunk in stream:
                    fh.write(chunk)
        else:
            for chunk in stream:
                self.stdout.write(chunk, ending="")
            self.stdout.flush()
        # The count goes to stderr so that stdout stays a clean file.
        self.stderr.write(f"已导出 {stream.rows} 条评价 / exported {stream.rows} ratings")
