#!/usr/bin/env python
"""Batch intake throughput through the service layer: haochaping.ratings.intake.submit_ratings.

    .venv/bin/python bench/intake_batch.py                      # temp SQLite database
    .venv/bin/python bench/intake_batch.py --postgres postgres://postgres@127.0.0.1:5432/postgres

Creates its own database (a temp SQLite file, or a PostgreSQL database created from the admin URL and
dropped at the end), migrates it, seeds a minimal directory, registers --ratings 办件 with RowWriter, then
times submit_ratings on batches of --batch realistic API items (dicts, as the batch endpoint passes them):

- new cases: case-bound ratings, one per freshly registered 办件, each with an idempotency key;
- walk-in:   window ratings ({"window": {"hall", "code"}}), no 办件;
- retries:   the new-case batches sent again (every item answered 200 from its idempotency key).

The reference measured in the same run is the bare write: rating rows of the same kind (already built)
inserted with RowWriter's single executemany per batch, in a transaction. "vs ref" = intake rate / that
rate. The scenarios are interleaved batch by batch and rated by their median batch, because the machine
is shared and noisy.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import shutil
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import benchworld  # noqa: E402

TARGET = 50_000
REFERENCE = "reference: RowWriter.insert of built rows"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ratings", type=int, default=100_000, help="ratings per scenario (default 100000)")
    parser.add_argument("--batch", type=int, default=1000, help="items per submit_ratings call (default 1000)")
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
        help="run on PostgreSQL: admin URL used to create and drop the bench database",
    )
    parser.add_argument("--json", help="also write the figures to this JSON file")
    parser.add_argument("--profile", help="write a cProfile of the new-case scenario to this file")
    parser.add_argument(
        "--without",
        default="",
        help="leave these after-write hooks out, comma-separated: cases (no 差评 case opened), rollups (no "
        "analytics rollup kept): shows what each costs",
    )
    args = parser.parse_args()

    label = "pg" if args.postgres else "sqlite"
    data_dir, db_url = benchworld.configure(postgres_admin_url=args.postgres, label="batch")
    try:
        results = run(args, label)
    finally:
        if db_url:
            from django.db import connections

            connections.close_all()
            benchworld.drop_postgres_database(args.postgres, db_url)
        shutil.rmtree(data_dir, ignore_errors=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2, ensure_ascii=False)
    return 0 if all(r["ok"] for r in results["scenarios"]) else 1


def run(args, label: str) -> dict:
    benchworld.setup_django()
    if args.without:
        from haochaping.ratings import intake

        modules = {"cases": "haochaping.cases.", "rollups": "haochaping.analytics.", "seal": "haochaping.seal."}
        left_out = [modules[name.strip()] for name in args.without.split(",") if name.strip()]
        intake._after_write[:] = [
            (wants, hook) for wants, hook in intake._after_write if not hook.__module__.startswith(tuple(left_out))
        ]
    from django.db import connection, transaction
    from django.utils import timezone

    from haochaping.accounts.apikeys import authenticate
    from haochaping.ratings.intake import References, build_row, parse_item, submit_ratings
    from haochaping.ratings.models import Rating
    from haochaping.ratings.rowwriter import RowWriter

    n, size = args.ratings, args.batch
    d = benchworld.seed_directory()
    seed_s = benchworld.register_cases(d, 2 * n)
    key, scope = authenticate(d.key_secret)
    client = f"key:{key.prefix}"

    def batches(items: list) -> list[list]:
        return [items[i : i + size] for i in range(0, len(items), size)]

    new_items = batches(benchworld.rating_items(n, start=0, walk_in=False, run="new"))
    walk_items = batches(benchworld.rating_items(n, start=0, walk_in=True, run="walk"))
    # Reference rows: built beforehand for 办件 n…2n-1, which no scenario rates.
    now = timezone.now()
    ref_rows = []
    for chunk in batches([parse_item(i) for i in benchworld.rating_items(n, start=n, walk_in=False, run="ref")]):
        refs = References(chunk, scope)
        ref_rows.append([build_row(item, refs, client=client, now=now) for item in chunk])
    writer = RowWriter(Rating)

    def write_reference(rows: list[dict]) -> list:
        with transaction.atomic():
            writer.insert(rows)
        return []

    scenarios = {
        "new cases": (201, new_items, lambda chunk: submit_ratings(chunk, scope=scope, client=client)),
        "walk-in windows": (201, walk_items, lambda chunk: submit_ratings(chunk, scope=scope, client=client)),
        "retries (idempotent)": (200, new_items, lambda chunk: submit_ratings(chunk, scope=scope, client=client)),
        REFERENCE: (None, ref_rows, write_reference),
    }
    times: dict[str, list[float]] = {name: [] for name in scenarios}
    cpu: dict[str, list[float]] = {name: [] for name in scenarios}
    counts: dict[str, dict[int, int]] = {name: {} for name in scenarios}
    first_error: dict[str, tuple | None] = {name: None for name in scenarios}
    prof = None
    if args.profile:
        import cProfile

        prof = cProfile.Profile()

    # The bench keeps all its item dicts alive; a server holds only the current batch. Move them out of the
    # cyclic GC's reach so its full collections do not scan bench data (a cost production does not have).
    gc.collect()
    gc.freeze()
    # Interleave the scenarios batch by batch (retries re-send the batch stored just before), so that all of
    # them see the same load from whatever else runs on the machine; report the median batch.
    for i in range(len(new_items)):
        for name, (expect, chunks, call) in scenarios.items():
            if prof and name == "new cases":
                prof.enable()
            t0, c0 = time.perf_counter(), time.process_time()
            results = call(chunks[i])
            times[name].append(time.perf_counter() - t0)
            cpu[name].append(time.process_time() - c0)
            if prof and name == "new cases":
                prof.disable()
            for r in results:
                counts[name][r.status] = counts[name].get(r.status, 0) + 1
                if r.status != expect and first_error[name] is None:
                    first_error[name] = (r.status, r.message, r.errors)
    if prof:
        prof.dump_stats(args.profile)
    stored = Rating.objects.count()

    out = []
    for name, (expect, chunks, _) in scenarios.items():
        t = times[name]
        total = sum(len(c) for c in chunks)
        median = statistics.median(t)
        out.append(
            {
                "scenario": name,
                "ratings": total,
                "seconds": round(sum(t), 3),
                "per_s": round(size / median),
                "mean_per_s": round(total / sum(t)),
                "ms_per_batch": round(1000 * median, 1),
                # Ratings per CPU-second of this process: what the code costs, whatever else the machine runs.
                "per_cpu_s": round(total / sum(cpu[name])),
                "statuses": counts[name],
                "ok": expect is None or counts[name] == {expect: total},
                "first_error": first_error[name],
            }
        )
    ref = out[-1]["per_s"]
    machine = f"{platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()}"
    print(f"\n== batch intake through submit_ratings · {label} ({connection.vendor}) · {machine}")
    print(f"   batches of {size}; {2 * n:,} 办件 registered with RowWriter in {seed_s:.1f}s; {stored:,} ratings stored")
    print("   rates from the median batch (mean over all batches in brackets)")
    print(
        f"   {'scenario':<42} {'ratings/s':>10} {'(mean)':>9} {'per CPU-s':>10} {'ms/batch':>9} {'vs ref':>7} "
        f"{'vs 50k':>7}  statuses"
    )
    for s in out:
        s["ratio_to_reference"] = round(s["per_s"] / ref, 3)
        s["ratio_to_target"] = round(s["per_s"] / TARGET, 3)
        flag = "" if s["ok"] else f"  UNEXPECTED first: {s['first_error']}"
        print(
            f"   {s['scenario']:<42} {s['per_s']:>10,} {s['mean_per_s']:>9,} {s['per_cpu_s']:>10,} "
            f"{s['ms_per_batch']:>9} {s['ratio_to_reference']:>7.2f} {s['ratio_to_target']:>7.2f}  "
            f"{s['statuses'] or ''}{flag}"
        )
    return {"database": label, "machine": machine, "batch": size, "scenarios": out}


if __name__ == "__main__":
    sys.exit(main())
