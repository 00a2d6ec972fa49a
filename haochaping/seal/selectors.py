"""What the chain page (and later the public portal) shows."""

from __future__ import annotations

from typing import Any

from haochaping.seal.chain import lag, totals
from haochaping.seal.models import Block, DailyDigest, VerifyRun


def public_digests(days: int = 30) -> list[dict[str, Any]]:
    """每日摘要 for publication (the public portal): day, last block number and hash, blocks and seals that day.

    Publishing them outside the database is what makes a rewrite of the chain detectable: anyone holding a copy
    can compare the hash of that day's last block with ``haochaping verify``'s chain."""
    return list(
        DailyDigest.objects.order_by("-day").values("day", "last_block", "block_hash", "blocks", "seals")[:days]
    )


def chain_overview(*, blocks: int = 20, days: int = 14) -> dict[str, Any]:
    return {
        "blocks": list(Block.objects.order_by("-id")[:blocks]),
        "digests": public_digests(days),
        "lag": lag(),
        "totals": totals(),
        "last_verify": VerifyRun.objects.order_by("-id").first(),
    }
