"""Writing the demo province: directory via bulk_create, 办件 and ratings via RowWriter, all in one transaction.

The generator (generator.py) yields plain tuples in chunks; here they are mapped onto the models' columns
by name (fields the generator does not know get their model default, so a new column with a default does
not break the demo) and inserted with one ``executemany`` per chunk (a COPY on PostgreSQL). Everything
happens in one transaction, so an interrupted run leaves nothing behind. On SQLite, durability is relaxed
while generating (synchronous=OFF, a bigger page cache) and the secondary indexes of the two big tables
are built once at the end; the settings are restored afterwards.
"""

from __future__ import annotations

import json
import operator
import random
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max
from django.utils import timezone

from haochaping.accounts.apikeys import api_key_create
from haochaping.accounts.models import Membership, Role
from haochaping.accounts.roles import sync_role_groups
from haochaping.demo import generator as gen
from haochaping.directory.categories import category_from_name
from haochaping.directory.models import Hall, Organisation, Platform, Region, ServiceItem, Staff, Window
from haochaping.lib import protect
from haochaping.ratings.models import Rating, RatingOffer, ServiceCase, Tag, TagSet
from haochaping.ratings.rowwriter import RowWriter

DEMO_PASSWORD = "demo12345"
DEMO_PHONE_PREFIX = "1700000"  # 170 0000 xxxx: obviously fake numbers, never a real subscriber's


class DemoError(Exception):
    pass


@dataclass
class DemoLogin:
    username: str
    role: str
    unit: str
    note: str = ""


@dataclass
class DemoResult:
    counts: dict[str, int] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)
    logins: list[DemoLogin] = field(default_factory=list)
    api_key: str = ""
    api_key_file: Path | None = None
    worse_units: list[str] = field(default_factory=list)
    perfect_unit: str = ""
    worse_staff: list[str] = field(default_factory=list)
    seconds: float = 0.0


def demo_generate(
    *,
    ratings: int,
    seed: int = 42,
    cities: int = 4,
    now: datetime | None = None,
    api_key_file: Path | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> DemoResult:
    """Generate the demo province into the (empty of it) database and return what was made."""
    if ratings < 0:
        raise DemoError("评价数量不能为负数")
    started = time.perf_counter()
    plan = gen.plan_directory(seed, cities)
    if Region.objects.filter(code=plan.province).exists():
        raise DemoError(
            f"数据库中已有区划 {plan.province}（演示省份已生成过）；请使用空数据库，或加 --if-empty 跳过 / "
            "the demo province already exists: use an empty database or --if-empty"
        )
    result = DemoResult()
    # One transaction for everything: an interrupted run leaves the database as it was, so `--if-empty`
    # (scripts/demo) simply generates again next time.
    with _FastSqlite(), transaction.atomic():
        progress(f"目录 / directory: {len(plan.regions)} 区划, {len(plan.units)} 单位, {len(plan.items)} 事项 …")
        ids = write_directory(plan)
        result.logins = create_users(plan, ids, seed=seed)
        province = Region.objects.get(code=plan.province)
        _, result.api_key = api_key_create(name="演示数据统一受理平台（全省）", region=province)
        result.stats = write_activity(
            plan,
            ids,
            ratings=ratings,
            seed=seed,
            end=gen.end_of_demo(now or timezone.now(), settings.TIME_ZONE),
            progress=progress,
        )
    _after_bulk_load()
    if api_key_file is not None:
        api_key_file.parent.mkdir(parents=True, exist_ok=True)
        api_key_file.write_text(result.api_key + "\n", encoding="utf-8")
        api_key_file.chmod(0o600)
        result.api_key_file = api_key_file
    result.worse_units = [plan.unit(u).name for u in plan.worse_units]
    result.perfect_unit = plan.unit(plan.perfect_unit).name
    names = {s.code: f"{s.name}（{s.code}，{plan.unit(s.unit).name}）" for s in plan.staff}
    result.worse_staff = [names[c] for c in plan.worse_staff]
    result.counts = {
        "regions": len(plan.regions),
        "units": len(plan.units),
        "halls": len(plan.halls),
        "windows": len(plan.windows),
        "staff": len(plan.staff),
        "items": len(plan.items),
        "platforms": len(plan.platforms),
        "cases": result.stats["cases"],
        "ratings": result.stats["ratings"],
    }
    result.seconds = time.perf_counter() - started
    return result


# --- directory ---------------------------------------------------------------------------------------


def write_directory(plan: gen.DirectoryPlan) -> gen.Ids:
    """bulk_create every directory row; parents first so children can point at their ids."""
    region_ids: dict[str, int] = {}
    paths: dict[str, str] = {}
    for level in (1, 2, 3, 4):
        rows = []
        for r in plan.regions:
            if r.level != level:
                continue
            paths[r.code] = (paths[r.parent] if r.parent else "") + r.code + "/"
            rows.append(
                Region(
                    code=r.code,
                    name=r.name,
                    level=r.level,
                    parent_id=region_ids.get(r.parent or ""),
                    path=paths[r.code],
                )
            )
        for obj in Region.objects.bulk_create(rows):
            region_ids[obj.code] = obj.pk
    unit_ids: dict[str, int] = {}
    # Parents (agencies, departments) before the institutions under them.
    for with_parent in (False, True):
        rows = [
            Organisation(
                uscc=u.uscc,
                name=u.name,
                short_name=u.short_name,
                kind=u.kind,
                category=category_from_name(u.name),  # 部门类别 (公安, 人社 …): the routing suggestion's labels
                region_id=region_ids[u.region],
                parent_id=unit_ids.get(u.parent or ""),
            )
            for u in plan.units
            if bool(u.parent) == with_parent
        ]
        for obj in Organisation.objects.bulk_create(rows):
            unit_ids[obj.uscc] = obj.pk
    halls = Hall.objects.bulk_create(
        Hall(
            code=h.code,
            name=h.name,
            kind=h.kind,
            region_id=region_ids[h.region],
            unit_id=unit_ids[h.unit],
            address=h.address,
        )
        for h in plan.halls
    )
    hall_ids = {h.code: h.pk for h in halls}
    windows = Window.objects.bulk_create(
        Window(hall_id=hall_ids[w.hall], code=w.code, name=w.name, unit_id=unit_ids[w.unit]) for w in plan.windows
    )
    window_ids = {(w.hall, w.code): obj.pk for w, obj in zip(plan.windows, windows, strict=True)}
    staff = Staff.objects.bulk_create(
        Staff(
            code=s.code,
            name=s.name,
            unit_id=unit_ids[s.unit],
            window_id=window_ids[s.window] if s.window else None,
            title=s.title,
        )
        for s in plan.staff
    )
    items = ServiceItem.objects.bulk_create(
        ServiceItem(
            basic_code=i.basic_code,
            implementation_code=i.implementation_code,
            name=i.name,
            item_type=i.item_type,
            service_objects=i.service_objects,
            unit_id=unit_ids[i.unit],
            region_id=region_ids[i.region],
            on_site=i.on_site,
            online=i.online,
        )
        for i in plan.items
    )
    platforms = Platform.objects.bulk_create(
        Platform(code=p.code, name=p.name, kind=p.kind, region_id=region_ids[p.region], unit_id=unit_ids[p.unit])
        for p in plan.platforms
    )
    return gen.Ids(
        regions=region_ids,
        units=unit_ids,
        halls=hall_ids,
        windows=window_ids,
        staff={s.code: s.pk for s in staff},
        items={i.implementation_code: i.pk for i in items},
        platforms={p.code: p.pk for p in platforms},
    )


# --- users -------------------------------------------------------------------------------------------


def create_users(plan: gen.DirectoryPlan, ids: gen.Ids, *, seed: int) -> list[DemoLogin]:
    """One login per role (and per city and county agency), all with DEMO_PASSWORD, in their role's group."""
    rng = random.Random(f"haochaping-demo-users-{seed}")
    regions = {r.code: r for r in plan.regions}
    province = plan.agencies[plan.province]
    first_city = next(r for r in plan.regions if r.level == 2)
    handling = plan.worse_units[0] if plan.worse_units else plan.perfect_unit
    clerk_staff = next(s for s in plan.staff if s.unit == handling and s.window)
    wanted: list[tuple[str, str | None, str | None, bool, str]] = [
        ("admin", None, None, True, "超级管理员 / superuser"),
        ("sysadmin", Role.SYSTEM_ADMIN, province, True, ""),
        ("province", Role.AGENCY_ADMIN, province, True, ""),
    ]
    for region in plan.regions:
        if region.level in (2, 3):
            prefix = "city" if region.level == 2 else "county"
            wanted.append((f"{prefix}_{region.slug}", Role.AGENCY_ADMIN, plan.agencies[region.code], True, ""))
    wanted += [
        ("dept_admin", Role.DEPARTMENT_ADMIN, handling, True, "差评较多的单位 / a unit with many bad ratings"),
        ("handler", Role.CASE_HANDLER, handling, False, ""),
        ("clerk", Role.WINDOW_STAFF, handling, False, f"工号 {clerk_staff.code}"),
        ("inspector", Role.INSPECTOR, plan.agencies[first_city.code], True, ""),
        ("auditor", Role.AUDITOR, province, True, ""),
    ]
    User = get_user_model()
    existing = set(User.objects.filter(username__in=[w[0] for w in wanted]).values_list("username", flat=True))
    password = make_password(DEMO_PASSWORD)  # hashed once: PBKDF2 per user would take seconds
    users = []
    for username, role, _unit, is_staff, _note in wanted:
        if username in existing:
            continue
        name = clerk_staff.name if username == "clerk" else gen.person_name(rng)
        users.append(
            User(
                username=username,
                password=password,
                first_name=name,
                is_staff=is_staff,
                is_superuser=role is None,
            )
        )
    created = {u.username: u for u in User.objects.bulk_create(users)}
    if any(u.pk is None for u in created.values()):  # backends without RETURNING
        created = {u.username: u for u in User.objects.filter(username__in=list(created))}
    groups = sync_role_groups()
    memberships = []
    logins = []
    for username, role, unit, _, note in wanted:
        unit_name = plan.unit(unit).name if unit else regions[plan.province].name
        if username in existing:
            note = "账号已存在，未修改 / existed before: left unchanged"
        logins.append(DemoLogin(username, str(Role(role).label) if role else "超级管理员", unit_name, note))
        user = created.get(username)
        if user is None or role is None:
            continue
        memberships.append(Membership(user=user, unit_id=ids.units[unit], role=role))
        user.groups.add(groups[role])
    Membership.objects.bulk_create(memberships)
    if "clerk" in created:
        Staff.objects.filter(pk=ids.staff[clerk_staff.code]).update(user=created["clerk"])
    return logins


# --- 办件 and ratings ----------------------------------------------------------------------------------


def _column_mapper(writer: RowWriter, columns: tuple[str, ...]) -> Callable[[tuple], tuple]:
    """Map generator tuples (in `columns` order) to the writer's column order, filling model defaults."""
    extras: list = []
    indices = []
    for name, fld in zip(writer.names, writer.fields, strict=True):
        if name in columns:
            indices.append(columns.index(name))
            continue
        default = fld.get_default()
        if default is None and not fld.null:
            raise DemoError(f"演示数据生成器不认识必填字段 {fld.model.__name__}.{name}，请在 generator.py 中补上")
        if isinstance(fld, models.JSONField):
            default = json.dumps(default, ensure_ascii=False, separators=(",", ":"))
        indices.append(len(columns) + len(extras))
        extras.append(default)
    if indices == list(range(len(columns))) and not extras:
        return lambda row: row
    getter = operator.itemgetter(*indices)
    tail = tuple(extras)
    return lambda row: getter(row + tail)


def _adapters() -> gen.Adapters:
    people = []
    rng = random.Random("haochaping-demo-people")
    for i in range(2000):
        phone = f"{DEMO_PHONE_PREFIX}{i:04d}"
        name = gen.person_name(rng)
        people.append((protect.encrypt(name), protect.encrypt(phone), protect.lookup_hash(phone)))
    if connection.vendor == "sqlite":
        # Django stores aware datetimes on SQLite as naive UTC text and UUIDs as 32 hex digits.
        minutes: dict[int, str] = {}

        def dt(ts: int) -> str:
            minute, second = divmod(ts, 60)
            prefix = minutes.get(minute)
            if prefix is None:
                prefix = minutes[minute] = time.strftime("%Y-%m-%d %H:%M", time.gmtime(ts))
            return f"{prefix}:{second:02d}"

        return gen.Adapters(dt=dt, uuid=lambda n: f"{n:032x}", person=people.__getitem__, people=len(people))
    return gen.Adapters(
        dt=lambda ts: datetime.fromtimestamp(ts, UTC),
        uuid=lambda n: uuid.UUID(int=n),
        person=people.__getitem__,
        people=len(people),
    )


def active_tag_sets() -> gen.TagSets:
    sets = {ts.kind: ts.id for ts in TagSet.objects.filter(is_active=True)}
    tags: dict[str, dict[str, frozenset[int]]] = {kind: {} for kind in sets}
    kind_of = {v: k for k, v in sets.items()}
    for tag in Tag.objects.filter(tag_set_id__in=list(sets.values())):
        tags[kind_of[tag.tag_set_id]][tag.code] = frozenset(tag.grades)
    return gen.TagSets(ids=sets, tags=tags)


class _FastSqlite:
    """Relax SQLite durability while generating: demo data can simply be generated again.

    PRAGMAs cannot change inside a transaction, so this only acts outside one (not in tests). Foreign keys
    are not checked row by row: the generator only refers to ids it has just written.
    """

    def __enter__(self):
        self.active = connection.vendor == "sqlite" and not connection.in_atomic_block
        if self.active:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=OFF")
                cursor.execute("PRAGMA cache_size=-262144")  # 256 MiB
            connection.disable_constraint_checking()
        return self

    def __exit__(self, *exc):
        if self.active:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA synchronous=NORMAL")
                cursor.execute("PRAGMA cache_size=-64000")
            connection.enable_constraint_checking()
        return False


@contextmanager
def _indexes_built_afterwards(*tables: str) -> Iterator[None]:
    """On empty SQLite tables, drop the secondary indexes and build them once at the end.

    Building an index over a million rows in one sorted pass costs a third of maintaining it row by row.
    Must run inside a transaction: DROP INDEX is transactional in SQLite, so a failed or interrupted load
    gets its indexes back with the rollback. UNIQUE column constraints stay in place throughout, and a
    duplicate would make CREATE UNIQUE INDEX fail and roll everything back.
    """
    indexes: list[tuple[str, str]] = []
    with connection.cursor() as cursor:
        empty = True
        for table in tables:
            cursor.execute(f"SELECT 1 FROM {connection.ops.quote_name(table)} LIMIT 1")
            empty = empty and cursor.fetchone() is None
        if connection.vendor == "sqlite" and empty:
            marks = ", ".join(["%s"] * len(tables))
            cursor.execute(
                "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                f"AND tbl_name IN ({marks}) ORDER BY name",
                list(tables),
            )
            indexes = cursor.fetchall()
            for name, _ in indexes:
                cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for _, sql in indexes:
                cursor.execute(sql)


def write_activity(
    plan: gen.DirectoryPlan,
    ids: gen.Ids,
    *,
    ratings: int,
    seed: int,
    end: datetime,
    progress: Callable[[str], None] = lambda line: None,
) -> dict[str, int]:
    """Stream the generator's chunks into ServiceCase and Rating (one transaction; chunks bound memory)."""
    case_writer = RowWriter(ServiceCase, exclude=())  # ids are precomputed so ratings can refer to them
    rating_writer = RowWriter(Rating)
    map_case = _column_mapper(case_writer, gen.CASE_COLUMNS)
    map_rating = _column_mapper(rating_writer, gen.RATING_COLUMNS)
    offer_writer = RowWriter(RatingOffer)
    map_offer = _column_mapper(offer_writer, gen.OFFER_COLUMNS)
    first_id = (ServiceCase.objects.aggregate(m=Max("id"))["m"] or 0) + 1
    stream = gen.ActivityGenerator(
        plan,
        ids,
        ratings=ratings,
        seed=seed,
        end=end,
        tag_sets=active_tag_sets(),
        adapters=_adapters(),
        case_id_start=first_id,
    )
    started = time.perf_counter()
    tables = (ServiceCase._meta.db_table, Rating._meta.db_table, RatingOffer._meta.db_table)
    step, next_report = max(ratings // 10, 1), 0
    with transaction.atomic(), _indexes_built_afterwards(*tables), connection.cursor() as cursor:
        for chunk in stream:
            if chunk.cases:
                _insert(cursor, ServiceCase, case_writer, [map_case(r) for r in chunk.cases])
            if chunk.ratings:
                _insert(cursor, Rating, rating_writer, [map_rating(r) for r in chunk.ratings])
            if chunk.offers:
                _insert(cursor, RatingOffer, offer_writer, [map_offer(r) for r in chunk.offers])
            done = stream.stats["ratings"]
            if done >= next_report:
                next_report = done + step
                progress(
                    f"评价 / ratings {done:,}/{ratings:,} ({done / max(ratings, 1):.0%}) · 办件 / cases "
                    f"{stream.stats['cases']:,} · {time.perf_counter() - started:.1f}s"
                )
        progress("建立索引并提交 / building indexes and committing …")
        # Explicit ids bypass PostgreSQL sequences: move them past the rows written.
        for sql in connection.ops.sequence_reset_sql(no_style(), [ServiceCase]):
            cursor.execute(sql)
    return dict(stream.stats)


def _insert(cursor, model, writer: RowWriter, rows: list[tuple]) -> None:
    """RowWriter's executemany; on PostgreSQL a COPY of the same columns, about ten times faster there."""
    if connection.vendor != "postgresql":
        cursor.executemany(writer.sql, rows)
        return
    qn = connection.ops.quote_name
    columns = ", ".join(qn(f.column) for f in writer.fields)
    with cursor.cursor.copy(f"COPY {qn(model._meta.db_table)} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def _after_bulk_load() -> None:
    """Fresh planner statistics for the big tables; give the SQLite WAL file its space back."""
    if connection.in_atomic_block:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA analysis_limit=1000")
            cursor.execute("ANALYZE")
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        elif connection.vendor == "postgresql":
            tables = ", ".join(m._meta.db_table for m in (ServiceCase, Rating, RatingOffer))
            cursor.execute(f"ANALYZE {tables}")


def default_api_key_file() -> Path:
    return Path(settings.DATA_DIR) / "demo-api-key.txt"
