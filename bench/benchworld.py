"""Shared set-up of the intake benchmarks: a throw-away database, a minimal directory, registered 办件.

Each benchmark runs against its own database: a temporary SQLite file (HAOCHAPING_DATA_DIR = a temp
folder) or a PostgreSQL database created for the run and dropped afterwards. ``configure()`` must run
before Django is imported by anything else, because settings read the environment once.
"""

from __future__ import annotations

import os
import random
import secrets
import tempfile
import time
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

COUNTY = "330102000000"
HALL = "H330102"
WINDOWS = [f"{n:02d}" for n in range(1, 21)]
CASE_PREFIX = "BENCH"

# Realistic mix: mostly good grades, a few bad ones; on-site and online channels.
GRADES = ["very_satisfied"] * 5 + ["satisfied"] * 3 + ["basic", "dissatisfied", "very_dissatisfied"]
ONSITE_CHANNELS = ["hall_tablet", "hall_tablet", "qr", "hall_terminal", "sms"]
ONLINE_CHANNELS = ["pc", "app", "mini_program"]
TAGS = {
    ("onsite", "good"): ["OS01", "OS02", "OS03", "OS04"],
    ("onsite", "basic"): ["OS05", "OS06"],
    ("onsite", "bad"): ["OS11", "OS12", "OS13", "OS14"],
    ("online", "good"): ["ON01", "ON02", "ON03", "ON04"],
    ("online", "basic"): ["ON05", "ON06"],
    ("online", "bad"): ["ON11", "ON12", "ON13", "ON14"],
}
COMMENTS = [
    "窗口人员态度很好，办事效率高",
    "一次性告知所需材料，没有多跑路",
    "排队时间有点长，希望增加窗口",
    "工作人员业务不熟悉，解释不清楚",
    "网上申请很方便，当天就办好了",
]


def bench_environ(*, postgres_admin_url: str | None, label: str) -> tuple[dict[str, str], str, str | None]:
    """Environment for haochaping on a fresh database: (environ, data dir, bench database URL or None)."""
    env = dict(os.environ)
    data_dir = tempfile.mkdtemp(prefix=f"hcp-bench-{label}-")
    env["HAOCHAPING_DATA_DIR"] = data_dir
    env["DJANGO_SETTINGS_MODULE"] = "haochaping.settings"
    # Production-like settings: not DEBUG, real (throw-away) keys.
    env["DEBUG"] = "False"
    env["SECRET_KEY"] = secrets.token_urlsafe(40)
    env["HAOCHAPING_PII_KEYS"] = secrets.token_urlsafe(32)
    env["HAOCHAPING_PII_HASH_KEY"] = secrets.token_urlsafe(32)
    env["HAOCHAPING_SEAL_KEY"] = secrets.token_urlsafe(32)
    env["SECURE_SSL_REDIRECT"] = "false"  # loopback benchmarks speak plain HTTP (production sits behind TLS)
    env["ALLOWED_HOSTS"] = "127.0.0.1,localhost"
    env["LOG_LEVEL"] = "WARNING"
    for name in ("HAOCHAPING_TESTING", "HAOCHAPING_DEMO"):
        env.pop(name, None)
    url = None
    if postgres_admin_url:
        url = create_postgres_database(postgres_admin_url, f"hcp_bench_{label}_{os.getpid()}")
        env["DATABASE_URL"] = url
    else:
        env.pop("DATABASE_URL", None)
    return env, data_dir, url


def configure(*, postgres_admin_url: str | None, label: str) -> tuple[str, str | None]:
    """Point this process at a fresh database. Returns (data dir, bench database URL or None for SQLite)."""
    env, data_dir, url = bench_environ(postgres_admin_url=postgres_admin_url, label=label)
    os.environ.clear()
    os.environ.update(env)
    return data_dir, url


def _with_db(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


def create_postgres_database(admin_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return _with_db(admin_url, name)


def drop_postgres_database(admin_url: str, url: str) -> None:
    import psycopg

    name = urlsplit(url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(*, migrate: bool = True) -> None:
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", interactive=False, verbosity=0)


@dataclass
class Directory:
    region_id: int
    unit_id: int
    hall_id: int
    window_ids: dict[str, int]
    staff_ids: dict[str, int]
    item_ids: list[int]
    key_secret: str


def seed_directory() -> Directory:
    """Province → city → county, its agency and one department, a hall with 20 windows, staff, 5 事项, a key."""
    from haochaping.accounts.apikeys import api_key_create
    from haochaping.directory.models import Hall, Organisation, Region, ServiceItem, Staff, Window
    from haochaping.lib.uscc import make_uscc

    province = Region.objects.create(code="330000000000", name="浙江省")
    city = Region.objects.create(code="330100000000", name="杭州市", parent=province)
    county = Region.objects.create(code=COUNTY, name="上城区", parent=city)
    agency = Organisation.objects.create(
        uscc=make_uscc("1", "1", "330102", "00010001"),
        name="上城区政务服务管理办公室",
        kind=Organisation.Kind.AGENCY,
        region=county,
    )
    dept = Organisation.objects.create(
        uscc=make_uscc("1", "1", "330102", "00010002"), name="上城区市场监督管理局", region=county
    )
    hall = Hall.objects.create(code=HALL, name="上城区政务服务中心", region=county, unit=agency)
    windows, staff = {}, {}
    for code in WINDOWS:
        w = Window.objects.create(hall=hall, code=code, name=f"综合受理{code}", unit=dept)
        s = Staff.objects.create(code=f"S330102{code}", name=f"工作人员{code}", unit=dept, window=w)
        windows[code], staff[code] = w.id, s.id
    items = []
    for n, name in enumerate(
        ["食品经营许可（新办）", "个体工商户登记", "营业执照变更", "药品零售许可", "广告发布登记"]
    ):
        basic = f"0001010{n:02d}000"
        items.append(
            ServiceItem.objects.create(
                basic_code=basic,
                implementation_code=f"{dept.uscc}{basic}",
                name=name,
                item_type="01",
                service_objects="1,2",
                unit=dept,
                region=county,
            ).id
        )
    _, secret = api_key_create(name="上城区审批系统（基准测试）", unit=dept)
    return Directory(county.id, dept.id, hall.id, windows, staff, items, secret)


def register_cases(d: Directory, count: int, *, start: int = 0, chunk: int = 20_000) -> float:
    """Register `count` 办件 BENCH<start…> with RowWriter (the bulk path); returns seconds taken."""
    from django.db import transaction
    from django.utils import timezone

    from haochaping.lib import protect
    from haochaping.ratings.models import ServiceCase
    from haochaping.ratings.rowwriter import RowWriter

    writer = RowWriter(ServiceCase)
    now = timezone.now()
    # One encrypted applicant for all: Fernet per row would dominate the seeding time and is not measured.
    phone_enc, phone_hash = protect.encrypt("13800138000"), protect.lookup_hash("13800138000")
    t0 = time.perf_counter()
    for lo in range(start, start + count, chunk):
        rows = []
        for i in range(lo, min(lo + chunk, start + count)):
            code = WINDOWS[i % len(WINDOWS)]
            rows.append(
                dict(
                    case_no=case_no(i),
                    service_item_id=d.item_ids[i % len(d.item_ids)],
                    unit_id=d.unit_id,
                    region_id=d.region_id,
                    hall_id=d.hall_id,
                    window_id=d.window_ids[code],
                    staff_id=d.staff_ids[code],
                    stage="accept",
                    status=2,
                    online=False,
                    applicant_kind=1,
                    applicant_name_enc="",
                    applicant_phone_enc=phone_enc,
                    applicant_phone_hash=phone_hash,
                    applicant_cert_enc="",
                    applicant_cert_hash="",
                    accepted_at=now,
                    completed_at=None,
                    created_at=now,
                    updated_at=now,
                    registered_by_id=None,
                )
            )
        with transaction.atomic():
            writer.insert(rows)
    return time.perf_counter() - t0


def case_no(i: int) -> str:
    return f"{CASE_PREFIX}{i:09d}"


def _band(grade: str) -> str:
    return "good" if grade in ("satisfied", "very_satisfied") else "basic" if grade == "basic" else "bad"


def rating_items(count: int, *, start: int, walk_in: bool, run: str, seed: int = 1) -> list[dict]:
    """Realistic API items: case-bound (one per 办件) or walk-in window ratings; ~40% tags, ~30% comments."""
    rnd = random.Random(seed + start)
    out = []
    for i in range(start, start + count):
        grade = rnd.choice(GRADES)
        online = not walk_in and rnd.random() < 0.3
        channel = rnd.choice(ONLINE_CHANNELS if online else ONSITE_CHANNELS)
        item: dict = {"grade": grade, "channel": channel, "idempotency_key": f"{run}-{i}"}
        if walk_in:
            item["window"] = {"hall": HALL, "code": WINDOWS[i % len(WINDOWS)]}
        else:
            item["case_no"] = case_no(i)
        if rnd.random() < 0.4:
            pool = TAGS[("online" if online else "onsite", _band(grade))]
            item["tags"] = rnd.sample(pool, k=min(len(pool), rnd.randint(1, 2)))
        if rnd.random() < 0.3:
            item["comment"] = rnd.choice(COMMENTS)
        out.append(item)
    return out


if __name__ == "__main__":
    # Used by intake_http.py: migrate and seed the database named by the environment; print the API key.
    import argparse
    import json

    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=0)
    args = parser.parse_args()
    setup_django()
    directory = seed_directory()
    seconds = register_cases(directory, args.cases)
    print(json.dumps({"key": directory.key_secret, "cases": args.cases, "seconds": round(seconds, 1)}))
