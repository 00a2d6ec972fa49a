"""Schemathesis on the hotline operations with a region key (the main fuzz uses a unit key, which they refuse
early): whatever the hotline sends, the answer is a documented 4xx or 200, never a 5xx."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from tests.test_api_schemathesis import _keep_the_test_connection  # noqa: F401
from tests.test_api_schemathesis import schema as full_schema

schema = full_schema.include(path_regex="^/api/v1/hotline/")

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance]


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
def test_hotline_api_never_fails_with_a_region_key(case, world):
    case.call_and_validate(headers={"Authorization": f"Bearer {world.key_city}"}, checks=CHECKS)
