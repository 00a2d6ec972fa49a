"""Probes for the load balancer and the service manager (docs/deploy.md).

/healthz — liveness: the process answers and reaches the database (one SELECT 1); cheap enough for every second.
/readyz — readiness: the database, no unapplied migration, the task queue (Redis) and the cache all work. A new
instance is put into rotation only when it answers 200; a 503 names the failing check. No authentication: the
answers carry no data beyond which check failed (details go to the log).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor
from django.http import HttpRequest, JsonResponse

log = logging.getLogger(__name__)


class NotReady(Exception):
    """A check's failure with the short reason shown in the probe's answer."""


def healthz(request: HttpRequest) -> JsonResponse:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def check_database() -> str:
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT 1")
        if cursor.fetchone()[0] != 1:
            raise NotReady("SELECT 1")
    return "ok"


_migrations_applied = False  # once true it stays: the schema does not go back while the process runs


def check_migrations() -> str:
    global _migrations_applied
    if not _migrations_applied:
        executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        if plan:
            raise NotReady(f"{len(plan)} unapplied")
        _migrations_applied = True
    return "ok"


_redis_client = None


def check_queue() -> str:
    """Redis PING where the queue is RedisHuey; the SQLite queue is a local file, nothing to probe."""
    global _redis_client
    if not settings.HUEY.get("huey_class", "").endswith("RedisHuey"):
        return "skipped"
    if _redis_client is None:
        import redis

        # Own client with short timeouts: a hung Redis must fail the probe, not hang it.
        _redis_client = redis.Redis.from_url(settings.HUEY["url"], socket_timeout=2, socket_connect_timeout=2)
    if not _redis_client.ping():
        raise NotReady("PING")
    return "ok"


def check_cache() -> str:
    value = secrets.token_hex(8)
    key = f"haochaping:readyz:{value}"
    cache.set(key, value, 10)
    try:
        if cache.get(key) != value:
            raise NotReady("set/get")
    finally:
        cache.delete(key)
    return "ok"


CHECKS: dict[str, Callable[[], str]] = {
    "database": check_database,
    "migrations": check_migrations,
    "queue": check_queue,
    "cache": check_cache,
}


def readiness() -> tuple[bool, dict[str, str]]:
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        try:
            results[name] = check()
        except NotReady as exc:
            results[name] = f"failed: {exc}"
        except Exception as exc:  # any failure of a dependency is "not ready", never a 500
            log.warning("readiness check %s failed", name, exc_info=True)
            results[name] = f"failed: {type(exc).__name__}"
    return all(not r.startswith("failed") for r in results.values()), results


def readyz(request: HttpRequest) -> JsonResponse:
    ready, checks = readiness()
    if ready:
        return JsonResponse({"status": "ready", "checks": checks})
    failed = [name for name, result in checks.items() if result.startswith("failed")]
    return JsonResponse({"status": "unavailable", "failed": failed, "checks": checks}, status=503)
