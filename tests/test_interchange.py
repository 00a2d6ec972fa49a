"""Interchange: GB/T 39046 table 9 and provincial records, exported and imported back through the intake."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from haochaping.accounts.models import ApiKey
from haochaping.accounts.scope import ALL_SCOPE, Scope, scope_for_api_key, scope_for_user
from haochaping.lib.errors import PermissionDenied
from haochaping.ratings.codes import GRADE_NAME_OF, Channel, Grade
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.interchange import (
    GB_CSV,
    GB_JSON,
    GB_JSONL,
    PROV_JSON,
    PROV_JSONL,
    gb_to_rating,
    provincial_to_rating,
    ratings_export,
    ratings_import,
    read_records,
)
from haochaping.ratings.models import Rating
from haochaping.ratings.services import service_case_register
from tests.cases_helpers import wipe_ratings
from tests.conftest import api_client, post_json

RATED_AT = datetime(2026, 3, 1, 1, 2, 3, 456789, tzinfo=UTC)  # 09:02:03 in Beijing
CASES_A = ["BJ-A-0001", "BJ-A-0002", "BJ-A-0003"]


def register(world, case_no: str = CASES_A[0], county: str = "a", **extra):
    c = getattr(world, county)
    return service_case_register(
        scope=ALL_SCOPE,
        case_no=case_no,
        item_code=c.item.implementation_code,
        hall_code=c.hall.code,
        window_code="01",
        staff_code=c.clerk.code,
        **extra,
    ).case


def rate(case_no: str = CASES_A[0], grade: int = 4, channel: str = "hall_tablet", **extra) -> Rating:
    item = {"case_no": case_no, "grade": GRADE_NAME_OF[grade], "channel": channel, "rated_at": RATED_AT, **extra}
    result = submit_ratings([item], scope=ALL_SCOPE, client="test")[0]
    assert result.ok, result
    return Rating.objects.get(public_id=result.rating_id)


def export(fmt: str, scope: Scope = ALL_SCOPE, **kw) -> str:
    return "".join(ratings_export(fmt=fmt, scope=scope, **kw))


def reimport(fmt: str, text: str, scope: Scope = ALL_SCOPE, client: str = "importer"):
    return ratings_import(read_records(io.StringIO(text), fmt), fmt=fmt, scope=scope, client=client)


def records(fmt: str, text: str) -> list[dict]:
    return [r for _, r in read_records(io.StringIO(text), fmt)]


def gb_row(**over) -> dict:
    row = {
        "办件编号": CASES_A[0],
        "评价渠道": "政务服务大厅评价器",
        "评价人": "匿名",
        "评价时间": "20260301T090203",
        "评价次数": "1",
        "满意度": "满意",
        "满意度代码": "2",
        "文字评价": "",
        "行政区划": "330102000",
    }
    row.update(over)
    return row


def prov_row(**over) -> dict:
    row = {"projectNo": CASES_A[0], "alternate": 4, "pf": 4, "assessTime": "2026-03-01 09:02:03", "assessNumber": 1}
    row.update(over)
    return row


# --- grade codes -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [GB_CSV, GB_JSON, PROV_JSON])
@pytest.mark.parametrize("grade", [1, 2, 3, 4, 5])
def test_it_round_trips_every_grade(world, fmt, grade):
    register(world)
    original = rate(grade=grade, comment="窗口服务评价")
    text = export(fmt)
    wipe_ratings()
    report = reimport(fmt, text)
    assert (report.accepted, report.rejected) == (1, 0), report.results
    stored = Rating.objects.get()
    assert stored.grade == grade == original.grade
    assert stored.comment == "窗口服务评价"
    assert (stored.stage, stored.sequence, stored.channel) == (original.stage, 1, "hall_tablet")
    assert stored.unit_id == world.a.dept.id and stored.service_case_id == original.service_case_id


def test_it_writes_gb_code_1_for_very_satisfied_and_provincial_1_for_very_dissatisfied(world):
    register(world, CASES_A[0])
    register(world, CASES_A[1])
    rate(CASES_A[0], grade=Grade.VERY_SATISFIED)
    rate(CASES_A[1], grade=Grade.VERY_DISSATISFIED)
    gb = {r["case_no"]: r for r in records(GB_JSON, export(GB_JSON))}
    assert (gb[CASES_A[0]]["satisfaction_code"], gb[CASES_A[0]]["satisfaction"]) == (1, "非常满意")
    assert (gb[CASES_A[1]]["satisfaction_code"], gb[CASES_A[1]]["satisfaction"]) == (5, "非常不满意")
    prov = {r["projectNo"]: r for r in records(PROV_JSON, export(PROV_JSON))}
    assert prov[CASES_A[0]]["alternate"] == 5
    assert prov[CASES_A[1]]["alternate"] == 1


def test_it_reads_gb_code_1_as_very_satisfied_and_provincial_1_as_very_dissatisfied():
    assert gb_to_rating(gb_row(满意度="非常满意", 满意度代码="1")).item["grade"] == "very_satisfied"
    assert gb_to_rating(gb_row(满意度="非常不满意", 满意度代码="5")).item["grade"] == "very_dissatisfied"
    assert provincial_to_rating(prov_row(alternate=1)).item["grade"] == "very_dissatisfied"
    assert provincial_to_rating(prov_row(alternate="5")).item["grade"] == "very_satisfied"


def test_it_accepts_a_gb_label_alone_in_either_label_set():
    assert gb_to_rating(gb_row(满意度="很好", 满意度代码="")).item["grade"] == "very_satisfied"
    assert gb_to_rating(gb_row(满意度="", 满意度代码="3")).item["grade"] == "basic"


# --- bad records ---------------------------------------------------------------------------------------------


def _one_error(report) -> dict:
    (result,) = report.results
    assert not result.ok
    return result.errors[0]


def _csv(*rows: dict) -> str:
    header = list(rows[0])
    lines = [",".join(header)] + [",".join(str(r[h]) for h in header) for r in rows]
    return "\n".join(lines) + "\n"


def test_it_rejects_gb_satisfaction_code_6_naming_the_field(world):
    register(world)
    report = reimport(GB_CSV, _csv(gb_row(满意度代码="6", 满意度="")))
    error = _one_error(report)
    assert error["field"] == "满意度代码" and "1–5" in error["message"]
    assert report.results[0].row == 2  # the CSV line, header = 1
    assert Rating.objects.count() == 0


def test_it_rejects_a_label_that_disagrees_with_the_code(world):
    register(world)
    error = _one_error(reimport(GB_CSV, _csv(gb_row(满意度="满意", 满意度代码="1"))))
    assert error["field"] == "满意度" and "不一致" in error["message"]


def test_it_names_the_ascii_key_when_the_record_uses_ascii_keys(world):
    register(world)
    record = {"case_no": CASES_A[0], "channel": "PC端", "rated_at": "20260301T090203", "sequence": 1}
    error = _one_error(reimport(GB_JSON, json.dumps([{**record, "satisfaction_code": 0}])))
    assert error["field"] == "satisfaction_code"


@pytest.mark.parametrize(
    "over, field",
    [
        ({"alternate": 6}, "alternate"),
        ({"alternate": 0}, "alternate"),
        ({"pf": 9}, "pf"),
        ({"assessTime": "2026-03-01T09:02:03"}, "assessTime"),
        ({"assessNumber": 3}, "assessNumber"),
        ({"checkStatus": 3}, "checkStatus"),
        ({"areaCode": "330105000000"}, "areaCode"),
        ({"deptCode": "91330000000000000X"}, "deptCode"),
        ({"projectNo": "NO-SUCH-CASE"}, "projectNo"),
        ({"appraisald": "OS11"}, "appraisald"),  # a bad-review tag on a 满意 rating
        ({"isAnonymity": 0, "userCert": "1" * 31}, "userCert"),
    ],
)
def test_it_rejects_bad_provincial_fields_by_name(world, over, field):
    register(world)
    error = _one_error(reimport(PROV_JSON, json.dumps([prov_row(**over)])))
    assert error["field"] == field, error


@pytest.mark.parametrize(
    "over, field",
    [
        ({"评价时间": "2026-03-01 09:02:03"}, "评价时间"),
        ({"评价渠道": "微信"}, "评价渠道"),
        ({"行政区划": "330105"}, "行政区划"),
        ({"评价次数": "2"}, "评价次数"),  # a follow-up needs a first rating
    ],
)
def test_it_rejects_bad_gb_fields_by_name(world, over, field):
    register(world)
    error = _one_error(reimport(GB_CSV, _csv(gb_row(**over))))
    assert error["field"] == field, error


def test_it_reports_every_bad_field_of_a_row(world):
    register(world)
    report = reimport(PROV_JSON, json.dumps([prov_row(alternate=7, pf=0)]))
    assert [e["field"] for e in report.results[0].errors] == ["alternate", "pf"]


def test_it_refuses_a_csv_without_the_required_columns(world):
    from haochaping.lib.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as exc:
        reimport(GB_CSV, "办件编号,满意度\nBJ-A-0001,满意\n")
    assert "评价渠道" in exc.value.message and "评价时间" in exc.value.message


# --- channels and time -------------------------------------------------------------------------------------

GB_LOSSY = {Channel.MINI_PROGRAM: Channel.APP}
PF_LOSSY = {Channel.MINI_PROGRAM: Channel.APP, Channel.PAPER: Channel.HALL_TERMINAL, Channel.DEFAULT: "hall_terminal"}


@pytest.mark.parametrize("fmt, lossy", [(GB_JSON, GB_LOSSY), (PROV_JSON, PF_LOSSY)])
def test_it_round_trips_channel_codes(world, fmt, lossy):
    channels = list(Channel)
    for n, channel in enumerate(channels):
        register(world, f"BJ-CH-{n:02d}")
        rate(f"BJ-CH-{n:02d}", channel=channel, is_default=channel == Channel.DEFAULT)
    text = export(fmt)
    wipe_ratings()
    report = reimport(fmt, text)
    assert report.rejected == 0, report.results
    stored = dict(Rating.objects.values_list("service_case__case_no", "channel"))
    for n, channel in enumerate(channels):
        assert stored[f"BJ-CH-{n:02d}"] == lossy.get(channel, channel), channel
    # The 默认评价 flag survives even where its channel has no code of its own.
    assert Rating.objects.get(service_case__case_no=f"BJ-CH-{channels.index(Channel.DEFAULT):02d}").is_default


@override_settings(HAOCHAPING_PF6="phone", HAOCHAPING_PF7="default")
def test_it_uses_the_configured_meaning_of_pf_7(world):
    register(world)
    rate(channel="default", is_default=True)
    (record,) = records(PROV_JSON, export(PROV_JSON))
    assert record["pf"] == 7
    wipe_ratings()
    assert reimport(PROV_JSON, json.dumps([{**record, "isDefault": 0}])).accepted == 1
    stored = Rating.objects.get()
    assert stored.channel == "default" and stored.is_default


def test_it_writes_and_reads_both_time_formats_in_beijing_time(world):
    register(world)
    original = rate()
    (gb,) = records(GB_JSON, export(GB_JSON))
    (prov,) = records(PROV_JSON, export(PROV_JSON))
    assert gb["rated_at"] == "20260301T090203" and re.fullmatch(r"\d{8}T\d{6}", gb["rated_at"])
    assert prov["assessTime"] == "2026-03-01 09:02:03"
    for fmt, record in ((GB_JSON, gb), (PROV_JSON, prov)):
        wipe_ratings()
        assert reimport(fmt, json.dumps([record])).accepted == 1
        assert Rating.objects.get().rated_at == original.rated_at.replace(microsecond=0)


def test_it_writes_a_9_digit_region_code_and_a_12_digit_area_code(world):
    register(world)
    rate()
    assert records(GB_JSON, export(GB_JSON))[0]["region"] == "330102000"
    assert records(PROV_JSON, export(PROV_JSON))[0]["areaCode"] == "330102000000"


# --- stages, follow-ups, tags ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", [GB_CSV, PROV_JSON])
def test_it_keeps_stages_and_follow_ups_apart(world, fmt):
    register(world)
    rate(grade=2, stage="accept")
    rate(grade=4, stage="accept", sequence=2, rated_at=datetime(2026, 3, 2, tzinfo=UTC))
    register(world, status=3)
    rate(grade=5, stage="complete", rated_at=datetime(2026, 3, 3, tzinfo=UTC))
    before = set(Rating.objects.values_list("stage", "sequence", "grade"))
    text = export(fmt)
    wipe_ratings()
    assert reimport(fmt, text).accepted == 3
    assert set(Rating.objects.values_list("stage", "sequence", "grade")) == before


def test_it_takes_a_strict_table_9_record_at_the_case_stage(world):
    register(world, status=3)  # 办结
    assert reimport(GB_CSV, _csv(gb_row())).accepted == 1
    assert Rating.objects.get().stage == "complete"


def test_it_round_trips_tags_and_the_tag_set_version(world):
    register(world)
    rate(grade=5, tags=["OS01", "OS03"])
    (record,) = records(PROV_JSON, export(PROV_JSON))
    assert (record["appraisald"], record["version"]) == ("OS01,OS03", "onsite@1")
    wipe_ratings()
    # A provincial system that sends only the version number gets the set of the channel's kind.
    assert reimport(PROV_JSON, json.dumps([{**record, "version": "1"}])).accepted == 1
    stored = Rating.objects.get()
    assert stored.tags == ["OS01", "OS03"] and stored.tag_set.code == "onsite"


# --- idempotency and scope -------------------------------------------------------------------------------------


def test_it_stores_nothing_twice_when_a_file_is_imported_again(world):
    for case_no in CASES_A:
        register(world, case_no)
        rate(case_no)
    csv_text, json_text = export(GB_CSV), export(GB_JSONL)
    wipe_ratings()
    first = reimport(GB_CSV, csv_text)
    again = reimport(GB_CSV, csv_text)
    same_in_json = reimport(GB_JSONL, json_text)
    assert (first.accepted, first.duplicates) == (3, 0)
    assert (again.accepted, again.duplicates, again.rejected) == (0, 3, 0)
    assert (same_in_json.accepted, same_in_json.duplicates) == (0, 3)
    assert [r.rating_id for r in again.results] == [r.rating_id for r in first.results]
    assert Rating.objects.count() == 3


def test_it_refuses_a_second_rating_of_a_stage_already_rated_here(world):
    register(world)
    rate()
    text = export(PROV_JSON)  # re-imported into the same database, by another submitter
    error = _one_error(reimport(PROV_JSON, text))
    assert error["field"] == "projectNo" and "已有评价" in error["message"]
    assert Rating.objects.count() == 1


def _key_scope(world, county: str) -> Scope:
    return scope_for_api_key(ApiKey.objects.get(unit=getattr(world, county).dept))


def test_it_lets_a_county_b_key_import_none_of_county_a_cases(world):
    register(world)
    rate()
    text = export(GB_CSV)
    wipe_ratings()
    error = _one_error(reimport(GB_CSV, text, scope=_key_scope(world, "b")))
    assert error["field"] == "办件编号" and "数据范围" in error["message"]
    assert Rating.objects.count() == 0
    assert reimport(GB_CSV, text, scope=_key_scope(world, "a")).accepted == 1


def test_it_exports_only_the_callers_ratings(world):
    register(world, "BJ-A-0001")
    register(world, "BJ-B-0001", county="b")
    rate("BJ-A-0001")
    rate("BJ-B-0001")
    assert [r["case_no"] for r in records(GB_JSON, export(GB_JSON, scope=_key_scope(world, "b")))] == ["BJ-B-0001"]
    assert len(records(GB_JSON, export(GB_JSON))) == 2
    city = records(GB_JSON, export(GB_JSON, region="330105000000"))
    assert [r["case_no"] for r in city] == ["BJ-B-0001"]


def test_it_refuses_an_import_by_a_read_only_role(world):
    with pytest.raises(PermissionDenied):
        reimport(GB_CSV, _csv(gb_row()), scope=scope_for_user(world.users["a_auditor"]))


def test_it_filters_the_export_by_rating_time(world):
    register(world, CASES_A[0])
    register(world, CASES_A[1])
    rate(CASES_A[0], rated_at=datetime(2026, 1, 10, tzinfo=UTC))
    rate(CASES_A[1], rated_at=datetime(2026, 2, 10, tzinfo=UTC))
    out = records(GB_JSON, export(GB_JSON, since=datetime(2026, 2, 1), until=datetime(2026, 3, 1)))
    assert [r["case_no"] for r in out] == [CASES_A[1]]


# --- privacy ---------------------------------------------------------------------------------------------------


def test_it_exports_rater_identity_only_masked(world):
    register(world, CASES_A[0])
    register(world, CASES_A[1])
    rate(CASES_A[0], anonymous=False, rater_name="张三丰", rater_cert="330102199001011234", rater_phone="13912345678")
    rate(CASES_A[1])
    everything = export(GB_CSV) + export(PROV_JSON)
    for clear in ("张三丰", "330102199001011234", "13912345678", "三丰"):
        assert clear not in everything
    gb = {r["case_no"]: r for r in records(GB_JSON, export(GB_JSON))}
    assert gb[CASES_A[0]]["rater"] == "张**" and gb[CASES_A[1]]["rater"] == "匿名"
    prov = {r["projectNo"]: r for r in records(PROV_JSON, export(PROV_JSON))}
    assert prov[CASES_A[0]]["userCert"] == "33**************34" and prov[CASES_A[0]]["isAnonymity"] == 0
    assert prov[CASES_A[1]]["userCert"] == "" and prov[CASES_A[1]]["isAnonymity"] == 1


def test_it_keeps_a_masked_rater_masked_on_import(world):
    register(world)
    rate(anonymous=False, rater_name="张三丰", rater_cert="330102199001011234")
    text = export(PROV_JSON)
    wipe_ratings()
    assert reimport(PROV_JSON, text).accepted == 1
    stored = Rating.objects.get()
    assert not stored.is_anonymous and stored.rater_cert_enc == ""  # a masked certificate is not stored
    assert records(PROV_JSON, export(PROV_JSON))[0]["userName"] == "张**"


def test_it_hides_the_rater_from_window_staff(world):
    register(world)
    rate(anonymous=False, rater_name="张三丰")
    staff_scope = scope_for_user(world.users["a_clerk"])
    (record,) = records(GB_JSON, export(GB_JSON, scope=staff_scope))
    assert record["rater"] == "匿名"


# --- management commands -----------------------------------------------------------------------------------------


def test_it_exports_and_imports_with_the_commands(world, tmp_path):
    for case_no in CASES_A:
        register(world, case_no)
        rate(case_no, grade=1)
    path = tmp_path / "ratings.csv"
    err = io.StringIO()
    call_command("export_ratings", "--format", GB_CSV, "--output", str(path), stderr=err)
    assert path.read_bytes().startswith("\ufeff办件编号,评价渠道".encode())
    assert "已导出 3 条" in err.getvalue()
    out = io.StringIO()
    call_command("export_ratings", "--format", PROV_JSONL, stdout=out, stderr=io.StringIO())
    assert [json.loads(line)["alternate"] for line in out.getvalue().splitlines()] == [1, 1, 1]
    wipe_ratings()

    out = io.StringIO()
    call_command("import_ratings", str(path), "--format", GB_CSV, "--dry-run", stdout=out)
    assert "新增 3 条" in out.getvalue() and "试运行" in out.getvalue()
    assert Rating.objects.count() == 0

    call_command("import_ratings", str(path), "--format", GB_CSV, stdout=io.StringIO())
    assert set(Rating.objects.values_list("grade", flat=True)) == {1}
    out = io.StringIO()
    call_command("import_ratings", str(path), "--format", GB_CSV, stdout=out)
    assert "已存在 3 条" in out.getvalue() and Rating.objects.count() == 3


def test_it_reports_row_errors_from_the_import_command(world, tmp_path):
    register(world)
    path = tmp_path / "bad.csv"
    path.write_text(_csv(gb_row(), gb_row(办件编号="BJ-A-0002", 满意度代码="6", 满意度="")), encoding="utf-8")
    report = tmp_path / "report.csv"
    err = io.StringIO()
    with pytest.raises(CommandError, match="1 条记录被拒绝"):
        call_command("import_ratings", str(path), "--format", GB_CSV, "--dry-run", "--report", str(report), stderr=err)
    assert "第3行 [满意度代码]" in err.getvalue()
    assert "满意度代码" in report.read_text(encoding="utf-8-sig")
    assert Rating.objects.count() == 0


def test_it_reads_a_gb18030_csv_saved_by_excel(world, tmp_path):
    register(world)
    path = tmp_path / "excel.csv"
    path.write_bytes(_csv(gb_row()).encode("gb18030"))
    call_command("import_ratings", str(path), "--format", GB_CSV, stdout=io.StringIO())
    assert Rating.objects.get().grade == Grade.SATISFIED


def test_it_limits_command_imports_to_a_region(world, tmp_path):
    register(world)
    path = tmp_path / "a.csv"
    path.write_text(_csv(gb_row()), encoding="utf-8")
    with pytest.raises(CommandError):
        call_command("import_ratings", str(path), "--format", GB_CSV, "--region", "330105000000", stderr=io.StringIO())
    assert Rating.objects.count() == 0


# --- API -------------------------------------------------------------------------------------------------------


def test_it_streams_an_export_through_the_api(world):
    register(world, "BJ-A-0001")
    register(world, "BJ-B-0001", county="b")
    rate("BJ-A-0001")
    rate("BJ-B-0001")
    r = api_client(world.key_a).get("/api/v1/export/ratings", {"format": GB_CSV})
    assert r.status_code == 200 and r.streaming
    body = b"".join(r.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff办件编号") and "BJ-A-0001" in body and "BJ-B-0001" not in body
    assert r["Content-Disposition"] == 'attachment; filename="ratings-gbt39046-csv.csv"'
    r = api_client(world.key_city).get("/api/v1/export/ratings", {"format": PROV_JSON})
    assert len(json.loads(b"".join(r.streaming_content))) == 2


def test_it_exports_for_a_logged_in_user(world, client):
    register(world)
    rate()
    client.force_login(world.users["b_admin"])
    r = client.get("/api/v1/export/ratings", {"format": GB_JSON})
    assert r.status_code == 200 and json.loads(b"".join(r.streaming_content)) == []


def test_it_names_a_bad_export_format_or_region(world):
    r = api_client(world.key_a).get("/api/v1/export/ratings", {"format": "xml"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format"
    r = api_client(world.key_a).get("/api/v1/export/ratings", {"region": "3301"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "region"


def test_it_imports_through_the_api_with_per_item_results(world):
    register(world, CASES_A[0])
    register(world, CASES_A[1])
    body = [prov_row(), prov_row(projectNo=CASES_A[1], alternate=6), prov_row(projectNo="BJ-B-0001")]
    r = post_json(api_client(world.key_a), f"/api/v1/import/ratings?format={PROV_JSON}", body)
    assert r.status_code == 200, r.content
    out = r.json()
    assert (out["accepted"], out["duplicates"], out["rejected"]) == (1, 0, 2)
    assert [x["status"] for x in out["results"]] == [201, 422, 404]
    assert out["results"][1]["errors"][0]["field"] == "alternate"
    assert out["results"][2]["index"] == 2
    again = post_json(api_client(world.key_a), f"/api/v1/import/ratings?format={PROV_JSON}", body[:1]).json()
    assert again["duplicates"] == 1 and again["results"][0]["rating_id"] == out["results"][0]["rating_id"]


def test_it_keeps_api_imports_within_the_key_scope(world):
    register(world)
    r = post_json(api_client(world.key_b), f"/api/v1/import/ratings?format={GB_JSON}", [gb_row()])
    assert r.json()["results"][0]["status"] == 404
    assert r.json()["results"][0]["errors"][0]["field"] == "办件编号"
    assert Rating.objects.count() == 0


def test_it_limits_api_imports_to_1000_records(world):
    r = post_json(api_client(world.key_a), f"/api/v1/import/ratings?format={GB_JSON}", [gb_row()] * 1001)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "records"
    r = post_json(api_client(world.key_a), f"/api/v1/import/ratings?format={GB_CSV}", [gb_row()])
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "format"
    r = post_json(api_client("hcp_wrong"), f"/api/v1/import/ratings?format={GB_JSON}", [gb_row()])
    assert r.status_code == 401
