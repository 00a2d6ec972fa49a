"""haochaping filedrop enable|scan|status: the file drop for business systems that can only export files."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from haochaping.accounts.models import ApiKey
from haochaping.exchange import filedrop
from haochaping.lib.errors import DomainError


class Command(BaseCommand):
    help = "文件投递：enable 为接口密钥建立投递目录，scan 处理待处理文件，status 列出最近文件 / file drop"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        enable = sub.add_parser("enable", help="建立投递目录 / create the key's folders")
        enable.add_argument("--key-prefix", required=True, help="密钥前缀（hcp_ 之后的8个字符）/ key prefix")
        scan = sub.add_parser("scan", help="处理待处理文件 / process waiting files")
        scan.add_argument("--once", action="store_true", help="扫描一次后退出 / scan once and exit")
        scan.add_argument("--interval", type=float, default=10.0, help="扫描间隔秒数 / seconds between scans")
        status = sub.add_parser("status", help="最近的投递文件 / recent files")
        status.add_argument("--key-prefix", help="只列此密钥 / only this key")
        status.add_argument("--limit", type=int, default=20, help="条数 / how many (default 20)")

    def handle(self, *args, action: str, **options):
        getattr(self, f"_{action}")(**options)

    def _key(self, prefix: str) -> ApiKey:
        key = ApiKey.objects.select_related("unit", "region").filter(prefix=prefix.removeprefix("hcp_")[:8]).first()
        if key is None:
            raise CommandError(f"接口密钥不存在 / no key with prefix {prefix}")
        return key

    def _enable(self, *, key_prefix: str, **options) -> None:
        key = self._key(key_prefix)
        try:
            base = filedrop.enable(key)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"已启用文件投递 / enabled: {key}")
        self.stdout.write(f"  业务系统写入 / the business system writes to: {base / filedrop.INCOMING}")
        self.stdout.write("  请将该目录的属组设为业务系统账号 / chgrp the folder to the business system's group")

    def _scan(self, *, once: bool, interval: float, **options) -> None:
        while True:
            finished = filedrop.scan_all()
            if finished or once:
                self.stdout.write(f"已处理文件 / files finished: {finished}")
            if once:
                return
            time.sleep(interval)

    def _status(self, *, key_prefix: str | None, limit: int, **options) -> None:
        key = self._key(key_prefix) if key_prefix else None
        rows = filedrop.recent(limit, key)
        if not rows:
            self.stdout.write("暂无投递文件 / no files yet")
            return
        self.stdout.write(
            f"{'id':>6} {'key':<8} {'state':<10} {'rows':>8} {'stored':>8} {'dup':>6} {'rej':>6}  received  name"
        )
        for f in rows:
            received = timezone.localtime(f.received_at).strftime("%Y-%m-%d %H:%M")
            self.stdout.write(
                f"{f.pk:>6} {f.api_key.prefix:<8} {f.state:<10} {f.rows:>8} {f.stored:>8} {f.duplicates:>6} "
                f"{f.rejected:>6}  {received}  {f.name}"
            )
            if f.error:
                self.stdout.write(f"{'':>6} {f.error}")
