"""haochaping rollups verify|rebuild: prove the rollups equal the ratings, or recompute them."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from haochaping.analytics import rollups


class Command(BaseCommand):
    help = "汇总表：verify 与评价明细逐项核对，rebuild 从评价明细重算 / rollups: verify against the ratings, or rebuild"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["verify", "rebuild"], help="verify | rebuild")
        parser.add_argument("--show", type=int, default=20, help="列出的差异条数 / differences listed (default 20)")

    def handle(self, *args, action: str, show: int, **options):
        started = time.perf_counter()
        if action == "rebuild":
            sizes = rollups.rebuild()
            detail = "，".join(f"{name} {n:,}" for name, n in sizes.items())
            self.stdout.write(f"已重算汇总表 / rebuilt in {time.perf_counter() - started:.1f}s：{detail}")
            return
        differences = rollups.verify()
        seconds = time.perf_counter() - started
        if not differences:
            self.stdout.write(self.style.SUCCESS(f"0 处差异 / 0 differences ({seconds:.1f}s)"))
            return
        for d in differences[:show]:
            self.stdout.write(f"{d.cube} {d.key}: 应为 expected {d.expected}，实为 stored {d.stored}")
        raise CommandError(
            f"{len(differences)} 处差异 / differences; 运行 / run `haochaping rollups rebuild` 重算 to recompute"
        )
