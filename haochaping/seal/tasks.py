"""Periodic task of the worker: chain the seals written in the last minute (docs/tamper-evidence.md)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task, lock_task

logger = logging.getLogger(__name__)


@db_periodic_task(crontab(minute="*"))
@lock_task("haochaping-seal-chain")
def extend_chain() -> None:
    """Append a block over the seals not chained yet, and update today's digest."""
    from haochaping.seal.chain import append_blocks

    report = append_blocks()
    if report.blocks:
        logger.info("seal chain: %d block(s), %d seal(s)", report.blocks, report.seals)
