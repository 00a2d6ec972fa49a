"""Security headers, cookies, the Content-Security-Policy, and `manage.py check --deploy` on production settings."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = sorted((ROOT / "haochaping").glob("**/templates/**/*.html"))

# The environment a production deployment sets (docs/security.md); nothing else is needed for a clean check.
PRODUCTION_ENV = {
    "SECRET_KEY": "k" * 10 + "production-like-secret-key-with-enough-entropy-3f9a1c7e5b2d",
    "HAOCHAPING_PII_KEYS": "mA6pA0kqAd3cJcZQqZ3m2fJ6y4l2QxGQ3N3cKq9wX1Y=",
    "HAOCHAPING_PII_HASH_KEY": "production-pii-hash-key",
    "HAOCHAPING_SEAL_KEY": "production-seal-key",
    "ALLOWED_HOSTS": "hcp.example.gov.cn",
    "CSRF_TRUSTED_ORIGINS": "https://hcp.example.gov.cn",
    "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
}


def csp_directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    return {d.split()[0]: d.strip() for d in header.split(";") if d.strip()}


def test_production_settings_pass_the_deploy_checks_with_no_warning(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HAOCHAPING_", "DJANGO_", "DEBUG", "SECURE_"))}
    env.pop("PYTEST_CURRENT_TEST", None)
    env.update(PRODUCTION_ENV, HAOCHAPING_DATA_DIR=str(tmp_path), DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    run = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "System check identified no issues" in run.stdout


@pytest.mark.parametrize("url", ["/", "/login/", "/cases/complaint/"])
def test_pages_send_the_security_headers(db, url):
    r = Client().get(url)
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Referrer-Policy"] == "same-origin"
    assert r["Cross-Origin-Opener-Policy"] == "same-origin"
    assert r["X-Frame-Options"] == "DENY"
    policy = csp_directives(r)
    assert policy["default-src"] == "default-src 'self'"
    assert policy["frame-ancestors"] == "frame-ancestors 'none'"
    assert "unsafe-inline" not in r["Content-Security-Policy"]


def test_session_and_csrf_cookies_are_httponly_and_samesite(world, settings):
    settings.SESSION_COOKIE_SECURE = True
    settings.CSRF_COOKIE_SECURE = True
    client = Client()
    page = client.get("/login/")
    csrf = page.cookies["csrftoken"]
    assert csrf["samesite"] == "Lax" and csrf["secure"]
    r = client.post("/login/", {"username": "a_clerk", "password": "pw-a_clerk"})
    session = r.cookies["sessionid"]
    assert session["httponly"] and session["secure"] and session["samesite"] == "Lax"


def test_inline_scripts_and_styles_carry_the_request_nonce(world):
    from haochaping.qrcodes.services import window_code_issue

    code = window_code_issue(window=world.a.window)
    r = Client().get(f"/q/w/{code.slug}/")
    nonce = re.search(r"'nonce-([^']+)'", csp_directives(r)["script-src"]).group(1)
    html = r.content.decode()
    assert f'<script nonce="{nonce}">' in html and f'<style nonce="{nonce}">' in html


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "haochaping")))
def test_templates_have_no_inline_code_outside_the_nonce(template):
    """The policy allows no inline handler, style attribute, or <script>/<style> without the nonce."""
    text = template.read_text(encoding="utf-8")
    assert not re.search(r"\son[a-z]+\s*=\s*[\"']", text), "inline event handler"
    assert not re.search(r"\sstyle\s*=\s*[\"']", text), "style attribute"
    for tag in re.findall(r"<(?:script|style)\b[^>]*>", text):
        assert "src=" in tag or "csp_nonce" in tag or 'type="application/json"' in tag, tag


def test_the_widget_keeps_its_frame_ancestors_under_the_site_policy(world):
    from haochaping.accounts.models import ApiKey
    from haochaping.accounts.scope import ALL_SCOPE
    from haochaping.ratings.services import service_case_register

    key = ApiKey.objects.get(prefix=world.key_a[4:12])
    key.allowed_origins = "https://zwfw.example.gov.cn"
    key.save(update_fields=["allowed_origins"])
    reg = service_case_register(
        scope=ALL_SCOPE,
        case_no="SEC-1",
        item_code=world.a.item.implementation_code,
        staff_code=world.a.clerk.code,
        api_key=key,
    )
    r = Client().get(f"/r/{reg.token}/embed/")
    policy = csp_directives(r)
    assert r.status_code == 200 and "X-Frame-Options" not in r
    assert policy["default-src"] == "default-src 'self'" and "'nonce-" in policy["script-src"]
    assert policy["frame-ancestors"] == "frame-ancestors https://zwfw.example.gov.cn"


def _audit(tmp_path, report: str, rc: int, **env) -> subprocess.CompletedProcess:
    fake = tmp_path / "pip-audit"
    fake.write_text(
        '#!/bin/sh\nwhile [ $# -gt 0 ]; do [ "$1" = "-o" ] && out=$2; shift; done\n'
        f"cat > \"$out\" <<'J'\n{report}\nJ\nexit {rc}\n"
    )
    fake.chmod(0o755)
    return subprocess.run(
        ["bash", "scripts/audit-deps"],
        cwd=ROOT,
        env={**os.environ, "PIP_AUDIT": str(fake), "PYTHON": sys.executable, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_the_dependency_audit_fails_on_a_vulnerability(tmp_path):
    vulnerable = (
        '{"dependencies": [{"name": "django", "version": "5.2", "vulns": [{"id": "PYSEC-X", "fix_versions": []}]}]}'
    )
    run = _audit(tmp_path, vulnerable, 1)
    assert run.returncode == 1 and "VULNERABLE django 5.2: PYSEC-X" in run.stdout


def test_the_dependency_audit_is_skipped_without_a_service_unless_required(tmp_path):
    unaudited = '{"dependencies": [{"name": "django", "version": "5.2", "skip_reason": "could not be audited"}]}'
    run = _audit(tmp_path, unaudited, 0)
    assert run.returncode == 0 and "dependency audit skipped: no vulnerability service reachable" in run.stdout
    assert _audit(tmp_path, unaudited, 0, HAOCHAPING_AUDIT_REQUIRED="1").returncode == 1
    clean = '{"dependencies": [{"name": "django", "version": "5.2", "vulns": []}]}'
    assert _audit(tmp_path, clean, 0).returncode == 0
