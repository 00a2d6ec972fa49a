#!/usr/bin/env python
"""Concentrated problems for a province-month of bad comments: the clustering core on 100,000 texts.

    .venv/bin/python bench/insight_problems.py                 # 100,000 bad comments
    .venv/bin/python bench/insight_problems.py --comments 20000 --planted-share 0.04
    .venv/bin/python bench/insight_problems.py --detect      # also ``detect`` on a temporary SQLite database

Composes --comments realistic bad comments with the demo's comment generator (haochaping.demo.comments: every bad
topic, on-site and online, with typos), replaces --planted-share of them by the demo's planted problems
(haochaping.demo.planted.VARIANTS, several wording variants each, one with a typo), prepares every text with the
text pipeline (normalise, mask, segment: what the indexer stores in CommentDoc, timed apart), then times
``insight.problems.cluster`` — features, SVD, k-means, merging, key words and labels: the work ``detect`` does
after reading the rows. Prints the seconds, the groups found and, for each planted problem, the group holding most
of its comments with its share of them and its purity. Target: under 60 s for 100,000 comments on 2 cores.
With --detect: the comments are also stored as CommentDoc rows of one county in a temporary SQLite database
(migrated for the run) and ``detect`` is timed end to end (read the rows, cluster, write problems and members).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "haochaping.settings")
os.environ.setdefault("HAOCHAPING_TESTING", "1")
if "--detect" in sys.argv:  # a throw-away database: settings read the environment once
    os.environ["HAOCHAPING_DATA_DIR"] = tempfile.mkdtemp(prefix="hcp-bench-problems-")
    os.environ.pop("DATABASE_URL", None)

import django  # noqa: E402

django.setup()

from haochaping.demo import comments as dc  # noqa: E402
from haochaping.demo.planted import VARIANTS  # noqa: E402
from haochaping.insight.problems import cluster  # noqa: E402
from haochaping.insight.text import Pipeline  # noqa: E402

ITEMS = ["食品经营许可（新办）", "不动产登记", "营业执照办理", "社保卡补办", "居住证办理", "公积金提取", ""]
PLATFORMS = ["浙里办App", "网上办事大厅", "支付宝小程序"]
ENDINGS = ["", "", "，希望尽快解决", "，太失望了", "！", "，什么时候能改改", "，差评"]


def compose(n: int, planted_share: float, seed: int) -> list[tuple[str, str]]:
    """(label, text): label "noise" or a planted problem's key."""
    rng = random.Random(seed)
    keys = list(VARIANTS)
    out = []
    for _ in range(n):
        if rng.random() < planted_share:
            key = rng.choice(keys)
            out.append((key, rng.choice(VARIANTS[key]) + rng.choice(ENDINGS)))
            continue
        context = rng.choice((dc.ONSITE, dc.ONSITE, dc.ONLINE))
        topic = dc.pick_topic(rng, dc.BAD, context)
        text = dc.compose(
            rng,
            grade=rng.choice((1, 2)),
            context=context,
            topic=topic,
            item=rng.choice(ITEMS),
            platform=rng.choice(PLATFORMS),
        )
        out.append(("noise", text))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--comments", type=int, default=100_000)
    parser.add_argument("--planted-share", type=float, default=0.03)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--detect", action="store_true", help="also time detect() on a temporary SQLite database")
    args = parser.parse_args()

    data = compose(args.comments, args.planted_share, args.seed)
    pipe = Pipeline(words=ITEMS)
    t0 = time.perf_counter()
    prepared = [(p.text, p.terms) for p in (pipe.prepare(text) for _, text in data)]
    t_prepare = time.perf_counter() - t0
    t0 = time.perf_counter()
    groups = cluster(prepared)
    t_cluster = time.perf_counter() - t0

    print(f"comments: {len(data):,}  (planted: {sum(1 for k, _ in data if k != 'noise'):,})")
    print(f"prepare (text pipeline, done by the indexer): {t_prepare:.1f} s")
    print(f"cluster: {t_cluster:.1f} s   target < 60 s   groups: {len(groups)}")
    for group in groups[:25]:
        print(f"  {group.size:6d}  {group.coherence:.2f}  {group.label:<20}  {' '.join(group.keywords[:6])}")
    print("planted problems:")
    where = {i: g for g, group in enumerate(groups) for i in group.members}
    for key in VARIANTS:
        idx = [i for i, (k, _) in enumerate(data) if k == key]
        counts = Counter(where.get(i) for i in idx)
        best, hits = max(((g, c) for g, c in counts.items() if g is not None), key=lambda gc: gc[1], default=(None, 0))
        if best is None:
            print(f"  {key:<14} not found ({len(idx)} comments)")
            continue
        group = groups[best]
        purity = sum(1 for i in group.members if data[i][0] == key) / group.size
        print(
            f"  {key:<14} {len(idx):5d} comments: group '{group.label}' holds {hits / len(idx):.0%} of them, "
            f"purity {purity:.0%}, other groups holding ≥ 10%: "
            f"{sum(1 for g, c in counts.items() if g not in (None, best) and c >= 0.1 * len(idx))}"
        )
    if args.detect:
        try:
            bench_detect(data, prepared)
        finally:
            shutil.rmtree(os.environ["HAOCHAPING_DATA_DIR"], ignore_errors=True)


def bench_detect(data: list[tuple[str, str]], prepared: list[tuple[str, list[str]]]) -> None:
    from datetime import timedelta

    from django.core.management import call_command

    from haochaping.cases import workdays
    from haochaping.directory.models import Organisation, Region
    from haochaping.insight.models import CommentDoc, Source
    from haochaping.insight.problems import detect
    from haochaping.lib.uscc import make_uscc

    call_command("migrate", verbosity=0)
    province = Region.objects.create(code="330000000000", name="浙江省")
    county = Region.objects.create(code="330102000000", name="上城区", parent=province)
    units = [
        Organisation.objects.create(uscc=make_uscc("1", "1", "330102", f"{n:04d}0001"), name=f"单位{n}", region=county)
        for n in range(1, 21)
    ]
    today = workdays.today()
    rows = [
        CommentDoc(
            source=Source.RATING,
            source_id=n,
            region=county,
            unit=units[n % len(units)],
            channel="hall_tablet",
            grade=1,
            is_bad=True,
            day=today - timedelta(days=n % 30),
            text=text,
            tokens=f" {' '.join(terms)} ",
        )
        for n, (text, terms) in enumerate(prepared, start=1)
    ]
    CommentDoc.objects.bulk_create(rows, batch_size=5000)
    t0 = time.perf_counter()
    found = detect(province, today - timedelta(days=29), today)
    print(f"detect on SQLite (read {len(rows):,} rows, cluster, store): {time.perf_counter() - t0:.1f} s, "
          f"{len(found)} problems")  # fmt: skip


if __name__ == "__main__":
    main()
