"""haochaping sweep_default_ratings: record default ratings (默认评价) for overdue unrated 办件; run from cron."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from haochaping.ratings.defaults import default_ratings_sweep


class Command(BaseCommand):
    help = (
        "按各区划默认评价规则，为办结后超期未评价的办件记录系统默认评价（可重复运行，不会重复记录）/ "
        "record the system-default rating for completed 办件 left unrated past their region's policy delay "
        "(idempotent: safe to re-run)"
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--dry-run", action="store_true", help="只列出将记录默认评价的办件，不写入 / list the 办件, write nothing"
        )
        parser.add_argument(
            "--limit", type=int, default=None, help="本次最多处理的办件数 / at most this many 办件 this run"
        )

    def handle(self, *args, dry_run: bool, limit: int | None, **options) -> None:
        if limit is not None and limit < 1:
            raise CommandError("--limit 须为正整数 / --limit must be a positive integer")
        report = default_ratings_sweep(limit=limit, dry_run=dry_run)
        if dry_run:
            self.stdout.write(
                f"将记录默认评价 {len(report.would_rate)} 条（{report.policies} 条启用的规则）/ "
                f"would record {len(report.would_rate)} default ratings"
            )
            for case_no in report.would_rate:
                self.stdout.write(f"  {case_no}")
            return
        self.stdout.write(
            f"已记录默认评价 {len(report.rated)} 条，作废评价令牌 {report.tokens_expired} 个，"
            f"已被评价而跳过 {len(report.skipped)} 条，失败 {len(report.failed)} 条 / "
            f"recorded {len(report.rated)}, tokens expired {report.tokens_expired}, "
            f"skipped {len(report.skipped)}, failed {len(report.failed)}"
        )
        for case_no, reason in report.failed:
            self.stderr.write(f"  失败 failed：{case_no}：{reason}")
        if report.failed:
            raise SystemExit(1)
