"""Prometheus metrics: access control of /metrics, the WSGI wrapper's counters (fast path included), the gauges
read at scrape time, the access log and the client address from a trusted proxy."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import types
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from haochaping.web import metrics
from haochaping.web.management.commands.serve import metrics_directory
from haochaping.wsgi import application

pytestmark = pytest.mark.django_db


def environ(path: str, *, method: str = "GET", body: bytes = b"", **extra) -> dict:
    env: dict = {}
    setup_testing_defaults(env)
    env.update(REQUEST_METHOD=method, PATH_INFO=path, CONTENT_LENGTH=str(len(body)), REMOTE_ADDR="127.0.0.1")
    env["wsgi.input"] = io.BytesIO(body)
    env.update(extra)
    return env


def call(app, env: dict) -> tuple[int, bytes]:
    seen: dict = {}

    def start_response(status, headers, exc_info=None):
        seen["status"] = status

    chunks = app(env, start_response)
    try:
        body = b"".join(chunks)
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return int(seen["status"][:3]), body


@pytest.fixture
def keep_connection():
    # As Django's test client does: the request signals must not close the test database connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def counted(method: str, status: str, group: str) -> float:
    return metrics.REQUESTS.labels(method, status, group)._value.get()


def test_metrics_are_refused_to_other_addresses():
    response = Client(REMOTE_ADDR="203.0.113.7").get("/metrics")
    assert response.status_code == 403


def test_metrics_answer_the_allowed_addresses_and_the_token(settings):
    assert Client().get("/metrics").status_code == 200  # the test client's 127.0.0.1 is in the default list
    assert Client(REMOTE_ADDR="::1").get("/metrics").status_code == 200
    settings.HAOCHAPING_METRICS_ALLOW = ["10.1.0.0/16"]
    assert Client(REMOTE_ADDR="10.1.2.3").get("/metrics").status_code == 200
    assert Client().get("/metrics").status_code == 403
    settings.HAOCHAPING_METRICS_TOKEN = "scrape-secret"
    outsider = Client(REMOTE_ADDR="203.0.113.7")
    assert outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer scrape-secret").status_code == 200
    assert outsider.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 403


def test_the_wsgi_wrapper_counts_django_and_the_fast_path(world, keep_connection):
    before_probe = counted("GET", "200", "probe")
    before_intake = counted("POST", "401", "api_intake")
    assert call(application, environ("/healthz"))[0] == 200
    # The rating fast path answers before Django (no key: 401); the wrapper outside it still counts it.
    assert call(application, environ("/api/v1/ratings", method="POST", body=b"{}"))[0] == 401
    assert counted("GET", "200", "probe") == before_probe + 1
    assert counted("POST", "401", "api_intake") == before_intake + 1
    status, body = call(application, environ("/metrics"))
    assert status == 200
    text = body.decode()
    assert 'haochaping_http_requests_total{group="api_intake",method="POST",status="401"}' in text
    assert 'haochaping_http_request_duration_seconds_bucket{group="probe",le="0.1"}' in text
    assert "haochaping_ratings_stored 0.0" in text
    assert "haochaping_cases_open 0.0" in text
    assert "haochaping_metrics_database_up 1.0" in text


def test_the_exchange_gauges_are_exported_when_the_module_has_them(monkeypatch):
    module = types.ModuleType("haochaping.exchange.selectors")
    module.metrics = lambda: {"outbox_pending": 3, "last push age": 12.5}
    monkeypatch.setitem(sys.modules, "haochaping.exchange.selectors", module)
    text = Client().get("/metrics").content.decode()
    assert "haochaping_exchange_outbox_pending 3.0" in text
    assert "haochaping_exchange_last_push_age 12.5" in text
    monkeypatch.setitem(sys.modules, "haochaping.exchange.selectors", types.ModuleType("empty"))
    assert "haochaping_exchange_" not in Client().get("/metrics").content.decode()


def test_path_groups_stay_few():
    assert metrics.path_group("POST", "/api/v1/ratings") == "api_intake"
    assert metrics.path_group("POST", "/api/v1/ratings/batch") == "api_intake"
    assert metrics.path_group("GET", "/api/v1/ratings") == "api"
    assert metrics.path_group("GET", "/api/open/v1/regions") == "open_api"
    assert metrics.path_group("GET", "/open/regions/330100/") == "open"
    assert metrics.path_group("GET", "/r/Zm9vYmFyYmF6cXV4cXV1eA/") == "rate"
    assert metrics.path_group("GET", "/static/web/site.css") == "static"
    assert metrics.path_group("GET", "/admin/") == "admin"
    assert metrics.path_group("GET", "/") == "page"
    assert metrics.path_group("GET", "/cases/12/") == "page"


def ok_app(env, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [env.get("REMOTE_ADDR", "").encode()]


def test_the_access_log_masks_tokens_and_drops_the_query(caplog):
    app = metrics.Observed(ok_app, log_requests=True)
    with caplog.at_level(logging.INFO, logger="haochaping.access"):
        call(app, environ("/r/Zm9vYmFyYmF6cXV4cXV1eA12/", QUERY_STRING="phone=13800138000"))
    (record,) = caplog.records
    assert record.path == "/r/*/" and record.status == 200 and record.method == "GET"
    assert record.remote == "127.0.0.1" and record.duration_ms >= 0
    assert "Zm9v" not in record.getMessage() and "13800138000" not in record.getMessage()


def test_the_client_address_comes_from_a_trusted_proxy_only():
    app = metrics.Observed(ok_app, trusted_proxies=["127.0.0.1/32"])
    assert call(app, environ("/", HTTP_X_REAL_IP="198.51.100.4"))[1] == b"198.51.100.4"
    assert call(app, environ("/", REMOTE_ADDR="10.0.0.9", HTTP_X_REAL_IP="198.51.100.4"))[1] == b"10.0.0.9"
    assert call(metrics.Observed(ok_app), environ("/", HTTP_X_REAL_IP="198.51.100.4"))[1] == b"127.0.0.1"


def test_an_exception_is_counted_as_500():
    def broken(env, start_response):
        raise RuntimeError("boom")

    before = counted("GET", "500", "page")
    with pytest.raises(RuntimeError):
        metrics.Observed(broken)(environ("/x"), lambda *a: None)
    assert counted("GET", "500", "page") == before + 1


def test_serve_gives_each_instance_an_emptied_metrics_directory(tmp_path, settings, monkeypatch):
    monkeypatch.delenv("PROMETHEUS_MULTIPROC_DIR", raising=False)
    settings.DATA_DIR = tmp_path
    stale = tmp_path / "prometheus" / "8001" / "counter_123.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"x")
    assert metrics_directory(8001) == tmp_path / "prometheus" / "8001"
    assert not stale.exists()


MULTIPROCESS_SCRIPT = """
import django, io
django.setup()
from prometheus_client import generate_latest
from haochaping.web import metrics
assert metrics.MULTIPROCESS
app = metrics.Observed(lambda env, sr: (sr("204 No Content", []), [b""])[1])
for _ in range(3):
    app({"REQUEST_METHOD": "GET", "PATH_INFO": "/healthz"}, lambda *a: None)
print(generate_latest(metrics.scrape_registry()).decode())
"""


def test_multiprocess_mode_sums_the_workers_files(tmp_path):
    env = {
        **os.environ,
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
        "HAOCHAPING_TESTING": "1",
        "DJANGO_SETTINGS_MODULE": "haochaping.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path}/empty.sqlite3",
    }
    for _ in range(2):  # two "workers": each writes its own file, the scrape sums them
        done = subprocess.run([sys.executable, "-c", MULTIPROCESS_SCRIPT], env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
    assert len(list(tmp_path.glob("counter_*.db"))) == 2
    assert 'haochaping_http_requests_total{group="probe",method="GET",status="204"} 6.0' in done.stdout
    assert "haochaping_metrics_database_up 0.0" in done.stdout  # no tables there: the scrape still answers
