"""Bulk import of the directory (组织机构与事项目录) from CSV files and Excel workbooks.

One importer per kind: regions, units (机构), halls, windows, staff, items (事项), platforms. Rules:

- Headers are Chinese (``统一社会信用代码``) or English aliases (``uscc``); choice cells take the Chinese label or
  the code. Every bad cell becomes a row error (spreadsheet row number, header row = 1; column; reason).
- Idempotent on the codes (region code, USCC, hall code, hall + window code, staff code, implementation code,
  platform code): an unchanged row is not saved again, a changed row is updated.
- All or nothing: the whole file runs in one transaction, which is rolled back when any row is bad or when it
  is a dry run. A dry run therefore reports exactly the errors a real run would.
- A row may refer to rows that exist in the database or anywhere in the same file: regions are written by
  level and units by depth in the file, so parents come first whatever the order of the rows.
- Existence checks are bulk lookups, a few queries per file rather than per row.
- A non-superuser may only touch objects inside their scope (region subtree); references to objects outside
  it are reported as unknown, as everywhere else (accounts/scope.py).
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Callable, Collection, Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import translation
from django.utils.translation import gettext as _

from haochaping.accounts.scope import ALL_SCOPE, Scope
from haochaping.directory.models import Hall, Organisation, Platform, Region, ServiceItem, Staff, Window
from haochaping.lib.errors import PermissionDenied
from haochaping.lib.regioncode import parent_code, region_code_error, region_level
from haochaping.lib.tabular import (
    IGNORED_HEADERS,
    IGNORED_SHEETS,
    Column,
    FileUnreadable,
    ImportResult,
    KindCounts,
    RowError,
    read_csv,
    read_workbook,
)
from haochaping.lib.tabular import norm_header as _norm_header
from haochaping.lib.uscc import uscc_error

KINDS = ("regions", "units", "halls", "windows", "staff", "items", "platforms")  # dependency order
SHEET_NAMES = {
    "regions": "行政区划",
    "units": "机构",
    "halls": "大厅",
    "windows": "窗口",
    "staff": "人员",
    "items": "事项",
    "platforms": "平台",
}
# Other names accepted for --kind and for workbook sheets.
KIND_ALIASES = {
    "region": "regions",
    "区划": "regions",
    "unit": "units",
    "organisation": "units",
    "organisations": "units",
    "organization": "units",
    "organizations": "units",
    "orgs": "units",
    "机构部门": "units",
    "机构/部门": "units",
    "组织机构": "units",
    "部门": "units",
    "hall": "halls",
    "服务大厅": "halls",
    "window": "windows",
    "人员": "staff",
    "工作人员": "staff",
    "item": "items",
    "serviceitems": "items",
    "service_items": "items",
    "政务服务事项": "items",
    "事项目录": "items",
    "platform": "platforms",
    "服务平台": "platforms",
}
BATCH_SIZE = 500
_LOOKUP_CHUNK = 1000

TRUE_WORDS = {"是", "y", "yes", "true", "t", "1", "√", "✓", "启用", "在岗", "可"}
FALSE_WORDS = {"否", "n", "no", "false", "f", "0", "×", "✗", "停用", "离岗", "不可"}


# --- columns and cells --------------------------------------------------------------------------------------


@functools.cache
def _choice_map(choices: type[models.Choices], extra: tuple[tuple[str, str], ...] = ()) -> dict[str, str]:
    """Label or code → code. Labels count in every configured language (the Chinese source strings first)."""
    mapping: dict[str, str] = {}
    for language in (None, *(code for code, _name in settings.LANGUAGES)):
        with translation.override(language):
            for value, label in choices.choices:
                mapping.setdefault(str(value).lower(), value)
                mapping.setdefault(str(label).lower(), value)
    mapping.update(extra)
    return mapping


def _choice_hint(choices: type[models.Choices]) -> str:
    with translation.override(None):
        return "、".join(f"{value} {label}" for value, label in choices.choices)


def resolve_kind(name: str) -> str | None:
    key = _norm_header(name)
    if key in KINDS:
        return key
    for kind, sheet in SHEET_NAMES.items():
        if key == sheet:
            return kind
    return KIND_ALIASES.get(key)


# --- reading files ------------------------------------------------------------------------------------------


@dataclass
class Table:
    """One sheet or CSV file: its kind, the header cells and the data rows with their spreadsheet row numbers."""

    kind: str
    sheet: str
    header: list[str]
    rows: list[tuple[int, list[str]]]


def _guess_kind(header: list[str]) -> str | None:
    """The kind whose required columns the header has, preferring the one that matches the most columns."""
    best: tuple[int, str] | None = None
    for kind in KINDS:
        spec = IMPORTERS[kind]
        names = {_norm_header(h) for h in header}
        found = {c.field for c in spec.columns if names & spec.names_of(c)}
        if all(c.field in found for c in spec.columns if c.required):
            score = len(found) * 100 - len(spec.columns)  # ties go to the narrower kind
            if best is None or score > best[0]:
                best = (score, kind)
    return best[1] if best else None


def read_tables(data: bytes, *, filename: str = "", kind: str | None = None) -> list[Table]:
    """Parse a CSV file (one kind) or an .xlsx workbook (one sheet per kind, or one sheet of `kind`)."""
    if kind is not None and kind not in KINDS:
        raise FileUnreadable(_("未知的导入类型：%(kind)s") % {"kind": kind})
    lower = filename.lower()
    if data.startswith(b"\xd0\xcf\x11\xe0") or lower.endswith(".xls"):
        raise FileUnreadable(_("不支持旧版 .xls 文件，请在 Excel 中另存为 .xlsx 或 CSV"))
    if data.startswith(b"PK\x03\x04") or lower.endswith((".xlsx", ".xlsm")):
        sheets = [s for s in read_workbook(data) if _norm_header(s[0]) not in IGNORED_SHEETS]
        if kind:
            # One kind asked for: its own sheet if the workbook has one, else the first sheet.
            named = [s for s in sheets if resolve_kind(s[0]) == kind]
            if not named and len(sheets) > 1:
                raise FileUnreadable(_("工作簿中没有名为「%(name)s」的工作表") % {"name": SHEET_NAMES[kind]})
            title, header, rows = (named or sheets or [("", [], [])])[0]
            return [Table(kind, title, header, rows)] if header else []
        tables = []
        seen: dict[str, str] = {}
        for title, header, rows in sheets:
            if not header:
                continue  # an empty sheet (Excel's leftover "Sheet1") says nothing
            sheet_kind = resolve_kind(title)
            if sheet_kind is None and sum(1 for s in sheets if s[1]) == 1:
                sheet_kind = _guess_kind(header)
            if sheet_kind is None:
                names = "、".join(SHEET_NAMES.values())
                raise FileUnreadable(
                    _("无法识别的工作表「%(title)s」：工作表应命名为 %(names)s，或指定导入类型")
                    % {"title": title, "names": names}
                )
            if sheet_kind in seen:
                raise FileUnreadable(_("工作表「%(a)s」和「%(b)s」是同一类型") % {"a": seen[sheet_kind], "b": title})
            seen[sheet_kind] = title
            tables.append(Table(sheet_kind, title, header, rows))
        tables.sort(key=lambda t: KINDS.index(t.kind))
        return tables
    header, rows = read_csv(data)
    kind = kind or _guess_kind(header)
    if kind is None:
        raise FileUnreadable(_("无法根据列名判断导入类型，请指定类型（--kind）"))
    return [Table(kind, "", header, rows)]


# --- the shared run state -----------------------------------------------------------------------------------


class _Abort(Exception):
    """The database refused a write: stop here; the transaction is rolled back."""


class _Cache:
    """Objects by key, loaded in bulk the first time a batch of keys is asked for."""

    def __init__(self, queryset: models.QuerySet, lookup: str, key: Callable[[Any], Hashable]):
        self.queryset, self.lookup, self.key = queryset, lookup, key
        self.objects: dict[Hashable, Any] = {}
        self.asked: set[Hashable] = set()

    def load(self, keys: Iterable[Hashable]) -> None:
        wanted = [k for k in dict.fromkeys(keys) if k and k not in self.asked]
        self.asked.update(wanted)
        for start in range(0, len(wanted), _LOOKUP_CHUNK):
            chunk = wanted[start : start + _LOOKUP_CHUNK]
            for obj in self.queryset.filter(**{f"{self.lookup}__in": chunk}):
                self.objects[self.key(obj)] = obj

    def get(self, key: Hashable) -> Any:
        if key not in self.asked:
            self.load([key])
        return self.objects.get(key)

    def put(self, key: Hashable, obj: Any) -> None:
        self.asked.add(key)
        self.objects[key] = obj


class _Context:
    """State shared by the importers of one file: the scope, lookups, and rows that failed (for clear messages)."""

    def __init__(self, scope: Scope, result: ImportResult):
        self.scope = scope
        self.result = result
        self.regions = _Cache(Region.objects.all(), "code", lambda r: r.code)
        self.units = _Cache(Organisation.objects.select_related("region"), "uscc", lambda u: u.uscc)
        self.halls = _Cache(Hall.objects.select_related("region"), "code", lambda h: h.code)
        self.windows = _Cache(
            Window.objects.select_related("hall__region"), "hall__code", lambda w: (w.hall.code, w.code)
        )
        # (space, key) → where the bad row is, so a reference to it says so instead of "unknown".
        self.failed: dict[tuple[str, Hashable], str] = {}

    def in_scope(self, path: str) -> bool:
        return self.scope.allows_region_path(path)


class _Row:
    def __init__(self, number: int, cells: dict[str, str]):
        self.number = number
        self.cells = cells
        self.errors: list[tuple[str, str]] = []

    def has(self, name: str) -> bool:
        return name in self.cells

    def get(self, name: str) -> str:
        return self.cells.get(name, "")

    def error(self, name: str, message: str) -> None:
        self.errors.append((name, message))


# --- the importers ------------------------------------------------------------------------------------------


class _Importer:
    kind: str = ""
    label: str = ""
    model: type[models.Model]
    columns: tuple[Column, ...] = ()
    key_columns: tuple[str, ...] = ()
    space: str = ""  # name of this kind's references in _Context.failed
    # model field → column, for validation errors raised on a model field fed by a reference column
    field_columns: dict[str, str] = {}
    # column → (choices, extra spellings accepted for it)
    choice_columns: dict[str, tuple[type[models.Choices], tuple[tuple[str, str], ...]]] = {}

    @classmethod
    def names_of(cls, column: Column) -> set[str]:
        return {_norm_header(column.header), *(_norm_header(a) for a in column.aliases)}

    def __init__(self, ctx: _Context, sheet: str):
        self.ctx = ctx
        self.sheet = sheet
        self.headers: dict[str, str] = {c.field: c.header for c in self.columns}
        self.counts = KindCounts(self.kind, self.label)

    # -- hooks --
    def key(self, row: _Row) -> Hashable:
        return row.get(self.key_columns[0])

    def key_text(self, key: Hashable) -> str:
        return "/".join(key) if isinstance(key, tuple) else str(key)

    def prefetch(self, rows: list[_Row]) -> None:
        pass

    def existing(self, key: Hashable) -> models.Model | None:
        raise NotImplementedError

    def remember(self, key: Hashable, obj: models.Model) -> None:
        raise NotImplementedError

    def waves(self, rows: list[_Row]) -> list[list[_Row]]:
        return [rows]

    def build(self, row: _Row, obj: Any, new: bool) -> None:
        raise NotImplementedError

    def scope_path(self, obj: Any) -> str:
        return obj.region.path

    def before_write(self, obj: Any) -> None:
        pass

    def after_update(self, old: Any, new: Any) -> None:
        pass

    # -- helpers for build() --
    def error(self, row_number: int, column: str, message: str) -> None:
        self.ctx.result.errors.append(RowError(row_number, self.headers.get(column, column), message, self.sheet))

    def set_text(self, row: _Row, obj: Any, name: str, default: str = "") -> None:
        if row.has(name):
            setattr(obj, name, row.get(name) or default)

    def set_bool(self, row: _Row, obj: Any, name: str, default: bool = True) -> None:
        if not row.has(name):
            return
        text = row.get(name).lower()
        if not text:
            setattr(obj, name, default)
        elif text in TRUE_WORDS:
            setattr(obj, name, True)
        elif text in FALSE_WORDS:
            setattr(obj, name, False)
        else:
            row.error(name, _("应填“是”或“否”，实际为：%(v)s") % {"v": row.get(name)})

    def set_choice(self, row: _Row, obj: Any, name: str, default: str | None = None) -> None:
        if not row.has(name):
            return
        text = row.get(name)
        choices, extra = self.choice_columns[name]
        mapping, hint = _choice_map(choices, extra), _choice_hint(choices)
        if not text:
            if default is None:
                row.error(name, _("必填"))
            else:
                setattr(obj, name, default)
            return
        value = mapping.get(text.lower())
        if value is None:
            row.error(name, _("无效的取值：%(v)s（可填代码或名称：%(hint)s）") % {"v": text, "hint": hint})
        else:
            setattr(obj, name, value)

    def describe_missing(self, space: str, key: Hashable, what: str) -> str:
        where = self.ctx.failed.get((space, key))
        if where:
            return _("%(what)s %(key)s 所在的%(where)s有错误，未能导入") % {
                "what": what,
                "key": self.key_text(key),
                "where": where,
            }
        return _("%(what)s不存在或不在您的数据范围内：%(key)s") % {"what": what, "key": self.key_text(key)}

    def ref_region(self, row: _Row, column: str) -> Region | None:
        code = row.get(column)
        region = self.ctx.regions.get(code)
        if region is None or not self.ctx.in_scope(region.path):
            row.error(column, self.describe_missing("region", code, _("行政区划")))
            return None
        return region

    def ref_unit(self, row: _Row, column: str) -> Organisation | None:
        uscc = row.get(column).upper()
        unit = self.ctx.units.get(uscc)
        if unit is None or not self.ctx.in_scope(unit.region.path):
            row.error(column, self.describe_missing("unit", uscc, _("单位")))
            return None
        return unit

    def ref_hall(self, row: _Row, column: str) -> Hall | None:
        code = row.get(column)
        hall = self.ctx.halls.get(code)
        if hall is None or not self.ctx.in_scope(hall.region.path):
            row.error(column, self.describe_missing("hall", code, _("大厅")))
            return None
        return hall

    # -- the run --
    def _map_header(self, header: list[str]) -> dict[str, int] | None:
        index: dict[str, int] = {}
        by_name = {name: c for c in self.columns for name in self.names_of(c)}
        ok = True
        for i, text in enumerate(header):
            name = _norm_header(text)
            if not name or name in IGNORED_HEADERS:
                continue
            column = by_name.get(name)
            if column is None:
                known = "、".join(c.header for c in self.columns)
                self.error(1, text, _("无法识别的列名（可用列：%(known)s）") % {"known": known})
                ok = False
            elif column.field in index:
                self.error(1, text, _("列名重复"))
                ok = False
            else:
                index[column.field] = i
                self.headers[column.field] = text  # errors name the column as the file does
        for column in self.columns:
            if column.required and column.field not in index:
                self.error(1, column.header, _("缺少必填列"))
                ok = False
        return index if ok else None

    def _rows(self, table: Table, index: dict[str, int]) -> list[_Row]:
        rows = []
        for number, cells in table.rows:
            values = {name: (cells[i] if i < len(cells) else "") for name, i in index.items()}
            rows.append(_Row(number, values))
        return rows

    def run(self, table: Table) -> KindCounts:
        self.counts.rows = len(table.rows)
        index = self._map_header(table.header)
        if index is None:
            return self.counts
        rows = self._rows(table, index)
        seen: dict[Hashable, int] = {}
        candidates = []
        for row in rows:
            for column in self.columns:
                if column.required and not row.get(column.field):
                    row.error(column.field, _("必填"))
            if row.errors:
                self._fail(row)
                continue
            key = self.key(row)
            if key in seen:
                row.error(
                    self.key_columns[-1],
                    _("%(key)s 与第%(n)d行重复") % {"key": self.key_text(key), "n": seen[key]},
                )
                self._fail(row)
                continue
            seen[key] = row.number
            candidates.append(row)
        self.prefetch(candidates)
        for wave in self.waves(candidates):
            self._run_wave(wave)
        return self.counts

    def _fail(self, row: _Row) -> None:
        for name, message in row.errors:
            self.error(row.number, name, message)
        if self.space and all(row.get(c) for c in self.key_columns):
            where = f"工作表「{self.sheet}」第{row.number}行" if self.sheet else f"第{row.number}行"
            self.ctx.failed.setdefault((self.space, self.key(row)), where)

    def _validate(self, row: _Row, obj: models.Model) -> None:
        exclude = [f.name for f in obj._meta.concrete_fields if f.is_relation or not f.editable]
        try:
            obj.clean_fields(exclude=exclude)
            obj.clean()
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                column = self.field_columns.get(name, name)
                if name == NON_FIELD_ERRORS or column not in self.headers:
                    column = self.key_columns[-1]
                for message in messages:
                    row.error(column, message)

    def _run_wave(self, rows: list[_Row]) -> None:
        to_create: list[models.Model] = []
        to_update: list[tuple[models.Model, tuple[str, ...]]] = []
        updated_pairs: list[tuple[models.Model, models.Model]] = []
        for row in rows:
            key = self.key(row)
            old = self.existing(key)
            if old is not None and not self.ctx.in_scope(self.scope_path(old)):
                row.error(self.key_columns[-1], _("该编码已被数据范围外的记录使用：%(k)s") % {"k": self.key_text(key)})
                self._fail(row)
                continue
            obj = copy.copy(old) if old is not None else self.model()
            self.build(row, obj, new=old is None)
            if not row.errors:
                self._validate(row, obj)
            if not row.errors and not self.ctx.in_scope(self.scope_path(obj)):
                row.error(self.key_columns[-1], _("不在您的数据范围内"))
            if row.errors:
                self._fail(row)
                continue
            if old is None:
                to_create.append(obj)
                self.counts.created += 1
            else:
                fields = [
                    f.name
                    for f in obj._meta.concrete_fields
                    if not f.primary_key and getattr(obj, f.attname) != getattr(old, f.attname)
                ]
                if not fields:
                    self.counts.unchanged += 1
                    continue
                to_update.append((obj, tuple(fields)))
                updated_pairs.append((old, obj))
                self.counts.updated += 1
            self.remember(key, obj)
        # Written even when some row was bad (the transaction is rolled back then): later waves and kinds
        # resolve their references against these rows exactly as a clean run would.
        try:
            with transaction.atomic():
                for obj in to_create:
                    self.before_write(obj)
                self.model.objects.bulk_create(to_create, batch_size=BATCH_SIZE)
                for obj, _fields in to_update:
                    self.before_write(obj)
                _update_rows(self.model, to_update)
                for old, new in updated_pairs:
                    self.after_update(old, new)
        except IntegrityError as exc:
            self.ctx.result.errors.append(RowError(0, "", _("写入数据库失败：%(e)s") % {"e": exc}, self.sheet))
            raise _Abort from exc


def _update_rows(model: type[models.Model], changes: list[tuple[models.Model, tuple[str, ...]]]) -> None:
    """UPDATE the changed fields of each object, one executemany per set of changed fields.

    bulk_update's CASE WHEN statements cost ~0.5 ms a row to build; a parameterised executemany is ~10× cheaper.
    """
    groups: dict[tuple[str, ...], list[models.Model]] = {}
    for obj, fields in changes:
        groups.setdefault(fields, []).append(obj)
    quote = connection.ops.quote_name
    for names, objs in groups.items():
        fields = [model._meta.get_field(name) for name in names]
        sets = ", ".join(f"{quote(f.column)} = %s" for f in fields)
        sql = f"UPDATE {quote(model._meta.db_table)} SET {sets} WHERE {quote(model._meta.pk.column)} = %s"
        params = [[f.get_db_prep_save(getattr(obj, f.attname), connection) for f in fields] + [obj.pk] for obj in objs]
        with connection.cursor() as cursor:
            cursor.executemany(sql, params)


class RegionImporter(_Importer):
    kind, label, model, space = "regions", "行政区划", Region, "region"
    columns = (
        Column("code", "行政区划代码", ("区划代码", "code", "region_code"), required=True),
        Column("name", "名称", ("区划名称", "行政区划名称", "name"), required=True),
        Column("parent_code", "上级区划代码", ("上级行政区划代码", "parent_code", "parent")),
    )
    key_columns = ("code",)
    field_columns = {"parent": "parent_code"}

    def key(self, row: _Row) -> Hashable:
        return row.get("code")

    def prefetch(self, rows: list[_Row]) -> None:
        codes = []
        for row in rows:
            code = row.get("code")
            codes.append(code)
            codes.append(row.get("parent_code") or (parent_code(code) if not region_code_error(code) else ""))
        self.ctx.regions.load(codes)

    def existing(self, key: Hashable) -> Region | None:
        return self.ctx.regions.get(key)

    def remember(self, key: Hashable, obj: Any) -> None:
        self.ctx.regions.put(key, obj)

    def waves(self, rows: list[_Row]) -> list[list[_Row]]:
        # A parent always has a lower level than its children: writing level by level puts parents first.
        by_level: dict[int, list[_Row]] = {}
        for row in rows:
            code = row.get("code")
            level = 0 if region_code_error(code) else region_level(code)
            by_level.setdefault(level, []).append(row)
        return [by_level[level] for level in sorted(by_level)]

    def build(self, row: _Row, obj: Region, new: bool) -> None:
        code = row.get("code")
        if error := region_code_error(code):
            row.error("code", error)
            return
        obj.code = code
        obj.level = region_level(code)
        obj.name = row.get("name")
        if row.has("parent_code") or new:
            # 上级区划代码 left blank: the division the code itself implies (none for a province).
            wanted = row.get("parent_code") or parent_code(code)
            if wanted is None:
                obj.parent = None
            else:
                parent = self.ctx.regions.get(wanted)
                if parent is None:
                    row.error("parent_code", self.describe_missing("region", wanted, _("上级区划")))
                    return
                if parent.level >= obj.level:
                    row.error("parent_code", _("上级区划的层级必须高于本区划"))
                    return
                obj.parent = parent
        obj.path = (obj.parent.path if obj.parent else "") + code + "/"

    def scope_path(self, obj: Region) -> str:
        return obj.path

    def after_update(self, old: Region, new: Region) -> None:
        if old.path == new.path:
            return
        # The region moved: its descendants' materialised paths move with it.
        descendants = list(Region.objects.filter(path__startswith=old.path).exclude(pk=old.pk).only("id", "path"))
        for region in descendants:
            region.path = new.path + region.path[len(old.path) :]
        _update_rows(Region, [(region, ("path",)) for region in descendants])
        for region in self.ctx.regions.objects.values():
            if region.path.startswith(old.path) and region is not new:
                region.path = new.path + region.path[len(old.path) :]


class UnitImporter(_Importer):
    kind, label, model, space = "units", "机构", Organisation, "unit"
    columns = (
        Column("uscc", "统一社会信用代码", ("信用代码", "社会信用代码", "uscc", "credit_code"), required=True),
        Column("name", "单位名称", ("名称", "机构名称", "部门名称", "name"), required=True),
        Column("short_name", "简称", ("单位简称", "short_name")),
        Column("kind", "类型", ("单位类型", "机构类型", "kind", "type")),
        Column("region_code", "行政区划代码", ("所属区划代码", "区划代码", "region_code", "region"), required=True),
        Column("parent_uscc", "上级单位信用代码", ("上级单位统一社会信用代码", "parent_uscc", "parent")),
        Column("is_active", "启用", ("是否启用", "is_active", "active")),
        Column("category", "部门类别", ("类别", "category")),
    )
    key_columns = ("uscc",)
    field_columns = {"region": "region_code", "parent": "parent_uscc"}
    choice_columns = {"kind": (Organisation.Kind, (("管理机构", "agency"), ("部门", "department")))}

    def key(self, row: _Row) -> Hashable:
        return row.get("uscc").upper()

    def prefetch(self, rows: list[_Row]) -> None:
        self.ctx.units.load([self.key(r) for r in rows] + [r.get("parent_uscc").upper() for r in rows])
        self.ctx.regions.load(r.get("region_code") for r in rows)
        region_ids = [r.pk for r in self.ctx.regions.objects.values()]
        self.agencies: dict[int, str] = {}
        for start in range(0, len(region_ids), _LOOKUP_CHUNK):
            chunk = region_ids[start : start + _LOOKUP_CHUNK]
            agencies = Organisation.objects.filter(kind=Organisation.Kind.AGENCY, region_id__in=chunk)
            self.agencies.update(agencies.values_list("region_id", "uscc"))

    def existing(self, key: Hashable) -> Organisation | None:
        return self.ctx.units.get(key)

    def remember(self, key: Hashable, obj: Any) -> None:
        self.ctx.units.put(key, obj)

    def waves(self, rows: list[_Row]) -> list[list[_Row]]:
        # Parents in the same file come first: group rows by their depth in the file's own hierarchy.
        parent_of = {self.key(r): r.get("parent_uscc").upper() for r in rows}
        depth: dict[Hashable, int] = {}
        waves: dict[int, list[_Row]] = {}
        for row in rows:
            key, chain = self.key(row), []
            node: Hashable = key
            while node in parent_of and node not in depth and node not in chain:
                chain.append(node)
                node = parent_of[node]
            if node in chain:
                row.error("parent_uscc", _("上级单位存在循环引用"))
                self._fail(row)
                continue
            base = depth.get(node, -1) if node in parent_of else -1
            for i, n in enumerate(reversed(chain)):
                depth[n] = base + 1 + i
            waves.setdefault(depth[key], []).append(row)
        return [waves[d] for d in sorted(waves)]

    def build(self, row: _Row, obj: Organisation, new: bool) -> None:
        uscc = self.key(row)
        old_region_id, was_agency = obj.region_id, obj.kind == Organisation.Kind.AGENCY and not new
        if error := uscc_error(uscc):
            row.error("uscc", error)
        obj.uscc = uscc
        obj.name = row.get("name")
        self.set_text(row, obj, "short_name")
        self.set_text(row, obj, "category")  # blank: derived from the name (directory/categories.py)
        self.set_choice(row, obj, "kind", default=Organisation.Kind.DEPARTMENT)
        self.set_bool(row, obj, "is_active")
        region = self.ref_region(row, "region_code")
        if region is not None:
            obj.region = region
        if row.get("parent_uscc"):
            parent = self.ref_unit(row, "parent_uscc")
            if parent is not None:
                if parent.uscc == uscc:
                    row.error("parent_uscc", _("上级单位不能是本单位"))
                elif not new and obj.parent_id != parent.pk and self._is_descendant(parent, obj.pk):
                    row.error("parent_uscc", _("上级单位存在循环引用"))
                obj.parent = parent
        elif row.has("parent_uscc"):
            obj.parent = None
        if row.errors:
            return
        # One management agency per region (a database constraint): say so on the row, not as a crash.
        if obj.kind == Organisation.Kind.AGENCY:
            holder = self.agencies.get(obj.region_id)
            if holder and holder != uscc:
                row.error("kind", _("该行政区划已有政务服务管理机构：%(uscc)s") % {"uscc": holder})
                return
        if was_agency and self.agencies.get(old_region_id) == uscc:
            del self.agencies[old_region_id]
        if obj.kind == Organisation.Kind.AGENCY:
            self.agencies[obj.region_id] = uscc

    @staticmethod
    def _is_descendant(unit: Organisation, ancestor_id: int) -> bool:
        """Whether `unit` sits below `ancestor_id` in the database (rare: only checked when a parent changes)."""
        node, hops = unit.parent_id, 0
        while node and hops < 100:
            if node == ancestor_id:
                return True
            node = Organisation.objects.filter(pk=node).values_list("parent_id", flat=True).first()
            hops += 1
        return unit.pk == ancestor_id


class HallImporter(_Importer):
    kind, label, model, space = "halls", "大厅", Hall, "hall"
    columns = (
        Column("code", "大厅编码", ("code", "hall_code"), required=True),
        Column("name", "大厅名称", ("名称", "name"), required=True),
        Column("kind", "类型", ("大厅类型", "kind", "type")),
        Column("region_code", "行政区划代码", ("所属区划代码", "区划代码", "region_code", "region"), required=True),
        Column("unit_uscc", "管理单位信用代码", ("管理单位统一社会信用代码", "unit_uscc", "unit"), required=True),
        Column("address", "地址", ("address",)),
        Column("is_active", "启用", ("是否启用", "is_active", "active")),
    )
    key_columns = ("code",)
    field_columns = {"region": "region_code", "unit": "unit_uscc"}
    choice_columns = {"kind": (Hall.Kind, ())}

    def prefetch(self, rows: list[_Row]) -> None:
        self.ctx.halls.load(self.key(r) for r in rows)
        self.ctx.regions.load(r.get("region_code") for r in rows)
        self.ctx.units.load(r.get("unit_uscc").upper() for r in rows)

    def existing(self, key: Hashable) -> Hall | None:
        return self.ctx.halls.get(key)

    def remember(self, key: Hashable, obj: Any) -> None:
        self.ctx.halls.put(key, obj)

    def build(self, row: _Row, obj: Hall, new: bool) -> None:
        obj.code = row.get("code")
        obj.name = row.get("name")
        self.set_choice(row, obj, "kind", default=Hall.Kind.CENTRE)
        self.set_text(row, obj, "address")
        self.set_bool(row, obj, "is_active")
        if region := self.ref_region(row, "region_code"):
            obj.region = region
        if unit := self.ref_unit(row, "unit_uscc"):
            obj.unit = unit


class WindowImporter(_Importer):
    kind, label, model, space = "windows", "窗口", Window, "window"
    columns = (
        Column("hall_code", "大厅编码", ("hall_code", "hall"), required=True),
        Column("code", "窗口编号", ("窗口编码", "code", "window_code"), required=True),
        Column("name", "窗口名称", ("名称", "name"), required=True),
        Column("unit_uscc", "进驻单位信用代码", ("进驻单位统一社会信用代码", "unit_uscc", "unit"), required=True),
        Column("is_active", "启用", ("是否启用", "is_active", "active")),
    )
    key_columns = ("hall_code", "code")
    field_columns = {"hall": "hall_code", "unit": "unit_uscc"}

    def key(self, row: _Row) -> Hashable:
        return (row.get("hall_code"), row.get("code"))

    def prefetch(self, rows: list[_Row]) -> None:
        self.ctx.halls.load(r.get("hall_code") for r in rows)
        self.ctx.windows.load(r.get("hall_code") for r in rows)
        self.ctx.units.load(r.get("unit_uscc").upper() for r in rows)

    def existing(self, key: Hashable) -> Window | None:
        self.ctx.windows.load([key[0]])
        return self.ctx.windows.objects.get(key)

    def remember(self, key: Hashable, obj: Any) -> None:
        self.ctx.windows.objects[key] = obj

    def build(self, row: _Row, obj: Window, new: bool) -> None:
        obj.code = row.get("code")
        obj.name = row.get("name")
        self.set_bool(row, obj, "is_active")
        if hall := self.ref_hall(row, "hall_code"):
            obj.hall = hall
        if unit := self.ref_unit(row, "unit_uscc"):
            obj.unit = unit

    def scope_path(self, obj: Window) -> str:
        return obj.hall.region.path


class StaffImporter(_Importer):
    kind, label, model, space = "staff", "人员", Staff, "staff"
    columns = (
        Column("code", "工号", ("人员编号", "code", "staff_code"), required=True),
        Column("name", "姓名", ("name",), required=True),
        Column("unit_uscc", "所属单位信用代码", ("所属单位统一社会信用代码", "unit_uscc", "unit"), required=True),
        Column("hall_code", "大厅编码", ("hall_code", "hall")),
        Column("window_code", "窗口编号", ("窗口编码", "window_code", "window")),
        Column("title", "岗位", ("职务", "title")),
        Column("is_active", "在岗", ("是否在岗", "启用", "is_active", "active")),
    )
    key_columns = ("code",)
    field_columns = {"unit": "unit_uscc", "window": "window_code"}

    def prefetch(self, rows: list[_Row]) -> None:
        self.cache = _Cache(Staff.objects.select_related("unit__region"), "code", lambda s: s.code)
        self.cache.load(self.key(r) for r in rows)
        self.ctx.units.load(r.get("unit_uscc").upper() for r in rows)
        self.ctx.halls.load(r.get("hall_code") for r in rows)
        self.ctx.windows.load(r.get("hall_code") for r in rows)

    def existing(self, key: Hashable) -> Staff | None:
        return self.cache.get(key)

    def remember(self, key: Hashable, obj: Any) -> None:
        self.cache.put(key, obj)

    def build(self, row: _Row, obj: Staff, new: bool) -> None:
        obj.code = row.get("code")
        obj.name = row.get("name")
        self.set_text(row, obj, "title")
        self.set_bool(row, obj, "is_active")
        if unit := self.ref_unit(row, "unit_uscc"):
            obj.unit = unit
        if row.has("hall_code") or row.has("window_code"):
            hall_code, window_code = row.get("hall_code"), row.get("window_code")
            if not hall_code and not window_code:
                obj.window = None
            elif not hall_code or not window_code:
                row.error("hall_code" if not hall_code else "window_code", _("大厅编码和窗口编号须同时填写"))
            elif hall := self.ref_hall(row, "hall_code"):
                self.ctx.windows.load([hall.code])
                window = self.ctx.windows.objects.get((hall.code, window_code))
                if window is None:
                    row.error("window_code", self.describe_missing("window", (hall_code, window_code), _("窗口")))
                else:
                    obj.window = window

    def scope_path(self, obj: Staff) -> str:
        return obj.unit.region.path


class ItemImporter(_Importer):
    kind, label, model, space = "items", "事项", ServiceItem, "item"
    columns = (
        Column("basic_code", "基本编码", ("事项基本编码", "basic_code"), required=True),
        Column("implementation_code", "实施编码", ("事项实施编码", "implementation_code"), required=True),
        Column("name", "事项名称", ("名称", "name"), required=True),
        Column("item_type", "事项类型", ("事项类型代码", "item_type", "type"), required=True),
        Column("service_objects", "服务对象", ("服务对象代码", "service_objects"), required=True),
        Column("unit_uscc", "实施主体信用代码", ("实施主体统一社会信用代码", "unit_uscc", "unit"), required=True),
        Column("region_code", "行政区划代码", ("所属区划代码", "区划代码", "region_code", "region")),
        Column("on_site", "现场办理", ("可现场办理", "是否现场办理", "on_site")),
        Column("online", "网上办理", ("可网上办理", "是否网上办理", "online")),
        Column("is_active", "启用", ("是否启用", "is_active", "active")),
    )
    key_columns = ("implementation_code",)
    field_columns = {"unit": "unit_uscc", "region": "region_code"}
    # Excel drops the leading zero of "01": take "1" … "9" as the two-digit codes they stand for.
    choice_columns = {"item_type": (ServiceItem.ItemType, tuple((str(i), f"{i:02d}") for i in range(1, 10)))}

    def prefetch(self, rows: list[_Row]) -> None:
        self.cache = _Cache(
            ServiceItem.objects.select_related("region"), "implementation_code", lambda i: i.implementation_code
        )
        self.cache.load(self.key(r) for r in rows)
        self.ctx.units.load(r.get("unit_uscc").upper() for r in rows)
        self.ctx.regions.load(r.get("region_code") for r in rows)

    def existing(self, key: Hashable) -> ServiceItem | None:
        return self.cache.get(key)

    def remember(self, key: Hashable, obj: Any) -> None:
        self.cache.put(key, obj)

    def build(self, row: _Row, obj: ServiceItem, new: bool) -> None:
        obj.basic_code = row.get("basic_code")
        obj.implementation_code = row.get("implementation_code")
        obj.name = row.get("name")
        self.set_choice(row, obj, "item_type")
        codes, bad = [], []
        for part in re.split(r"[,，、;；/\s]+", row.get("service_objects")):
            if part:
                code = _choice_map(ServiceItem.ServiceObject).get(part.lower())
                (codes if code else bad).append(code or part)
        if bad:
            hint = _choice_hint(ServiceItem.ServiceObject)
            row.error(
                "service_objects", _("无效的服务对象：%(v)s（可选：%(hint)s）") % {"v": "、".join(bad), "hint": hint}
            )
        obj.service_objects = ",".join(dict.fromkeys(codes))
        self.set_bool(row, obj, "on_site")
        self.set_bool(row, obj, "online")
        self.set_bool(row, obj, "is_active")
        unit = self.ref_unit(row, "unit_uscc")
        if unit is not None:
            obj.unit = unit
        if row.get("region_code"):
            if region := self.ref_region(row, "region_code"):
                obj.region = region
        elif unit is not None and (new or row.has("region_code")):
            obj.region = unit.region  # 行政区划 left blank: the implementing unit's region

    def scope_path(self, obj: ServiceItem) -> str:
        return obj.region.path


class PlatformImporter(_Importer):
    kind, label, model, space = "platforms", "平台", Platform, "platform"
    columns = (
        Column("code", "平台编码", ("code", "platform_code"), required=True),
        Column("name", "名称", ("平台名称", "name"), required=True),
        Column("kind", "类型", ("平台类型", "kind", "type"), required=True),
        Column("region_code", "行政区划代码", ("所属区划代码", "区划代码", "region_code", "region"), required=True),
        Column("unit_uscc", "运营单位信用代码", ("运营单位统一社会信用代码", "unit_uscc", "unit"), required=True),
        Column("is_active", "启用", ("是否启用", "is_active", "active")),
    )
    key_columns = ("code",)
    field_columns = {"region": "region_code", "unit": "unit_uscc"}
    choice_columns = {"kind": (Platform.Kind, (("pc", "web"), ("网站", "web"), ("12345", "hotline")))}

    def prefetch(self, rows: list[_Row]) -> None:
        self.cache = _Cache(Platform.objects.select_related("region"), "code", lambda p: p.code)
        self.cache.load(self.key(r) for r in rows)
        self.ctx.units.load(r.get("unit_uscc").upper() for r in rows)
        self.ctx.regions.load(r.get("region_code") for r in rows)

    def existing(self, key: Hashable) -> Platform | None:
        return self.cache.get(key)

    def remember(self, key: Hashable, obj: Any) -> None:
        self.cache.put(key, obj)

    def build(self, row: _Row, obj: Platform, new: bool) -> None:
        obj.code = row.get("code")
        obj.name = row.get("name")
        self.set_choice(row, obj, "kind")
        self.set_bool(row, obj, "is_active")
        if region := self.ref_region(row, "region_code"):
            obj.region = region
        if unit := self.ref_unit(row, "unit_uscc"):
            obj.unit = unit


IMPORTERS: dict[str, type[_Importer]] = {
    cls.kind: cls
    for cls in (
        RegionImporter,
        UnitImporter,
        HallImporter,
        WindowImporter,
        StaffImporter,
        ItemImporter,
        PlatformImporter,
    )
}


# --- entry points -------------------------------------------------------------------------------------------


def require_import_scope(scope: Scope) -> None:
    """Only whoever manages a whole region (or everything) imports the directory."""
    scope.require_write()
    if scope.kind not in ("all", "region"):
        raise PermissionDenied(_("只有系统管理员或政务服务管理机构管理员可以批量导入目录"))


def import_tables(
    tables: list[Table],
    *,
    dry_run: bool = False,
    scope: Scope = ALL_SCOPE,
    allowed_kinds: Collection[str] | None = None,
) -> ImportResult:
    """Import parsed tables in dependency order, all or nothing.

    allowed_kinds: the kinds the caller may add and change (the admin page passes the user's model
    permissions); a table of another kind is refused as a whole.
    """
    require_import_scope(scope)
    result = ImportResult(dry_run=dry_run)
    tables = sorted(tables, key=lambda t: KINDS.index(t.kind))
    ctx = _Context(scope, result)
    with transaction.atomic():
        try:
            for table in tables:
                importer = IMPORTERS[table.kind](ctx, table.sheet)
                if allowed_kinds is not None and table.kind not in allowed_kinds:
                    message = _("您没有新增和修改“%(label)s”的权限") % {"label": importer.label}
                    result.errors.append(RowError(0, "", message, table.sheet))
                    continue
                result.counts[table.kind] = importer.counts
                importer.run(table)
        except _Abort:
            pass
        if dry_run or result.errors:
            transaction.set_rollback(True)
    return result


def import_file(
    source: str | Path | bytes | BinaryIO,
    *,
    filename: str = "",
    kind: str | None = None,
    dry_run: bool = False,
    scope: Scope = ALL_SCOPE,
    allowed_kinds: Collection[str] | None = None,
) -> ImportResult:
    """Import a CSV file or an .xlsx workbook. `kind` is required for CSV unless the headers make it obvious.

    Raises PermissionDenied when the scope may not import; every problem with the file or its rows is returned
    in ImportResult.errors.
    """
    require_import_scope(scope)
    if isinstance(source, str | Path):
        filename = filename or str(source)
        data = Path(source).read_bytes()
    elif isinstance(source, bytes):
        data = source
    else:
        data = source.read()
    if kind is not None:
        kind = resolve_kind(kind) or kind
    try:
        tables = read_tables(data, filename=filename, kind=kind)
    except FileUnreadable as exc:
        return ImportResult(dry_run=dry_run, errors=[RowError(0, "", str(exc))])
    if not tables:
        return ImportResult(dry_run=dry_run, errors=[RowError(0, "", _("文件中没有数据"))])
    return import_tables(tables, dry_run=dry_run, scope=scope, allowed_kinds=allowed_kinds)


def columns_of(kind: str) -> tuple[Column, ...]:
    return IMPORTERS[kind].columns
