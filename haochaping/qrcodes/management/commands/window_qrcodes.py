"""window_qrcodes: issue window QR codes in bulk and print their signs (one PDF, one A4 page per window)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from haochaping.directory.models import Window
from haochaping.qrcodes import signs
from haochaping.qrcodes.models import WindowCode
from haochaping.qrcodes.services import window_code_issue, window_code_url, window_codes_ensure


class Command(BaseCommand):
    help = "为窗口生成评价二维码（已有的保留，--reset 重置），可输出评价牌 PDF / issue window QR codes, print signs"

    def add_arguments(self, parser):
        parser.add_argument("--hall", action="append", default=[], help="只处理该大厅编码的窗口（可重复）")
        parser.add_argument("--reset", action="store_true", help="重置：作废原二维码并生成新码（须重新打印）")
        parser.add_argument("--pdf", type=Path, help="把所选窗口的评价牌写入此 PDF 文件")
        parser.add_argument("--list", dest="list_urls", action="store_true", help="列出每个窗口的评价页地址")

    def handle(self, *args, hall: list[str], reset: bool, pdf: Path | None, list_urls: bool, **options):
        windows = Window.objects.filter(is_active=True, hall__is_active=True)
        if hall:
            windows = windows.filter(hall__code__in=hall)
            missing = set(hall) - set(windows.values_list("hall__code", flat=True))
            if missing:
                raise CommandError(f"大厅编码不存在或没有启用的窗口：{', '.join(sorted(missing))}")
        if reset:
            for window in windows:
                window_code_issue(window=window)
            self.stdout.write(f"已重置 {windows.count()} 个窗口的二维码")
        else:
            self.stdout.write(f"新生成 {window_codes_ensure(windows.only('pk'))} 个窗口二维码")
        codes = (
            WindowCode.objects.filter(revoked_at__isnull=True, window__in=windows)
            .select_related("window__hall", "window__unit")
            .order_by("window__hall__code", "window__code")
        )
        if list_urls:
            for code in codes:
                self.stdout.write(f"{code.window.hall.code}\t{code.window.code}\t{window_code_url(code)}")
        if pdf:
            pages = list(codes)
            pdf.write_bytes(signs.render_signs(pages))
            self.stdout.write(f"评价牌已写入 {pdf}（{len(pages)} 页）")
