"""Probes: /healthz (liveness) and /readyz (database, migrations, queue, cache), without login or TLS redirect."""

from __future__ import annotations

import pytest
from django.test import Client

from haochaping.web import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok():
    response = Client().get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_reports_every_check():
    response = Client().get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "migrations": "ok", "queue": "skipped", "cache": "ok"}


def test_a_failing_cache_makes_it_503_and_names_the_check(monkeypatch):
    class BrokenCache:
        def set(self, *args, **kwargs):
            raise ConnectionError("redis down")

        def delete(self, *args, **kwargs):
            pass

    monkeypatch.setattr(health, "cache", BrokenCache())
    response = Client().get("/readyz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable" and body["failed"] == ["cache"]
    assert body["checks"]["cache"] == "failed: ConnectionError"
    assert body["checks"]["database"] == "ok"


def test_unapplied_migrations_fail_readiness_until_applied(monkeypatch):
    monkeypatch.setattr(health, "_migrations_applied", False)
    monkeypatch.setattr(health.MigrationExecutor, "migration_plan", lambda self, targets: [("app", "0002")])
    response = Client().get("/readyz")
    assert response.status_code == 503 and response.json()["failed"] == ["migrations"]
    assert response.json()["checks"]["migrations"] == "failed: 1 unapplied"


def test_a_redis_queue_is_pinged(monkeypatch, settings):
    settings.HUEY = {**settings.HUEY, "huey_class": "huey.RedisHuey", "url": "redis://127.0.0.1:1/0"}
    monkeypatch.setattr(health, "_redis_client", None)
    response = Client().get("/readyz")
    assert response.status_code == 503 and response.json()["failed"] == ["queue"]
    monkeypatch.setattr(health, "_redis_client", None)  # the next test must not reuse the client for port 1


def test_a_database_failure_names_the_database(monkeypatch):
    def broken() -> str:
        raise RuntimeError("connection refused")

    monkeypatch.setitem(health.CHECKS, "database", broken)
    response = Client().get("/readyz")
    assert response.status_code == 503 and response.json()["failed"] == ["database"]


def test_probes_are_exempt_from_the_tls_redirect(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/metrics").status_code == 200
    assert client.get("/login/").status_code == 301  # everything else still moves to https
