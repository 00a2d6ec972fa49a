"""The hash chain: the sealer appends blocks over the seals not chained yet, and records the daily digest.

Block hash = SHA-256(prev_hash || body), body = "number|digest|seal_count|ratings|events|first|last|created_at";
digest = SHA-256 over the block's seal lines "kind:record_id:version:mac\\n" in seal id order. Seals are chained by
setting ``Seal.block`` (not by id range): a seal whose transaction commits late is taken by the next block.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Count, Max
from django.utils import timezone

from haochaping.seal.models import Block, DailyDigest, Kind, Seal
from haochaping.seal.sealing import current_key, mac

GENESIS = "0" * 64
BLOCK_MAX = 50_000  # seals per block: bounds the sealer's transaction
CHUNK = 5_000


def seal_line(kind: str, record_id: int, version: int, seal_mac: str) -> bytes:
    return f"{kind}:{record_id}:{version}:{seal_mac}\n".encode()


def block_body(number: int, b: dict | Block) -> str:
    get = b.get if isinstance(b, dict) else lambda name: getattr(b, name)
    created: datetime = get("created_at")
    return "|".join(
        str(x)
        for x in (
            number, get("digest"), get("seal_count"), get("ratings"), get("events"), get("first_seal_id"),
            get("last_seal_id"), created.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        )
    )  # fmt: skip


def block_hash(prev_hash: str, number: int, b: dict | Block) -> str:
    return hashlib.sha256((prev_hash + block_body(number, b)).encode()).hexdigest()


@dataclass
class SealReport:
    blocks: int = 0
    seals: int = 0
    backfilled: dict | None = None


def append_blocks(*, limit: int = BLOCK_MAX) -> SealReport:
    """Chain every seal not chained yet, in blocks of at most ``limit`` seals; record the daily digests."""
    report = SealReport()
    while True:
        n = _append_block(limit)
        if not n:
            return report
        report.blocks += 1
        report.seals += n


def _append_block(limit: int) -> int:
    with transaction.atomic():
        # The last block, locked: two sealers take turns (on SQLite the write lock does the same); the unique
        # prev_hash stops a second first block.
        last = Block.objects.select_for_update().order_by("-id").first()
        queue = Seal.objects.filter(block__isnull=True).order_by("id")
        pending = list(queue.values_list("id", "kind", "record_id", "version", "mac")[:limit])
        if not pending:
            return 0
        digest = hashlib.sha256()
        counts = {Kind.RATING.value: 0, Kind.EVENT.value: 0}
        for _id, kind, record_id, version, seal_mac in pending:
            digest.update(seal_line(kind, record_id, version, seal_mac))
            counts[kind] = counts.get(kind, 0) + 1
        number = (last.pk if last else 0) + 1
        prev = last.hash if last else GENESIS
        fields = {
            "digest": digest.hexdigest(),
            "seal_count": len(pending),
            "ratings": counts[Kind.RATING.value],
            "events": counts[Kind.EVENT.value],
            "first_seal_id": pending[0][0],
            "last_seal_id": pending[-1][0],
            "created_at": timezone.now(),
        }
        block = Block(id=number, prev_hash=prev, hash=block_hash(prev, number, fields), **fields)
        block.save(force_insert=True)
        ids = [p[0] for p in pending]
        # By explicit ids: a range would also catch a seal committed since the read, which the digest lacks.
        for i in range(0, len(ids), CHUNK):
            Seal.objects.filter(id__in=ids[i : i + CHUNK]).update(block=number)
        _record_day(block)
        return len(pending)


def _record_day(block: Block) -> None:
    day = timezone.localdate(block.created_at)
    digest = DailyDigest.objects.filter(day=day).first()
    if digest is None:
        DailyDigest.objects.create(
            day=day, last_block=block.pk, block_hash=block.hash, blocks=1, seals=block.seal_count,
            updated_at=block.created_at,
        )  # fmt: skip
    else:
        DailyDigest.objects.filter(pk=digest.pk).update(
            last_block=block.pk, block_hash=block.hash, blocks=digest.blocks + 1,
            seals=digest.seals + block.seal_count, updated_at=block.created_at,
        )  # fmt: skip


def backfill(*, write: Callable[[str], None] | None = None) -> dict[str, int]:
    """Seal the records that have no seal at all (bulk loads around intake: the demo generator, a restore).

    Run it right after such a load, and run ``verify`` first when in doubt: it seals whatever it finds unsealed,
    a row forged in the database included.
    """
    from haochaping.seal.verify import models_by_kind

    out = {}
    for kind, model in models_by_kind().items():
        out[kind] = _backfill_kind(kind, model)
        if write:
            write(f"{kind}: {out[kind]:,}")
    return out


def _backfill_kind(kind: str, model) -> int:
    from haochaping.seal.verify import columns, split

    kid, key = current_key()
    sealed, after = 0, 0
    last_id = model.objects.aggregate(m=Max("id"))["m"] or 0
    while after < last_id:
        upto = after + CHUNK * 4
        have = set(
            Seal.objects.filter(kind=kind, record_id__gt=after, record_id__lte=upto)
            .values_list("record_id", flat=True)
            .distinct()
        )
        rows = model.objects.filter(id__gt=after, id__lte=upto).order_by("id").values_list(*columns(kind))
        now = timezone.now()
        seals = []
        for r in rows:
            record_id, values = split(kind, r)
            if record_id not in have:
                seal_mac = mac(kind, values, key)
                seals.append(Seal(kind=kind, record_id=record_id, key_id=kid, mac=seal_mac, sealed_at=now))
        if seals:
            with transaction.atomic():
                Seal.objects.bulk_create(seals, batch_size=2000, ignore_conflicts=True)
            sealed += len(seals)
        after = upto
    return sealed


def lag() -> int:
    return Seal.objects.filter(block__isnull=True).count()


def totals() -> dict[str, int]:
    return dict(Seal.objects.values_list("kind").annotate(n=Count("id")).values_list("kind", "n"))
