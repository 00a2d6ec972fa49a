"""API keys: created with the command, hashed at rest, revocable (revocation takes effect on the next request)."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from haochaping.accounts.apikeys import clear_cache
from haochaping.accounts.models import ApiKey
from tests.conftest import api_client


def test_it_creates_a_unit_key_with_the_command_and_stores_only_a_hash(world):
    out = io.StringIO()
    call_command("create_api_key", "窗口评价系统", unit=world.a.dept.uscc, stdout=out, stderr=io.StringIO())
    secret = out.getvalue().strip()
    assert secret.startswith("hcp_")
    key = ApiKey.objects.get(name="窗口评价系统")
    assert secret not in (key.key_hash, key.prefix) and key.unit == world.a.dept
    assert api_client(secret).get("/api/v1/ratings").status_code == 200


def test_it_refuses_an_unknown_unit(world):
    with pytest.raises(CommandError):
        call_command("create_api_key", "x", unit="91330100716105852F", stdout=io.StringIO())


def test_a_revoked_key_is_refused(world):
    assert api_client(world.key_a).get("/api/v1/ratings").status_code == 200
    prefix = world.key_a[4:12]
    call_command("revoke_api_key", prefix, stdout=io.StringIO())
    clear_cache()  # other processes drop it within HAOCHAPING_API_KEY_CACHE_SECONDS
    assert api_client(world.key_a).get("/api/v1/ratings").status_code == 401
