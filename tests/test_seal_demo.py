"""The demo ends sealed and chained: records bulk-loaded around intake are backfilled and verify comes out clean."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from haochaping.seal.models import Block, Seal
from haochaping.seal.verify import verify

pytestmark = pytest.mark.django_db


def test_demo_is_sealed_and_verifies_clean(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    out = StringIO()
    call_command("demo", ratings=1500, cities=1, seed=7, api_key_file=tmp_path / "key.txt", stdout=out, verbosity=0)
    assert "防篡改存证 / tamper evidence" in out.getvalue()
    result = verify(record=False)
    assert result.ok, [str(f) for f in result.findings[:8]]
    assert "OK: no tampering found" in out.getvalue()
    assert Block.objects.exists() and not Seal.objects.filter(block__isnull=True).exists()
    assert verify(record=False).ok
