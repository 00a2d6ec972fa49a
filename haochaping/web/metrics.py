"""Prometheus metrics (/metrics) and the WSGI wrapper that counts every request (docs/deploy.md).

The wrapper sits outside ``IntakeFastPath`` in haochaping/wsgi.py, so the rating POSTs that never reach Django are
counted too. It also writes the optional access log (LOG_REQUESTS=1) and, behind a trusted reverse proxy, takes
the client's address from X-Real-IP into REMOTE_ADDR, which the rate limits, login throttling and the audit log
read.

granian runs several worker processes: with PROMETHEUS_MULTIPROC_DIR set (`haochaping serve` sets it) each process
writes its counters to files there and a scrape sums them (prometheus_client's multiprocess mode). The database
gauges are read at scrape time by ``DatabaseCollector``, not kept in the processes.
"""

from __future__ import annotations

import hmac
import importlib
import ipaddress
import logging
import os
import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from time import perf_counter

from django.conf import settings
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)
access_log = logging.getLogger("haochaping.access")

# Decided when prometheus_client is first imported (it picks its value class then): `serve` sets it before exec.
MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))

_registry = CollectorRegistry(auto_describe=True)
REQUESTS = Counter(
    "haochaping_http_requests",
    "HTTP 请求数（方法、状态码、路径分组）/ HTTP requests by method, status and path group",
    ["method", "status", "group"],
    registry=_registry,
)
LATENCY = Histogram(
    "haochaping_http_request_duration_seconds",
    "请求耗时（至响应开始）/ time until the response starts, by path group",
    ["group"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
    registry=_registry,
)

# Path groups: a fixed, small label set (a label per path would grow with every token and 办件 number).
INTAKE_PATHS = frozenset({"/api/v1/ratings", "/api/v1/ratings/batch"})
_GROUPS = {
    "open": "open",
    "admin": "admin",
    "static": "static",
    "media": "static",
    "r": "rate",
    "q": "rate",
    "evaluator": "rate",
    "sms": "sms",
    "healthz": "probe",
    "readyz": "probe",
    "metrics": "probe",
}
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def path_group(method: str, path: str) -> str:
    if method == "POST" and path in INTAKE_PATHS:
        return "api_intake"
    end = path.find("/", 1)
    first = path[1:end] if end > 0 else path[1:]
    if first == "api":
        return "open_api" if path.startswith("/api/open/") else "api"
    return _GROUPS.get(first, "page")


# Evaluation tokens (24 characters), case-feedback tokens (32) and QR slugs (16) live in paths: the access log
# writes such segments as "*". Query strings are never logged.
MASK_FROM = 16


def safe_path(path: str) -> str:
    if len(path) < MASK_FROM:
        return path
    return "/".join("*" if len(segment) >= MASK_FROM else segment for segment in path.split("/"))


def _networks(cidrs: Iterable[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs if c.strip())


def _address_in(address: str, networks) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    if ip.version == 6 and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in networks)


class Observed:
    """WSGI wrapper: request counter and latency histogram, access log, client address from a trusted proxy."""

    def __init__(
        self,
        app: Callable,
        *,
        log_requests: bool = False,
        trusted_proxies: Iterable[str] = (),
    ):
        self.app = app
        self.log_requests = log_requests
        self._proxies = _networks(trusted_proxies)
        self._trusted: dict[str, bool] = {}  # the few proxy addresses seen, so a request parses none
        self._children: dict[tuple[str, str, str], tuple] = {}  # labels() takes a lock and builds a key

    def __call__(self, environ: dict, start_response: Callable):
        started = perf_counter()
        if self._proxies:
            self._take_client_address(environ)
        status = ["000"]

        def observe_start(code: str, headers: list, exc_info=None):
            status[0] = code[:3]
            return start_response(code, headers, exc_info) if exc_info else start_response(code, headers)

        try:
            return self.app(environ, observe_start)
        except BaseException:
            status[0] = "500"
            raise
        finally:
            self._record(environ, status[0], perf_counter() - started)

    def _record(self, environ: dict, status: str, seconds: float) -> None:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in _METHODS:
            method = "OTHER"
        path = environ.get("PATH_INFO", "/")
        key = (method, status, path_group(method, path))
        children = self._children.get(key)
        if children is None:
            children = self._children[key] = (REQUESTS.labels(*key), LATENCY.labels(key[2]))
        children[0].inc()
        children[1].observe(seconds)
        if self.log_requests:
            ms = round(seconds * 1000, 1)
            shown = safe_path(path)
            address = environ.get("REMOTE_ADDR", "")
            access_log.info(
                "%s %s %s %.1fms %s",
                method,
                shown,
                status,
                ms,
                address,
                extra={"method": method, "path": shown, "status": int(status), "duration_ms": ms, "remote": address},
            )

    def _take_client_address(self, environ: dict) -> None:
        real = environ.get("HTTP_X_REAL_IP")
        if not real:
            return
        remote = environ.get("REMOTE_ADDR", "")
        trusted = self._trusted.get(remote)
        if trusted is None:
            trusted = _address_in(remote, self._proxies)
            if len(self._trusted) < 256:
                self._trusted[remote] = trusted
        if trusted:
            environ["REMOTE_ADDR"] = real.strip()


# --- Scrape ---


class DatabaseCollector:
    """Gauges read from the database at scrape time (cheap queries only: a scrape comes every 15–60 s)."""

    def collect(self):
        from haochaping.cases.models import OPEN_STATES, Case
        from haochaping.ratings.models import Rating

        up = 1.0
        try:
            stored = Rating.objects.aggregate(m=Max("id"))["m"] or 0
            open_cases = Case.objects.filter(state__in=OPEN_STATES).count()
        except Exception:
            log.exception("metrics: database gauges failed")
            up = 0.0
        else:
            yield GaugeMetricFamily(
                "haochaping_ratings_stored", "已存评价数（最大 id）/ ratings stored (largest id)", value=stored
            )
            yield GaugeMetricFamily("haochaping_cases_open", "未办结差评工单 / open cases", value=open_cases)
            yield from _exchange_gauges()
        yield GaugeMetricFamily(
            "haochaping_metrics_database_up", "数据库指标读取成功 / database gauges were read", value=up
        )


_NAME = re.compile(r"[^a-zA-Z0-9_]")


def _exchange_gauges():
    """`haochaping.exchange.selectors.metrics()` → name: value, where that module exists."""
    try:
        metrics = importlib.import_module("haochaping.exchange.selectors").metrics
    except (ImportError, AttributeError):
        return
    try:
        values = metrics()
    except Exception:
        log.exception("metrics: exchange gauges failed")
        return
    for name, value in values.items():
        yield GaugeMetricFamily(f"haochaping_exchange_{_NAME.sub('_', name)}", f"exchange: {name}", value=float(value))


@lru_cache(maxsize=1)
def scrape_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    if MULTIPROCESS:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # every worker's files, read at each scrape
    else:
        registry.register(REQUESTS)
        registry.register(LATENCY)
    registry.register(DatabaseCollector())
    return registry


def metrics_allowed(request: HttpRequest) -> bool:
    token = settings.HAOCHAPING_METRICS_TOKEN
    if token:
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return True
    allowed = _allowed_networks(tuple(settings.HAOCHAPING_METRICS_ALLOW))
    return _address_in(request.META.get("REMOTE_ADDR") or "", allowed)


@lru_cache(maxsize=4)
def _allowed_networks(cidrs: tuple[str, ...]):
    return _networks(cidrs)


def metrics(request: HttpRequest) -> HttpResponse:
    if not metrics_allowed(request):
        return HttpResponse("403 Forbidden\n", status=403, content_type="text/plain; charset=utf-8")
    return HttpResponse(generate_latest(scrape_registry()), content_type=CONTENT_TYPE_LATEST)
