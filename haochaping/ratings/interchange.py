"""Data interchange of ratings: GB/T 39046-2020 table 9 records and the provincial 好差评 interface shape.

Two layers:
- pure mapping functions (``gb_record`` / ``provincial_record`` for export, ``gb_to_rating`` /
  ``provincial_to_rating`` for import) that turn one row into one record and back, with every code list
  mapped explicitly (GB/T 39046 A.8 满意度代码 1 = 非常满意; provincial ``alternate`` 1 = 非常不满意);
- services (``ratings_export`` streams text chunks, ``ratings_import`` stores records) that apply the
  caller's Scope. Imports go through the one intake path, ``intake.submit_ratings``, so every rule
  (one rating per stage, follow-ups, tags, idempotency) holds for imported data too.

Field by field documentation: docs/interchange.md.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings

from haochaping.accounts.scope import Scope
from haochaping.lib import protect
from haochaping.lib.errors import ValidationFailed
from haochaping.lib.regioncode import region_code_error, to_gb9
from haochaping.ratings.codes import (
    GRADE_LABEL_SETS,
    GRADE_NAME_OF,
    ONLINE_CHANNELS,
    Adoption,
    Channel,
    Stage,
    channel_from_gb,
    channel_from_pf,
    channel_to_gb,
    channel_to_pf,
    grade_from_gb,
    grade_from_provincial,
    grade_to_gb,
    grade_to_provincial,
)
from haochaping.ratings.intake import submit_ratings
from haochaping.ratings.models import Rating, ServiceCase, TagSet

# Both formats carry China local time, whatever the server's TIME_ZONE.
CHINA_TZ = ZoneInfo("Asia/Shanghai")
GB_TIME_FORMAT = "%Y%m%dT%H%M%S"
PROVINCIAL_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"

GB_CSV, GB_JSON, GB_JSONL = "gbt39046-csv", "gbt39046-json", "gbt39046-jsonl"
PROV_JSON, PROV_JSONL = "provincial-json", "provincial-jsonl"
FORMATS = (GB_CSV, GB_JSON, GB_JSONL, PROV_JSON, PROV_JSONL)
GB_FORMATS = frozenset({GB_CSV, GB_JSON, GB_JSONL})

ANONYMOUS = "匿名"

# GB/T 39046-2020 table 9: (stable ASCII key, Chinese field name). The last one is our extension: table 9
# has no stage, without which a 办件 rated at 受理 and at 办结 could not be told apart.
GB_FIELDS: tuple[tuple[str, str], ...] = (
    ("case_no", "办件编号"),
    ("channel", "评价渠道"),
    ("rater", "评价人"),
    ("rated_at", "评价时间"),
    ("sequence", "评价次数"),
    ("satisfaction", "满意度"),
    ("satisfaction_code", "满意度代码"),
    ("comment", "文字评价"),
    ("region", "行政区划"),
    ("stage", "评价环节"),
)
GB_NAME = dict(GB_FIELDS)
GB_KEY_OF_NAME = {name: key for key, name in GB_FIELDS}

# Provincial interface keys in export order (docs/interchange.md has the Chinese meaning of each).
PROVINCIAL_KEYS: tuple[str, ...] = (
    "projectNo",
    "areaCode",
    "deptCode",
    "deptName",
    "taskCode",
    "taskHandleItem",
    "taskName",
    "proStatus",
    "userProp",
    "userName",
    "userCert",
    "alternate",
    "appraisald",
    "writingAssess",
    "assessTime",
    "assessNumber",
    "pf",
    "isAnonymity",
    "isPublic",
    "checkStatus",
    "version",
    "staffNo",
    "assessStage",
    "isDefault",
)

STAGE_GB_LABEL = {Stage.ACCEPT: "受理", Stage.COMPLETE: "办结"}
STAGE_OF_LABEL = {"受理": Stage.ACCEPT, "办结": Stage.COMPLETE, "accept": Stage.ACCEPT, "complete": Stage.COMPLETE}

# Provincial checkStatus ↔ Adoption (our choice of codes, documented).
CHECK_STATUS = {Adoption.ADOPTED: 1, Adoption.UNDER_REVIEW: 2, Adoption.NOT_ADOPTED: 3}

# Every label an importer may meet, in either label set (regime.md §2.1) → internal grade.
_GRADE_OF_LABEL: dict[str, int] = {
    label: grade for labels in GRADE_LABEL_SETS.values() for grade, label in labels.items()
}
# Standard A.8 names, written on export whatever label set the deployment shows.
_GB_LABEL = GRADE_LABEL_SETS["satisfaction"]

# Columns read from the database for export: plain values, no model instances (a million rows stream).
EXPORT_COLUMNS = (
    "id",
    "service_case__case_no",
    "service_case__status",
    "stage",
    "sequence",
    "grade",
    "channel",
    "rater_kind",
    "is_anonymous",
    "is_public",
    "is_default",
    "rater_name_enc",
    "rater_cert_enc",
    "rated_at",
    "comment",
    "tags",
    "adoption",
    "region__code",
    "unit__uscc",
    "unit__name",
    "service_item__basic_code",
    "service_item__implementation_code",
    "service_item__name",
    "staff__code",
    "tag_set__code",
    "tag_set__version",
)

# Intake field → field name of each format, so errors from the intake name the field the importer sent.
_GB_FIELD_OF_INTAKE = {
    "case_no": "办件编号",
    "stage": "评价环节",
    "sequence": "评价次数",
    "grade": "满意度代码",
    "channel": "评价渠道",
    "rated_at": "评价时间",
    "comment": "文字评价",
    "rater_name": "评价人",
    "is_default": "评价渠道",
    "idempotency_key": "办件编号",
}
_PROV_FIELD_OF_INTAKE = {
    "case_no": "projectNo",
    "stage": "assessStage",
    "sequence": "assessNumber",
    "grade": "alternate",
    "channel": "pf",
    "rated_at": "assessTime",
    "comment": "writingAssess",
    "tags": "appraisald",
    "tag_set": "version",
    "staff_code": "staffNo",
    "rater_name": "userName",
    "rater_cert": "userCert",
    "rater_kind": "userProp",
    "is_default": "isDefault",
    "idempotency_key": "projectNo",
}


# --- export: one row → one record ---------------------------------------------------------------------


def china_time(value: datetime) -> datetime:
    return value.astimezone(CHINA_TZ)


def _rater_name(row: Mapping[str, Any], withhold: bool) -> str:
    if withhold or row["is_anonymous"]:
        return ""
    return protect.mask_name(protect.decrypt(row["rater_name_enc"]))


def gb_record(row: Mapping[str, Any], *, withhold_rater: bool = False) -> dict[str, Any]:
    """A rating row (EXPORT_COLUMNS) → GB/T 39046 table 9 record with ASCII keys. Never clear personal data."""
    return {
        "case_no": row["service_case__case_no"],
        "channel": channel_to_gb(row["channel"]),
        "rater": _rater_name(row, withhold_rater) or ANONYMOUS,
        "rated_at": china_time(row["rated_at"]).strftime(GB_TIME_FORMAT),
        "sequence": row["sequence"],
        "satisfaction": _GB_LABEL[row["grade"]],
        "satisfaction_code": grade_to_gb(row["grade"]),
        "comment": row["comment"],
        "region": to_gb9(row["region__code"]),
        "stage": STAGE_GB_LABEL.get(row["stage"], ""),
    }


def provincial_record(row: Mapping[str, Any], *, withhold_rater: bool = False) -> dict[str, Any]:
    """A rating row (EXPORT_COLUMNS) → provincial interface record. Names and certificates only masked."""
    hidden = withhold_rater or row["is_anonymous"]
    cert = "" if hidden else protect.mask_cert(protect.decrypt(row["rater_cert_enc"]))
    tag_set = f"{row['tag_set__code']}@{row['tag_set__version']}" if row["tag_set__code"] else ""
    return {
        "projectNo": row["service_case__case_no"],
        "areaCode": row["region__code"],
        "deptCode": row["unit__uscc"],
        "deptName": row["unit__name"],
        "taskCode": row["service_item__basic_code"] or "",
        "taskHandleItem": row["service_item__implementation_code"] or "",
        "taskName": row["service_item__name"] or "",
        "proStatus": row["service_case__status"],
        "userProp": row["rater_kind"],
        "userName": _rater_name(row, withhold_rater),
        "userCert": cert,
        "alternate": grade_to_provincial(row["grade"]),
        "appraisald": ",".join(row["tags"] or []),
        "writingAssess": row["comment"],
        "assessTime": china_time(row["rated_at"]).strftime(PROVINCIAL_TIME_FORMAT),
        "assessNumber": row["sequence"],
        "pf": channel_to_pf(row["channel"]),
        "isAnonymity": int(row["is_anonymous"]),
        "isPublic": int(row["is_public"]),
        "checkStatus": CHECK_STATUS[row["adoption"]],
        "version": tag_set,
        "staffNo": row["staff__code"] or "",
        "assessStage": row["stage"],
        "isDefault": int(row["is_default"]),
    }


# --- import: one record → one RatingIn dict ---------------------------------------------------------------


class RecordInvalid(Exception):
    """A record that cannot be mapped; errors name the record's own fields."""

    def __init__(self, errors: list[dict]):
        super().__init__(errors[0]["message"])
        self.errors = errors


@dataclass
class Mapped:
    """A record mapped to the intake's input, plus what the record claims about its 办件 (checked later)."""

    item: dict[str, Any]
    claims: dict[str, tuple[str, str]] = field(default_factory=dict)  # case attribute → (field, value)


class _Collector:
    def __init__(self) -> None:
        self.errors: list[dict] = []

    def add(self, field_name: str, message: str) -> None:
        self.errors.append({"field": field_name, "message": message})

    def check(self) -> None:
        if self.errors:
            raise RecordInvalid(self.errors)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _int(errors: _Collector, name: str, value: Any, allowed: Iterable[int], *, required: bool = True) -> int | None:
    text = _text(value)
    if not text:
        if required:
            errors.add(name, f"{name} 不能为空")
        return None
    allowed = tuple(allowed)
    if not text.isdigit() or int(text) not in allowed:
        errors.add(name, f"{name} 应为 {'/'.join(str(a) for a in allowed)}，实际为 {text!r}")
        return None
    return int(text)


def _time(errors: _Collector, name: str, value: Any, fmt: str, shape: str) -> datetime | None:
    text = _text(value)
    try:
        # strptime accepts unpadded fields; the shape check keeps the format exact.
        if len(text) != len(shape):
            raise ValueError
        return datetime.strptime(text, fmt).replace(tzinfo=CHINA_TZ)
    except ValueError:
        errors.add(name, f"{name} 格式应为 {shape}，实际为 {text!r}")
        return None


def _case_no(errors: _Collector, name: str, value: Any) -> str:
    text = _text(value)
    if not text:
        errors.add(name, f"{name} 不能为空")
    elif len(text) > 50:
        errors.add(name, f"{name} 最长50个字符（an..50），实际{len(text)}个")
    return text


def _comment(errors: _Collector, name: str, value: Any) -> str:
    text = _text(value)
    if len(text) > 2000:
        errors.add(name, f"{name} 最长2000字，实际{len(text)}字")
    return text


def _stage(errors: _Collector, name: str, value: Any) -> str | None:
    text = _text(value)
    if not text:
        return None
    if text not in STAGE_OF_LABEL:
        errors.add(name, f"{name} 应为 受理/办结（accept/complete），实际为 {text!r}")
        return None
    return str(STAGE_OF_LABEL[text])


def _is_masked(value: str) -> bool:
    return "*" in value


def gb_key_record(record: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Accept Chinese field names (CSV headers) or the ASCII keys; return (by key, key → name used)."""
    by_key: dict[str, Any] = {}
    used: dict[str, str] = {}
    for name, value in record.items():
        key = GB_KEY_OF_NAME.get(name, name if name in GB_NAME else None)
        if key is not None:
            by_key[key] = value
            used[key] = name
    return by_key, used


def gb_to_rating(record: Mapping[str, Any]) -> Mapped:
    """GB/T 39046 table 9 record → intake input. Errors name the field as the record spelled it."""
    data, used = gb_key_record(record)
    errors = _Collector()

    def name(key: str) -> str:
        return used.get(key, GB_NAME[key])

    case_no = _case_no(errors, name("case_no"), data.get("case_no"))
    channel = None
    channel_text = _text(data.get("channel"))
    try:
        channel = channel_from_gb(channel_text)
    except ValueError:
        errors.add(name("channel"), f"{name('channel')} 无效：{channel_text!r}")
    rated_at = _time(errors, name("rated_at"), data.get("rated_at"), GB_TIME_FORMAT, "YYYYMMDDThhmmss")
    sequence = _int(errors, name("sequence"), data.get("sequence"), (1, 2))
    grade = _gb_grade(errors, data, name)
    comment = _comment(errors, name("comment"), data.get("comment"))
    stage = _stage(errors, name("stage"), data.get("stage"))
    claims: dict[str, tuple[str, str]] = {}
    region = _text(data.get("region"))
    if region:
        if not region.isdigit() or len(region) > 9:
            errors.add(name("region"), f"{name('region')} 应为至多9位数字（n..9），实际为 {region!r}")
        else:
            claims["region9"] = (name("region"), region)
    rater = _text(data.get("rater"))
    errors.check()
    anonymous = rater in ("", ANONYMOUS)
    assert rated_at is not None and grade is not None and channel is not None  # checked above
    item = {
        "case_no": case_no,
        "stage": stage,
        "sequence": sequence,
        "grade": GRADE_NAME_OF[grade],
        "channel": channel,
        "comment": comment,
        "is_default": channel == Channel.DEFAULT,
        "anonymous": anonymous,
        # Only the masked name ever travels; keeping it is what the source chose to show.
        "rater_name": None if anonymous else rater,
        "rated_at": rated_at,
        "idempotency_key": f"gb:{case_no}:{stage or ''}:{sequence}:{rated_at.strftime(GB_TIME_FORMAT)}",
    }
    return Mapped(item=item, claims=claims)


def _gb_grade(errors: _Collector, data: Mapping[str, Any], name) -> int | None:
    label = _text(data.get("satisfaction"))
    code_text = _text(data.get("satisfaction_code"))
    by_code = by_label = None
    if code_text:
        try:
            by_code = int(grade_from_gb(int(code_text) if code_text.isdigit() else code_text))
        except ValueError:
            errors.add(
                name("satisfaction_code"), f"{name('satisfaction_code')} 应为1–5（1=非常满意），实际为 {code_text!r}"
            )
            return None
    if label:
        by_label = _GRADE_OF_LABEL.get(label)
        if by_label is None:
            errors.add(name("satisfaction"), f"{name('satisfaction')} 无效：{label!r}（如 非常满意、满意、基本满意…）")
            return None
    if by_code is None and by_label is None:
        errors.add(name("satisfaction_code"), f"{name('satisfaction_code')} 和 {name('satisfaction')} 不能都为空")
        return None
    if by_code is not None and by_label is not None and by_code != by_label:
        errors.add(
            name("satisfaction"),
            f"{name('satisfaction')}“{label}”与{name('satisfaction_code')} {code_text}（{_GB_LABEL[by_code]}）不一致",
        )
        return None
    return by_code if by_code is not None else by_label


def provincial_to_rating(record: Mapping[str, Any]) -> Mapped:
    """Provincial interface record → intake input. Errors name the camelCase key."""
    errors = _Collector()
    case_no = _case_no(errors, "projectNo", record.get("projectNo"))
    grade = None
    alternate = _text(record.get("alternate"))
    if not alternate:
        errors.add("alternate", "alternate（评价等级）不能为空")
    else:
        try:
            grade = int(grade_from_provincial(int(alternate) if alternate.isdigit() else alternate))
        except ValueError:
            errors.add("alternate", f"alternate 应为1–5（1=非常不满意，5=非常满意），实际为 {alternate!r}")
    channel = None
    pf = _text(record.get("pf"))
    try:
        channel = channel_from_pf(int(pf) if pf.isdigit() else pf)
    except ValueError:
        errors.add("pf", f"pf（评价渠道）应为1–7，实际为 {pf!r}")
    rated_at = _time(errors, "assessTime", record.get("assessTime"), PROVINCIAL_TIME_FORMAT, "yyyy-MM-dd HH:mm:ss")
    sequence = _int(errors, "assessNumber", record.get("assessNumber"), (1, 2))
    user_prop = _int(errors, "userProp", record.get("userProp"), (1, 2), required=False) or 1
    _int(errors, "proStatus", record.get("proStatus"), (1, 2, 3), required=False)
    anonymous = _int(errors, "isAnonymity", record.get("isAnonymity"), (0, 1), required=False)
    public = _int(errors, "isPublic", record.get("isPublic"), (0, 1), required=False)
    is_default = _int(errors, "isDefault", record.get("isDefault"), (0, 1), required=False)
    check = _int(errors, "checkStatus", record.get("checkStatus"), (1, 2, 3), required=False)
    if check in (2, 3):
        errors.add(
            "checkStatus",
            "checkStatus 仅可导入有效评价（1）：申诉复核中（2）或不予采纳（3）须在本平台经申诉复核确定",
        )
    comment = _comment(errors, "writingAssess", record.get("writingAssess"))
    stage = _stage(errors, "assessStage", record.get("assessStage"))
    tags = [t.strip() for t in _text(record.get("appraisald")).split(",") if t.strip()]
    version = _text(record.get("version"))
    if version and not (version.isdigit() or re.fullmatch(r"[^@\s]+@\d+", version)):
        errors.add("version", f"version（标签集版本）应为版本号或 编码@版本号，实际为 {version!r}")
    claims: dict[str, tuple[str, str]] = {}
    for attr, key in (
        ("region__code", "areaCode"),
        ("unit__uscc", "deptCode"),
        ("service_item__basic_code", "taskCode"),
        ("service_item__implementation_code", "taskHandleItem"),
    ):
        value = _text(record.get(key))
        if value:
            claims[attr] = (key, value)
    if "region__code" in claims and region_code_error(claims["region__code"][1]):
        errors.add("areaCode", f"areaCode 应为12位行政区划代码，实际为 {claims['region__code'][1]!r}")
    errors.check()
    assert rated_at is not None and grade is not None and channel is not None  # checked above
    anonymous_flag = anonymous != 0  # absent means anonymous, as in our own API
    user_name, user_cert = _text(record.get("userName")), _text(record.get("userCert"))
    item = {
        "case_no": case_no,
        "stage": stage,
        "sequence": sequence,
        "grade": GRADE_NAME_OF[grade],
        "channel": channel,
        "tags": tags,
        "tag_set": version or None,
        "comment": comment,
        "is_default": bool(is_default) or channel == Channel.DEFAULT,
        "anonymous": anonymous_flag,
        "public": bool(public),
        "rater_kind": "legal_entity" if user_prop == 2 else "person",
        # An anonymous rater keeps no identity here; a masked certificate is no certificate (its hash
        # would match nothing), so only a clear one is stored, encrypted, by the intake.
        "rater_name": None if anonymous_flag or not user_name else user_name,
        "rater_cert": None if anonymous_flag or not user_cert or _is_masked(user_cert) else user_cert,
        "staff_code": _text(record.get("staffNo")) or None,
        "rated_at": rated_at,
        "idempotency_key": f"pf:{case_no}:{stage or ''}:{sequence}:{rated_at.strftime(GB_TIME_FORMAT)}",
    }
    return Mapped(item=item, claims=claims)


# --- services ---------------------------------------------------------------------------------------------


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise ValidationFailed(f"格式无效：{fmt!r}（可选：{'、'.join(FORMATS)}）", field="format")
    return fmt


def export_queryset(
    *, scope: Scope, since: datetime | None = None, until: datetime | None = None, region: str | None = None
):
    """Ratings of a 办件 in scope (table 9 and the provincial shape are keyed by 办件编号), oldest first."""
    qs = scope.filter(Rating.objects.filter(service_case__isnull=False))
    since, until = (_aware(v) for v in (since, until))
    if since:
        qs = qs.filter(rated_at__gte=since)
    if until:
        qs = qs.filter(rated_at__lt=until)
    if region:
        error = region_code_error(region)
        if error:
            raise ValidationFailed(f"{error}：{region!r}", field="region")
        qs = qs.filter(region__path__contains=f"{region}/")
    return qs.order_by("id").values(*EXPORT_COLUMNS)


def _aware(value: datetime | None) -> datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=CHINA_TZ)
    return value


def _csv_line(values: Iterable[Any]) -> str:
    buf = io.StringIO()
    csv.writer(buf).writerow(values)
    return buf.getvalue()


def ratings_export(
    *,
    fmt: str,
    scope: Scope,
    since: datetime | None = None,
    until: datetime | None = None,
    region: str | None = None,
    chunk_size: int = 2000,
) -> ExportStream:
    """Stream an export as text chunks (one per rating, plus header/footer). Memory stays flat."""
    check_format(fmt)
    qs = export_queryset(scope=scope, since=since, until=until, region=region)
    return ExportStream(qs, fmt=fmt, withhold_rater=scope.kind == "staff", chunk_size=chunk_size)


class ExportStream:
    """Iterable of text chunks (header, one per rating, footer); ``rows`` counts the ratings written so far."""

    def __init__(self, qs, *, fmt: str, withhold_rater: bool, chunk_size: int):
        self.qs, self.fmt, self.withhold_rater, self.chunk_size = qs, fmt, withhold_rater, chunk_size
        self.rows = 0

    def _records(self) -> Iterator[dict]:
        to_record = gb_record if self.fmt in GB_FORMATS else provincial_record
        # Window staff may read their own ratings, never who gave them (regime.md §1).
        for row in self.qs.iterator(chunk_size=self.chunk_size):
            self.rows += 1
            yield to_record(row, withhold_rater=self.withhold_rater)

    def __iter__(self) -> Iterator[str]:
        records = self._records()
        if self.fmt == GB_CSV:
            return _stream_csv(records)
        if self.fmt in (GB_JSONL, PROV_JSONL):
            return (json.dumps(r, ensure_ascii=False) + "\n" for r in records)
        return _stream_json_array(records)


def _stream_csv(rows: Iterator[dict]) -> Iterator[str]:
    # The BOM makes Excel read UTF-8; headers are the Chinese field names of table 9.
    yield "\ufeff" + _csv_line(name for _, name in GB_FIELDS)
    for r in rows:
        yield _csv_line(r[key] for key, _ in GB_FIELDS)


def _stream_json_array(rows: Iterator[dict]) -> Iterator[str]:
    yield "["
    first = True
    for r in rows:
        yield ("\n" if first else ",\n") + json.dumps(r, ensure_ascii=False)
        first = False
    yield "\n]\n"


def export_filename(fmt: str) -> str:
    return f"ratings-{fmt}.{'csv' if fmt == GB_CSV else 'jsonl' if fmt.endswith('jsonl') else 'json'}"


# --- reading files ----------------------------------------------------------------------------------------


def detect_encoding(head: bytes) -> str:
    """utf-8-sig when the first bytes are UTF-8 (a cut multi-byte character at the end is fine), else gb18030."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def decode_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM), falling back to GB 18030, which Excel on Chinese Windows writes."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("gb18030")


def read_records(text_lines: Iterable[str], fmt: str) -> Iterator[tuple[int, Any]]:
    """Yield (row number, record). CSV: the file's line number (header = 1); JSON: 1-based position.

    JSON formats accept a JSON array or JSON Lines (one object per line) whatever the format's suffix.
    """
    check_format(fmt)
    if fmt == GB_CSV:
        yield from _read_csv(text_lines)
        return
    lines = iter(text_lines)
    first = ""
    for line in lines:
        if line.strip():
            first = line
            break
    if first.lstrip().startswith("["):
        text = first + "".join(lines)
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(f"JSON 无法解析：第{exc.lineno}行 {exc.msg}", field="file") from None
        if not isinstance(data, list):
            raise ValidationFailed("JSON 应为记录数组", field="file")
        yield from enumerate(data, start=1)
        return
    row = 0
    for line in _chain_first(first, lines):
        if not line.strip():
            continue
        row += 1
        try:
            yield row, json.loads(line)
        except json.JSONDecodeError as exc:
            yield row, RecordInvalid([{"field": None, "message": f"JSON 无法解析：{exc.msg}"}])


def _chain_first(first: str, rest: Iterator[str]) -> Iterator[str]:
    if first:
        yield first
    yield from rest


def _read_csv(text_lines: Iterable[str]) -> Iterator[tuple[int, Any]]:
    reader = csv.reader(text_lines)
    header = next(reader, None)
    if header is None:
        return
    header = [h.strip().lstrip("\ufeff") for h in header]
    keys = {GB_KEY_OF_NAME.get(h, h) for h in header}
    missing = [GB_NAME[k] for k in ("case_no", "channel", "rated_at", "sequence") if k not in keys]
    if not keys & {"satisfaction", "satisfaction_code"}:
        missing.append("满意度代码")
    if missing:
        raise ValidationFailed(f"CSV 缺少列：{'、'.join(missing)}", field="file")
    for values in reader:
        if not any(v.strip() for v in values):
            continue
        yield reader.line_num, dict(zip(header, values, strict=False))


# --- import -----------------------------------------------------------------------------------------------


@dataclass
class RowResult:
    row: int
    status: int
    rating_id: str | None = None
    created: bool = False
    message: str | None = None
    errors: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status in (200, 201)


@dataclass
class ImportReport:
    results: list[RowResult] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return sum(1 for r in self.results if r.status == 201)

    @property
    def duplicates(self) -> int:
        return sum(1 for r in self.results if r.status == 200)

    @property
    def rejected(self) -> int:
        return sum(1 for r in self.results if not r.ok)


def _error_row(row: int, status: int, errors: list[dict]) -> RowResult:
    first = errors[0]
    message = first["message"]
    return RowResult(row=row, status=status, message=message, errors=errors)


def _verify_claims(mapped: Mapped, case: Mapping[str, Any]) -> list[dict]:
    errors = []
    for attr, (field_name, value) in mapped.claims.items():
        actual = to_gb9(case["region__code"]) if attr == "region9" else (case[attr] or "")
        # n..9 may drop trailing zeros: 330102 and 330102000 name the same county.
        if (value.ljust(9, "0") if attr == "region9" else value) != actual:
            errors.append(
                {"field": field_name, "message": f"{field_name} 为 {value}，与办件登记的 {actual or '（空）'} 不一致"}
            )
    return errors


def _resolve_version(item: dict, tag_sets: dict[tuple[str, int], list[str]]) -> str | None:
    """A bare provincial version number → our code@version, by the channel's tag-set kind."""
    version = item.get("tag_set")
    if not version or not version.isdigit():
        return None
    kind = TagSet.Kind.ONLINE if item["channel"] in ONLINE_CHANNELS else TagSet.Kind.ONSITE
    codes = tag_sets.get((kind, int(version)), [])
    if len(codes) != 1:
        return f"version 无法确定标签集：{kind} 类标签集版本 {version} 有 {len(codes)} 个"
    item["tag_set"] = f"{codes[0]}@{version}"
    return None


def _translate(errors: list[dict], names: dict[str, str]) -> list[dict]:
    out = []
    for e in errors:
        f = e.get("field")
        base = f.split(".")[0] if f else None
        label = names.get(base, f) if base else f
        message = e["message"].replace(f"字段 {f} ", f"字段 {label} ") if f else e["message"]
        out.append({"field": label, "message": message})
    return out


def ratings_import(
    records: Iterable[tuple[int, Any]], *, fmt: str, scope: Scope, client: str, batch_size: int | None = None
) -> ImportReport:
    """Map and store records through the one intake path, batch by batch; one result per record.

    Re-importing the same file stores nothing twice: each record carries an idempotency key derived from
    办件编号, stage, 评价次数 and 评价时间, and the intake returns the stored rating for a repeated key.
    """
    return ImportReport(list(ratings_import_iter(records, fmt=fmt, scope=scope, client=client, batch_size=batch_size)))


def ratings_import_iter(
    records: Iterable[tuple[int, Any]], *, fmt: str, scope: Scope, client: str, batch_size: int | None = None
) -> Iterator[RowResult]:
    """As ``ratings_import``, yielding results batch by batch (each batch its own transaction): for files
    too large to keep every result in memory."""
    check_format(fmt)
    scope.require_write()
    batch_size = batch_size or settings.HAOCHAPING_BATCH_MAX
    batch: list[tuple[int, Any]] = []
    for pair in records:
        batch.append(pair)
        if len(batch) >= batch_size:
            yield from _import_batch(batch, fmt=fmt, scope=scope, client=client)
            batch = []
    if batch:
        yield from _import_batch(batch, fmt=fmt, scope=scope, client=client)


def _import_batch(batch: list[tuple[int, Any]], *, fmt: str, scope: Scope, client: str) -> list[RowResult]:
    gb = fmt in GB_FORMATS
    to_rating = gb_to_rating if gb else provincial_to_rating
    case_field = "办件编号" if gb else "projectNo"
    names = _GB_FIELD_OF_INTAKE if gb else _PROV_FIELD_OF_INTAKE
    results: dict[int, RowResult] = {}
    mapped: list[tuple[int, int, Mapped]] = []
    for pos, (row, record) in enumerate(batch):
        if isinstance(record, RecordInvalid):
            results[pos] = _error_row(row, 422, record.errors)
            continue
        if not isinstance(record, Mapping):
            results[pos] = _error_row(row, 422, [{"field": None, "message": "记录应为 JSON 对象"}])
            continue
        try:
            mapped.append((pos, row, to_rating(record)))
        except RecordInvalid as exc:
            results[pos] = _error_row(row, 422, exc.errors)

    # The 办件 supplies unit, 事项 and region (table 9 has none of them): it must exist in the caller's scope.
    case_nos = {m.item["case_no"] for _, _, m in mapped}
    cases = {
        c["case_no"]: c
        for c in scope.filter(ServiceCase.objects.filter(case_no__in=case_nos)).values(
            "case_no",
            "region__code",
            "unit__uscc",
            "service_item__basic_code",
            "service_item__implementation_code",
        )
    }
    tag_sets: dict[tuple[str, int], list[str]] = {}
    if any((m.item.get("tag_set") or "").isdigit() for _, _, m in mapped):
        for code, kind, version in TagSet.objects.values_list("code", "kind", "version"):
            tag_sets.setdefault((kind, version), []).append(code)

    to_submit: list[tuple[int, int, dict]] = []
    for pos, row, m in mapped:
        case = cases.get(m.item["case_no"])
        if case is None:
            message = f"{case_field} 对应的办件不存在或不在调用方数据范围内：{m.item['case_no']}"
            results[pos] = _error_row(row, 404, [{"field": case_field, "message": message}])
            continue
        errors = _verify_claims(m, case)
        version_error = None if gb else _resolve_version(m.item, tag_sets)
        if version_error:
            errors.append({"field": "version", "message": version_error})
        if errors:
            results[pos] = _error_row(row, 422, errors)
            continue
        to_submit.append((pos, row, m.item))

    if to_submit:
        outcomes = submit_ratings([item for _, _, item in to_submit], scope=scope, client=client)
        for (pos, row, _), r in zip(to_submit, outcomes, strict=True):
            errors = _translate(r.errors, names)
            message = r.message
            if errors and message:
                message = _translate([{"field": r.errors[0]["field"], "message": message}], names)[0]["message"]
            results[pos] = RowResult(
                row=row, status=r.status, rating_id=r.rating_id, created=r.created, message=message, errors=errors
            )
    return [results[pos] for pos in range(len(batch))]
