"""haochaping open_cases: open the missing cases of stored 差评 (imported around intake or before the cases app)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from haochaping.cases.opening import open_missing


class Command(BaseCommand):
    help = "为尚无工单的差评补立案（可重复运行）/ open a case for every stored 差评 without one (idempotent)"

    def handle(self, *args, **options) -> None:
        opened = open_missing()
        self.stdout.write(f"补立案 {opened} 件 / opened {opened} case(s)")
