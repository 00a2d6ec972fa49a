#!/usr/bin/env python
"""Dashboard questions answered from the rollups, against the same question as a scan of the ratings.

    .venv/bin/python bench/analytics_query.py --ratings 10000000            # temp SQLite database
    .venv/bin/python bench/analytics_query.py --ratings 2000000 --postgres   # postgres://postgres@127.0.0.1:5432/postgres
    .venv/bin/python bench/analytics_query.py --data-dir /tmp/keep --reuse   # ask again on a kept database
    .venv/bin/python bench/analytics_query.py --ratings 10000000 --postgres --keep   # keep the PostgreSQL database

Builds a demo province with --ratings ratings (the demo generator, as `haochaping demo`), opens a case per 差评
(`haochaping open_cases`: the dashboards' closed-loop figures have rows to count), recomputes the rollups
(`haochaping rollups rebuild`, timed), then asks the questions a dashboard asks — the province's year by month, by
city, by unit, by channel, its staff for a ranking; a county's last 60 days by day and its units; one staff
member's year — each through ``analytics.selectors.counts_by`` (median of --repeat runs) and once as a GROUP BY
over the ratings table (the reference: what a page would cost without rollups). Prints milliseconds and the ratio.
Then the dashboard's whole data.json request (every chart of a page) for a province, city, county, unit and staff
member.
The target: every dashboard request under 150 ms at the median with 10,000,000 ratings on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--cities", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--postgres", nargs="?", const="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--data-dir", help="keep the SQLite database here (default: a temp folder, removed)")
    parser.add_argument("--reuse", action="store_true", help="the database in --data-dir is already built")
    parser.add_argument("--rebuild", action="store_true", help="with --reuse: recompute the rollups first (timed)")
    parser.add_argument("--no-scan", action="store_true", help="skip the scans of the ratings (they take minutes)")
    parser.add_argument("--keep", action="store_true", help="with --postgres: keep the database (its URL is printed)")
    args = parser.parse_args()

    import benchworld

    if args.postgres and args.reuse:  # --postgres names the kept database itself
        data_dir, _ = benchworld.configure(postgres_admin_url=None, label="analytics")
        os.environ["DATABASE_URL"] = url = args.postgres
        args.keep = True
    elif args.postgres:
        data_dir, url = benchworld.configure(postgres_admin_url=args.postgres, label="analytics")
    else:
        data_dir = args.data_dir or tempfile.mkdtemp(prefix="hcp-analytics-bench-")
        os.makedirs(data_dir, exist_ok=True)
        os.environ.pop("DATABASE_URL", None)
        os.environ["HAOCHAPING_DATA_DIR"] = data_dir
        url = None
    os.environ["HAOCHAPING_DEMO"] = "1"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haochaping.settings")
    try:
        return run(args, data_dir)
    finally:
        if url and args.keep:
            print(f"kept: {url} (ask again with --postgres {url} --reuse)")
        elif url:
            from django.db import connections

            connections.close_all()
            benchworld.drop_postgres_database(args.postgres, url)
        if not args.data_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


def run(args, data_dir: str) -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count, Q
    from django.db.models.functions import TruncDate, TruncMonth
    from django.utils import timezone

    from haochaping.analytics import rollups
    from haochaping.analytics.models import CUBES
    from haochaping.analytics.selectors import Slice, counts_by
    from haochaping.directory.models import Region
    from haochaping.ratings.models import Rating

    if not args.reuse:
        from haochaping.demo.load import demo_generate

        call_command("migrate", interactive=False, verbosity=0)
        t0 = time.perf_counter()
        demo_generate(ratings=args.ratings, seed=42, cities=args.cities, api_key_file=Path(data_dir) / "key.txt")
        print(f"demo generated: {args.ratings:,} ratings in {time.perf_counter() - t0:.1f}s", flush=True)
        from haochaping.cases.opening import open_missing

        t0 = time.perf_counter()
        opened = open_missing(batch=5000)  # a case per 差评, as intake opens them: the case figures have rows
        closed = _close_old_cases()
        if connection.vendor == "postgresql":  # what autovacuum does after such an UPDATE, before anyone asks
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE cases_case")
        print(f"cases opened: {opened:,}, {closed:,} of them closed, in {time.perf_counter() - t0:.1f}s", flush=True)
    if not args.reuse or args.rebuild:
        t0 = time.perf_counter()
        sizes = rollups.rebuild()
        print(f"rollups rebuilt in {time.perf_counter() - t0:.1f}s: {sizes}", flush=True)
    total = Rating.objects.count()
    rows = {c.__name__: c.objects.count() for c in CUBES}
    end = Rating.objects.order_by("-rated_at").values_list("rated_at", flat=True).first()
    end = timezone.localtime(end).date()
    year_start = (end.replace(day=1) - timedelta(days=330)).replace(day=1)
    month_end = end.replace(day=1) - timedelta(days=1)  # the last whole month
    province = Region.objects.get(level=1)
    city = Region.objects.filter(level=2).order_by("code").first()
    county = Region.objects.filter(level=3, parent=city).order_by("code").first()
    staff_id = Rating.objects.filter(staff__isnull=False).values_list("staff_id", flat=True).first()
    tz = timezone.get_current_timezone()

    def raw(filters: Q, group: str | None):
        qs = Rating.objects.filter(filters)
        if group == "month":
            qs = qs.annotate(k=TruncMonth("rated_at", tzinfo=tz)).values("k")
        elif group == "day":
            qs = qs.annotate(k=TruncDate("rated_at", tzinfo=tz)).values("k")
        elif group:
            qs = qs.values(group)
        else:
            return qs.aggregate(n=Count("id"), bad=Count("id", filter=Q(grade__lte=2)))
        return list(qs.annotate(n=Count("id"), bad=Count("id", filter=Q(grade__lte=2))).order_by())

    def period(start: date, stop: date) -> Q:
        from datetime import datetime
        from datetime import time as dtime

        lo = timezone.make_aware(datetime.combine(start, dtime.min))
        hi = timezone.make_aware(datetime.combine(stop + timedelta(days=1), dtime.min))
        return Q(rated_at__gte=lo, rated_at__lt=hi)

    year = Slice(year_start, month_end, region_path=province.path)
    recent = Slice(end - timedelta(days=59), end, region_path=county.path)
    questions = [
        ("province · year · total", year, None, period(year_start, month_end), None),
        ("province · year · by month", year, "month", period(year_start, month_end), "month"),
        ("province · year · by city", year, "region", period(year_start, month_end), "region_id"),
        ("province · year · by unit", year, "unit", period(year_start, month_end), "unit_id"),
        ("province · year · by channel", year, "channel", period(year_start, month_end), "channel"),
        ("province · year · by staff (ranking)", year, "staff", period(year_start, month_end), "staff_id"),
        ("province · year · by 事项", year, "item", period(year_start, month_end), "service_item_id"),
        (
            "county · 60 days · by day",
            recent,
            "day",
            period(recent.start, recent.end) & Q(region__path__startswith=county.path),
            "day",
        ),
        (
            "county · 60 days · by unit",
            recent,
            "unit",
            period(recent.start, recent.end) & Q(region__path__startswith=county.path),
            "unit_id",
        ),
        (
            "staff member · year · by month",
            Slice(year_start, month_end, staff_id=staff_id),
            "month",
            period(year_start, month_end) & Q(staff_id=staff_id),
            "month",
        ),
    ]
    print(
        f"\n== dashboard questions · {connection.vendor} · {os.cpu_count()} CPUs · {total:,} ratings · "
        f"rollup rows {rows}"
    )
    print(f"   {'question':<40} {'rollups ms':>11} {'scan ms':>10} {'ratio':>7}  (median of {args.repeat}; scan once)")
    worst = 0.0
    for name, s, by, q, group in questions:
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            answer = counts_by(s, by)
            times.append((time.perf_counter() - t0) * 1000)
        median = statistics.median(times)
        worst = max(worst, median)
        if args.no_scan:
            print(f"   {name:<40} {median:>11.1f} {'—':>10} {'—':>7}  ({len(answer.rows)} rows)")
            continue
        t0 = time.perf_counter()
        raw(q, group)
        scan = (time.perf_counter() - t0) * 1000
        print(f"   {name:<40} {median:>11.1f} {scan:>10.0f} {scan / median:>6.0f}×  ({len(answer.rows)} rows)")
    print(f"   slowest median {worst:.1f} ms (target < 150 ms)")
    data_json(args, year_start, month_end, province, city, county, staff_id)
    return 0


def _close_old_cases(days: int = 14) -> int:
    """Close the cases opened more than ``days`` ago, as a working installation would have (a bench shortcut: one
    UPDATE instead of each case's call-back, outcome and feedback). Half fixed on the spot, half explained."""
    from datetime import timedelta as td

    from django.db.models import Case as Choose
    from django.db.models import F, Value, When
    from django.utils import timezone

    from haochaping.cases.models import Case, CloseReason, FeedbackGrade, Outcome, State

    cut = timezone.now() - td(days=days)
    outcome = Choose(When(id__regex=r"[02468]$", then=Value(Outcome.FIXED_NOW)), default=Value(Outcome.EXPLAINED))
    return Case.objects.filter(opened_at__lt=cut).update(
        state=State.CLOSED,
        outcome=outcome,
        outcome_at=F("opened_at") + td(days=2),
        notified_at=F("opened_at") + td(days=3),
        feedback_grade=FeedbackGrade.SATISFIED,
        close_reason=CloseReason.RATED,
        closed_at=F("opened_at") + td(days=5),
        due_on=None,
    )


def data_json(args, start: date, end: date, province, city, county, staff_id: int) -> None:
    """The dashboard's whole data.json request (every chart of the page, the case figures included), through
    Django's test client as the demo's province user: what the page's one fetch costs."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from haochaping.directory.models import Organisation

    user = get_user_model().objects.get(username="province")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    unit = Organisation.objects.filter(region=county).order_by("id").first()
    period = {"start": start.isoformat(), "end": end.isoformat()}
    focuses = [
        ("province · year", {}),
        ("city · year", {"region": str(city.pk)}),
        ("county · year", {"region": str(county.pk)}),
        ("county · this month", {"region": str(county.pk), "period": "this_month"}),
        ("unit · year", {"unit": str(unit.pk)}),
        ("staff member · year", {"staff": str(staff_id)}),
    ]
    print(f"\n== data.json (all charts of the page) · median of {args.repeat}")
    worst = 0.0
    for name, focus in focuses:
        params = focus if "period" in focus else {**period, **focus}
        times = []
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            r = client.get("/analytics/data.json", params, secure=True)  # production settings redirect http
            times.append((time.perf_counter() - t0) * 1000)
            assert r.status_code == 200, r.content[:300]
        median = statistics.median(times)
        worst = max(worst, median)
        print(f"   {name:<40} {median:>11.1f} ms  ({len(r.json()['charts'])} charts, {len(r.content):,} bytes)")
    print(f"   slowest median {worst:.1f} ms")


if __name__ == "__main__":
    sys.exit(main())
