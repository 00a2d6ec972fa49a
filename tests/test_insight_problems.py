"""Concentrated problems: the clustering core on planted problems, detection over the comment index with reruns
that keep decisions, the offline CSV command, and the problem pages."""

from __future__ import annotations

import io
import json
import random
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from haochaping.cases import workdays
from haochaping.cases.models import Rectification
from haochaping.demo import comments as dc
from haochaping.insight import problems
from haochaping.insight.models import CommentDoc, Problem, ProblemMember, Source
from haochaping.insight.text import Pipeline
from haochaping.lib.errors import ValidationFailed

# Three problems, each in 5–6 wordings, one of them misspelled (marked).
PLANTED = {
    "queue_machine": [
        "取号机坏了取不了号",
        "自助取号机又坏了，只能干等",
        "取号机故障，只能找保安人工取号",
        "门口的取号机器一直坏着没人修",
        "取号机出故障好几天了也没人管",
        "取号机怀了取不了号",  # typo: 怀 for 坏
    ],
    "mail": [
        "营业执照邮寄到现在还没收到",
        "证照快递寄丢了，找谁都说不知道",
        "执照寄出去半个月一直没到",
        "邮寄的执照十几天都没收到",
        "快递寄的营业执照丢件了",
        "营业执照油寄到现在没收到",  # typo: 油寄 for 邮寄
    ],
    "toilet": [
        "大厅卫生间太脏了",
        "卫生间又脏又臭没人打扫",
        "洗手间没有纸还很脏",
        "厕所味道很大也没人打扫",
        "卫生间又脏又凑",  # typo: 凑 for 臭
    ],
}
TAILS = ["", "", "，希望尽快解决", "，太失望了", "！", "，什么时候能改改"]


def synthetic(n_noise: int = 400, per: int = 40, seed: int = 1) -> list[tuple[str, str]]:
    """(key, text): the planted problems mixed with generic bad comments of the demo generator."""
    rng = random.Random(seed)
    out = []
    for _ in range(n_noise):
        context = rng.choice([dc.ONSITE, dc.ONLINE])
        topic = dc.pick_topic(rng, dc.BAD, context)
        text = dc.compose(rng, grade=rng.choice((1, 2)), context=context, topic=topic, item="食品经营许可")
        out.append(("noise", text))
    for key, variants in PLANTED.items():
        for j in range(per):
            out.append((key, variants[j % len(variants)] + rng.choice(TAILS)))
    rng.shuffle(out)
    return out


def best_group(groups: list[problems.Group], keys: list[str], key: str) -> tuple[problems.Group, int]:
    """The group holding most of the key's comments, and how many groups hold ≥ 10 % of them."""
    total = keys.count(key)
    holding = Counter(g for g, group in enumerate(groups) for i in group.members if keys[i] == key)
    g, _ = holding.most_common(1)[0]
    return groups[g], sum(1 for n in holding.values() if n >= 0.1 * total)


# --- the core --------------------------------------------------------------------------------------------


def test_each_planted_problem_is_one_pure_group():
    data = synthetic()
    pipe = Pipeline()
    prepared = [(p.text, p.terms) for p in (pipe.prepare(text) for _, text in data)]
    keys = [k for k, _ in data]
    groups = problems.cluster(prepared)
    for key in PLANTED:
        group, holders = best_group(groups, keys, key)
        mine = sum(1 for i in group.members if keys[i] == key)
        assert holders == 1, key
        # ≥ 80 %: the generic comments include the same trouble in other words (叫号系统还坏了), rightly grouped with it
        assert mine / group.size >= 0.8, (key, group.label)
        assert mine >= 0.9 * keys.count(key), (key, group.label)
        assert group.label and len(group.label) <= problems.LABEL_MAX
        assert group.keywords
    # the typo variant is in its problem's group
    typo = next(i for i, (_, text) in enumerate(data) if text.startswith("取号机怀了"))
    assert typo in best_group(groups, keys, "queue_machine")[0].members


def test_clustering_is_deterministic_and_small_inputs_are_safe():
    data = synthetic(n_noise=150, per=20, seed=3)
    pipe = Pipeline()
    prepared = [(p.text, p.terms) for p in (pipe.prepare(text) for _, text in data)]
    first = [(g.label, g.members) for g in problems.cluster(prepared)]
    assert first == [(g.label, g.members) for g in problems.cluster(prepared)]
    assert problems.cluster([]) == []
    assert problems.cluster([("差评", ["差"])] * 3) == []
    assert problems.k_for(100_000) == problems.MAX_K and problems.k_for(20) == problems.MIN_K
    assert problems.min_size(100_000) == 200 and problems.min_size(100) == 5


# --- detection over the index ----------------------------------------------------------------------------


def index_docs(world, data, *, days_back: int = 20) -> list[CommentDoc]:
    """CommentDocs as the indexer writes them: planted problems at their unit, noise anywhere."""
    pipe = Pipeline()
    units = {
        "queue_machine": (world.a.region, world.a.agency, None),
        "mail": (world.a.region, world.a.dept, world.a.item),
        "toilet": (world.b.region, world.b.agency, None),
    }
    spread = [units["queue_machine"], units["mail"], units["toilet"], (world.b.region, world.b.dept, world.b.item)]
    today = workdays.today()
    rows = []
    for n, (key, text) in enumerate(data):
        region, unit, item = units.get(key) or spread[n % len(spread)]
        prepared = pipe.prepare(text)
        rows.append(
            CommentDoc(
                source=Source.RATING,
                source_id=n + 1,
                region=region,
                unit=unit,
                service_item=item,
                channel="hall_tablet",
                grade=1,
                is_bad=True,
                day=today - timedelta(days=n % days_back),
                text=prepared.text,
                tokens=prepared.tokens,
            )
        )
    return CommentDoc.objects.bulk_create(rows)


def planted_problem(found: list[Problem], key: str) -> Problem:
    words = {"queue_machine": "取号", "mail": "营业执照", "toilet": "卫生间"}[key]
    [problem] = [p for p in found if words in p.keywords[:4]]
    return problem


@pytest.mark.django_db
def test_detect_stores_problems_with_units_trend_examples(world):
    index_docs(world, synthetic())
    today = workdays.today()
    start = today - timedelta(days=29)
    found = problems.detect(world.city, start, today)
    expected_unit = {"queue_machine": world.a.agency, "mail": world.a.dept, "toilet": world.b.agency}
    for key, unit in expected_unit.items():
        problem = planted_problem(found, key)
        assert problem.units[0]["id"] == unit.pk and problem.units[0]["name"] == unit.name
        assert problem.units[0]["n"] >= 0.8 * problem.size
        assert problem.size >= 27
        assert sum(w["n"] for w in problem.trend) == problem.size
        assert 1 <= len(problem.examples) <= problems.EXAMPLES
        assert ProblemMember.objects.filter(problem=problem).count() == problem.size
    assert planted_problem(found, "mail").items[0]["name"] == world.a.item.name
    # only bad comments of the region's subtree and the period count
    assert problems.detect(world.a.region, today - timedelta(days=400), today - timedelta(days=300)) == []


@pytest.mark.django_db
def test_rerun_keeps_decisions_and_drops_stale_detected_problems(world):
    data = synthetic()
    index_docs(world, data)
    today = workdays.today()
    start = today - timedelta(days=29)
    found = problems.detect(world.city, start, today)
    confirmed = planted_problem(found, "mail")
    problems.problem_decide(confirmed.pk, status=Problem.Status.CONFIRMED, note="属实", actor=world.users["a_admin"])
    stale = Problem.objects.create(
        region=world.city, period_start=start, period_end=today, label="旧问题", keywords=["无关"]
    )
    kept_dismissed = Problem.objects.create(
        region=world.city, period_start=start, period_end=today, label="已排除", keywords=["另一个"], status="dismissed"
    )
    again = problems.detect(world.city, start, today)
    rerun = planted_problem(again, "mail")
    assert rerun.pk == confirmed.pk
    rerun.refresh_from_db()
    assert rerun.status == Problem.Status.CONFIRMED and rerun.note == "属实"
    assert not Problem.objects.filter(pk=stale.pk).exists()
    assert Problem.objects.filter(pk=kept_dismissed.pk).exists()
    assert Problem.objects.filter(region=world.city).count() == len(again) + 1


@pytest.mark.django_db
def test_detect_all_covers_regions_with_an_agency(world):
    index_docs(world, synthetic(n_noise=120, per=20))
    result = problems.detect_all()
    assert result["failed"] == 0
    assert result["regions"] == 3  # the city and the counties a and b have a management agency
    assert Problem.objects.filter(region=world.a.region).exists()


# --- offline CSV -----------------------------------------------------------------------------------------


def write_csv(path, data, *, encoding="utf-8-sig", phone_row: int | None = None) -> None:
    today = workdays.today()
    lines = ["编号,内容,日期"]
    for n, (_, text) in enumerate(data):
        if n == phone_row:
            text += "，我电话13812345678"
        lines.append(f"{n},{text},{today - timedelta(days=n % 21):%Y-%m-%d}")
    path.write_bytes(("\n".join(lines) + "\n").encode(encoding))


@pytest.mark.django_db
@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk"])
def test_cli_problems_writes_json_with_row_numbers(tmp_path, encoding):
    data = synthetic(n_noise=200, per=25)
    phone_row = next(n for n, (key, _) in enumerate(data) if key == "mail")
    csv_path = tmp_path / "orders.csv"
    write_csv(csv_path, data, encoding=encoding, phone_row=phone_row)
    out = io.StringIO()
    problems.cli_problems(csv_path, text_column="内容", time_column="日期", out=out)
    result = json.loads(out.getvalue())
    assert "13812345678" not in out.getvalue()
    mail = next(p for p in result if "营业执照" in p["keywords"][:4])
    assert set(mail) == {"label", "keywords", "size", "rows", "trend"}
    assert mail["size"] == len(mail["rows"])
    planted_rows = {n + 2 for n, (key, _) in enumerate(data) if key == "mail"}  # header = row 1
    assert len(set(mail["rows"]) & planted_rows) >= 0.8 * len(planted_rows)  # a smaller input: looser
    assert phone_row + 2 in mail["rows"]
    assert sum(w["n"] for w in mail["trend"]) == mail["size"]


@pytest.mark.django_db
def test_cli_problems_through_the_command(tmp_path):
    csv_path = tmp_path / "orders.csv"
    write_csv(csv_path, synthetic(n_noise=100, per=15))
    out = io.StringIO()
    call_command("insight", "problems", "--csv", str(csv_path), "--text-column", "内容", stdout=out)
    result = json.loads(out.getvalue())
    assert result and "trend" not in result[0]


@pytest.mark.django_db
def test_cli_problems_missing_column_is_a_clear_error(tmp_path):
    csv_path = tmp_path / "orders.csv"
    write_csv(csv_path, synthetic(n_noise=10, per=2))
    with pytest.raises(ValidationFailed) as err:
        problems.cli_problems(csv_path, text_column="工单内容", out=io.StringIO())
    assert err.value.field == "text_column" and "工单内容" in err.value.message and "内容" in err.value.message
    with pytest.raises(ValidationFailed) as err:
        problems.cli_problems(csv_path, text_column="内容", time_column="时间", out=io.StringIO())
    assert err.value.field == "time_column"


# --- pages -----------------------------------------------------------------------------------------------


def login(world, username: str) -> Client:
    client = Client()
    client.force_login(world.users[username])
    return client


@pytest.fixture
def found(world):
    index_docs(world, synthetic(n_noise=200, per=25))
    today = workdays.today()
    problems.detect(world.a.region, today - timedelta(days=29), today)
    return Problem.objects.filter(region=world.a.region)


@pytest.mark.django_db
def test_problem_list_and_detail_for_supervisors(world, found):
    problem = found.first()
    for username in ("root", "city_admin", "a_admin", "a_auditor", "a_inspector"):
        client = login(world, username)
        page = client.get(reverse("insight:problems"))
        assert page.status_code == 200, username
        assert problem.label in page.content.decode()
        assert client.get(reverse("insight:problem_detail", args=[problem.pk])).status_code == 200
    assert login(world, "a_admin").get(reverse("insight:problems"), {"status": "dismissed"}).context["rows"] == []
    for username in ("a_handler", "a_clerk", "nobody"):
        assert login(world, username).get(reverse("insight:problems")).status_code == 403, username
    # b's administrator does not see a's problems
    assert login(world, "b_admin").get(reverse("insight:problem_detail", args=[problem.pk])).status_code == 404


@pytest.mark.django_db
def test_problem_decisions_and_hand_over(world, found):
    problem = found.first()
    url = reverse("insight:problem_detail", args=[problem.pk])
    assert login(world, "a_auditor").post(url, {"action": "confirm"}).status_code == 403
    assert login(world, "a_inspector").post(url, {"action": "confirm"}).status_code == 403
    admin = login(world, "a_admin")
    assert admin.post(url, {"action": "dismiss", "note": ""}).status_code == 422  # a dismissal needs a note
    assert admin.post(url, {"action": "confirm", "note": "属实"}).status_code == 302
    problem.refresh_from_db()
    assert problem.status == Problem.Status.CONFIRMED and problem.decided_by == world.users["a_admin"]
    foreign = admin.post(url, {"action": "assign", "unit": world.b.dept.pk})
    assert foreign.status_code == 422 and "unit" in foreign.context["errors"]
    deadline = workdays.add_workdays(workdays.today(), 10)
    response = admin.post(
        url,
        {"action": "assign", "owner": world.users["a_handler"].pk if problem.units[0]["id"] == world.a.dept.pk else "",
         "deadline": deadline.isoformat(), "description": "请限期整改"},
    )  # fmt: skip
    assert response.status_code == 302
    problem.refresh_from_db()
    item = problem.rectification
    assert problem.status == Problem.Status.RECTIFYING
    assert (
        item.unit_id == problem.units[0]["id"] and item.deadline == deadline and item.state == Rectification.State.OPEN
    )
    assert item.source == f"集中问题 #{problem.pk}"
    assert admin.post(url, {"action": "assign"}).status_code == 422  # handed over once
