"""The production static-file storage (whitenoise's compressed manifest) accepts every file the apps ship: the
`serve` command runs collectstatic with it, and a vendored file that points at a missing one (a source map) would
stop the server from starting. Tests otherwise use the plain storage, so this is the one place that proves it."""

from __future__ import annotations

from io import StringIO

from django.core.management import call_command


def test_collectstatic_with_the_production_storage(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path / "static"
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0, stdout=StringIO())
    assert (tmp_path / "static" / "staticfiles.json").exists()
    assert list((tmp_path / "static" / "insight" / "vendor").glob("echarts-wordcloud-2.1.0.min.*.js"))
