"""haochaping partitions: the monthly partitions of ratings_rating on PostgreSQL (docs/partitioning.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from haochaping.ratings import partitioning


def _size(n: int) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if n < 1024:
            return f"{n:.0f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"


class Command(BaseCommand):
    help = (
        "评价表按月分区：查看分区（status）或预建分区（ensure），仅适用于 PostgreSQL / "
        "the monthly partitions of the ratings table: list them (status) or create the coming months' (ensure); "
        "PostgreSQL only"
    )

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        status = sub.add_parser("status", help="列出分区、时间范围、行数和大小 / list partitions, ranges, rows, sizes")
        status.add_argument(
            "--exact", action="store_true", help="逐个分区精确计数（较慢）/ count rows exactly (slow on big tables)"
        )
        ensure = sub.add_parser("ensure", help="预建本月及之后的月分区 / create this month's and the coming months'")
        ensure.add_argument(
            "--months-ahead", type=int, default=12, help="预建的月数（默认 12）/ months ahead to create (default 12)"
        )
        ensure.add_argument(
            "--from-default",
            action="store_true",
            help="同时为默认分区中已有数据的月份建分区并迁入 / also give the months found in DEFAULT their partitions",
        )

    def handle(self, *args, action: str, **options) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write(
                "评价表分区仅适用于 PostgreSQL，当前数据库无需分区维护 / partitioning applies to PostgreSQL only"
            )
            return
        if not partitioning.is_partitioned(cached=False):
            raise CommandError(
                "评价表尚未分区：请先运行 haochaping migrate / ratings_rating is not partitioned: run migrate"
            )
        if action == "status":
            self._status(exact=options["exact"])
        else:
            self._ensure(months_ahead=options["months_ahead"], from_default=options["from_default"])

    def _status(self, *, exact: bool) -> None:
        rows = partitioning.partitions(exact=exact)
        label = "行数" if exact else "行数（估计）"
        self.stdout.write(f"{'分区 / partition':<28} {'范围 / range':<44} {label + ' / rows':>16} {'大小 / size':>12}")
        for p in rows:
            self.stdout.write(f"{p.name:<28} {p.bounds:<44} {p.rows:>16,} {_size(p.bytes):>12}")
        default = next((p for p in rows if p.name == partitioning.DEFAULT_PARTITION), None)
        total = sum(p.rows for p in rows)
        self.stdout.write(f"共 {len(rows)} 个分区，{total:,} 行 / {len(rows)} partitions, {total:,} rows")
        if default is not None and default.rows:
            self.stdout.write(
                "默认分区中有数据：运行 partitions ensure --from-default 为其月份建分区 / "
                "DEFAULT holds rows: run `partitions ensure --from-default`"
            )

    def _ensure(self, *, months_ahead: int, from_default: bool) -> None:
        if months_ahead < 0:
            raise CommandError("--months-ahead 不能为负数 / --months-ahead must not be negative")
        months = partitioning.default_months() if from_default else []
        report = partitioning.ensure_partitions(months_ahead, months=months)
        for name in report.created:
            moved = "（已从默认分区迁入数据）/ rows moved from DEFAULT" if name in report.moved_from_default else ""
            self.stdout.write(f"已创建 / created {name} {moved}".rstrip())
        self.stdout.write(f"新建分区 {len(report.created)} 个 / {len(report.created)} partitions created")
