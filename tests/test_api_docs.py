"""The OpenAPI document and the browsable docs beside it, served without any CDN."""

from __future__ import annotations

from django.test import Client


def test_it_serves_openapi_json_with_every_endpoint(db):
    spec = Client().get("/api/v1/openapi.json").json()
    paths = spec["paths"]
    for path in ("/api/v1/cases", "/api/v1/ratings", "/api/v1/ratings/batch", "/api/v1/evaluations/{token}"):
        assert path in paths
    assert "post" in paths["/api/v1/ratings"] and "get" in paths["/api/v1/ratings"]


def test_it_serves_the_docs_page_from_local_assets(db):
    r = Client().get("/api/v1/docs")
    assert r.status_code == 200
    page = r.content.decode()
    assert "cdn" not in page.lower() and "/static/ninja/" in page
