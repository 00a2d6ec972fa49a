"""整改台账: the cases as an Excel workbook in the layout offices keep (one row per case).

Written with openpyxl's write-only mode from a server-side iterator, so memory stays flat however many cases
the scope holds. Dates and times are real Excel dates (local time, no time zone: Excel has none). The rater's
name and phone number are never written: the ledger circulates between offices.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from types import SimpleNamespace
from typing import IO, Any

from django.db.models import QuerySet
from django.utils import timezone, translation
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from haochaping.cases.models import Case, CloseReason, FeedbackGrade, Kind, NotifiedVia, Outcome, State
from haochaping.ratings.codes import Channel, Grade

# (header, width in characters)
COLUMNS: tuple[tuple[str, int], ...] = (
    ("序号", 6),
    ("工单编号", 19),
    ("类型", 6),
    ("评价时间/投诉时间", 17),
    ("评价渠道", 12),
    ("满意度", 10),
    ("差评内容/投诉事由", 40),
    ("责任单位", 24),
    ("窗口", 18),
    ("经办人", 10),
    ("处理人", 10),
    ("核实情况", 30),
    ("处理方式", 14),
    ("整改措施", 36),
    ("整改期限", 11),
    ("延期后期限", 11),
    ("延期理由", 24),
    ("整改完成时间", 17),
    ("是否按期", 10),
    ("状态", 12),
    ("反馈时间", 17),
    ("反馈方式", 12),
    ("评价人对处理结果评价", 14),
    ("是否重办", 8),
    ("办结时间", 17),
)
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
CHUNK = 2000

# Only what the ledger shows is read (plain values, no model instances): never the contact columns.
_FIELDS = (
    "id", "kind", "opened_at", "channel", "grade", "summary", "facts", "outcome", "measures", "explanation",
    "rectify_deadline", "extended_deadline", "extension_reason", "rectified_at", "state", "notified_at",
    "notified_via", "feedback_grade", "close_reason", "reopen_count", "closed_at",
    "unit__name", "window__code", "window__name", "window__hall__name", "staff__name",
    "handler__username", "handler__first_name", "handler__last_name", "rating__rated_at",
)  # fmt: skip


def _local(value: datetime | None) -> datetime | None:
    return timezone.localtime(value).replace(tzinfo=None) if value else None


def _on_time(c: dict, today: date) -> str:
    deadline = c["extended_deadline"] or c["rectify_deadline"]
    if c["outcome"] != Outcome.LEDGER or deadline is None:
        return ""
    if c["rectified_at"] is not None:
        return "是" if timezone.localtime(c["rectified_at"]).date() <= deadline else "否"
    return "否（逾期未完成）" if deadline < today else "整改中"


def _feedback(c: dict, grades: dict) -> str:
    if c["feedback_grade"]:
        return grades.get(c["feedback_grade"], "")
    if c["close_reason"] == CloseReason.NO_RESPONSE:
        return "期满未评价"
    return ""


def _window(c: dict) -> str:
    if not c["window__code"]:
        return ""
    return f"{c['window__hall__name']} {c['window__code']}号窗口（{c['window__name']}）"


def _handler(c: dict) -> str:
    full = f"{c['handler__first_name'] or ''} {c['handler__last_name'] or ''}".strip()
    return full or c["handler__username"] or ""


def _labels(choices) -> dict:
    # Labels are lazy translations: plain strings for the cells (openpyxl takes nothing else).
    return {value: str(label) for value, label in choices.choices}


def _number(c: dict) -> str:
    # The same 工单编号 as Case.number, without building a model instance per row.
    return Case.number.fget(SimpleNamespace(kind=c["kind"], opened_at=c["opened_at"], pk=c["id"]))


def ledger_rows(qs: QuerySet, today: date | None = None) -> Iterator[list[Any]]:
    """One list of values per case, in ``COLUMNS`` order (datetimes local and naive)."""
    today = today or timezone.localdate()
    cases = qs.order_by("opened_at", "id").values(*_FIELDS)
    kinds, channels, grades = _labels(Kind), _labels(Channel), _labels(Grade)
    outcomes, states, vias = _labels(Outcome), _labels(State), _labels(NotifiedVia)
    feedback_grades = _labels(FeedbackGrade)
    for n, c in enumerate(cases.iterator(chunk_size=CHUNK), 1):
        rated_at = c["rating__rated_at"] if c["kind"] == Kind.BAD_REVIEW and c["rating__rated_at"] else c["opened_at"]
        yield [
            n,
            _number(c),
            kinds.get(c["kind"], c["kind"]),
            _local(rated_at),
            channels.get(c["channel"], c["channel"]),
            grades.get(c["grade"], "") if c["grade"] else "",
            c["summary"],
            c["unit__name"],
            _window(c),
            c["staff__name"] or "",
            _handler(c),
            c["facts"],
            outcomes.get(c["outcome"], ""),
            c["measures"] or c["explanation"],
            c["rectify_deadline"],
            c["extended_deadline"],
            c["extension_reason"],
            _local(c["rectified_at"]),
            _on_time(c, today),
            states.get(c["state"], c["state"]),
            _local(c["notified_at"]),
            vias.get(c["notified_via"], ""),
            _feedback(c, feedback_grades),
            "是" if c["reopen_count"] else "否",
            _local(c["closed_at"]),
        ]


def write_ledger(qs: QuerySet, out: IO[bytes], *, title: str, today: date | None = None) -> int:
    """Write the workbook for ``qs`` to ``out``; returns the number of case rows.

    Always in Chinese, the language of the ledger's fixed headers, whatever the page language.
    """
    with translation.override("zh-hans"):
        return _write(qs, out, title=title, today=today)


def _write(qs: QuerySet, out: IO[bytes], *, title: str, today: date | None) -> int:
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("整改台账")
    # Write-only sheets take widths and panes before the first row.
    for i, (_header, width) in enumerate(COLUMNS, 1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "C3"  # title and header rows, 序号 and 工单编号 stay in view
    title_cell = WriteOnlyCell(ws, value=title)
    title_cell.font = Font(bold=True, size=14)
    ws.append([title_cell])
    bold, fill, wrap = Font(bold=True), PatternFill("solid", fgColor="DDEBF7"), Alignment(wrap_text=True)
    header = []
    for name, _width in COLUMNS:
        cell = WriteOnlyCell(ws, value=name)
        cell.font, cell.fill, cell.alignment = bold, fill, wrap
        header.append(cell)
    ws.append(header)
    count = 0
    for row in ledger_rows(qs, today):
        ws.append([_styled(ws, v) for v in row])
        count += 1
    wb.save(out)
    return count


def _styled(ws, value: Any) -> Any:
    """Dates as Excel dates with a readable format; everything else as is."""
    if isinstance(value, datetime):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = DATETIME_FORMAT
        return cell
    if isinstance(value, date):
        cell = WriteOnlyCell(ws, value=value)
        cell.number_format = DATE_FORMAT
        return cell
    return value
