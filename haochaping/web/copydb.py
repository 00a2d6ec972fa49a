"""Copy a whole database (a SQLite demo or pilot) into the empty PostgreSQL database of DATABASE_URL.

`haochaping copy_database --source sqlite:////path/haochaping.sqlite3` (docs/deploy.md#sqlite-to-postgresql).
Every concrete table of every installed app is copied with its primary keys, parents before children, in one
transaction: rows are read from the source in primary-key order, a chunk at a time, and written with one
``COPY … FROM STDIN`` per chunk (raw column values, no model instances: PostgreSQL parses SQLite's text forms of
datetimes, JSON, UUIDs and 0/1 booleans itself). Then the id sequences are moved past the copied ids, and the
tamper-evident chain and the rollups are verified on the target: the seals cover the records' values, so a verify
that passes shows the copy changed nothing.

The target must be migrated (`haochaping migrate`) and hold nothing but what migrate itself writes (content
types, permissions, the default tag sets and questionnaires): those rows are replaced by the source's, which the
source's other rows refer to by id. Any other row in the target stops the copy before it writes anything.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import CommandError
from django.core.management.color import no_style
from django.db import DEFAULT_DB_ALIAS, connections, models, transaction
from django.db.migrations.executor import MigrationExecutor

from haochaping.lib.dburl import database_from_url

SOURCE = "copy_source"
CHUNK = 5000
# Rows a fresh `migrate` writes (post_migrate signals and data migrations): replaced by the source's.
SEEDED = frozenset(
    {
        "contenttypes.contenttype",
        "auth.permission",
        "ratings.tagset",
        "ratings.tag",
        "ratings.questionnaire",
        "evaluator.legacydevicemodel",
    }
)
# Filled by a trigger on PostgreSQL from the rows of ratings_rating (docs/partitioning.md): never copied.
TRIGGER_FILLED = frozenset({"ratings_ratingkey"})


class CopyError(CommandError):
    pass


@dataclass
class TableCopy:
    table: str
    rows: int
    seconds: float


def add_source(url: str) -> str:
    """Register the source as a second database alias for this process."""
    try:
        config = database_from_url(url, base_dir=settings.BASE_DIR.parent)
    except ImproperlyConfigured as exc:
        raise CopyError(f"--source: {exc}") from None
    if config["ENGINE"].endswith("sqlite3") and not Path(config["NAME"]).is_file():
        # SQLite would create an empty file and the copy would find no tables.
        raise CopyError(f"--source: 文件不存在 / no such file: {config['NAME']}")
    connections.settings[SOURCE] = config
    connections.configure_settings(connections.settings)  # fills the defaults Django gives every alias
    return SOURCE


def copy_order() -> list[type[models.Model]]:
    """Concrete tables (auto-created many-to-many tables included), each after the tables it refers to."""
    candidates: dict[str, type[models.Model]] = {}
    for model in apps.get_models(include_auto_created=True):
        meta = model._meta
        if meta.managed and not meta.proxy and not meta.swapped and meta.db_table not in candidates:
            candidates[meta.db_table] = model
    ordered: list[type[models.Model]] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(model: type[models.Model]) -> None:
        table = model._meta.db_table
        if state.get(table):
            return  # done, or a cycle (FK constraints are deferred to commit on PostgreSQL: order is moot there)
        state[table] = 1
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model is not None:
                parent = field.related_model._meta.db_table
                if parent != table and parent in candidates:
                    visit(candidates[parent])
        state[table] = 2
        ordered.append(model)

    for table in sorted(candidates):
        visit(candidates[table])
    return ordered


def _pending(alias: str) -> int:
    executor = MigrationExecutor(connections[alias])
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def check(source: str, target: str, order: list[type[models.Model]]) -> list[type[models.Model]]:
    """Refuse before writing: wrong engines, same database, unmigrated schemas, rows already in the target."""
    if connections[target].vendor != "postgresql":
        raise CopyError("目标数据库（DATABASE_URL）必须是 PostgreSQL / the target (DATABASE_URL) must be PostgreSQL")
    s, t = connections[source].settings_dict, connections[target].settings_dict
    if (s["ENGINE"], s["NAME"], s.get("HOST"), str(s.get("PORT"))) == (
        t["ENGINE"],
        t["NAME"],
        t.get("HOST"),
        str(t.get("PORT")),
    ):
        raise CopyError("--source 与 DATABASE_URL 是同一个数据库 / source and target are the same database")
    if pending := _pending(source):
        raise CopyError(
            f"--source 有 {pending} 个迁移未执行：先对源库运行 DATABASE_URL=<source> haochaping migrate"
            f" / the source lacks {pending} migrations: migrate it first"
        )
    if pending := _pending(target):
        raise CopyError(
            f"目标库有 {pending} 个迁移未执行：先运行 haochaping migrate / the target lacks {pending} migrations"
        )
    existing = set(connections[source].introspection.table_names())
    missing = [m._meta.db_table for m in order if m._meta.db_table not in existing]
    if missing:
        raise CopyError(f"--source 缺少数据表 / the source lacks tables: {', '.join(missing[:10])}")
    if occupied := occupied_tables(target, order):
        raise CopyError(
            "目标库不是空库，以下数据表已有数据（请使用新建并迁移过的空库）/ the target is not empty, rows in: "
            + ", ".join(occupied[:20])
        )
    return [m for m in order if m._meta.db_table not in TRIGGER_FILLED]


def occupied_tables(target: str, order: list[type[models.Model]]) -> list[str]:
    """Tables of the target with rows that a fresh migrate does not write."""
    return [
        m._meta.db_table
        for m in order
        if m._meta.label_lower not in SEEDED and m._meta.db_table not in TRIGGER_FILLED and _has_rows(target, m)
    ]


def _has_rows(alias: str, model: type[models.Model]) -> bool:
    # Raw SQL, not the model's manager: a custom default manager may hide rows.
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT 1 FROM {connections[alias].ops.quote_name(model._meta.db_table)} LIMIT 1")
        return cursor.fetchone() is not None


def _count(alias: str, model: type[models.Model]) -> int:
    with connections[alias].cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {connections[alias].ops.quote_name(model._meta.db_table)}")
        return cursor.fetchone()[0]


def _chunks(source: str, model: type[models.Model], columns: list[str], size: int) -> Iterator[list[tuple]]:
    ops = connections[source].ops
    table, pk = ops.quote_name(model._meta.db_table), ops.quote_name(model._meta.pk.column)
    select = f"SELECT {', '.join(ops.quote_name(c) for c in columns)} FROM {table}"
    pk_index = columns.index(model._meta.pk.column)
    last = None
    with connections[source].cursor() as cursor:
        while True:
            if last is None:
                cursor.execute(f"{select} ORDER BY {pk} LIMIT %s", [size])
            else:
                cursor.execute(f"{select} WHERE {pk} > %s ORDER BY {pk} LIMIT %s", [last, size])
            rows = cursor.fetchall()
            if not rows:
                return
            yield rows
            if len(rows) < size:
                return
            last = rows[-1][pk_index]


def copy_table(source: str, target: str, model: type[models.Model], *, chunk: int = CHUNK) -> int:
    columns = [f.column for f in model._meta.concrete_fields]
    ops = connections[target].ops
    sql = f"COPY {ops.quote_name(model._meta.db_table)} ({', '.join(ops.quote_name(c) for c in columns)}) FROM STDIN"
    written = 0
    with connections[target].cursor() as cursor:
        for rows in _chunks(source, model, columns, chunk):
            with cursor.cursor.copy(sql) as copy:  # psycopg's COPY on the target connection, in its transaction
                for row in rows:
                    copy.write_row(row)
            written += len(rows)
    return written


def _partition_copied_months(target: str, write: Callable[[str], None]) -> None:
    """On a partitioned target the copied past (months before the migration made partitions) landed in the
    DEFAULT partition: give those months their own partitions now (docs/partitioning.md)."""
    from haochaping.ratings import partitioning

    if not partitioning.is_partitioned(using=target):
        return
    months = partitioning.default_months(using=target)
    if months:
        report = partitioning.ensure_partitions(months=months, using=target)
        write(f"  评价表分区 / rating partitions: {len(report.moved_from_default)} 个月份从默认分区迁入 / months moved")


def copy_database(
    url: str, *, write: Callable[[str], None], chunk: int = CHUNK, target: str = DEFAULT_DB_ALIAS
) -> list[TableCopy]:
    source = add_source(url)
    try:
        order = check(source, target, copy_order())
        done: list[TableCopy] = []
        with transaction.atomic(using=target):
            with connections[target].cursor() as cursor:
                for model in reversed(order):
                    if model._meta.label_lower in SEEDED:
                        cursor.execute(f"DELETE FROM {connections[target].ops.quote_name(model._meta.db_table)}")
            for model in order:
                started = time.perf_counter()
                rows = copy_table(source, target, model, chunk=chunk)
                expected = _count(source, model)
                if rows != expected:
                    raise CopyError(f"{model._meta.db_table}: 复制 {rows} 行，源库 {expected} 行 / row counts differ")
                done.append(TableCopy(model._meta.db_table, rows, time.perf_counter() - started))
                if rows:
                    write(f"  {model._meta.db_table:<44} {rows:>10,} 行 rows  {done[-1].seconds:6.1f}s")
            with connections[target].cursor() as cursor:
                for statement in connections[target].ops.sequence_reset_sql(no_style(), order):
                    cursor.execute(statement)
        _partition_copied_months(target, write)
        return done
    finally:
        connections[source].close()
