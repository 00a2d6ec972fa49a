#!/usr/bin/env python
"""The public portal (/open/), its open datasets and public API on a demo province: time per page, cold and cached.

    .venv/bin/python bench/public_portal.py                          # 200,000 ratings, temp SQLite database
    .venv/bin/python bench/public_portal.py --ratings 1000000
    .venv/bin/python bench/public_portal.py --data-dir /tmp/keep --reuse   # ask again on a kept database

Builds a demo province (the demo generator, as `haochaping demo`), opens a case per 差评 (`open_missing`),
recomputes the rollups and publishes the handled cases (the rectification list), then requests every kind of
public page through Django's full request stack (middleware, templates) with the test client: "cold" right after
the cache is cleared (the figures computed from the rollups), "cached" once they are in the cache (what nearly
every reader gets, for HAOCHAPING_PUBLIC_CACHE_SECONDS). Median of --repeat runs each.

Reference measured in the same run: GET /healthz (one SELECT 1 through the same stack), so that the figures can be
read on another machine as ratios. Also prints each page's HTML size (the page-weight budget is checked by the
browser tests: tests/browser/test_public_a11y.py).
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=200_000)
    parser.add_argument("--cities", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data-dir", help="keep the SQLite database here (default: a temp folder, removed)")
    parser.add_argument("--reuse", action="store_true", help="the database in --data-dir is already built")
    args = parser.parse_args()
    data_dir = args.data_dir or tempfile.mkdtemp(prefix="hcp-portal-bench-")
    os.makedirs(data_dir, exist_ok=True)
    os.environ.pop("DATABASE_URL", None)
    os.environ["HAOCHAPING_DATA_DIR"] = data_dir
    os.environ["HAOCHAPING_DEMO"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haochaping.settings")
    try:
        return run(args, data_dir)
    finally:
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


def build(args, data_dir: str) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from haochaping.analytics import rollups
    from haochaping.cases.opening import open_missing
    from haochaping.demo.load import demo_generate
    from haochaping.disclosure import publication
    from haochaping.disclosure.models import Publication

    call_command("migrate", interactive=False, verbosity=0)
    t0 = time.perf_counter()
    demo_generate(ratings=args.ratings, seed=42, cities=args.cities, api_key_file=Path(data_dir) / "key.txt")
    print(f"demo generated: {args.ratings:,} ratings in {time.perf_counter() - t0:.1f}s", flush=True)
    t0 = time.perf_counter()
    opened = open_missing(batch=5000)
    rollups.rebuild()
    print(f"cases opened: {opened:,}; rollups rebuilt; {time.perf_counter() - t0:.1f}s", flush=True)
    # Give a share of the cases an outcome, as handling would, so that the rectification list has rows.
    from django.utils import timezone

    from haochaping.cases.models import Case, Outcome, State

    now = timezone.now()
    ids = list(Case.objects.order_by("id").values_list("id", flat=True)[::2])
    Case.objects.filter(id__in=ids).update(
        state=State.CLOSED, outcome=Outcome.FIXED_NOW, outcome_at=now, notified_at=now, closed_at=now,
        measures="已当面说明并一次性告知所需材料", updated_at=now,
    )  # fmt: skip
    t0 = time.perf_counter()
    synced = publication.sync()
    root = get_user_model().objects.filter(is_superuser=True).first()
    pending = list(Publication.objects.filter(status=Publication.Status.PENDING).values_list("id", flat=True))
    published = publication.publish_many(pending, root) if pending and root else 0
    print(f"publications: {synced} → {published:,} published in {time.perf_counter() - t0:.1f}s", flush=True)


def run(args, data_dir: str) -> int:
    import django

    django.setup()
    from django.core.cache import cache
    from django.db.models import Count
    from django.test import Client
    from django.utils import timezone

    from haochaping.directory.models import Hall, Organisation, Region
    from haochaping.ratings.models import Rating

    if not args.reuse:
        build(args, data_dir)
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)  # the demo settings serve hashed static names
    total = Rating.objects.count()
    province = Region.objects.filter(parent__isnull=True).order_by("code").first()
    city = Region.objects.filter(parent=province).order_by("code").first()
    county = Region.objects.filter(parent=city).order_by("code").first()
    unit_id = Rating.objects.values("unit").annotate(n=Count("id")).order_by("-n")[0]["unit"]
    unit = Organisation.objects.get(pk=unit_id)
    hall = Hall.objects.annotate(n=Count("windows")).order_by("-n").first()
    item_id = (Rating.objects.exclude(service_item=None).values("service_item").annotate(n=Count("id")).order_by("-n"))[
        0
    ]["service_item"]
    month = (timezone.localdate().replace(day=1) - timezone.timedelta(days=1)).strftime("%Y-%m")
    pages = {
        "province": "/open/",
        "city": f"/open/region/{city.code}/",
        "county": f"/open/region/{county.code}/",
        "department": f"/open/unit/{unit.pk}/",
        "hall": f"/open/hall/{hall.pk}/",
        "事项": f"/open/item/{item_id}/",
        "rankings": "/open/rankings/",
        "integrity": "/open/integrity/",
        "search": "/open/search/?q=营业执照",
        "rectifications": "/open/rectifications/",
        "open data index": "/open/data/",
        f"dataset region {month}.csv": f"/open/data/region/{month}.csv",
        f"dataset unit {month}.csv": f"/open/data/unit/{month}.csv",
        f"dataset item {month}.csv": f"/open/data/item/{month}.csv",
        "API /figures": f"/api/open/v1/figures?region={province.code}",
    }
    client = Client(HTTP_HOST="127.0.0.1", REMOTE_ADDR="127.0.0.1")

    def timed(path: str, *, cold: bool) -> tuple[float, int]:
        if cold:
            cache.clear()
        t0 = time.perf_counter()
        response = client.get(path)
        elapsed = (time.perf_counter() - t0) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{path}: HTTP {response.status_code}")
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return elapsed, len(body)

    from django.test.utils import override_settings

    with override_settings(HAOCHAPING_OPEN_API_PER_HOUR=10**9):
        timed("/healthz", cold=False)
        reference = statistics.median(timed("/healthz", cold=False)[0] for _ in range(args.repeat * 4))
        print(f"\n{platform.node()} · {os.cpu_count()} CPUs · Python {platform.python_version()} · SQLite · "
              f"{total:,} ratings, {Organisation.objects.count():,} units")  # fmt: skip
        print(f"reference GET /healthz: {reference:.1f} ms (median of {args.repeat * 4})\n")
        print(f"{'page':<28}{'cold ms':>10}{'× ref':>8}{'cached ms':>11}{'× ref':>8}{'KB':>8}")
        for name, path in pages.items():
            timed(path, cold=True)  # imports, template compilation: not what a reader waits for
            cold = statistics.median(timed(path, cold=True)[0] for _ in range(args.repeat))
            timed(path, cold=False)
            runs = [timed(path, cold=False) for _ in range(args.repeat)]
            warm = statistics.median(r[0] for r in runs)
            size = runs[-1][1] / 1024
            print(f"{name:<28}{cold:>10.0f}{cold / reference:>8.0f}{warm:>11.1f}{warm / reference:>8.1f}{size:>8.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
