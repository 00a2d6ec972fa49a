"""The widget in a real browser: a business system's page on another origin embeds it with the script tag."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import expect

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import ALL_SCOPE
from haochaping.ratings.models import Rating, RatingOffer
from haochaping.ratings.services import service_case_register

pytestmark = pytest.mark.browser

# The business system's page comes from a second tiny HTTP server on 127.0.0.1: another origin (and site) than
# the live server's http://localhost:<port>. A real loopback server rather than page.route(), because Chromium
# refuses requests from a page of unknown address into the loopback space (Private/Local Network Access).
HOST_PAGE = """<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>网上办事大厅</title></head>
<body><h1>办件已受理</h1><div id="rating"></div>
<script>window.rated = null;
document.getElementById("rating").addEventListener("haochaping:rated", function (e) { window.rated = e.detail; });
</script>
<script src="SERVER/static/ratings/widget.js" data-token="TOKEN" data-target="#rating"></script>
</body></html>"""


@pytest.fixture
def host_server() -> Iterator[dict]:
    """Serves `pages[path]` as HTML; yields the dict, with the server's origin under "origin"."""
    pages: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    pages["origin"] = f"http://127.0.0.1:{server.server_address[1]}"
    yield pages
    server.shutdown()
    server.server_close()


def host_page(host_server, live_server, world, origins: str) -> str:
    key = ApiKey.objects.get(prefix=world.key_a[4:12])
    key.allowed_origins = origins
    key.save(update_fields=["allowed_origins"])
    reg = service_case_register(
        scope=ALL_SCOPE,
        case_no="WB-B1",
        item_code=world.a.item.implementation_code,
        staff_code=world.a.clerk.code,
        online=True,
        api_key=key,
    )
    html = HOST_PAGE.replace("SERVER", live_server.url).replace("TOKEN", reg.token)
    host_server["/case/WB-B1"] = html
    return host_server["origin"] + "/case/WB-B1"


def test_it_rates_inside_the_widget_and_the_host_page_hears_of_it(world, live_server, host_server, page):
    page.goto(host_page(host_server, live_server, world, host_server["origin"]))
    widget = page.frame_locator("#rating iframe")
    expect(widget.get_by_role("heading", name="请您对本次服务进行评价")).to_be_visible()
    expect(widget.get_by_text(world.a.item.name)).to_be_visible()
    frame = page.locator("#rating iframe")
    page.wait_for_function("document.querySelector('#rating iframe').style.height !== '480px'")  # sized to content
    assert frame.bounding_box()["height"] > 200

    widget.get_by_text("非常满意", exact=True).click()
    widget.get_by_label("意见建议（可选）").fill("全程网办，很方便")
    widget.get_by_role("button", name="提交评价").click()

    expect(page.locator("#rating").get_by_role("status")).to_have_text("感谢您的评价")
    expect(frame).to_have_count(0)  # the host's widget replaced the iframe
    rated = page.evaluate("window.rated")
    rating = Rating.objects.get()
    assert rated == {"rating_id": str(rating.public_id), "grade": "very_satisfied"}
    assert rating.channel == "pc" and rating.comment == "全程网办，很方便"
    assert list(RatingOffer.objects.values_list("kind", "channel")) == [("widget", "pc")]


def test_a_page_on_an_origin_not_allowed_cannot_frame_the_widget(world, live_server, host_server, page):
    page.goto(host_page(host_server, live_server, world, "https://other.example.test"))
    # The CSP frame-ancestors refusal replaces the frame by the browser's error page.
    page.wait_for_function("document.querySelector('#rating iframe') !== null")

    def child_url() -> str:
        return page.frames[1].url if len(page.frames) > 1 else ""

    deadline = time.monotonic() + 10
    while child_url() != "chrome-error://chromewebdata/" and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    assert child_url() == "chrome-error://chromewebdata/"
    expect(page.frame_locator("#rating iframe").get_by_role("heading")).to_have_count(0)
