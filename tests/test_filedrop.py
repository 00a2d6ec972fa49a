"""File drop: files from business systems, claimed by rename, submitted through the intake exactly once."""

from __future__ import annotations

import hashlib
import io
import json
import logging
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from haochaping.accounts.apikeys import api_key_revoke
from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import ALL_SCOPE, scope_for_api_key
from haochaping.exchange import filedrop
from haochaping.exchange.models import DropFile
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import Rating
from haochaping.ratings.services import service_case_register


@pytest.fixture
def drop(world, tmp_path):
    with override_settings(HAOCHAPING_DROP_DIR=str(tmp_path / "drop")):
        key = ApiKey.objects.get(prefix=world.key_a[4:12])
        base = filedrop.enable(key)
        yield key, base


def window_item(world, **extra) -> dict:
    return {
        "window": {"hall": world.a.hall.code, "code": "01"},
        "grade": "satisfied",
        "channel": "hall_tablet",
        **extra,
    }


def register(world, case_no: str) -> None:
    service_case_register(
        scope=ALL_SCOPE,
        case_no=case_no,
        item_code=world.a.item.implementation_code,
        hall_code=world.a.hall.code,
        window_code="01",
        staff_code=world.a.clerk.code,
    )


def put(base: Path, name: str, data: str | bytes) -> Path:
    path = base / "incoming" / name
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    return path


def jsonl(*items) -> str:
    return "".join((x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)) + "\n" for x in items)


def results(base: Path, name: str, folder: str = "done") -> list[dict]:
    text = (base / folder / (name + filedrop.RESULT_SUFFIX)).read_text(encoding="utf-8")
    return [json.loads(line) for line in text.splitlines()]


def test_enable_creates_the_folders_and_a_group_writable_incoming(drop):
    _, base = drop
    assert sorted(p.name for p in base.iterdir()) == ["done", "failed", "incoming", "processing"]
    assert (base / "incoming").stat().st_mode & 0o070 == 0o070
    assert (base / "done").stat().st_mode & 0o020 == 0


def test_api_jsonl_stores_the_good_lines_and_reports_the_bad_ones(world, drop):
    key, base = drop
    register(world, "FD-0001")
    put(
        base,
        "ratings.jsonl",
        jsonl(
            window_item(world),
            {"case_no": "FD-0001", "grade": "very_dissatisfied", "channel": "hall_tablet", "comment": "态度差"},
            window_item(world, grade="meh"),
            "{not json",
            "",
            window_item(world, idempotency_key="own-key"),
            {**window_item(world), "window": {"hall": world.b.hall.code, "code": "01"}},
        ),
    )
    assert filedrop.scan_all() == 1
    lines = results(base, "ratings.jsonl")
    assert [(x["line"], x["status"]) for x in lines] == [(1, 201), (2, 201), (3, 422), (4, 422), (6, 201), (7, 404)]
    assert lines[2]["errors"][0]["field"] == "grade"
    assert "JSON" in lines[3]["message"]
    stored = Rating.objects.filter(client=f"key:{key.prefix}")
    assert stored.count() == 3
    assert {str(p) for p in stored.values_list("public_id", flat=True)} == {
        x["rating_id"] for x in lines if x["status"] == 201
    }
    sha = hashlib.sha256((base / "done" / "ratings.jsonl").read_bytes()).hexdigest()
    assert stored.filter(idempotency_key=f"drop:{sha}:1").exists()
    assert stored.filter(idempotency_key="own-key").exists()
    row = DropFile.objects.get()
    assert (row.state, row.fmt, row.rows, row.stored, row.duplicates, row.rejected) == ("done", "api-jsonl", 6, 3, 0, 3)
    assert row.sha256 == sha and row.finished_at is not None
    assert not any((base / "incoming").iterdir()) and not any((base / "processing").iterdir())


@override_settings(HAOCHAPING_BATCH_MAX=2)
def test_api_csv_with_bom_in_small_batches(world, drop):
    _, base = drop
    text = "\ufeffwindow.hall,window.code,grade,channel,tags,comment,anonymous\n"
    for n in range(5):
        text += f"{world.a.hall.code},01,satisfied,hall_tablet,,好评{n},true\n"
    text += f"{world.a.hall.code},01,satisfied,hall_tablet,,,maybe\n"
    put(base, "export.csv", text)
    filedrop.scan_all()
    lines = results(base, "export.csv")
    assert [x["status"] for x in lines] == [201] * 5 + [422]
    assert [x["line"] for x in lines] == [2, 3, 4, 5, 6, 7]
    assert "anonymous" in lines[-1]["message"]
    assert Rating.objects.count() == 5
    assert sorted(Rating.objects.values_list("comment", flat=True)) == [f"好评{n}" for n in range(5)]


def test_gb18030_csv_is_detected(world, drop):
    _, base = drop
    text = f"window.hall,window.code,grade,channel,comment\n{world.a.hall.code},01,basic,hall_tablet,排队时间有点长\n"
    put(base, "gbk.csv", text.encode("gb18030"))
    filedrop.scan_all()
    assert results(base, "gbk.csv")[0]["status"] == 201
    assert Rating.objects.get().comment == "排队时间有点长"


def test_csv_without_the_required_columns_fails_whole(world, drop):
    _, base = drop
    put(base, "bad.csv", "foo,bar\n1,2\n")
    filedrop.scan_all()
    assert (base / "failed" / "bad.csv").exists()
    assert "grade" in results(base, "bad.csv", "failed")[-1]["message"]
    assert DropFile.objects.get().state == DropFile.State.FAILED


def test_interchange_formats(world, drop):
    _, base = drop
    for case_no in ("GB-0001", "GB-0002", "PF-0001"):
        register(world, case_no)
    put(
        base,
        "t9.gbt39046.csv",
        "办件编号,评价渠道,评价人,评价时间,评价次数,满意度,满意度代码\n"
        "GB-0001,政务服务大厅评价器,匿名,20260301T090203,1,满意,2\n"
        "NO-SUCH,政务服务大厅评价器,匿名,20260301T090203,1,满意,2\n",
    )
    put(
        base,
        "t9.gbt39046.jsonl",
        jsonl(
            {
                "case_no": "GB-0002",
                "channel": "政务服务大厅评价器",
                "rated_at": "20260301T090203",
                "sequence": 1,
                "satisfaction_code": 1,
            }
        ),
    )
    put(
        base,
        "p.provincial.jsonl",
        jsonl(
            {"projectNo": "PF-0001", "alternate": 4, "pf": 4, "assessTime": "2026-03-01 09:02:03", "assessNumber": 1}
        ),
    )
    assert filedrop.scan_all() == 3
    assert [x["status"] for x in results(base, "t9.gbt39046.csv")] == [201, 404]
    assert results(base, "t9.gbt39046.csv")[1]["errors"][0]["field"] == "办件编号"
    assert results(base, "t9.gbt39046.jsonl")[0]["status"] == 201, results(base, "t9.gbt39046.jsonl")
    assert results(base, "p.provincial.jsonl")[0]["status"] == 201
    assert set(Rating.objects.values_list("service_case__case_no", flat=True)) == {"GB-0001", "GB-0002", "PF-0001"}
    assert sorted(DropFile.objects.values_list("fmt", flat=True)) == [
        "gbt39046-csv",
        "gbt39046-jsonl",
        "provincial-jsonl",
    ]


def test_unknown_suffix_goes_to_failed(world, drop):
    _, base = drop
    put(base, "ratings.xlsx", b"PK\x03\x04")
    filedrop.scan_all()
    assert (base / "failed" / "ratings.xlsx").exists()
    row = DropFile.objects.get()
    assert row.state == DropFile.State.FAILED and "ratings.xlsx" in row.error and ".jsonl" in row.error


def test_temporary_names_are_ignored(world, drop):
    _, base = drop
    for name in (".ratings.jsonl", "ratings.jsonl.tmp", "ratings.jsonl.part"):
        put(base, name, jsonl(window_item(world)))
    assert filedrop.scan_all() == 0
    assert len(list((base / "incoming").iterdir())) == 3
    assert Rating.objects.count() == 0 and DropFile.objects.count() == 0


def test_a_crashed_file_is_resumed_and_stored_exactly_once(world, drop):
    key, base = drop
    items = [window_item(world, comment=f"第{n}条") for n in range(10)]
    data = jsonl(*items).encode()
    sha = hashlib.sha256(data).hexdigest()
    # The worker died half-way: the file is in processing/, its row says processing, half its rows are stored.
    (base / "processing" / "big.jsonl").write_bytes(data)
    DropFile.objects.create(api_key=key, name="big.jsonl", sha256=sha, fmt="api-jsonl", received_at="2026-03-01T00:00Z")
    first = [dict(item, idempotency_key=f"drop:{sha}:{n + 1}") for n, item in enumerate(items[:5])]
    assert all(r.status == 201 for r in submit_ratings(first, scope=scope_for_api_key(key), client=f"key:{key.prefix}"))
    assert filedrop.scan_all() == 1
    assert Rating.objects.count() == 10
    assert sorted(Rating.objects.values_list("comment", flat=True)) == sorted(f"第{n}条" for n in range(10))
    row = DropFile.objects.get()
    assert (row.state, row.rows, row.stored, row.duplicates) == ("done", 10, 5, 5)
    assert [x["status"] for x in results(base, "big.jsonl")] == [200] * 5 + [201] * 5


def test_a_file_done_but_not_moved_is_only_moved(world, drop):
    key, base = drop
    put(base, "a.jsonl", jsonl(window_item(world)))
    filedrop.scan_all()
    # Put it back as if the worker had died between marking it done and moving it.
    for name in ("a.jsonl", "a.jsonl" + filedrop.RESULT_SUFFIX):
        (base / "done" / name).rename(base / "processing" / name)
    filedrop.scan_all()
    assert results(base, "a.jsonl")[0]["status"] == 201
    assert Rating.objects.count() == 1 and DropFile.objects.count() == 1


def test_a_file_in_processing_locked_by_a_live_worker_is_left_alone(world, drop):
    fcntl = pytest.importorskip("fcntl")
    _, base = drop
    path = base / "processing" / "busy.jsonl"
    path.write_text(jsonl(window_item(world)))
    with open(path, "rb") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        assert filedrop.scan_all() == 0
    assert Rating.objects.count() == 0
    assert filedrop.scan_all() == 1 and Rating.objects.count() == 1


def test_the_same_file_again_is_not_processed_again(world, drop):
    _, base = drop
    data = jsonl(window_item(world), window_item(world))
    put(base, "day.jsonl", data)
    filedrop.scan_all()
    put(base, "day.jsonl", data)
    filedrop.scan_all()
    assert Rating.objects.count() == 2 and DropFile.objects.count() == 1
    assert (base / "done" / "day.jsonl~2").exists()
    note = results(base, "day.jsonl~2")
    assert note[0]["status"] == "duplicate_file" and "SHA-256" in note[0]["message"]
    assert [x["status"] for x in results(base, "day.jsonl")] == [201, 201]


def test_unknown_and_revoked_key_folders_are_skipped(world, drop, caplog):
    key, base = drop
    stranger = base.parent / "zzzzzzzz" / "incoming"
    stranger.mkdir(parents=True)
    (stranger / "x.jsonl").write_text(jsonl(window_item(world)))
    put(base, "y.jsonl", jsonl(window_item(world)))
    api_key_revoke(key)
    with caplog.at_level(logging.WARNING, logger="haochaping.exchange.filedrop"):
        assert filedrop.scan_all() == 0
    assert "matches no API key" in caplog.text and "revoked" in caplog.text
    assert (stranger / "x.jsonl").exists() and (base / "incoming" / "y.jsonl").exists()
    assert Rating.objects.count() == 0


def test_the_key_scope_limits_what_files_may_touch(world, drop):
    _, base = drop
    put(base, "other.jsonl", jsonl({**window_item(world), "window": {"hall": world.b.hall.code, "code": "01"}}))
    filedrop.scan_all()
    assert results(base, "other.jsonl")[0]["status"] == 404
    assert Rating.objects.count() == 0


def test_command_enable_scan_status(world, drop):
    key, base = drop
    out = io.StringIO()
    call_command("filedrop", "enable", "--key-prefix", key.prefix, stdout=out)
    assert str(base / "incoming") in out.getvalue()
    put(base, "c.jsonl", jsonl(window_item(world)))
    out = io.StringIO()
    call_command("filedrop", "scan", "--once", stdout=out)
    assert "1" in out.getvalue()
    out = io.StringIO()
    call_command("filedrop", "status", stdout=out)
    assert "c.jsonl" in out.getvalue() and "done" in out.getvalue()
