"""Record seals: HMAC-SHA256 over a canonical serialisation of a record's content, written with the record.

Only the app holds the key (settings.HAOCHAPING_SEAL_KEY): a database user without it can change rows but cannot
make seals that match, so ``haochaping verify`` finds the change. Ratings are sealed by an intake after-write
hook (one INSERT … SELECT per batch), a new version when their adoption changes; case events by a post_save
signal and, for the opening events intake writes in bulk, by an explicit call from cases/opening.py.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils import timezone

from haochaping.seal.models import Kind, Seal

# The columns that matter for the figures and the identity of a rating. Not the encrypted personal data
# (rater_*_enc/hash): those are re-encrypted on key rotation and blanked by retention, which must not look like
# tampering. Not the id either: intake seals before it knows it; public_id identifies the rating.
RATING_FIELDS = (
    "public_id", "target", "service_case_id", "stage", "sequence", "grade", "channel", "unit_id", "region_id",
    "hall_id", "window_id", "staff_id", "service_item_id", "is_default", "rated_at", "received_at", "client",
    "comment", "tags", "answers", "adoption",
)  # fmt: skip
EVENT_FIELDS = ("id", "case_id", "action", "from_state", "to_state", "actor_id", "actor_label", "at", "note", "data")
FIELDS = {Kind.RATING: RATING_FIELDS, Kind.EVENT: EVENT_FIELDS}


def key_id(key: str) -> str:
    """A short public fingerprint of a key, stored with each seal so verify knows which key made it."""
    return hashlib.sha256(b"haochaping-seal-key-id:" + key.encode()).hexdigest()[:12]


@cache
def _keys(current: str, old: tuple[str, ...]) -> dict[str, bytes]:
    return {key_id(k): k.encode() for k in (current, *old)}


def keys() -> dict[str, bytes]:
    """Key id → key bytes, the current key and the retired ones (still needed to verify old seals)."""
    return _keys(settings.HAOCHAPING_SEAL_KEY, tuple(k.strip() for k in settings.HAOCHAPING_SEAL_OLD_KEYS))


def current_key() -> tuple[str, bytes]:
    k = settings.HAOCHAPING_SEAL_KEY
    return key_id(k), k.encode()


def _value(v: Any) -> Any:
    if isinstance(v, datetime):
        return v.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if isinstance(v, (list, dict)):
        # As the database gives it back: JSON types only, object keys in any order (sort_keys below).
        return json.loads(json.dumps(v, ensure_ascii=False)) if v else v
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    return str(v)  # UUID (a string hex on SQLite, a UUID on PostgreSQL: both print the same after normalising)


def canonical(kind: str, values: Sequence[Any]) -> bytes:
    """The bytes a seal signs: kind, then the content values in the kind's field order, as compact JSON."""
    if kind == Kind.RATING:
        values = list(values)
        values[0] = _uuid_text(values[0])
    body = json.dumps([_value(v) for v in values], ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    return f"{kind}\n{body}".encode()


def _uuid_text(v: Any) -> str:
    s = str(v).replace("-", "").lower()
    return s


def mac(kind: str, values: Sequence[Any], key: bytes) -> str:
    return hmac.new(key, canonical(kind, values), hashlib.sha256).hexdigest()


def row_values(kind: str, row: dict) -> tuple:
    return tuple(row[f] for f in FIELDS[kind])


# --- ratings ------------------------------------------------------------------------------------------------


def wants_all(row: dict) -> bool:
    return True


def _rating_sql(n: int) -> str:
    q = connection.ops.quote_name
    from haochaping.ratings.models import Rating

    seal_t, rating_t = q(Seal._meta.db_table), q(Rating._meta.db_table)
    insert = f"INSERT INTO {seal_t} (kind, record_id, version, key_id, mac, sealed_at, block)"
    select = f"SELECT %s, r.id, %s, %s, v.mac, %s, NULL FROM {{source}} JOIN {rating_t} r ON r.public_id = v.pid"
    if connection.vendor == "postgresql":
        # The rated_at range lets PostgreSQL prune the monthly partitions (docs/partitioning.md): a public_id alone
        # would be looked up in every month's index.
        source = "unnest(%s::uuid[], %s::varchar[]) AS v(pid, mac)"
        return f"{insert} {select.format(source=source)} AND r.rated_at BETWEEN %s AND %s"
    values = ", ".join(["(?, ?)"] * n)
    return f"WITH v(pid, mac) AS (VALUES {values}) {insert} {select.format(source='v').replace('%s', '?')}"


def ratings_written(rows: list[dict]) -> None:
    """Intake after-write hook: seal the ratings that landed, one statement for the batch.

    The MACs are computed here from the row dicts as written; the INSERT … SELECT joins them to the stored rows by
    public_id, which gives each seal its rating id without a round trip (and leaves out rows that did not land).
    """
    kid, key = current_key()
    pids, macs = [], []
    for row in rows:
        pids.append(row["public_id"])
        macs.append(mac(Kind.RATING, row_values(Kind.RATING, row), key))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    head = [Kind.RATING.value, 1, kid, now]
    # The driver's own cursor, as the rollups do (analytics/rollups.py): on a single rating Django's wrapper costs
    # as much as the statement. Same connection, same transaction.
    connection.ensure_connection()
    cursor = connection.connection.cursor()
    try:
        if connection.vendor == "postgresql":
            rated = [row["rated_at"] for row in rows]
            cursor.execute(_rating_sql(len(rows)), [*head, pids, macs, min(rated), max(rated)])
        else:
            pairs = [p for pid, m in zip(pids, macs, strict=True) for p in (_uuid_text(pid), m)]
            cursor.execute(_rating_sql(len(rows)), [*pairs, *head])
    finally:
        cursor.close()


def adoption_changed(rating_row: dict, new_adoption: str) -> None:
    """Adoption hook (不予采纳 and back): a new version of the rating's seal; the earlier ones stay."""
    from haochaping.ratings.models import Rating

    values = Rating.objects.filter(pk=rating_row["id"]).values_list(*RATING_FIELDS).get()
    last = Seal.objects.filter(kind=Kind.RATING, record_id=rating_row["id"]).order_by("-version").first()
    # A rating never sealed (bulk-loaded before a backfill) gets its first seal now, numbered after a version 1
    # that the backfill would otherwise write for it: the backfill only seals records with no seal at all.
    version = last.version + 1 if last else 1
    kid, key = current_key()
    Seal.objects.create(
        kind=Kind.RATING,
        record_id=rating_row["id"],
        version=version,
        key_id=kid,
        mac=mac(Kind.RATING, values, key),
        sealed_at=timezone.now(),
    )


# --- case events ---------------------------------------------------------------------------------------------


def event_saved(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """post_save of CaseEvent (every CaseEvent.objects.create: case actions, complaints)."""
    if not created or raw:
        return
    kid, key = current_key()
    values = tuple(getattr(instance, f) for f in EVENT_FIELDS)
    Seal.objects.create(
        kind=Kind.EVENT,
        record_id=instance.pk,
        key_id=kid,
        mac=mac(Kind.EVENT, values, key),
        sealed_at=timezone.now(),
    )


def events_inserted(rating_ids: Iterable[int]) -> None:
    """Seal the opening events cases/opening.py writes with INSERT … SELECT for the given rating ids."""
    from haochaping.cases.models import CaseEvent

    rows = (
        CaseEvent.objects.filter(case__rating_id__in=list(rating_ids), action="open")
        .order_by()  # no sort: the seals' order does not matter
        .values_list(*EVENT_FIELDS)
    )
    seal_event_rows(list(rows), skip_conflicts=True)


def seal_event_rows(rows: list[tuple], *, skip_conflicts: bool = False) -> int:
    kid, key = current_key()
    now = timezone.now()
    seals = [
        Seal(kind=Kind.EVENT, record_id=r[0], key_id=kid, mac=mac(Kind.EVENT, r, key), sealed_at=now) for r in rows
    ]
    Seal.objects.bulk_create(seals, batch_size=2000, ignore_conflicts=skip_conflicts)
    return len(seals)
