"""`haochaping disclosure …`: the rectification publication (整改公开) from the command line.

sync                                   copy changed cases into publications (as the 10-minute task)
publish --user NAME (--all-pending | --ids 1,2,3) [--region CODE]
                                       publish pending items as that moderator (an agency administrator)
status [--region CODE]                 counts of publications by status
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser

from haochaping.lib.errors import DomainError


class Command(BaseCommand):
    help = "差评整改公开：同步工单生成公开条目；以管理机构管理员身份批量公开；统计"

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, parser_class=CommandParser)
        sub.add_parser("sync", help="同步工单，生成或更新公开条目（同每10分钟任务）")
        publish = sub.add_parser("publish", help="以审核人身份公开待审核条目")
        publish.add_argument("--user", required=True, help="审核人用户名（管理机构管理员）")
        which = publish.add_mutually_exclusive_group(required=True)
        which.add_argument("--all-pending", action="store_true", help="全部待审核条目（在审核人数据范围内）")
        which.add_argument("--ids", help="逗号分隔的条目编号")
        publish.add_argument("--region", help="只公开该行政区划（12位代码，含下级）的条目")
        status = sub.add_parser("status", help="按公开状态统计条目")
        status.add_argument("--region", help="行政区划（12位代码，含下级）")

    def handle(self, *args, action: str, **opts) -> None:
        try:
            getattr(self, f"_{action}")(**opts)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _sync(self, **_) -> None:
        from haochaping.disclosure.publication import sync

        self.stdout.write(f"sync: {sync()}")

    def _region_qs(self, qs, code: str | None):
        from haochaping.directory.models import Region

        if not code:
            return qs
        region = Region.objects.filter(code=code).first()
        if region is None:
            raise CommandError(f"--region: 行政区划 {code} 不存在")
        return qs.filter(region__path__startswith=region.path)

    def _publish(self, user: str, all_pending: bool, ids: str | None, region: str | None, **_) -> None:
        from haochaping.accounts.scope import scope_for_user
        from haochaping.disclosure.models import Publication
        from haochaping.disclosure.publication import publish_many

        moderator = get_user_model().objects.filter(username=user, is_active=True).first()
        if moderator is None:
            raise CommandError(f"--user: 用户 {user} 不存在或已停用")
        if all_pending:
            qs = scope_for_user(moderator).filter(Publication.objects.filter(status=Publication.Status.PENDING))
            wanted = list(self._region_qs(qs, region).values_list("id", flat=True))
        else:
            try:
                wanted = [int(i) for i in ids.split(",") if i.strip()]
            except ValueError as exc:
                raise CommandError("--ids: 应为逗号分隔的数字") from exc
            if region:
                wanted = list(
                    self._region_qs(Publication.objects.filter(pk__in=wanted), region).values_list("id", flat=True)
                )
        if not wanted:
            self.stdout.write("published: 0 (nothing pending)")
            return
        self.stdout.write(f"published: {publish_many(wanted, moderator)} of {len(wanted)} selected")

    def _status(self, region: str | None, **_) -> None:
        from django.db.models import Count

        from haochaping.disclosure.models import Publication

        qs = self._region_qs(Publication.objects.all(), region)
        counts = dict(qs.order_by().values_list("status").annotate(n=Count("id")))
        for value, label in Publication.Status.choices:
            self.stdout.write(f"{label} {value}: {counts.get(value, 0)}")
