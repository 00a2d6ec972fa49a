"""haochaping exchange status|push|backfill|register|retry — the operator's handle on the upward exchange."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from haochaping.accounts.scope import Scope
from haochaping.directory.models import Region
from haochaping.exchange import push, selectors, services
from haochaping.lib.errors import DomainError


class Command(BaseCommand):
    help = "数据交换：status 上报状态、push 立即上报、backfill 补入待上报、register 登记下级平台、retry 重发拒收记录"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="上报积压、延迟、失败与下级平台 / backlog, lag, failures, subordinates")
        p = sub.add_parser("push", help="立即上报，忽略退避等待 / push now, ignoring the backoff")
        p.add_argument("--seconds", type=float, default=300, help="最长运行秒数 / at most this long")
        p = sub.add_parser("backfill", help="把已有评价和工单补入待上报 / queue existing records")
        p.add_argument("--since", help="只补该日期（YYYY-MM-DD）以来接收的 / only those received since")
        p = sub.add_parser("register", help="登记下级平台并签发接口密钥 / register a subordinate platform")
        p.add_argument("--code", required=True, help="平台编码 / platform code")
        p.add_argument("--name", required=True, help="平台名称 / name")
        p.add_argument("--region", required=True, help="所辖区划代码（12位）/ region code")
        p.add_argument("--key-file", help="把密钥写入该文件（权限 600）而不是打印 / write the key to this file")
        sub.add_parser("retry", help="把被拒收的记录重新排队 / queue the refused records again")

    def handle(self, *args, action: str, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _status(self, **options) -> None:
        status = selectors.upstream_status()
        w = self.stdout.write
        if status["configured"]:
            w(f"上级平台 / upstream: {status['url']}  (本平台编码 {status['platform']})")
            kinds = dict(status["pending_by_kind"])
            w(f"待上报 / pending: {status['pending']} {kinds}  拒收 / refused: {status['failed']}")
            w(f"延迟 / lag: {status['lag_seconds']:.0f} s")
            state = status["state"]
            if state:
                w(f"最近成功 / last success: {state.last_success_at or '—'}  连续失败 / failures: {state.failures}")
                if state.next_attempt_at:
                    w(f"下次尝试 / next attempt: {state.next_attempt_at}  最近错误 / last error: {state.last_error}")
        else:
            w("未配置上级平台（HAOCHAPING_UPSTREAM_URL）/ no upstream configured")
        subs = selectors.subordinates(Scope(kind="all"))
        w(f"下级平台 / subordinates: {len(subs)}")
        for s in subs:
            w(
                f"  {s.code:<20} {s.region.code} {s.name}  接收 {s.received}  重复 {s.duplicates}  拒收 {s.rejected}"
                f"  最近 {s.last_push_at or '—'}"
            )

    def _push(self, seconds: float, **options) -> None:
        total = {"records": 0, "accepted": 0, "duplicates": 0, "rejected": 0}
        for result in push.push_pending(seconds=seconds, force=True):
            if result.status == "failed":
                raise CommandError(f"上报失败 / push failed: {result.error}")
            if result.status == "waiting":
                self.stdout.write("上报已暂停 / paused")
            for name in total:
                total[name] += getattr(result, name)
        self.stdout.write(
            self.style.SUCCESS(
                f"已上报 / pushed {total['records']}: 接收 {total['accepted']}，"
                f"重复 {total['duplicates']}，拒收 {total['rejected']}"
            )
        )

    def _backfill(self, since: str | None, **options) -> None:
        day = parse_date(since) if since else None
        if since and day is None:
            raise CommandError("--since 应为 YYYY-MM-DD")
        from datetime import datetime, time

        from django.utils import timezone

        start = timezone.make_aware(datetime.combine(day, time.min)) if day else None
        queued = services.backfill(since=start)
        self.stdout.write(self.style.SUCCESS(f"已补入待上报 / queued: {queued}"))

    def _register(self, code: str, name: str, region: str, key_file: str | None, **options) -> None:
        found = Region.objects.filter(code=region).first()
        if found is None:
            raise CommandError(f"行政区划 {region} 不存在 / unknown region")
        subordinate, secret = services.subordinate_register(code=code, name=name, region=found)
        if key_file:
            path = Path(key_file)
            path.write_text(secret + "\n")
            path.chmod(0o600)
            self.stdout.write(self.style.SUCCESS(f"已登记 {subordinate.code}；密钥已写入 {path}"))
        else:
            self.stdout.write(
                self.style.SUCCESS(f"已登记 {subordinate.code}；接口密钥（只显示一次）/ key (shown once):")
            )
            self.stdout.write(secret)

    def _retry(self, **options) -> None:
        self.stdout.write(self.style.SUCCESS(f"已重新排队 / queued again: {push.retry_failed()}"))
