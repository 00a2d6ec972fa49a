"""Three installations chained (two counties → a city → the province), each with its own database and server,
with the pushes and the city's server SIGKILLed mid-push: nothing lost, nothing duplicated, and the province's
figures are the sum of its counties'. The harness is bench/chainlab.py (full size: `bench/chainlab.py run`).

Runs on the suite's database engine: SQLite files, or PostgreSQL databases created beside the test database.
"""

from __future__ import annotations

import os
import shutil
import sys
from datetime import date, timedelta

import pytest
from django.conf import settings

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench"))

import chainlab  # noqa: E402

pytestmark = pytest.mark.slow


def _postgres_admin_url() -> str | None:
    db = settings.DATABASES["default"]
    if db["ENGINE"] != "django.db.backends.postgresql":
        return None
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/postgres"


def test_county_city_province_chain_survives_kills(tmp_path):
    postgres = _postgres_admin_url()
    chain = chainlab.Chain(str(tmp_path), postgres=postgres, ratings=250, batch=100, base_port=8410 + os.getpid() % 500)
    try:
        result = chain.run(kill=True, day=(date.today() - timedelta(days=1)).isoformat())
    finally:
        chain.stop_servers()
        if postgres:
            chain.drop_databases()
        shutil.rmtree(tmp_path, ignore_errors=True)
    assert chainlab.compare(result) == [], chainlab._summary(result)
    figures = result["figures"]
    assert figures["province"]["ratings"] == figures["county-a"]["ratings"] + figures["county-b"]["ratings"] == 500
    # the kills happened where they were meant to: with records still to send
    events = result["events"]
    assert events["county-a push"]["killed_mid_push"] and events["county-a push"]["outbox_left_at_kill"] > 0
    assert events["city push"]["killed_mid_push"] and events["city push"]["outbox_left_at_kill"] > 0
    assert events["county-b push while the city is down"]["exit"] != 0
