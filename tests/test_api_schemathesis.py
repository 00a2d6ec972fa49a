"""Schemathesis against the OpenAPI schema: generated requests for every operation get no 5xx and responses that
match the schema (documented status codes, content types, bodies). Runs in-process through the WSGI application.

Left out on purpose: ``positive_data_acceptance`` — the schema cannot say every rule (a rating names exactly one
thing it is about, a token must exist), so a schema-valid request may rightly get a 422 that names the field.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from haochaping.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Schemathesis calls the WSGI application directly, not through Django's test client, which is what normally
    keeps a request from closing the test's database connection (and its transaction) when it finishes."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_api_conforms_to_its_schema(case, world):
    case.call_and_validate(headers={"Authorization": f"Bearer {world.key_a}"}, checks=CHECKS)
