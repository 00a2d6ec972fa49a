"""Every public page (/open/ and the complaint form) against WCAG 2.1 A/AA with axe-core, on a 360-px phone, in the
standard and the elderly mode (适老化), and within the page-weight budget (tests/browser/a11y.py).

The pages are found by walking the ``disclosure`` URL names, so a new public route fails here until it has arguments
below: every public page is checked, not a list someone remembered.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from django.utils import timezone

from haochaping.cases import lookup
from haochaping.cases.services import case_act
from haochaping.disclosure import urls as disclosure_urls
from tests.browser.a11y import PAGE_BUDGET_BYTES, PAGE_BUDGET_REQUESTS, axe_violations, no_sideways_scroll, page_weight
from tests.browser.conftest import PHONE
from tests.cases_helpers import open_bad_review
from tests.test_rollups import _item, _submit

pytestmark = pytest.mark.browser

# Files, POST-only endpoints and downloads: not HTML pages.
NOT_PAGES = {"mode", "dataset", "report_file", "datapackage"}


@dataclass
class PublicData:
    case: object
    publication_id: int | None


def build_public_data(world) -> PublicData:
    """Enough ratings for figures above the small-cell threshold, a case handled (解释说明) and, when the publication
    module is there, its public copy published."""
    rnd = random.Random(8)
    _submit(world, [_item(world, rnd, days_ago=rnd.randint(0, 60)) for _ in range(60)])
    case = open_bad_review(world, comment="排队太久，窗口人员态度差")
    u = world.users
    case_act(case_id=case.pk, action="assign", user=u["a_dept_admin"], data={"handler": u["a_handler"].pk})
    data = {"at": timezone.now(), "channel": "phone", "reached": True, "rater_said": "态度差"}
    case_act(case_id=case.pk, action="callback", user=u["a_handler"], data=data)
    case_act(case_id=case.pk, action="verify", user=u["a_handler"], data={"facts": "属实"})
    case_act(case_id=case.pk, action="explain", user=u["a_handler"], data={"explanation": "依法须提交原件，已当面说明"})
    case.refresh_from_db()
    publication_id = None
    try:
        from haochaping.disclosure import publication
    except ImportError:  # the publication module is not there yet
        publication = None
    if publication is not None:
        publication.sync()
        from haochaping.disclosure.models import Publication

        pub = Publication.objects.filter(case=case).first()
        if pub is not None:
            publication.publish(pub, u["city_admin"])
            publication_id = pub.pk
    return PublicData(case, publication_id)


def public_pages(world, data: PublicData) -> list[tuple[str, str, int]]:
    """(name, path, status) for every public page, with arguments that show real content (and a few error pages)."""
    args = {
        "region": [world.province.code, world.city.code],
        "unit": [world.a.dept.pk],
        "hall": [world.a.hall.pk],
        "item": [world.a.item.pk],
        "rectification": [data.publication_id] if data.publication_id else [],
    }
    query = {
        "search": "?" + urlencode({"q": world.a.item.name[:4]}),
        "track": "?" + urlencode({"n": data.case.number, "c": lookup.lookup_code(data.case.pk)}),
    }
    pages = []
    for pattern in disclosure_urls.urlpatterns:
        name = pattern.name
        if name in NOT_PAGES:
            continue
        if pattern.pattern.converters:
            assert name in args, f"public page {name!r} has no test arguments in test_public_a11y.public_pages"
            pages += [(f"{name}({value})", reverse(f"disclosure:{name}", args=[value]), 200) for value in args[name]]
        else:
            path = reverse(f"disclosure:{name}")
            pages.append((name, path, 200))
            if name in query:
                pages.append((f"{name}(query)", path + query[name], 200))
    wrong = "?" + urlencode({"n": data.case.number, "c": "AAAA-AAAA"})
    pages.append(("track(not found)", reverse("disclosure:track") + wrong, 404))
    missing = "?" + urlencode({"n": data.case.number})
    pages.append(("track(no code)", reverse("disclosure:track") + missing, 422))
    pages.append(("cases:complaint", reverse("cases:complaint"), 200))
    return pages


@pytest.fixture
def public(world) -> tuple[PublicData, list[tuple[str, str, int]]]:
    data = build_public_data(world)
    return data, public_pages(world, data)


def _check(page, name: str, path: str, status: int, mode: str, problems: list[str]) -> None:
    response = page.goto(path)
    if response is None or response.status != status:
        problems.append(f"{name} [{mode}] {path}: HTTP {response.status if response else 'no response'}")
        return
    for violation in axe_violations(page):
        problems.append(f"{name} [{mode}] {path}: {violation}")
    if not no_sideways_scroll(page):
        width = page.evaluate("document.documentElement.scrollWidth")
        problems.append(f"{name} [{mode}] {path}: scrolls sideways at 360 px (scrollWidth {width})")


def test_every_public_page_meets_wcag21_aa_on_a_phone_in_both_modes(public, new_page, live_server):
    _, pages = public
    problems: list[str] = []
    standard = new_page(viewport=PHONE)
    elderly = new_page(viewport=PHONE)
    elderly.context.add_cookies([{"name": "hcp_elderly", "value": "1", "url": live_server.url}])
    for name, path, status in pages:
        print(f"a11y {name}: {path}")  # shown with -s
        _check(standard, name, path, status, "standard", problems)
        _check(elderly, name, path, status, "elderly", problems)
        if name.startswith("disclosure") or not name.startswith("cases:"):  # /open/ pages honour the cookie
            if not elderly.evaluate("document.documentElement.classList.contains('elderly')"):
                problems.append(f"{name} [elderly] {path}: the hcp_elderly cookie is set but html.elderly is missing")
    assert not problems, "\n".join(problems)


def test_every_public_page_fits_the_weight_budget(public, new_page):
    _, pages = public
    over = []
    for name, path, _status in pages:
        weight = page_weight(new_page(viewport=PHONE), path)  # a fresh context: nothing cached, the first visit
        print(f"weight {name}: {weight.requests} requests, {weight.bytes / 1024:.1f} KiB")  # shown with -s
        if not weight.within_budget():
            heaviest = sorted(weight.by_url.items(), key=lambda kv: -kv[1])[:3]
            over.append(f"{name}: {weight} heaviest={heaviest}")
    budget = f"budget {PAGE_BUDGET_BYTES // 1024} KiB, {PAGE_BUDGET_REQUESTS} requests, same-origin only"
    assert not over, budget + "\n" + "\n".join(over)
