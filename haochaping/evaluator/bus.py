"""The push server's source of "window W has a new prompt P" (docs/evaluator-push.md).

- PostgreSQL: LISTEN on the channel that prompt_push NOTIFYs in its transaction (delivered at commit, never on a
  rollback). After each (re)connect and after every quiet spell the bus reads the recent prompts again, so a
  dropped listener loses nothing; the push server ignores a prompt it has already passed on for that window.
- SQLite: no notifications; one thread reads the rows with an id above the last seen one every
  HAOCHAPING_EVALUATOR_TAIL_INTERVAL_MS. SQLite has one writer, so ids appear in commit order.
- MemoryBus: for tests and benchmarks without a database.

A bus's `run(deliver)` runs until cancelled and calls deliver(window_id, prompt_id) on the event loop. It never
runs the Django ORM on the event loop: the SQLite tail runs it in its own thread, PostgreSQL uses psycopg's
asynchronous connection.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from django.conf import settings
from django.db import connections

from haochaping.evaluator.models import EvaluatorPrompt
from haochaping.evaluator.push import CHANNEL

log = logging.getLogger(__name__)

Deliver = Callable[[int, int], None]
# Prompts older than this are dropped by the kiosk's GET anyway (services.PROMPT_TTL): no use passing them on.
PROMPT_TTL = timedelta(minutes=15)
# After a reconnect the catch-up reads back this many ids below the last one seen: on PostgreSQL ids are taken
# at insert, not at commit, so a prompt committed during the gap may have a lower id than one already seen.
CATCH_UP_SLACK = 1000
TAIL_BATCH = 1000
BACKOFF_MAX = 30.0


class MemoryBus:
    """In-process: publish(window_id, prompt_id) from the same event loop (tests, benchmarks)."""

    name = "memory"

    def __init__(self) -> None:
        self._queue: asyncio.Queue[tuple[int, int]] | None = None
        self.connected = True

    def _q(self) -> asyncio.Queue[tuple[int, int]]:
        if self._queue is None:
            self._queue = asyncio.Queue()
        return self._queue

    def publish(self, window_id: int, prompt_id: int) -> None:
        self._q().put_nowait((window_id, prompt_id))

    async def run(self, deliver: Deliver) -> None:
        queue = self._q()
        while True:
            window_id, prompt_id = await queue.get()
            deliver(window_id, prompt_id)


class SqliteTailBus:
    """Reads new prompt rows every `interval_ms`, starting from the newest at start, in one thread of its own."""

    name = "sqlite"

    def __init__(self, *, interval_ms: int | None = None, alias: str = "default") -> None:
        self.interval = (interval_ms or settings.HAOCHAPING_EVALUATOR_TAIL_INTERVAL_MS) / 1000
        self.alias = alias
        self.last_id: int | None = None
        self.connected = True

    # -- run in the bus's thread (Django connections are per thread)
    def newest_id(self) -> int:
        row = EvaluatorPrompt.objects.using(self.alias).order_by("-id").values_list("id", flat=True).first()
        return row or 0

    def rows_after(self, last_id: int) -> list[tuple[int, int]]:
        return list(
            EvaluatorPrompt.objects.using(self.alias)
            .filter(id__gt=last_id)
            .order_by("id")
            .values_list("id", "window_id")[:TAIL_BATCH]
        )

    def _close(self) -> None:
        connections[self.alias].close()

    def read(self) -> list[tuple[int, int]]:
        """One tail step: the (prompt_id, window_id) rows committed since the last step."""
        if self.last_id is None:
            self.last_id = self.newest_id()
            return []
        rows = self.rows_after(self.last_id)
        if rows:
            self.last_id = rows[-1][0]
        return rows

    async def run(self, deliver: Deliver) -> None:
        loop = asyncio.get_running_loop()
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="haochaping-push-tail")
        backoff = self.interval
        try:
            while True:
                try:
                    rows = await loop.run_in_executor(executor, self.read)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    # A locked or missing database: keep trying, slower.
                    # Once with the traceback, then a line per failure until it works again.
                    log.warning("evaluator push: reading new prompts failed", exc_info=self.connected)
                    self.connected = False
                    backoff = min(max(backoff * 2, 1.0), BACKOFF_MAX)
                    await asyncio.sleep(backoff)
                    continue
                self.connected = True
                backoff = self.interval
                for prompt_id, window_id in rows:
                    deliver(window_id, prompt_id)
                if len(rows) < TAIL_BATCH:
                    await asyncio.sleep(self.interval)
        finally:
            try:
                await asyncio.shield(loop.run_in_executor(executor, self._close))
            except BaseException:  # noqa: BLE001 - shutting down
                pass
            executor.shutdown(wait=False)


def postgres_params(alias: str = "default") -> dict:
    """libpq connection parameters of a Django PostgreSQL database (its OPTIONS less Django's own keys)."""
    config = connections[alias].settings_dict
    params = {
        "dbname": config.get("NAME") or "",
        "user": config.get("USER") or "",
        "password": config.get("PASSWORD") or "",
        "host": config.get("HOST") or "",
        "port": str(config.get("PORT") or ""),
    }
    params = {key: value for key, value in params.items() if value}
    options = dict(config.get("OPTIONS") or {})
    for django_only in (
        "pool",
        "server_side_binding",
        "isolation_level",
        "assume_role",
        "cursor_factory",
        "context",
        "prepare_threshold",
    ):
        options.pop(django_only, None)
    params.update(options)
    params.setdefault("application_name", "haochaping-push")
    return params


class PostgresBus:
    """LISTEN haochaping_evaluator on an autocommit psycopg AsyncConnection; reconnects with backoff."""

    name = "postgresql"

    def __init__(self, *, params: dict | None = None, quiet_check: float = 30.0, alias: str = "default") -> None:
        self.params = params
        self.alias = alias
        self.quiet_check = quiet_check
        self.last_id: int | None = None
        self.connected = False
        self.table = EvaluatorPrompt._meta.db_table

    async def catch_up(self, conn, deliver: Deliver) -> None:
        """Pass on the recent prompts above the last id seen (less the slack); first time, only note the newest."""
        if self.last_id is None:
            cursor = await conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {self.table}")  # noqa: S608
            self.last_id = (await cursor.fetchone())[0]
            return
        cursor = await conn.execute(
            f"SELECT id, window_id FROM {self.table} WHERE id > %s AND created_at >= now() - %s ORDER BY id",  # noqa: S608
            [max(self.last_id - CATCH_UP_SLACK, 0), PROMPT_TTL],
        )
        for prompt_id, window_id in await cursor.fetchall():
            deliver(window_id, prompt_id)
            self.last_id = max(self.last_id, prompt_id)

    async def run(self, deliver: Deliver) -> None:
        import psycopg

        params = self.params if self.params is not None else postgres_params(self.alias)
        backoff = 1.0
        while True:
            try:
                conn = await psycopg.AsyncConnection.connect(autocommit=True, **params)
                async with conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    # After LISTEN: whatever commits from now on is notified; what came before is read here.
                    await self.catch_up(conn, deliver)
                    self.connected = True
                    backoff = 1.0
                    while True:
                        async for notice in conn.notifies(timeout=self.quiet_check):
                            parsed = _parse(notice.payload)
                            if parsed is not None:
                                deliver(*parsed)
                                self.last_id = max(self.last_id or 0, parsed[1])
                        # A quiet spell: a query proves the connection alive and picks up anything missed.
                        await self.catch_up(conn, deliver)
            except asyncio.CancelledError:
                self.connected = False
                raise
            except Exception:
                self.connected = False
                log.warning("evaluator push: PostgreSQL listener lost; reconnecting in %.0f s", backoff, exc_info=True)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, BACKOFF_MAX)


def _parse(payload: str) -> tuple[int, int] | None:
    try:
        window_id, prompt_id = (int(part) for part in payload.split())
    except ValueError:
        log.warning("evaluator push: ignoring notification %r", payload[:100])
        return None
    return window_id, prompt_id


def bus_for_settings(alias: str = "default"):
    """The bus for the configured database: PostgreSQL listens, SQLite tails."""
    engine = settings.DATABASES[alias]["ENGINE"]
    if "postgresql" in engine:
        return PostgresBus(alias=alias)
    if "sqlite3" in engine:
        return SqliteTailBus(alias=alias)
    raise RuntimeError(f"evaluator push: no bus for database engine {engine}")
