"""No personal data on any public page (the issue's acceptance test), and the publication masking rules.

Raters who allowed publication write comments full of personal data (phones in three spellings, a 身份证 with X,
names after cues, the directory's staff names, a surname with a title, a street address down to the room, an
e-mail, a bank card, a QQ number); the units' measures and explanations carry the same; a complaint and a rating
that did not allow publication carry more. Everything is synced and published, then an anonymous client walks every
public page it can reach — the disclosure URL namespace with every parameter the directory offers, the links found
on those pages, the open-data package and the open API's schema — and none of the planted strings (nor their digit
runs) may appear. Pages added later are covered by the walk without changing this test.
"""

from __future__ import annotations

import re
from collections import deque
from datetime import date

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import scope_for_api_key
from haochaping.cases import workdays
from haochaping.directory.models import Hall, Organisation, Region, ServiceItem
from haochaping.disclosure import publication, urls
from haochaping.disclosure.masking import mask_public
from haochaping.disclosure.models import Publication
from haochaping.insight import text
from haochaping.ratings.intake import submit_ratings
from tests.cases_helpers import open_bad_review, verify_case
from tests.test_disclosure_publication import act, complaint_handled

PHONES = ("13812345678", "138 1234 5678", "+86 139 8765 4321", "0571-87654321")
CERT = "11010519491231002X"
CARD = "6222 0202 0000 1234 567"
EMAIL = "zhangsan.pii@example.com"
QQ = "987654321"
ADDRESS = "杭州市上城区解放路123号4幢2单元301室"
NAMES = ("张三丰", "赵大伟", "王小明", "李科长", "钱多多")

COMMENTS = [
    f"我叫张三丰，手机{PHONES[0]}，窗口王小明让我跑了三趟",
    f"身份证{CERT}的材料被弄丢了，联系电话{PHONES[1]}，家住{ADDRESS}",
    f"邮箱{EMAIL}，QQ {QQ}，李科长说下周再来，姓名：赵大伟",
    f"退款请打到卡号{CARD}，座机{PHONES[3]}，找的是窗口的钱多多",
]
MEASURES = [
    f"已联系评价人张三丰（{PHONES[2]}），对王小明批评教育，当场补办",
    f"已上门到{ADDRESS}送达材料，身份证{CERT}已核对",
    f"李科长已致电{PHONES[0]}说明，邮件发至{EMAIL}",
]
# The strings and the bare digit runs that must never be shown.
FORBIDDEN = (*PHONES, CERT, CERT.lower(), CARD, EMAIL, QQ, ADDRESS, "解放路123号", "4幢2单元", "301室", *NAMES)
DIGIT_RUNS = ("13812345678", "13987654321", "87654321", "11010519491231002", "6222020200001234567", QQ)

SKIP_NAMES = {"mode"}  # POST only (display preference)
MAX_PAGES = 400


@pytest.fixture
def planted(world):
    text.reset()
    admin = world.users["a_admin"]
    outcomes = ("fix_now", "ledger", "explain", "fix_now")
    for i, comment in enumerate(COMMENTS):
        case = verify_case(world, open_bad_review(world, comment=comment, public=True))
        measure = MEASURES[i % len(MEASURES)]
        if outcomes[i] == "ledger":
            deadline = workdays.add_workdays(timezone.now(), 3).isoformat()
            act(world, case, "open_ledger", measures=measure, deadline=deadline)
        elif outcomes[i] == "explain":
            act(world, case, "explain", explanation=measure)
        else:
            act(world, case, "fix_now", measures=measure)
    # not allowed to be public: never shown, not even masked
    case = verify_case(world, open_bad_review(world, comment=f"不公开：{COMMENTS[0]}", public=False))
    act(world, case, "fix_now", measures=MEASURES[0])
    complaint_handled(world, f"投诉：{COMMENTS[1]}")
    # good ratings (no case) with personal data in their public text
    key = ApiKey.objects.get(name="上城区审批系统")
    window = {"hall": world.a.hall.code, "code": world.a.window.code}
    items = [{"grade": "very_satisfied", "channel": "qr", "window": window, "comment": c, "public": True,
              "rater_phone": "13812345678", "anonymous": False} for c in COMMENTS]  # fmt: skip
    assert all(r.ok for r in submit_ratings(items, scope=scope_for_api_key(key), client="test"))
    publication.sync()
    ids = list(Publication.objects.values_list("id", flat=True))
    assert publication.publish_many(ids, admin) == len(ids) == 6
    text.reset()
    yield
    text.reset()


def _pools() -> dict[str, list[str]]:
    months = [date.today().strftime("%Y-%m")]
    return {
        "code": list(Region.objects.values_list("code", flat=True)),
        "unit": [str(i) for i in Organisation.objects.values_list("id", flat=True)],
        "hall": [str(i) for i in Hall.objects.values_list("id", flat=True)],
        "item": [str(i) for i in ServiceItem.objects.values_list("id", flat=True)],
        "rectification": [str(i) for i in Publication.objects.values_list("id", flat=True)],
        "month": months,
        "fmt": ["csv", "json"],
    }


def _candidates(pools: dict) -> list[str]:
    """Every route of the public namespace, with parameters filled from the directory where it can tell which."""
    found: list[str] = []
    for pattern in urls.urlpatterns:
        name = getattr(pattern, "name", None)
        if not name or name in SKIP_NAMES:
            continue
        params = list(pattern.pattern.converters)
        if not params:
            found.append(reverse(f"disclosure:{name}"))
            continue
        if params == ["pk"]:
            values = pools.get(name, pools["unit"] + pools["hall"] + pools["item"])
            found += [reverse(f"disclosure:{name}", kwargs={"pk": v}) for v in values]
        elif params == ["code"]:
            found += [reverse(f"disclosure:{name}", kwargs={"code": v}) for v in pools["code"]]
    return found


_LINK_RE = re.compile(r"""(?:href|src|action)=["'](/[^"'#]*)""")
_JSON_PATH_RE = re.compile(r'"((?:https?://[^"/]+)?/(?:open|api/open)/[^"\s]*)"')


def _links(body: str, month: str) -> list[str]:
    """Same-site public links of a page or document; URL templates with {month} are filled with this month."""
    out = [m.replace("&amp;", "&") for m in _LINK_RE.findall(body)]
    out += [re.sub(r"^https?://[^/]+", "", m) for m in _JSON_PATH_RE.findall(body)]
    out = [re.sub(r"(?i)\{month\}|%7Bmonth%7D", month, u) for u in out]
    return [
        u
        for u in out
        if u.startswith(("/open/", "/api/open/")) and "/mode/" not in u and "{" not in u and "%7B" not in u.upper()
    ]


def _api_paths(client: Client, pools: dict) -> list[str]:
    """GET paths of the open API's schema, with path parameters filled where the name tells what they are."""
    r = client.get("/api/open/v1/openapi.json")
    if r.status_code != 200:
        return []
    out = []
    fill = {"code": pools["code"], "region": pools["code"], "unit": pools["unit"], "unit_id": pools["unit"],
            "pk": pools["unit"], "id": pools["unit"], "item": pools["item"], "item_id": pools["item"],
            "hall": pools["hall"], "hall_id": pools["hall"], "month": pools["month"]}  # fmt: skip
    for path, ops in r.json().get("paths", {}).items():
        if "get" not in ops:
            continue
        names = re.findall(r"{(\w+)}", path)
        if not names:
            out.append(path)
            continue
        if all(n in fill for n in names):
            for i in range(max(len(fill[n]) for n in names)):
                url = path
                for n in names:
                    url = url.replace(f"{{{n}}}", fill[n][i % len(fill[n])])
                out.append(url)
    return out


def _visible(response) -> str | None:
    ctype = response.get("Content-Type", "")
    if not any(t in ctype for t in ("text/", "json", "csv", "xml", "javascript")):
        return None
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return body.decode("utf-8", errors="replace")


def test_no_personal_data_on_any_public_page(world, planted):
    client = Client(raise_request_exception=False)
    pools = _pools()
    queue = deque(["/open/", "/open/rectifications/", "/open/data/", "/open/data/datapackage.json", "/api/open/v1/"])
    queue += _candidates(pools) + _api_paths(client, pools)
    seen: set[str] = set()
    fetched: dict[str, int] = {}
    while queue and len(fetched) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        response = client.get(url)
        fetched[url] = response.status_code
        if response.status_code != 200:
            continue
        body = _visible(response)
        if body is None:
            continue
        squeezed = re.sub(r"[\s\-+]", "", body)
        for planted_text in FORBIDDEN:
            assert planted_text not in body, f"{planted_text!r} on {url}"
        for run in DIGIT_RUNS:
            assert run not in squeezed, f"digits {run} on {url}"
        queue += [u for u in _links(body, pools["month"][0]) if u not in seen]
    ok = [u for u, s in fetched.items() if s == 200]
    broken = sorted(u for u, s in fetched.items() if s >= 500)
    print(f"walked {len(fetched)} public URLs, {len(ok)} answered 200")
    # the rectification list and every published item were read, with their masked texts
    assert "/open/rectifications/" in ok
    for pk in pools["rectification"]:
        assert reverse("disclosure:rectification", kwargs={"pk": pk}) in ok
    page = client.get("/open/rectifications/").content.decode()
    assert "[手机号]" in page and "[姓名]" in page and "[地址]" in page and "[证件号]" in page
    assert "投诉：" not in page and "不公开：" not in page
    assert not broken, f"server errors (their content was not checked): {broken[:10]}"


# --- the masking rules ------------------------------------------------------------------------------------------


@pytest.fixture
def directory(world):
    text.reset()
    yield
    text.reset()


@pytest.mark.parametrize(
    ("raw", "gone", "kept"),
    [
        ("电话13812345678", ["13812345678"], ["电话[手机号]"]),
        ("电话 138 1234 5678 再打", ["1234"], ["[手机号]", "再打"]),
        ("手机+86 139-8765-4321", ["8765"], ["[手机号]"]),
        ("手机１３８１２３４５６７８", ["１３８", "138"], ["[手机号]"]),
        ("座机0571-87654321", ["87654321"], ["[电话]"]),
        (f"身份证{CERT}", ["1949", "002x", "002X"], ["身份证[证件号]"]),
        (f"卡号{CARD}", ["6222", "1234"], ["[卡号]"]),
        ("卡号6222020200001234567", ["6222"], ["[卡号]"]),
        (f"邮箱{EMAIL.upper()}", ["zhangsan", "example"], ["[邮箱]"]),
        ("我叫张三丰，想办营业执照", ["张三丰"], ["我叫[姓名]", "营业执照"]),
        ("姓名：赵大伟", ["赵大伟"], ["[姓名]"]),
        ("窗口王小明态度差", ["王小明"], ["窗口[姓名]态度差"]),
        ("已联系李科长处理", ["李科长"], ["[姓名]科长处理"]),
        ("找了窗口的王师傅", ["王师傅"], ["窗口的[姓名]师傅"]),
        (f"家住{ADDRESS}", ["解放路", "123号", "4幢", "301室"], ["家住杭州市上城区[地址]"]),
        ("住在阳光小区5幢302，很远", ["阳光小区", "302"], ["[地址]", "很远"]),
        ("地址：浙江省杭州市拱墅区湖墅新村8号", ["湖墅新村", "8号"], ["浙江省杭州市拱墅区[地址]"]),
        ("上海长宁区愚园路1088弄12号", ["1088", "愚园路"], ["长宁区[地址]"]),
        ("我家在和平路12号3栋", ["和平路", "12号"], ["我家在[地址]"]),
        ("4幢2单元301室", ["4幢", "301"], ["[地址]"]),
        ("工作人员已到文三路188号3幢核实", ["文三路", "188号"], ["工作人员已到[地址]核实"]),
        (f"QQ {QQ}，微信号：abc_12345", [QQ, "abc_12345"], ["qq [账号]", "微信号：[账号]"]),
        ("订单号20261103001", ["20261103001"], ["订单号＊"]),
    ],
)
def test_masking_removes(directory, raw, gone, kept):
    masked = mask_public(raw)
    for part in gone:
        assert part not in masked, (raw, masked)
    for part in kept:
        assert part in masked, (raw, masked)


@pytest.mark.parametrize(
    "ordinary",
    [
        "2026年11月3日去办理营业执照，5个工作日内办结",
        "在1号窗口排队等了30分钟",
        "3号楼2层窗口，2楼3号窗口都找了",
        "工作时间9:00-17:00，周六不休息",
        "缴费12000元，材料2份",
        "办公室主任不在，大厅经理很热情",
        "社会保障卡补换，食品经营许可（新办）",
    ],
)
def test_masking_keeps_ordinary_text(directory, ordinary):
    assert mask_public(ordinary) == ordinary


def test_masking_blank():
    assert mask_public("") == mask_public("   ") == ""
