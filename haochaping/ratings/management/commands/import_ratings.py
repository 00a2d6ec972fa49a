"""haochaping import_ratings: import GB/T 39046 table 9 or provincial records through the one rating intake."""

from __future__ import annotations

import csv
import io
import sys
from contextlib import nullcontext

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.lib.errors import DomainError
from haochaping.ratings.interchange import FORMATS, detect_encoding, ratings_import_iter, read_records
from haochaping.ratings.management.commands._interchange_args import region_scope

STATUS_TEXT = {201: "新增", 200: "已存在（幂等重复）"}


class Command(BaseCommand):
    help = (
        "导入 GB/T 39046 表9 或省级接口格式的评价：逐条校验，已导入的记录不会重复存储 / "
        "import ratings in GB/T 39046 table 9 or provincial shape; re-importing a file stores nothing twice"
    )

    def add_arguments(self, parser):
        parser.add_argument("file", metavar="FILE", help="导入文件，- 表示标准输入 / input file, - for stdin")
        parser.add_argument(
            "--format",
            choices=FORMATS,
            required=True,
            help="文件格式；JSON 格式接受数组或每行一条 / file format; JSON takes an array or JSON Lines",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="只校验并报告错误，不写入（事务回滚）/ check and report only; the transaction is rolled back",
        )
        parser.add_argument(
            "--region",
            metavar="CODE",
            help="只允许导入该区划（含下级）的办件评价 / limit the import to 办件 of this region",
        )
        parser.add_argument(
            "--client",
            default="cli:import",
            help="记录为提交方，幂等键按提交方区分（默认 cli:import）/ submitter name; idempotency is per submitter",
        )
        parser.add_argument("--report", metavar="FILE", help="逐行结果写入 CSV 文件 / write per-row results as CSV")

    def handle(self, *args, file: str, format: str, dry_run: bool, region, client: str, report, **options):
        if len(client) > 40:
            raise CommandError("--client 最长40个字符")
        scope = region_scope(region) if region else ALL_SCOPE
        counts = {"accepted": 0, "duplicates": 0, "rejected": 0}
        report_fh = open(report, "w", encoding="utf-8-sig", newline="") if report else None
        writer = csv.writer(report_fh) if report_fh else None
        if writer:
            writer.writerow(["行号", "状态", "评价编号", "字段", "原因"])
        try:
            # A dry run is one transaction, rolled back; a real import commits batch by batch (1000 rows).
            with self._open(file) as text, transaction.atomic() if dry_run else nullcontext():
                for r in ratings_import_iter(read_records(text, format), fmt=format, scope=scope, client=client):
                    key = "accepted" if r.status == 201 else "duplicates" if r.status == 200 else "rejected"
                    counts[key] += 1
                    fields = "、".join(e["field"] or "" for e in r.errors)
                    reasons = "；".join(e["message"] for e in r.errors) or r.message or ""
                    if writer:
                        writer.writerow([r.row, r.status, r.rating_id or "", fields, reasons])
                    if not r.ok:
                        self.stderr.write(f"第{r.row}行 [{fields or '-'}] {reasons}")
                    elif options["verbosity"] >= 2:
                        self.stdout.write(f"第{r.row}行 {STATUS_TEXT[r.status]} {r.rating_id}")
                if dry_run:
                    transaction.set_rollback(True)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        finally:
            if report_fh:
                report_fh.close()
        mode = "（试运行，未写入 / dry run, nothing written）" if dry_run else ""
        self.stdout.write(
            f"新增 {counts['accepted']} 条，已存在 {counts['duplicates']} 条，拒绝 {counts['rejected']} 条{mode} / "
            f"accepted {counts['accepted']}, duplicates {counts['duplicates']}, rejected {counts['rejected']}"
        )
        if counts["rejected"]:
            raise CommandError(f"有 {counts['rejected']} 条记录被拒绝 / {counts['rejected']} records rejected")

    @staticmethod
    def _open(file: str):
        if file == "-":
            return io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8-sig", newline="")
        try:
            with open(file, "rb") as fh:
                head = fh.read(1 << 20)
            return open(file, encoding=detect_encoding(head), newline="")
        except OSError as exc:
            raise CommandError(f"无法读取文件 {file}：{exc.strerror}") from None
