"""Accessibility and page-weight checks for the browser tests (issue #8, deliverable 5).

axe-core (Deque, MPL-2.0) is vendored for the tests only in tests/browser/vendor/ (axe.min.js + its licence); the app
never serves it. It is injected with ``page.evaluate`` of the file's text: Playwright evaluates through the DevTools
protocol, which the page's Content-Security-Policy does not govern, so the check runs on the page exactly as served
(no ``bypass_csp`` context is needed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
WCAG21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")

# The budget stated in the README (docs/disclosure.md): per public page, everything it loads, all same-origin.
PAGE_BUDGET_BYTES = 150 * 1024
PAGE_BUDGET_REQUESTS = 10


@cache
def _axe_source() -> str:
    return AXE.read_text(encoding="utf-8")


def axe_violations(page, tags: tuple[str, ...] = WCAG21_AA) -> list[str]:
    """Run axe-core on the page as it is now; one readable line per violation: rule, impact, targets, help."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    result = page.evaluate(
        """async (tags) => {
            const r = await axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
            return r.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                targets: v.nodes.slice(0, 5).map(n => n.target.join(" ")),
                count: v.nodes.length,
                summary: (v.nodes[0] && v.nodes[0].failureSummary || "").split("\\n").slice(0, 3).join(" "),
            }));
        }""",
        list(tags),
    )
    return [
        f"{v['id']} ({v['impact']}, {v['count']}×): {v['help']} — {', '.join(v['targets'])} — {v['summary']}"
        for v in result
    ]


@dataclass
class Weight:
    url: str
    requests: int = 0
    bytes: int = 0
    foreign: list[str] = field(default_factory=list)
    by_url: dict[str, int] = field(default_factory=dict)

    def within_budget(self) -> bool:
        return self.bytes <= PAGE_BUDGET_BYTES and self.requests <= PAGE_BUDGET_REQUESTS and not self.foreign

    def __str__(self) -> str:
        return f"{self.url}: {self.requests} requests, {self.bytes / 1024:.1f} KiB, foreign={self.foreign}"


def page_weight(page, url: str) -> Weight:
    """Load `url` and count every response: how many, the bytes of their bodies, any request to another origin.

    Bodies are counted as delivered to the page (after any content decoding), an upper bound of what goes over the
    wire. Requests that got no response (blocked, failed) still count as foreign when they leave the origin.
    """
    weight = Weight(url)
    responses: list = []
    requested: list[str] = []

    def on_request(request) -> None:
        requested.append(request.url)

    def on_response(response) -> None:
        responses.append(response)

    page.on("response", on_response)
    page.on("request", on_request)
    try:
        page.goto(url, wait_until="load")
        page.wait_for_load_state("networkidle")
    finally:
        page.remove_listener("response", on_response)
        page.remove_listener("request", on_request)
    own = urlsplit(page.url)[:2]
    for address in requested:
        parts = urlsplit(address)
        if parts.scheme not in ("data", "blob", "about") and parts[:2] != own and address not in weight.foreign:
            weight.foreign.append(address)
    for response in responses:
        if urlsplit(response.url).scheme in ("data", "blob"):
            continue
        try:
            size = len(response.body())
        except Exception:  # a redirect has no body
            size = 0
        weight.requests += 1
        weight.bytes += size
        weight.by_url[response.url] = size
    return weight


def no_sideways_scroll(page, width: int = 360) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= width
