"""haochaping restore --input FILE [--yes]: replace the database with a backup, then verify the chain."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from haochaping.web.backup import restore, verify_after_load


class Command(BaseCommand):
    help = (
        "从备份恢复数据库（覆盖现有数据；先停止 web 与 worker 服务），随后校验防篡改链与汇总表"
        " / restore a backup over the database (stop the services first), then verify"
    )

    def add_arguments(self, parser):
        parser.add_argument("--input", dest="source", required=True, type=Path, help="备份文件 / backup file")
        parser.add_argument("--yes", action="store_true", help="不再确认 / do not ask for confirmation")

    def handle(self, *args, source: Path, yes: bool, **options):
        if not yes:
            answer = input_fn(
                "将用备份覆盖当前数据库的全部数据，web 与 worker 服务须已停止。输入 yes 继续"
                " / this replaces every row of the database; services must be stopped. Type yes: "
            )
            if answer.strip().lower() != "yes":
                raise CommandError("已取消 / cancelled")
        done = restore(source)
        self.stdout.write(self.style.SUCCESS(f"已恢复 / restored from {done.path} ({done.seconds:.1f}s)"))
        if not verify_after_load(self.stdout.write):
            raise CommandError("恢复完成，但校验未通过（见上）/ restored, but verification did not pass (see above)")
        self.stdout.write(self.style.SUCCESS("校验通过 / verified"))


def input_fn(prompt: str) -> str:  # a seam for tests
    return input(prompt)
