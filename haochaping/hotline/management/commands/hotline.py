"""haochaping hotline status|send|retry — the operator's handle on the 12345 work orders."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.hotline import outbound, selectors, services
from haochaping.lib.errors import DomainError


class Command(BaseCommand):
    help = "12345热线对接：status 配置与工单状态、send 立即发送（或转派一个工单）、retry 重发被拒收的工单"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("status", help="对接配置、工单数量、重试与失败 / links, counts, retries, failures")
        p = sub.add_parser("send", help="立即发送待发送的工单，忽略退避等待 / send now, ignoring the backoff")
        p.add_argument("--case", help="先把该工单（CP…）排入待发送 / queue this case first")
        p.add_argument("--seconds", type=float, default=300, help="最长运行秒数 / at most this long")
        p = sub.add_parser("retry", help="把被拒收的工单重新排队 / queue refused work orders again")
        p.add_argument("--order", default="", help="只重发该本平台工单编号 / only this order number")

    def handle(self, *args, action: str, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _status(self, **options) -> None:
        w = self.stdout.write
        links = selectors.links(ALL_SCOPE)
        w(f"对接配置 / links: {len(links)}")
        for link in links:
            flag = "启用" if link.enabled else "停用"
            credential = "已设置" if link.has_credential else "无"
            w(f"  {link.region.code} {link.region.name} {flag} {link.endpoint}  凭据 {credential}")
        data = selectors.overview(ALL_SCOPE, limit=20)
        counts = "  ".join(f"{label} {n}" for label, n in data["counts"])
        w(f"工单 / work orders: {data['total']}  {counts}  待撤回 {data['cancel_pending']}  重试等待 {data['waiting']}")
        for o in data["orders"]:
            if o.attempts or o.state == o.State.FAILED:
                nxt = o.next_attempt_at or "—"
                w(f"  {o.order_no} {o.get_state_display()} 失败 {o.attempts} 次 下次 {nxt}: {o.last_error[:200]}")

    def _send(self, *, case: str | None = None, seconds: float = 300, **options) -> None:
        if case:
            order = services.queue_case(case)
            self.stdout.write(f"{order.order_no}: {order.get_state_display()}")
        results = outbound.send_pending(seconds=seconds, force=True)
        for r in results:
            self.stdout.write(f"{r.order_no}: {r.status} {r.work_order_no} {r.error}".rstrip())
        self.stdout.write(f"已处理 / processed: {len(results)}")

    def _retry(self, *, order: str = "", **options) -> None:
        self.stdout.write(f"重新排队 / queued again: {outbound.retry_failed(order_no=order)}")
