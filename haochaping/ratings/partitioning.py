"""ratings_rating partitioned by month on PostgreSQL (docs/partitioning.md).

A province stores hundreds of millions of ratings a year: on PostgreSQL the table is partitioned by RANGE
(rated_at), one partition per calendar month of settings.TIME_ZONE (bounds at local midnight of the 1st),
plus a DEFAULT partition for outliers. SQLite keeps a plain table; every function here is a no-op there.

PostgreSQL only allows unique indexes that include the partition key, so the rating's global uniqueness
rules live in ratings_ratingkey (models.RatingKey), filled by triggers on ratings_rating. Intake claims a
batch's keys there first (``claim``) and inserts only the rows whose claim landed, which keeps its
INSERT … ON CONFLICT DO NOTHING behaviour: a row a concurrent writer beat is skipped, not an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection as default_connection
from django.db import transaction
from django.utils import timezone

TABLE = "ratings_rating"
DEFAULT_PARTITION = "ratings_rating_default"
_OLD = "ratings_rating_unpartitioned"
_KEY_COLUMNS = ("public_id", "service_case_id", "stage", "sequence", "client", "idempotency_key")
_PARTITION_NAME = re.compile(r"^ratings_rating_p(\d{4})_(\d{2})$")

# The guard triggers. After each INSERT statement, one set-based statement over its rows (a transition
# table; a row-level trigger cost 3× more per row in plpgsql calls) consumes the claims intake made in this
# transaction (pending) and inserts the keys of the other rows: a taken key raises unique_violation, as
# Rating's own constraints did. The delete trigger is skipped while rows are moved out of DEFAULT
# (haochaping.moving_ratings, transaction-local).
TRIGGERS_SQL = """
CREATE OR REPLACE FUNCTION ratings_rating_keys_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH consumed AS (
        UPDATE ratings_ratingkey k SET pending = false FROM new_ratings n
         WHERE k.public_id = n.public_id AND k.pending
        RETURNING k.public_id
    )
    INSERT INTO ratings_ratingkey (public_id, service_case_id, stage, sequence, client, idempotency_key, pending)
    SELECT n.public_id, n.service_case_id, n.stage, n.sequence, n.client, n.idempotency_key, false
      FROM new_ratings n
     WHERE NOT EXISTS (SELECT 1 FROM consumed c WHERE c.public_id = n.public_id);
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION ratings_rating_keys_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE ratings_ratingkey
       SET public_id = NEW.public_id, service_case_id = NEW.service_case_id, stage = NEW.stage,
           sequence = NEW.sequence, client = NEW.client, idempotency_key = NEW.idempotency_key
     WHERE public_id = OLD.public_id;
    RETURN NEW;
END $$;

CREATE OR REPLACE FUNCTION ratings_rating_keys_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF current_setting('haochaping.moving_ratings', true) IS DISTINCT FROM 'on' THEN
        DELETE FROM ratings_ratingkey WHERE public_id = OLD.public_id;
    END IF;
    RETURN OLD;
END $$;

CREATE TRIGGER ratings_rating_keys_insert AFTER INSERT ON ratings_rating
    REFERENCING NEW TABLE AS new_ratings FOR EACH STATEMENT EXECUTE FUNCTION ratings_rating_keys_insert();
CREATE TRIGGER ratings_rating_keys_update BEFORE UPDATE ON ratings_rating FOR EACH ROW
    WHEN ((OLD.public_id, OLD.service_case_id, OLD.stage, OLD.sequence, OLD.client, OLD.idempotency_key)
          IS DISTINCT FROM
          (NEW.public_id, NEW.service_case_id, NEW.stage, NEW.sequence, NEW.client, NEW.idempotency_key))
    EXECUTE FUNCTION ratings_rating_keys_update();
CREATE TRIGGER ratings_rating_keys_delete AFTER DELETE ON ratings_rating
    FOR EACH ROW EXECUTE FUNCTION ratings_rating_keys_delete();
"""

_CLAIM_SQL = (
    "INSERT INTO ratings_ratingkey (public_id, service_case_id, stage, sequence, client, idempotency_key, pending) "
    "SELECT k.*, true FROM unnest(%s::uuid[], %s::bigint[], %s::varchar[], %s::smallint[], %s::varchar[], "
    "%s::varchar[]) AS k ON CONFLICT DO NOTHING RETURNING public_id"
)

_partitioned: dict[tuple[str, str], bool] = {}


def _conn(using=None):
    if using is None:
        return default_connection
    from django.db import connections

    return connections[using]


def is_partitioned(using: str | None = None, *, cached: bool = True) -> bool:
    """Whether ratings_rating is a partitioned table (PostgreSQL after migration 0009); cached per database."""
    conn = _conn(using)
    if conn.vendor != "postgresql":
        return False
    key = (conn.alias, str(conn.settings_dict["NAME"]))
    if cached and key in _partitioned:
        return _partitioned[key]
    with conn.cursor() as cursor:
        cursor.execute("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))", [TABLE])
        value = bool(cursor.fetchone()[0])
    _partitioned[key] = value
    return value


def claim(rows: Sequence[dict]) -> set:
    """Claim the rows' unique keys in ratings_ratingkey; returns the public_ids claimed.

    A row whose keys a stored rating (or a concurrent writer, once it commits) holds is not claimed. The
    caller inserts exactly the claimed rows in the same transaction: the insert trigger consumes the claims.
    """
    if not rows:
        return set()
    columns = [[row[c] for row in rows] for c in _KEY_COLUMNS]
    with default_connection.cursor() as cursor:
        cursor.execute(_CLAIM_SQL, columns)
        return {r[0] for r in cursor.fetchall()}


# --- monthly partitions ----------------------------------------------------------------------------------


def _month_start(month: date) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def partition_name(month: date) -> str:
    return f"ratings_rating_p{month.year:04d}_{month.month:02d}"


def _bounds(month: date) -> tuple[str, str]:
    return _month_start(month).isoformat(sep=" "), _month_start(_next_month(month)).isoformat(sep=" ")


def months_between(first: date, last: date) -> list[date]:
    out, m = [], date(first.year, first.month, 1)
    while m <= last:
        out.append(m)
        m = _next_month(m)
    return out


def current_month() -> date:
    today = timezone.localdate()
    return date(today.year, today.month, 1)


def _add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def _existing(cursor) -> set[str]:
    cursor.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
        [TABLE],
    )
    return {r[0] for r in cursor.fetchall()}


def _create_partition(cursor, month: date) -> bool:
    """Create the month's partition; rows of that month already in DEFAULT are moved into it.

    PostgreSQL refuses a new partition whose range has rows in DEFAULT, so such rows are copied into a
    standalone table, deleted from DEFAULT (the key guard keeps their keys: the delete trigger is skipped)
    and the table is attached. All in the caller's transaction. Returns whether rows were moved.
    """
    name = partition_name(month)
    lo, hi = _bounds(month)
    cursor.execute(
        f"SELECT EXISTS (SELECT 1 FROM {DEFAULT_PARTITION} WHERE rated_at >= %s AND rated_at < %s)", [lo, hi]
    )
    if not cursor.fetchone()[0]:
        cursor.execute(f"CREATE TABLE {name} PARTITION OF {TABLE} FOR VALUES FROM ('{lo}') TO ('{hi}')")
        return False
    cursor.execute(f"CREATE TABLE {name} (LIKE {TABLE} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)")
    # The range as a CHECK lets ATTACH skip its validation scan of the new table.
    cursor.execute(
        f"ALTER TABLE {name} ADD CONSTRAINT {name}_range CHECK (rated_at IS NOT NULL AND rated_at >= '{lo}' "
        f"AND rated_at < '{hi}')"
    )
    cursor.execute(
        f"INSERT INTO {name} SELECT * FROM {DEFAULT_PARTITION} WHERE rated_at >= %s AND rated_at < %s", [lo, hi]
    )
    cursor.execute("SELECT set_config('haochaping.moving_ratings', 'on', true)")
    cursor.execute(f"DELETE FROM {DEFAULT_PARTITION} WHERE rated_at >= %s AND rated_at < %s", [lo, hi])
    cursor.execute("SELECT set_config('haochaping.moving_ratings', 'off', true)")
    cursor.execute(f"ALTER TABLE {TABLE} ATTACH PARTITION {name} FOR VALUES FROM ('{lo}') TO ('{hi}')")
    cursor.execute(f"ALTER TABLE {name} DROP CONSTRAINT {name}_range")
    return True


@dataclass
class EnsureReport:
    created: list[str]
    moved_from_default: list[str]


def ensure_partitions(months_ahead: int = 12, *, months: Iterable[date] = (), using: str | None = None) -> EnsureReport:
    """Create the partitions of this month and the next ``months_ahead`` (plus ``months``) where missing.

    Idempotent; each partition in its own transaction, so a long move out of DEFAULT holds its locks alone.
    """
    report = EnsureReport([], [])
    if not is_partitioned(using):
        return report
    conn = _conn(using)
    start = current_month()
    wanted = sorted({*(_add_months(start, i) for i in range(months_ahead + 1)), *months})
    for month in wanted:
        with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
            # One maintainer at a time (two workers, cron alongside): a transaction-level advisory lock.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext('haochaping.ratings.partitions'))")
            if partition_name(month) in _existing(cursor):
                continue
            moved = _create_partition(cursor, month)
            report.created.append(partition_name(month))
            if moved:
                report.moved_from_default.append(partition_name(month))
    return report


def default_months(using: str | None = None) -> list[date]:
    """The months (local time) of the ratings in DEFAULT, so that ``ensure --from-default`` can give them partitions."""
    if not is_partitioned(using):
        return []
    with _conn(using).cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT date_trunc('month', rated_at AT TIME ZONE %s)::date FROM {DEFAULT_PARTITION}",
            [settings.TIME_ZONE],
        )
        return sorted(r[0] for r in cursor.fetchall())


@dataclass
class PartitionInfo:
    name: str
    bounds: str
    rows: int
    exact: bool
    bytes: int


def partitions(*, exact: bool = False, using: str | None = None) -> list[PartitionInfo]:
    """The partitions, oldest first, DEFAULT last: rows from pg_class.reltuples (as of the last ANALYZE) or counted."""
    if not is_partitioned(using):
        return []
    out = []
    with _conn(using).cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint, pg_total_relation_size(c.oid) "
            "FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = %s::regclass",
            [TABLE],
        )
        for name, bound, tuples, size in cursor.fetchall():
            rows = max(int(tuples), 0)
            if exact:
                cursor.execute(f'SELECT count(*) FROM "{name}"')
                rows = cursor.fetchone()[0]
            out.append(PartitionInfo(name, _describe(name, bound), rows, exact, int(size)))
    out.sort(key=lambda p: (p.name == DEFAULT_PARTITION, p.name))
    return out


def _describe(name: str, bound: str) -> str:
    m = _PARTITION_NAME.match(name)
    if m:
        month = date(int(m[1]), int(m[2]), 1)
        return f"{month:%Y-%m-%d} – {_next_month(month):%Y-%m-%d} ({settings.TIME_ZONE})"
    return "DEFAULT" if bound == "DEFAULT" else bound


# --- the conversion (migration ratings 0009) -------------------------------------------------------------


def partition_table(conn, *, months_ahead: int = 12) -> None:
    """Turn a plain ratings_rating into the partitioned layout, in the caller's (the migration's) transaction.

    The new table keeps the columns, CHECK constraints, outgoing foreign keys and index names of the old
    one, and its id sequence continues where the old one stood. Unique indexes become plain ones (the
    look-ups need them; ratings_ratingkey enforces uniqueness) and the primary key becomes (id, rated_at).
    """
    with conn.cursor() as c:
        c.execute("SELECT EXISTS (SELECT 1 FROM pg_partitioned_table WHERE partrelid = to_regclass(%s))", [TABLE])
        if c.fetchone()[0]:
            return
        c.execute(f"ALTER TABLE {TABLE} RENAME TO {_OLD}")
        c.execute("SELECT pg_get_serial_sequence(%s, 'id')", [_OLD])
        old_seq = c.fetchone()[0]
        c.execute(f"ALTER SEQUENCE {old_seq} RENAME TO {_OLD}_id_seq")
        c.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "WHERE x.indrelid = %s::regclass AND NOT x.indisprimary ORDER BY i.relname",
            [_OLD],
        )
        indexes = c.fetchall()
        c.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass "
            "AND contype = 'f' ORDER BY conname",
            [_OLD],
        )
        foreign_keys = c.fetchall()
        c.execute(
            f"CREATE TABLE {TABLE} (LIKE {_OLD} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING CONSTRAINTS "
            f"INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE (rated_at)"
        )
        c.execute(f"CREATE TABLE {DEFAULT_PARTITION} PARTITION OF {TABLE} DEFAULT")
        c.execute(f"SELECT min(rated_at), max(rated_at) FROM {_OLD}")
        first, last = c.fetchone()
        start = current_month()
        months = set(months_between(start, _add_months(start, months_ahead)))
        if first is not None:
            tz = ZoneInfo(settings.TIME_ZONE)
            months.update(months_between(first.astimezone(tz).date(), last.astimezone(tz).date()))
        for month in sorted(months):
            lo, hi = _bounds(month)
            c.execute(f"CREATE TABLE {partition_name(month)} PARTITION OF {TABLE} FOR VALUES FROM ('{lo}') TO ('{hi}')")
        c.execute(f"INSERT INTO {TABLE} SELECT * FROM {_OLD}")
        c.execute(
            "INSERT INTO ratings_ratingkey (public_id, service_case_id, stage, sequence, client, idempotency_key, "
            f"pending) SELECT public_id, service_case_id, stage, sequence, client, idempotency_key, false FROM {_OLD}"
        )
        c.execute(f"SELECT last_value, is_called FROM {_OLD}_id_seq")
        last_value, is_called = c.fetchone()
        c.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, %s)", [TABLE, last_value, is_called])
        # Dropping frees the index names; anything still referencing the old table makes this fail loudly.
        c.execute(f"DROP TABLE {_OLD}")
        c.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT {TABLE}_pkey PRIMARY KEY (id, rated_at)")
        on_old = re.compile(rf" ON (?:\S+\.)?{_OLD} ")
        for _name, definition in indexes:
            definition = definition.replace("CREATE UNIQUE INDEX", "CREATE INDEX", 1)
            c.execute(on_old.sub(f" ON {TABLE} ", definition, count=1))
        for name, definition in foreign_keys:
            c.execute(f'ALTER TABLE {TABLE} ADD CONSTRAINT "{name}" {definition}')
        c.execute(TRIGGERS_SQL)
    _partitioned.clear()


def group_by_all_rating_columns() -> None:
    """Make Django GROUP BY every selected column of ratings_rating, not only its id, on PostgreSQL.

    Django groups an aggregate query by the primary keys of the models it selects (``SELECT case.*, rating.* …
    GROUP BY case.id, rating.id``), which PostgreSQL accepts only when that key is the table's primary key. The
    partitioned table's key is (id, rated_at), so such a query (e.g. cases annotated with a count,
    ``select_related("rating")``) would fail with a GroupingError. Listing every column is what Django does on
    other databases: correct everywhere, a little slower for these rare queries. Called by RatingsConfig.ready().
    """
    from django.db.backends.postgresql.features import DatabaseFeatures

    original = DatabaseFeatures.allows_group_by_selected_pks_on_model
    if getattr(original, "_rating_guard", False):
        return

    def allows_group_by_selected_pks_on_model(self, model) -> bool:
        if model._meta.db_table == "ratings_rating":
            return False
        return original(self, model)

    allows_group_by_selected_pks_on_model._rating_guard = True  # type: ignore[attr-defined]
    DatabaseFeatures.allows_group_by_selected_pks_on_model = allows_group_by_selected_pks_on_model
