#!/usr/bin/env python
"""Time the comment index (insight/index.py): segment and index N comments (default 1,000,000), then 10,000 more.

    .venv/bin/python bench/insight_index.py                    # 1,000,000 comments, then +10,000
    .venv/bin/python bench/insight_index.py --comments 100000  # a quicker look

In a throwaway SQLite database (HAOCHAPING_DATA_DIR set to a temporary folder): migrate, write the demo
directory (no ratings), then bulk-insert N ratings that all carry a comment composed by the demo's comment
generator (demo/comments.py: short and long, good and bad, with typos) — with plain SQL, not through intake. Then
``index_new()`` indexes them all (CommentDoc + TermMonth), and after 10,000 more ratings are inserted, a second
``index_new()`` must index exactly those (the cursor, not a rescan). Target: 1,000,000 in under 180 s on 2 cores.

References measured in the same run, so the figures can be read on another machine: the bare segmentation
rate (the pipeline's normalise + mask + rjieba on the same texts, no database) and the bare insert of the rows.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 180
INCREMENT = 10_000


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime + children.ru_utime + children.ru_stime


def compose_texts(n: int, seed: int) -> tuple[list[str], list[int]]:
    """n comments and their grades, as the demo writes them (a pool of contexts, topics and grades)."""
    from haochaping.demo import comments as cm

    rng = random.Random(f"bench-insight-{seed}")
    contexts = [cm.ONSITE] * 6 + [cm.ONLINE] * 3 + [cm.SMS, cm.PHONE, cm.HOTLINE, cm.TERMINAL, cm.FOLLOWUP]
    items = ["营业执照设立登记", "居民身份证换领", "不动产转移登记", "社会保障卡申领", "公积金提取", ""]
    texts, grades = [], []
    for _ in range(n):
        grade = rng.choices((5, 4, 3, 2, 1), weights=(55, 20, 8, 10, 7))[0]
        context = rng.choice(contexts)
        polarity = cm.band(grade)
        topic = cm.pick_topic(rng, polarity, context)
        texts.append(cm.compose(rng, grade=grade, context=context, topic=topic, item=rng.choice(items)))
        grades.append(grade)
    return texts, grades


class RatingRows:
    """Bulk SQL inserts of ratings-with-comment rows (the demo loader's column mapping, not intake)."""

    def __init__(self, seed: int) -> None:
        from haochaping.demo import generator as gen
        from haochaping.demo.load import _column_mapper
        from haochaping.directory.models import Organisation
        from haochaping.ratings.models import Rating
        from haochaping.ratings.rowwriter import RowWriter

        self.gen = gen
        self.writer = RowWriter(Rating)
        self.map = _column_mapper(self.writer, gen.RATING_COLUMNS)
        self.units = list(Organisation.objects.values_list("pk", "region_id"))
        self.rng = random.Random(f"bench-insight-rows-{seed}")
        self.end = int(time.time()) - 86400

    def rows(self, texts: list[str], grades: list[int]) -> list[tuple]:
        rng = self.rng
        out = []
        for text, grade in zip(texts, grades, strict=True):
            unit_id, region_id = self.units[int(rng.random() * len(self.units))]
            at = self.end - int(rng.random() * 395 * 86400)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(at))
            row = (
                f"{rng.getrandbits(128):032x}", "unit", None, "", 1, grade, "pc", None, unit_id, region_id,
                None, None, None, None, None, "[]", "{}", text, False, True, False, 1, "", "", "", stamp, stamp,
                "bench",
            )  # fmt: skip
            out.append(self.map(row))
        return out

    def insert(self, rows: list[tuple], chunk: int = 50_000) -> float:
        from django.db import connection, transaction

        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            for i in range(0, len(rows), chunk):
                cursor.executemany(self.writer.sql, rows[i : i + chunk])
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--sample", type=int, default=50_000, help="texts timed for the bare segmentation rate")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and print its path")
    parser.add_argument("--profile", action="store_true", help="print the 30 costliest calls of the full run")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="hcp-insight-bench-"))
    os.environ["HAOCHAPING_DATA_DIR"] = str(data_dir)
    os.environ["HAOCHAPING_DEMO"] = "1"
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haochaping.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from haochaping.demo.load import demo_generate
    from haochaping.insight import index
    from haochaping.insight import text as insight_text
    from haochaping.insight.models import CommentDoc, TermMonth

    try:
        t = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        demo_generate(ratings=0, seed=args.seed, cities=4, api_key_file=data_dir / "k.txt")
        setup_s = time.perf_counter() - t

        t = time.perf_counter()
        texts, grades = compose_texts(args.comments + INCREMENT, args.seed)
        compose_s = time.perf_counter() - t
        rows = RatingRows(args.seed)
        first = rows.rows(texts[: args.comments], grades[: args.comments])
        insert_s = rows.insert(first)
        del first

        # Reference: the bare pipeline (normalise, mask, segment) on a sample of the same texts.
        pipe = insight_text.pipeline(refresh=True)
        sample = texts[: args.sample]
        t = time.perf_counter()
        for text in sample:
            pipe.prepare(text)
        seg_rate = len(sample) / (time.perf_counter() - t)

        load_before = os.getloadavg()
        profiler = None
        if args.profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        cpu0, t = _cpu(), time.perf_counter()
        found = index.index_new()
        full_s, full_cpu = time.perf_counter() - t, _cpu() - cpu0
        if profiler is not None:
            import pstats

            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
        docs = CommentDoc.objects.count()
        terms = TermMonth.objects.count()

        more = rows.rows(texts[args.comments :], grades[args.comments :])
        rows.insert(more)
        t = time.perf_counter()
        again = index.index_new()
        inc_s = time.perf_counter() - t
        docs_after = CommentDoc.objects.count()
        load_after = os.getloadavg()
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA page_count")
            pages = cursor.fetchone()[0]
            cursor.execute("PRAGMA page_size")
            db_mib = pages * cursor.fetchone()[0] / 2**20

        n = args.comments
        print(
            f"machine      {os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
        )
        print(f"load avg     {load_before[0]:.1f} before, {load_after[0]:.1f} after (1-minute)")
        print(f"setup        {setup_s:.1f} s (migrate + demo directory); texts composed in {compose_s:.1f} s")
        print(f"insert       {n:,} rating rows in {insert_s:.1f} s ({n / insert_s:,.0f} rows/s)  [reference]")
        print(
            f"segment      bare pipeline {seg_rate:,.0f} texts/s, one core → {n / seg_rate:.1f} s for {n:,} [reference]"
        )
        print(
            f"index_new    {found['rating']:,} comments in {full_s:.1f} s ({n / full_s:,.0f}/s), cpu {full_cpu:.1f} s"
        )
        print(
            f"             = {full_s / (n / seg_rate):.2f} × bare segmentation, {full_s / insert_s:.2f} × bare insert"
        )
        print(f"tables       CommentDoc {docs:,} rows, TermMonth {terms:,} rows, database {db_mib:,.0f} MiB")
        print(f"incremental  +{INCREMENT:,}: indexed {again['rating']:,} in {inc_s:.2f} s ({INCREMENT / inc_s:,.0f}/s)")
        ok_inc = again["rating"] == INCREMENT and docs_after == docs + INCREMENT
        print(f"             only the new ones: {'OK' if ok_inc else 'FAILED'} (CommentDoc {docs:,} → {docs_after:,})")
        verdict = "OK" if full_s < TARGET_SECONDS else "SLOWER THAN TARGET"
        if n != 1_000_000:
            verdict += f" (scaled: {full_s * 1_000_000 / n:.0f} s per million)"
        print(f"target       1,000,000 comments < {TARGET_SECONDS} s: {verdict}")
        if args.keep:
            print(f"kept         {data_dir}")
        return 0 if ok_inc else 1
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
