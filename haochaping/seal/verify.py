"""``haochaping verify``: recompute every seal from the rows as they are now, and every block of the chain.

Streams each table in id order in chunks (keyset pagination) beside its seals in record id order, so memory stays
flat and each row is read once: a merge of two ordered streams, not a look-up per row.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time

from django.db.models import Min
from django.utils import timezone

from haochaping.seal.chain import GENESIS, block_hash, seal_line
from haochaping.seal.models import Block, DailyDigest, Kind, Seal, VerifyRun
from haochaping.seal.sealing import FIELDS, canonical, keys

CHUNK = 5_000


def models_by_kind() -> dict[str, type]:
    from haochaping.cases.models import CaseEvent
    from haochaping.ratings.models import Rating

    return {Kind.RATING.value: Rating, Kind.EVENT.value: CaseEvent}


def columns(kind: str) -> tuple[str, ...]:
    fields = FIELDS[kind]
    return fields if fields[0] == "id" else ("id", *fields)


def split(kind: str, row: tuple) -> tuple[int, tuple]:
    """(record id, the values the seal signs) of a row read with ``columns(kind)``."""
    return (row[0], row) if FIELDS[kind][0] == "id" else (row[0], row[1:])


@dataclass
class Finding:
    code: str  # altered / inserted / deleted / seal missing / seal altered / chain broken / unknown key / digest
    message: str

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass
class Result:
    findings: list[Finding] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.findings

    def summary(self) -> str:
        parts = ", ".join(f"{k} {v:,}" for k, v in self.checked.items())
        if self.ok:
            return f"OK: no tampering found ({parts})"
        return f"FAILED: {len(self.findings):,} finding(s) ({parts})"


def _chunks(qs, cols: tuple[str, ...], *, key: str = "id", after: int = 0) -> Iterator[list[tuple]]:
    pos = cols.index(key)
    while True:
        rows = list(qs.filter(**{f"{key}__gt": after}).order_by(key).values_list(*cols)[:CHUNK])
        if not rows:
            return
        yield rows
        after = rows[-1][pos]


def _start_after(model, kind: str, since: date | None) -> int:
    if since is None:
        return 0
    at = timezone.make_aware(datetime.combine(since, time.min))
    column = "rated_at" if kind == Kind.RATING else "at"
    first = model.objects.filter(**{f"{column}__gte": at}).aggregate(m=Min("id"))["m"]
    if first is None:
        return model.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return first - 1


def _name(kind: str, table: str, record_id: int, row: tuple | None) -> str:
    if kind == Kind.RATING and row is not None:
        return f"{table} id={record_id} public_id={row[1]}"
    return f"{table} id={record_id}"


def check_records(kind: str, model, since: date | None, result: Result) -> None:
    table = model._meta.db_table
    key_by_id = keys()
    cols = columns(kind)
    seals_qs = Seal.objects.filter(kind=kind)
    after = _start_after(model, kind, since)
    lo = after
    n = 0
    add = result.findings.append
    for rows in _chunks(model.objects.all(), cols, after=after):
        hi = rows[-1][0]
        by_record: dict[int, list[tuple]] = defaultdict(list)
        for s in (
            seals_qs.filter(record_id__gt=lo, record_id__lte=hi)
            .order_by("record_id", "version")
            .values_list("record_id", "version", "key_id", "mac")
        ):
            by_record[s[0]].append(s)
        for row in rows:
            record_id, values = split(kind, row)
            seals = by_record.pop(record_id, None)
            n += 1
            if not seals:
                add(Finding("inserted", f"{_name(kind, table, record_id, row)} has no seal (inserted or forged)"))
                continue
            versions = [s[1] for s in seals]
            if versions != list(range(1, len(versions) + 1)):
                missing = sorted(set(range(1, max(versions) + 1)) - set(versions))
                add(Finding("seal missing", f"{_name(kind, table, record_id, row)}: seal version(s) {missing} gone"))
            _, version, kid, seal_mac = seals[-1]
            key = key_by_id.get(kid)
            if key is None:
                add(Finding("unknown key", f"{_name(kind, table, record_id, row)}: sealed with unknown key {kid}"))
                continue
            expected = hmac.new(key, canonical(kind, values), hashlib.sha256).hexdigest()
            if not hmac.compare_digest(expected, seal_mac):
                add(Finding("altered", f"{_name(kind, table, record_id, row)} differs from its seal v{version}"))
        for record_id in sorted(by_record):
            add(Finding("deleted", f"{table} id={record_id} is gone; its seal remains"))
        lo = hi
    # Seals past the last row: their rows were deleted.
    for seals in _chunks(seals_qs.filter(record_id__gt=lo), ("record_id", "version"), key="record_id"):
        for record_id in sorted({s[0] for s in seals}):
            add(Finding("deleted", f"{table} id={record_id} is gone; its seal remains"))
    result.checked[table] = n


def check_chain(since: date | None, result: Result) -> None:
    add = result.findings.append
    blocks_qs = Block.objects.order_by("id")
    prev_hash = GENESIS
    if since is not None:
        at = timezone.make_aware(datetime.combine(since, time.min))
        before = Block.objects.filter(created_at__lt=at).order_by("-id").first()
        if before is not None:
            blocks_qs = blocks_qs.filter(id__gt=before.pk)
            prev_hash = before.hash
    blocks = list(blocks_qs)
    if not blocks:
        result.checked["blocks"] = 0
        return
    first_number = blocks[0].pk
    expected_number = first_number if since is not None else 1
    by_number = {b.pk: b for b in blocks}
    for b in blocks:
        if b.pk != expected_number:
            add(Finding("chain broken", f"at block {expected_number}: block(s) {expected_number}–{b.pk - 1} gone"))
        if b.prev_hash != prev_hash:
            add(Finding("chain broken", f"at block {b.pk}: prev_hash does not match block {b.pk - 1}'s hash"))
        if block_hash(b.prev_hash, b.pk, b) != b.hash:
            add(Finding("chain broken", f"at block {b.pk}: its hash does not match its content"))
        prev_hash, expected_number = b.hash, b.pk + 1
    # Recompute each block's digest from the seals that name it, in seal id order.
    digests: dict[int, hashlib._Hash] = defaultdict(hashlib.sha256)
    counts: dict[int, int] = defaultdict(int)
    start = min(b.first_seal_id for b in blocks) - 1
    seal_cols = ("id", "kind", "record_id", "version", "mac", "block")
    for seals in _chunks(Seal.objects.filter(block__gte=first_number), seal_cols, after=start):
        for seal_id, kind, record_id, version, seal_mac, number in seals:
            if number not in by_number:
                add(Finding("seal altered", f"seal id={seal_id} ({kind}:{record_id}) names block {number}, none"))
                continue
            digests[number].update(seal_line(kind, record_id, version, seal_mac))
            counts[number] += 1
    for b in blocks:
        if counts[b.pk] != b.seal_count or digests[b.pk].hexdigest() != b.digest:
            add(
                Finding(
                    "seal altered",
                    f"block {b.pk}: its seals (ids {b.first_seal_id}–{b.last_seal_id}) were altered or removed "
                    f"({counts[b.pk]:,} found, {b.seal_count:,} chained)",
                )
            )
    for d in DailyDigest.objects.filter(last_block__gte=first_number):
        b = by_number.get(d.last_block)
        if b is None or b.hash != d.block_hash:
            add(Finding("chain broken", f"daily digest of {d.day} does not match block {d.last_block}"))
    result.checked["blocks"] = len(blocks)


def verify(*, since: date | None = None, write: Callable[[str], None] | None = None, record: bool = True) -> Result:
    """Check every sealed table and the chain; ``write`` gets each finding as it is found (one line each)."""
    started = timezone.now()
    result = Result()
    for kind, model in models_by_kind().items():
        before = len(result.findings)
        check_records(kind, model, since, result)
        if write:
            for f in result.findings[before:]:
                write(str(f))
    before = len(result.findings)
    check_chain(since, result)
    if write:
        for f in result.findings[before:]:
            write(str(f))
    if record:
        lines = [str(f) for f in result.findings[:200]]
        if len(result.findings) > 200:
            lines.append(f"… {len(result.findings) - 200:,} more")
        VerifyRun.objects.create(
            started_at=started, finished_at=timezone.now(), since=since, checked=result.checked,
            findings=len(result.findings), report="\n".join([result.summary(), *lines]),
        )  # fmt: skip
    return result
