#!/usr/bin/env python
"""Time `haochaping demo`: generate N ratings (default 1,000,000) into a fresh temporary SQLite database.

    .venv/bin/python bench/demo_generation.py                  # 1,000,000 ratings
    .venv/bin/python bench/demo_generation.py --ratings 200000 --keep

Sets HAOCHAPING_DATA_DIR to a temporary folder (so the database is var-independent and thrown away unless
--keep), runs the migrations, then the generator exactly as the command does (directory, logins, 办件 and
ratings in one transaction, indexes built at the end), and prints elapsed seconds and ratings/s. The
target is 1,000,000 ratings in under 2 minutes on a 2-core machine. CPU seconds and the load average are
printed too: on a shared machine the wall clock alone says little.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

TARGET_SECONDS = 120


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--cities", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the temporary database and print its path")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="hcp-demo-bench-"))
    os.environ["HAOCHAPING_DATA_DIR"] = str(data_dir)
    os.environ["HAOCHAPING_DEMO"] = "1"
    os.environ.pop("DATABASE_URL", None)  # this benchmark is about the default SQLite database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haochaping.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    import django

    django.setup()
    from django.core.management import call_command

    from haochaping.demo.load import demo_generate

    try:
        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        migrate_s = time.perf_counter() - started
        load_before = os.getloadavg()
        marks: dict[str, float] = {}

        def progress(line: str) -> None:
            if "建立索引" in line:
                marks["rows_written"], marks["rows_cpu"] = time.perf_counter(), _cpu()

        cpu0, t0 = _cpu(), time.perf_counter()
        result = demo_generate(
            ratings=args.ratings,
            seed=args.seed,
            cities=args.cities,
            api_key_file=data_dir / "demo-api-key.txt",
            progress=progress,
        )
        elapsed, cpu = time.perf_counter() - t0, _cpu() - cpu0
        load_after = os.getloadavg()
        db = data_dir / "haochaping.sqlite3"
        rows_s = marks.get("rows_written", t0) - t0
        rows_cpu = marks.get("rows_cpu", cpu0) - cpu0
        print(f"machine     {os.cpu_count()} CPUs, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}")
        print(f"load avg    {load_before[0]:.1f} before, {load_after[0]:.1f} after (1-minute)")
        print(f"migrate     {migrate_s:.1f} s")
        print(f"ratings     {result.counts['ratings']:,} (+ {result.counts['cases']:,} 办件)")
        print(f"elapsed     {elapsed:.1f} s  (rows written {rows_s:.1f} s, then indexes/commit/analyze)")
        print(f"cpu         {cpu:.1f} s  (rows written {rows_cpu:.1f} s)")
        print(f"rate        {result.counts['ratings'] / elapsed:,.0f} ratings/s")
        print(f"database    {db.stat().st_size / 2**20:,.0f} MiB")
        verdict = "OK" if elapsed < TARGET_SECONDS or args.ratings != 1_000_000 else "SLOWER THAN TARGET"
        print(f"target      1,000,000 ratings < {TARGET_SECONDS} s: {verdict}")
        if args.keep:
            print(f"kept        {db}")
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
