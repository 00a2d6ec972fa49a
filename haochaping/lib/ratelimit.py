"""Rate limits for public endpoints (per device, IP or phone number), answered with a clear 429.

Fixed-window counters in Django's cache: with the default per-process cache the limit holds per server
process; configure a shared cache (Redis, CACHE_URL) in production so it holds across processes.
"""

from __future__ import annotations

import time

from django.core.cache import cache
from django.http import HttpRequest

from haochaping.lib.errors import DomainError


class RateLimited(DomainError):
    status = 429

    def __init__(self, message: str, retry_after: int):
        super().__init__(message)
        self.retry_after = retry_after


def client_ip(request: HttpRequest) -> str:
    """The caller's address: REMOTE_ADDR (the reverse proxy sets it from X-Real-IP; see docs/deployment)."""
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def hit(bucket: str, key: str, *, limit: int, window_seconds: int) -> None:
    """Count one request of `key` in `bucket`; raise RateLimited (429) beyond `limit` per window."""
    window = int(time.time() // window_seconds)
    cache_key = f"rl:{bucket}:{key}:{window}"
    if cache.add(cache_key, 1, timeout=window_seconds + 1):
        count = 1
    else:
        try:
            count = cache.incr(cache_key)
        except ValueError:  # expired between add and incr
            cache.set(cache_key, 1, timeout=window_seconds + 1)
            count = 1
    if count > limit:
        retry_after = window_seconds - int(time.time() % window_seconds)
        raise RateLimited(f"请求过于频繁，请在{retry_after}秒后重试", retry_after=retry_after)
