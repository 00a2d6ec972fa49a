"""`haochaping pii rotate [--dry-run] [--rehash]`: re-encrypt personal data under the newest key (docs/privacy.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from haochaping.audit.models import AdminAction
from haochaping.audit.rotation import BATCH_SIZE, rotate_ciphertexts
from haochaping.audit.services import audit_source, record_admin_action


class Command(BaseCommand):
    help = (
        "个人信息密钥轮换：rotate 用 PII_KEYS 的第一个密钥重新加密（可中断后重跑）；--rehash 按当前散列密钥重算查询散列"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("action", choices=["rotate"])
        parser.add_argument("--dry-run", action="store_true", help="只统计需要重写的值")
        parser.add_argument("--rehash", action="store_true", help="同时按当前 HAOCHAPING_PII_HASH_KEY 重算查询散列")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, action, dry_run, rehash, batch_size, **options) -> None:
        if batch_size < 1:
            raise CommandError("--batch-size must be ≥ 1")
        reports = rotate_ciphertexts(dry_run=dry_run, rehash=rehash, batch_size=batch_size)
        unreadable = 0
        for label, r in reports.items():
            verb = "待重写" if dry_run else "已重写"
            self.stdout.write(f"{label}: 记录 {r.rows}，{verb} {r.rewritten}，无法解密 {r.unreadable}")
            unreadable += r.unreadable
        if not dry_run:
            with audit_source("command", "command:pii rotate"):
                record_admin_action(
                    action=AdminAction.Action.ROTATE,
                    app_label="audit",
                    model="personaldata",
                    object_repr="重新加密" + ("并重算散列" if rehash else ""),
                    changes={label: [None, r.rewritten] for label, r in reports.items()},
                )
        if unreadable:
            # Values no configured key opens: keep the old key listed until they are explained.
            raise CommandError(f"{unreadable} 个值无法用已配置的密钥解密，请勿移除旧密钥")
