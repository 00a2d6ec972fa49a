"""haochaping report --kind monthly --region 330000000000 --period 2026-10: generate one periodic report now."""

from __future__ import annotations

import time

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from haochaping.analytics import reports
from haochaping.directory.models import Organisation, Region
from haochaping.lib.errors import DomainError


class Command(BaseCommand):
    help = "生成定期报告（月报/季报/年报，Excel + PDF 草稿）/ generate a periodic report (draft, Excel + PDF)"

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=["monthly", "quarterly", "annual"], default="monthly")
        parser.add_argument("--region", help="区划代码（12位）/ region code")
        parser.add_argument("--unit", help="单位统一社会信用代码或编号 / unit USCC or id")
        parser.add_argument("--period", required=True, help="2026-10（月）、2026-Q4（季）、2026（年）")
        parser.add_argument("--user", help="记为生成人的用户名 / username recorded as the generator")

    def handle(self, *args, kind: str, region: str | None, unit: str | None, period: str, user: str | None, **opts):
        started = time.perf_counter()
        if bool(region) == bool(unit):
            raise CommandError("请给出 --region 或 --unit 之一 / give --region or --unit")
        region_obj = unit_obj = None
        if region:
            region_obj = Region.objects.filter(code=region).first()
            if region_obj is None:
                raise CommandError(f"--region：区划 {region} 不存在 / no such region")
        else:
            lookup = {"pk": int(unit)} if unit.isdigit() and len(unit) < 18 else {"uscc": unit.upper()}
            unit_obj = Organisation.objects.filter(**lookup).select_related("region").first()
            if unit_obj is None:
                raise CommandError(f"--unit：单位 {unit} 不存在 / no such unit")
        user_obj = None
        if user:
            user_obj = get_user_model().objects.filter(username=user).first()
            if user_obj is None:
                raise CommandError(f"--user：用户 {user} 不存在 / no such user")
        try:
            start, _end = reports.parse_period(kind, period)
            result = reports.report_generate(
                kind, start, region=region_obj, unit=unit_obj, user=user_obj, generated_by=user or "command"
            )
        except DomainError as exc:
            raise CommandError(f"{exc.message}") from None
        report = result.report
        verb = "已替换草稿 / draft replaced" if result.replaced else "已生成 / generated"
        self.stdout.write(f"{verb}：{report}（#{report.pk}，{report.get_state_display()}）")
        self.stdout.write(f"  Excel: {report.xlsx.path}\n         SHA-256 {report.xlsx_sha256}")
        self.stdout.write(f"  PDF:   {report.pdf.path}\n         SHA-256 {report.pdf_sha256}")
        self.stdout.write(f"  用时 / time: {time.perf_counter() - started:.2f}s（生成 / build {result.seconds:.2f}s）")
