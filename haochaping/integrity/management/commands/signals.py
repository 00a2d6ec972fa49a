"""haochaping signals [--days N]: compute the integrity signals now (the worker does it hourly)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from haochaping.integrity.models import Rule


class Command(BaseCommand):
    help = "计算数据真实性监测信号（最近 N 天；月度规则按涉及的月份）/ compute integrity signals for the last N days"

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=2, help="最近多少天（含今天）/ days back, today included")
        parser.add_argument("--rule", action="append", choices=Rule.values, help="只计算某条规则 / one rule only")

    def handle(self, *args, days: int, rule, **options):
        from haochaping.integrity.services import signals_compute

        if not 1 <= days <= 800:
            raise CommandError("--days 应在 1–800 之间")
        found = signals_compute(days=days, rules=set(rule) if rule else None)
        for value, label in Rule.choices:
            self.stdout.write(f"{label} ({value}): {found.get(value, 0)}")
        self.stdout.write(f"合计 / total: {sum(found.values())}")
