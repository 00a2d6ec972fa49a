"""Authorisation matrix: every page route × every role × an object in and out of scope (rules in tests/authz.py).

The routes come from the URL configuration itself, so a new route without a rule fails here. API routes are
checked apart: without a key, with a wrong key, and with a key of another county for objects.
Run with AUTHZ_PRINT=1 to print what each route answers now (to review and copy a new route's rule).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import scope_for_api_key
from haochaping.analytics import reports
from haochaping.cases.models import CaseAttachment
from haochaping.entry.models import KeyedEntry
from haochaping.qrcodes.services import window_code_issue
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.services import service_case_register
from tests import authz
from tests.cases_helpers import open_bad_review

pytestmark = pytest.mark.django_db

PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
    b"\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82"
)


@dataclass
class Route:
    pattern: str
    name: str  # namespace:name
    converters: tuple[str, ...]


def page_routes() -> list[Route]:
    """Every named route outside admin/ and api/, from the URL configuration."""
    out = []

    def walk(patterns, prefix: str, ns: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                child_ns = ":".join(x for x in (ns, p.namespace) if x)
                walk(p.url_patterns, prefix + str(p.pattern), child_ns)
            elif isinstance(p, URLPattern):
                full = prefix + str(p.pattern)
                if full.startswith(("admin/", "api/")):
                    continue
                name = ":".join(x for x in (ns, p.name or "") if x)
                out.append(Route(full, name, tuple(p.pattern.converters)))

    walk(get_resolver().url_patterns, "", "")
    return out


def _objects(world, settings, tmp_path) -> dict[str, dict[str, dict]]:
    """URL kwargs per route name: {"in": kwargs, "out": kwargs} (county A's object, county B's)."""
    settings.MEDIA_ROOT = tmp_path
    case_a = open_bad_review(world)
    key_b = ApiKey.objects.get(name="拱墅区审批系统")
    [result] = submit_ratings(
        [
            {
                "grade": "dissatisfied",
                "channel": "qr",
                "window": {"hall": world.b.hall.code, "code": world.b.window.code},
            }
        ],
        scope=scope_for_api_key(key_b),
        client="test",
    )
    case_b = case_a.__class__.objects.get(rating__public_id=result.rating_id)
    attachments = {}
    entries = {}
    for side, case in (("in", case_a), ("out", case_b)):
        attachments[side] = CaseAttachment.objects.create(
            case=case,
            event=case.events.first(),
            file=SimpleUploadedFile("p.png", PNG, content_type="image/png"),
            name="p.png",
            content_type="image/png",
            size=len(PNG),
            sha256="0" * 64,
            uploaded_by=world.users["root"],
        )
        entries[side] = KeyedEntry.objects.create(
            rating=case.rating,
            kind="paper",
            form_no=f"AUTHZ-{side}",
            keyed_by=world.users["root"],
            unit=case.unit,
            scan=SimpleUploadedFile("s.png", PNG, content_type="image/png"),
        )
    month = reports.last_complete_period("monthly", timezone.localdate())[0]
    report_a = reports.report_generate("monthly", month, region=world.a.region).report
    report_b = reports.report_generate("monthly", month, region=world.b.region).report
    token = service_case_register(
        scope=scope_for_api_key(ApiKey.objects.get(name="上城区审批系统")),
        case_no="AUTHZ-1",
        item_code=world.a.item.implementation_code,
    ).token
    code = window_code_issue(window=world.a.window)
    signals = {side: _signal(county) for side, county in (("in", world.a), ("out", world.b))}
    insight = {side: _insight(world, county) for side, county in (("in", world.a), ("out", world.b))}
    extra = {}
    for module in authz.extra_modules():
        extra.update(module.objects(world))
    return {
        **extra,
        "insight:alert_detail": {side: {"pk": insight[side]["alert"].pk} for side in insight},
        "insight:problem_detail": {side: {"pk": insight[side]["problem"].pk} for side in insight},
        "cases:rectification_detail": {side: {"pk": insight[side]["rectification"].pk} for side in insight},
        "insight:routing_decide": {"in": {"case_id": case_a.pk}, "out": {"case_id": case_b.pk}},
        "integrity:detail": {"in": {"pk": signals["in"].pk}, "out": {"pk": signals["out"].pk}},
        "cases:detail": {"in": {"pk": case_a.pk}, "out": {"pk": case_b.pk}},
        "cases:contact": {"in": {"pk": case_a.pk}, "out": {"pk": case_b.pk}},
        "cases:act": {"in": {"pk": case_a.pk, "action": "assign"}, "out": {"pk": case_b.pk, "action": "assign"}},
        "cases:attachment": {"in": {"pk": attachments["in"].pk}, "out": {"pk": attachments["out"].pk}},
        "entry:scan": {"in": {"entry_id": entries["in"].pk}, "out": {"entry_id": entries["out"].pk}},
        "analytics:report_detail": {"in": {"pk": report_a.pk}, "out": {"pk": report_b.pk}},
        "analytics:report_file": {"in": {"pk": report_a.pk, "fmt": "pdf"}, "out": {"pk": report_b.pk, "fmt": "pdf"}},
        "ratings:rate": {"in": {"token": token}},
        "ratings:embed": {"in": {"token": token}},
        "ratings:qr_svg": {"in": {"token": token}},
        "ratings:qr_png": {"in": {"token": token}},
        "qrcodes:window": {"in": {"slug": code.slug}},
        "qrcodes:send_code": {"in": {"slug": code.slug}},
        "qrcodes:svg": {"in": {"slug": code.slug}},
        "qrcodes:sign": {"in": {"slug": code.slug}},
        "cases:feedback": {"in": {"token": "not-a-token"}},
        "disclosure:region": {"in": {"code": world.a.region.code}},
        "disclosure:unit": {"in": {"pk": world.a.dept.pk}},
        "disclosure:hall": {"in": {"pk": world.a.hall.pk}},
        "disclosure:item": {"in": {"pk": world.a.item.pk}},
        "disclosure:rectification": {"in": {"pk": 999999}},
        "moderation:detail": {"in": {"pk": _publication(case_a).pk}, "out": {"pk": _publication(case_b).pk}},
        "disclosure:dataset": {"in": {"dataset": "region", "month": f"{timezone.localdate():%Y-%m}", "fmt": "csv"}},
        "disclosure:report_file": {"in": {"pk": report_a.pk, "fmt": "pdf"}},
    }


def _publication(case):
    """A pending publication of the case (made directly: the moderation pages are tested, not the sync)."""
    from haochaping.disclosure.models import Publication

    return Publication.objects.create(
        case=case, kind=case.kind, region=case.region, unit=case.unit, opened_on=timezone.localdate(),
        outcome="fixed_now", source_updated_at=timezone.now(),
    )  # fmt: skip


def _insight(world, county) -> dict:
    """A surge alert, a problem and its rectification item of one county (made directly: the pages are tested)."""
    from datetime import timedelta

    from haochaping.cases.rectification import rectification_open
    from haochaping.insight.models import Problem, SurgeAlert

    today = timezone.localdate()
    alert = SurgeAlert.objects.create(
        region=county.region, subject_kind="term", subject="叫号机", window_start=today - timedelta(days=6),
        window_end=today, observed=12, expected=1.0, p_value=1e-6,
    )  # fmt: skip
    problem = Problem.objects.create(
        region=county.region, period_start=today - timedelta(days=29), period_end=today, label="叫号机坏",
        keywords=["叫号机", "坏"], size=12, units=[{"id": county.dept.pk, "name": county.dept.name, "n": 12}],
    )  # fmt: skip
    rectification = rectification_open(
        None, title="修复叫号机", unit=county.dept, actor=world.users["root"], source="authz"
    )
    return {"alert": alert, "problem": problem, "rectification": rectification}


def _signal(county):
    from datetime import timedelta

    from haochaping.integrity.models import Signal

    now = timezone.now()
    return Signal.objects.create(
        rule="campaign",
        subject_kind="phone",
        subject_id=f"authz-{county.region.code}",
        subject_label="139****8888",
        region=county.region,
        unit=county.dept,
        period_start=now - timedelta(days=1),
        period_end=now,
        score=2.0,
        severity="high",
        summary="authz",
        fingerprint=f"authz-{county.region.code}",
    )


def _client(world, role: str) -> Client:
    c = Client()
    if role != "anon":
        c.force_login(world.users[role])
    return c


QUERY = {"analytics:export_csv": {"chart": "overview"}, "insight:comments": {"term": "叫号机"}}


def observe(world, route: Route, kwargs: dict) -> dict[str, int]:
    url = reverse(route.name, kwargs=kwargs or None)
    post = route.name in authz.POST_ONLY
    query = QUERY.get(route.name, {})
    return {
        role: (_client(world, role).post(url, {}) if post else _client(world, role).get(url, query)).status_code
        for role in authz.ROLES
    }


def test_every_page_route_has_a_rule_and_keeps_it(world, settings, tmp_path):
    objects = _objects(world, settings, tmp_path)
    routes = page_routes()
    missing = [r.name for r in routes if r.name not in authz.RULES and r.name not in authz.NOT_PAGES]
    printing = bool(os.environ.get("AUTHZ_PRINT"))
    failures, printed = [], []
    for route in routes:
        if route.name in authz.NOT_PAGES:
            continue
        if route.converters and route.name not in objects:
            failures.append(f"{route.name}: no test object for {route.pattern} (add one to _objects)")
            continue
        sides = objects.get(route.name, {"in": {}})
        observed = {side: observe(world, route, kwargs) for side, kwargs in sides.items()}
        if printing:
            printed.append(f"    {route.name!r}: {observed!r},")
            continue
        expected = authz.RULES.get(route.name)
        if expected is None:
            continue
        for side, statuses in observed.items():
            want = expected.get(side)
            if want is None:
                failures.append(f"{route.name}: the rule has no '{side}' side")
            elif statuses != want:
                diff = {r: (want[r], statuses[r]) for r in authz.ROLES if want[r] != statuses[r]}
                failures.append(f"{route.name} [{side}] expected → got: {diff}")
    if printing:
        print("\n".join(printed))
    assert not missing, f"routes without an authorisation rule in tests/authz.py: {missing}"
    assert not failures, "\n".join(failures)


# --- the API: every operation of the OpenAPI schema -------------------------------------------------------------

# Operations open without an API key, each with what protects it instead.
PUBLIC_API = {
    "haochaping_api_ping": "liveness check, says nothing",
    "haochaping_ratings_api_rate_with_token": "the single-use rating token is the credential",
    "haochaping_messaging_api_inbound": "the SMS gateway's shared secret, checked by the endpoint",
}
# Operations about one object named in the path: (path with county A's object, methods). Another county's key
# must get 404 for it, as if it did not exist.
OBJECT_API = {
    "haochaping_ratings_api_issue_token": "/api/v1/cases/{case_no}/tokens",
    "haochaping_qrcodes_api_window_code_get": "/api/v1/qr/windows/{hall_code}/{window_code}",
    "haochaping_cases_api_get_case": "/api/v1/tickets/{number}",
}


def _operations() -> list[tuple[str, str, str, dict]]:
    from haochaping.api import api

    schema = api.get_openapi_schema()
    return [
        (op["operationId"], method.upper(), path, op)
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
    ]


def _call(client: Client, method: str, path: str):
    if method == "GET":
        return client.get(path)
    return client.generic(method, path, b"{}", content_type="application/json")


def test_every_api_operation_needs_its_credential_and_hides_other_counties(world):
    case_a = open_bad_review(world)
    service_case_register(
        scope=scope_for_api_key(ApiKey.objects.get(name="上城区审批系统")),
        case_no="AUTHZ-API-1",
        item_code=world.a.item.implementation_code,
    )
    window_code_issue(window=world.a.window)
    values = {
        "case_no": "AUTHZ-API-1",
        "hall_code": world.a.hall.code,
        "window_code": world.a.window.code,
        "number": case_a.number,
        "token": "not-a-token",
        "work_order_no": "12345-000001",
    }
    problems = []
    for op_id, method, path, op in _operations():
        url = path.format(**values)
        if "security" not in op:
            if op_id not in PUBLIC_API:
                problems.append(f"{method} {path}: open without a key and not in PUBLIC_API")
            continue
        for label, client in (("no key", Client()), ("wrong key", Client(HTTP_AUTHORIZATION="Bearer hcp_wrong"))):
            status = _call(client, method, url).status_code
            if status != 401:
                problems.append(f"{method} {path} with {label}: {status}, expected 401")
        if op_id in OBJECT_API:
            status = _call(Client(HTTP_AUTHORIZATION=f"Bearer {world.key_b}"), method, url).status_code
            if status != 404:
                problems.append(f"{method} {path} with another county's key: {status}, expected 404")
            status = _call(Client(HTTP_AUTHORIZATION=f"Bearer {world.key_a}"), method, url).status_code
            if status in (401, 403, 404):
                problems.append(f"{method} {path} with the owner's key: {status}")
    assert not problems, "\n".join(problems)
