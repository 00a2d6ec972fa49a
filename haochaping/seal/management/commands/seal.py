"""haochaping seal: chain the seals written since the last block (what the worker does every minute).

--backfill first seals records that have none (after a bulk load around intake, or a restore).
"""

from __future__ import annotations

from django.core.management.base import BaseCommand

from haochaping.seal.chain import append_blocks, backfill


class Command(BaseCommand):
    help = "防篡改存证：为未签名记录补签（--backfill），并把新签名链入哈希链 / seal records and extend the hash chain"

    def add_arguments(self, parser):
        parser.add_argument(
            "--backfill",
            action="store_true",
            help="先为没有签名的记录补签（批量导入、恢复之后；会签下任何未签名记录，先运行 verify）",
        )

    def handle(self, *args, backfill: bool = False, **options):
        if backfill:
            self.stdout.write("补签 / backfilling seals:")
            run_backfill(self.stdout.write)
        report = append_blocks()
        self.stdout.write(f"哈希链 / chain: {report.blocks} 个新区块, {report.seals:,} 个签名")


def run_backfill(write) -> None:
    backfill(write=lambda line: write("  " + line))
