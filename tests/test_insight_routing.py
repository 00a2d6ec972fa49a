"""Routing suggestion (insight/routing.py): the model and its report, training from the database, complaints
without a unit, the handler's confirm/correct (transfer + training example), the pages and the command line."""

from __future__ import annotations

import io
import random
import re

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.urls import reverse

from haochaping.accounts.scope import ALL_SCOPE
from haochaping.cases.models import Case, CaseEvent
from haochaping.cases.opening import ComplaintIn, complaint_open
from haochaping.demo import hotline
from haochaping.directory.models import Organisation
from haochaping.insight import index, routing
from haochaping.insight import text as insight_text
from haochaping.insight.models import Router, RoutingExample, RoutingSuggestion
from haochaping.lib.errors import NotFound, ValidationFailed
from haochaping.lib.uscc import make_uscc
from haochaping.ratings.codes import Channel

CATS = ("公安", "人社", "市场监管")
PHONE = "13800138000"


def login(username: str) -> Client:
    client = Client()
    assert client.login(username=username, password="pw-" + username)
    return client


@pytest.fixture
def units(world):
    """Two more departments in county a (公安, 人社) besides its 市场监督管理局."""
    r6 = world.a.region.code[:6]
    police = Organisation.objects.create(
        uscc=make_uscc("1", "1", r6, "00010003"), name="上城区公安分局", region=world.a.region
    )
    hr = Organisation.objects.create(
        uscc=make_uscc("1", "1", r6, "00010004"), name="上城区人力资源和社会保障局", region=world.a.region
    )
    insight_text.reset()
    return {"公安": police, "人社": hr, "市场监管": world.a.dept}


@pytest.fixture
def router(db):
    """A default router trained on generated work orders of the three categories."""
    rng = random.Random(3)
    texts, labels = [], []
    for cat in CATS:
        for _ in range(40):
            texts.append(hotline.work_order(rng, cat))
            labels.append(cat)
    model, report = routing.fit(texts, labels, pipe=insight_text.Pipeline())
    return routing.store("default", model, report, source="test")


def police_text() -> str:
    return "我的身份证丢了，去派出所补办，户籍窗口让我回老家开证明，太折腾了"


def open_by_region(world, django_capture_on_commit_callbacks, content: str | None = None) -> Case:
    with django_capture_on_commit_callbacks(execute=True):
        return complaint_open(
            ComplaintIn(content=content or police_text(), contact_phone=PHONE, channel=Channel.PHONE,
                        region_id=world.a.region.pk),
            scope=ALL_SCOPE,
        )  # fmt: skip


# --- the model --------------------------------------------------------------------------------------------


def test_fit_reports_heldout_accuracy_well_above_chance():
    texts, labels = hotline.labelled_set(30, seed=5)
    model, report = routing.fit(texts, labels, pipe=insight_text.Pipeline())
    n_labels = len(hotline.CATEGORIES)
    assert report["examples"] == 30 * n_labels and report["heldout"] >= n_labels
    assert report["accuracy"] > 0.6 > 1 / n_labels  # chance is 1/15
    assert report["top2"] >= report["accuracy"] and 0 < report["macro_f1"] <= 1
    assert set(report["per_label"]) == set(hotline.CATEGORIES)
    assert sum(m["support"] for m in report["per_label"].values()) == report["heldout"]
    conf = report["confident"]
    assert conf["threshold"] == routing.CONFIDENT and 0 < conf["coverage"] <= 1
    assert sorted(model.labels) == sorted(hotline.CATEGORIES)
    data = routing.dumps(model)
    assert len(data) < 2_000_000
    again = routing.loads(data)
    doc = routing.prepare(["孩子的医保卡交了钱查不到记录，异地就医备案也办不了"], insight_text.Pipeline())
    assert again.ranked(doc, k=2)[0][0][0] == "医保"


def test_single_example_labels_stay_in_training():
    texts, labels = hotline.labelled_set(10, seed=1)
    texts.append("关于档案查询的问题")
    labels.append("档案")
    model, report = routing.fit(texts, labels, pipe=insight_text.Pipeline())
    assert "档案" in model.labels and "档案" not in report["per_label"]


def test_fit_needs_two_labels():
    with pytest.raises(ValidationFailed) as exc:
        routing.fit(["a", "b"], ["公安", "公安"], pipe=insight_text.Pipeline())
    assert exc.value.field == "label_column"


def test_work_orders_vary_and_some_name_no_department():
    rng = random.Random(0)
    texts = [hotline.work_order(rng, "人社") for _ in range(200)]
    assert len(set(texts)) > 150
    names = hotline.department_names()
    assert any(not any(n in t for n in names) for t in texts)
    with pytest.raises(KeyError):
        hotline.work_order(rng, "没有这个类别")


# --- training from the database -----------------------------------------------------------------------------


def test_train_from_database_uses_complaints_at_their_unit_and_examples(world, units):
    assert routing.train_from_database() is None  # nothing labelled yet
    rng = random.Random(9)
    for cat in ("公安", "市场监管"):
        for _ in range(12):
            complaint_open(
                ComplaintIn(content=hotline.work_order(rng, cat), contact_phone=PHONE, unit_id=units[cat].pk),
                scope=ALL_SCOPE,
            )
    RoutingExample.objects.create(text="社保卡一直没到账", label="人社", origin=RoutingExample.Origin.CORRECTED)
    index.index_new()
    router = routing.train_from_database()
    assert router is not None and router.name == "default"
    assert sorted(router.labels) == ["人社", "公安", "市场监管"]
    assert router.examples == 25 and router.report["labels"]["公安"] == 12
    assert routing.suggest("去派出所办身份证，户籍窗口让我回老家开证明")[0][0] == "公安"


# --- complaints without a unit --------------------------------------------------------------------------------


def test_region_only_complaint_opens_at_the_agency_with_a_suggestion(
    world, units, router, django_capture_on_commit_callbacks
):
    case = open_by_region(world, django_capture_on_commit_callbacks)
    assert case.unit == world.a.agency and case.region == world.a.region
    s = RoutingSuggestion.objects.get(case=case)
    assert s.label == "公安" and s.suggested_unit == units["公安"] and s.router == router
    assert 0 < s.confidence <= 1 and s.decision == RoutingSuggestion.Decision.PENDING
    assert len(s.alternatives) == 2


def test_region_only_complaint_without_router_or_agency(world, units, django_capture_on_commit_callbacks):
    case = open_by_region(world, django_capture_on_commit_callbacks)  # no router: opens, no suggestion
    assert case.unit == world.a.agency and not RoutingSuggestion.objects.exists()
    world.a.agency.is_active = False
    world.a.agency.save()
    with pytest.raises(NotFound) as exc:
        complaint_open(ComplaintIn(content="x", contact_phone=PHONE, region_id=world.a.region.pk), scope=ALL_SCOPE)
    assert exc.value.field == "region_id"


def test_routing_failure_never_fails_the_complaint(world, units, router, django_capture_on_commit_callbacks,
                                                   monkeypatch):  # fmt: skip
    def boom(*a, **k):
        raise RuntimeError("model broken")

    monkeypatch.setattr(routing, "suggest_for_case", boom)
    case = open_by_region(world, django_capture_on_commit_callbacks)
    assert Case.objects.filter(pk=case.pk).exists() and not RoutingSuggestion.objects.exists()


def test_public_form_takes_a_region_when_the_unit_is_unknown(world, units, router,
                                                             django_capture_on_commit_callbacks):  # fmt: skip
    form = Client().get("/cases/complaint/").content.decode()
    assert 'name="region_id"' in form and world.a.region.name in form
    data = {"unit_id": "", "case_no": "", "region_id": world.a.region.pk, "content": police_text(),
            "contact_name": "", "contact_phone": PHONE}  # fmt: skip
    with django_capture_on_commit_callbacks(execute=True):
        r = Client().post("/cases/complaint/", data)
    assert r.status_code == 302
    case = Case.objects.get()
    assert case.unit == world.a.agency and case.routing_suggestion.label == "公安"
    r = Client().post("/cases/complaint/", {**data, "region_id": ""})
    assert r.status_code == 422
    assert "或选择所在地区" in " ".join(r.context["form"].errors["unit_id"])


# --- confirm / correct --------------------------------------------------------------------------------------


def test_detail_page_shows_the_box_and_confirm_transfers(world, units, router, django_capture_on_commit_callbacks):
    case = open_by_region(world, django_capture_on_commit_callbacks)
    client = login("a_admin")
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "分派建议：公安（置信度" in page and reverse("insight:routing_decide", args=[case.pk]) in page
    r = client.post(reverse("insight:routing_decide", args=[case.pk]), {"decision": "confirm"})
    assert r.status_code == 302 and r["Location"] == reverse("cases:detail", args=[case.pk])
    case.refresh_from_db()
    assert case.unit == units["公安"]
    assert CaseEvent.objects.filter(case=case, action="transfer").exists()
    example = RoutingExample.objects.get()
    assert (example.label, example.origin, example.case_id) == ("公安", "confirmed", case.pk)
    assert example.created_by == world.users["a_admin"]
    s = RoutingSuggestion.objects.get(case=case)
    assert s.decision == "confirmed" and s.final_label == "公安"
    assert "h-routing" not in client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    again = client.post(reverse("insight:routing_decide", args=[case.pk]), {"decision": "confirm"})
    assert again.status_code == 302 and RoutingExample.objects.count() == 1  # already decided: refused


def test_correct_stores_the_corrected_label_with_masked_text(world, units, router,
                                                             django_capture_on_commit_callbacks):  # fmt: skip
    case = open_by_region(world, django_capture_on_commit_callbacks, "单位拖欠工资两个月，联系电话13912345678")
    client = login("a_admin")
    r = client.post(
        reverse("insight:routing_decide", args=[case.pk]),
        {"decision": "correct", "label": "人社", "unit": units["人社"].pk},
    )
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.unit == units["人社"]
    example = RoutingExample.objects.get()
    assert example.label == "人社" and "13912345678" not in example.text
    s = RoutingSuggestion.objects.get(case=case)
    assert s.final_label == "人社" and s.decision == (
        RoutingSuggestion.Decision.CONFIRMED if s.label == "人社" else RoutingSuggestion.Decision.CORRECTED
    )


def test_bad_input_names_the_field_and_changes_nothing(world, units, router, django_capture_on_commit_callbacks):
    case = open_by_region(world, django_capture_on_commit_callbacks)
    admin = world.users["a_admin"]
    with pytest.raises(ValidationFailed) as exc:
        routing.decide(case, label="不存在的类别", unit=units["公安"], actor=admin)
    assert exc.value.field == "label"
    with pytest.raises(ValidationFailed) as exc:
        routing.decide(case, label="公安", unit="x", actor=admin)
    assert exc.value.field == "unit"
    client = login("a_admin")
    r = client.post(reverse("insight:routing_decide", args=[case.pk]), {"decision": "correct", "label": "公安"})
    assert r.status_code == 302
    case.refresh_from_db()
    assert case.unit == world.a.agency and not RoutingExample.objects.exists()


@pytest.mark.parametrize(
    ("username", "status"),
    [("b_admin", 404), ("a_handler", 404), ("nobody", 404), ("a_inspector", 403), ("a_auditor", 403)],
)
def test_decide_permissions(world, units, router, django_capture_on_commit_callbacks, username, status):
    case = open_by_region(world, django_capture_on_commit_callbacks)
    r = login(username).post(reverse("insight:routing_decide", args=[case.pk]), {"decision": "confirm"})
    assert r.status_code == status
    case.refresh_from_db()
    assert case.unit == world.a.agency and not RoutingExample.objects.exists()


def test_decide_is_post_only_and_needs_login(world, units, router, django_capture_on_commit_callbacks):
    case = open_by_region(world, django_capture_on_commit_callbacks)
    url = reverse("insight:routing_decide", args=[case.pk])
    assert login("a_admin").get(url).status_code == 405
    assert Client().post(url, {"decision": "confirm"}).status_code == 302  # to the login page
    assert not RoutingExample.objects.exists()


# --- the routing page ---------------------------------------------------------------------------------------


def test_routing_page_shows_the_router_pending_and_live_accuracy(world, units, router,
                                                                 django_capture_on_commit_callbacks):  # fmt: skip
    case = open_by_region(world, django_capture_on_commit_callbacks)
    page = login("city_admin").get(reverse("insight:routing")).content.decode()
    assert case.number in page and "留出准确率" in page and "人社" in page
    assert login("b_admin").get(reverse("insight:routing")).content.decode().count(case.number) == 0
    assert login("a_handler").get(reverse("insight:routing")).status_code == 403
    live = routing.live_accuracy(RoutingSuggestion.objects.all())
    assert live == {"pending": 1, "confirmed": 0, "corrected": 0, "decided": 0, "accuracy": None}


def test_retrain_is_for_agency_and_system_admins(world, units, router):
    url = reverse("insight:routing")
    assert login("a_inspector").post(url).status_code == 403
    assert login("a_auditor").post(url).status_code == 403
    r = login("a_admin").post(url)
    assert r.status_code == 302  # too few labelled complaints: a warning, the router is kept
    assert Router.objects.get(name="default").source == "test"


# --- command line ----------------------------------------------------------------------------------------------


def write_csv(path, rows, encoding="utf-8-sig"):
    text = "\n".join(",".join(f'"{c}"' for c in row) for row in rows) + "\n"
    path.write_bytes(text.encode(encoding))


def test_cli_train_and_route(db, tmp_path):
    texts, labels = hotline.labelled_set(12, seed=2)
    train_csv = tmp_path / "orders.csv"
    rows = [[str(i), t, y] for i, (t, y) in enumerate(zip(texts, labels, strict=True))]
    write_csv(train_csv, [["编号", "内容", "承办类别"], *rows])
    out = io.StringIO()
    call_command("insight", "train", "--csv", str(train_csv), "--text-column", "内容", "--label-column", "承办类别",
                 "--name", "city", stdout=out)  # fmt: skip
    printed = out.getvalue()
    assert f"examples: {len(texts)}" in printed and "labels: 15" in printed
    assert re.search(r"held-out accuracy: 0\.\d{3}, top-2: [01]\.\d{3}, macro-F1: 0\.\d{3}", printed)
    assert "公积金" in printed or "住房公积金" in printed  # the per-label table
    assert Router.objects.get(name="city").examples == len(texts)

    route_csv = tmp_path / "new.csv"
    rows = [["1", "社保卡一直没到账，打电话没人接"], ["2", "小区停水两天了，电话13912345678"]]
    write_csv(route_csv, [["编号", "内容"], *rows], encoding="gbk")
    out = io.StringIO()
    call_command("insight", "route", "--csv", str(route_csv), "--text-column", "内容", "--name", "city", stdout=out)
    lines = out.getvalue().strip().splitlines()
    assert lines[0] == "编号,内容,predicted_label,confidence"
    assert len(lines) == 3
    first = lines[1].split(",")
    assert first[2] in hotline.CATEGORIES and 0 < float(first[3]) <= 1


def test_cli_errors_name_the_column_or_router(db, tmp_path):
    path = tmp_path / "x.csv"
    write_csv(path, [["内容", "类别"], ["a", "b"]])
    with pytest.raises(CommandError, match="没有列“text”"):
        call_command("insight", "train", "--csv", str(path), "--text-column", "text", "--label-column", "类别",
                     stdout=io.StringIO())  # fmt: skip
    with pytest.raises(CommandError, match="没有列“label”"):
        call_command("insight", "train", "--csv", str(path), "--text-column", "内容", "--label-column", "label",
                     stdout=io.StringIO())  # fmt: skip
    with pytest.raises(ValidationFailed) as exc:
        routing.cli_train(str(path), text_column="内容", label_column="label", out=io.StringIO())
    assert exc.value.field == "label_column"
    with pytest.raises(CommandError, match="分派模型不存在：nope"):
        call_command("insight", "route", "--csv", str(path), "--text-column", "内容", "--name", "nope",
                     stdout=io.StringIO())  # fmt: skip
