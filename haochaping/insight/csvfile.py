"""The CSV files of the offline commands (`haochaping insight train|route|problems`): read whole, in UTF-8 with or
without BOM or in GB 18030 (what Excel on Chinese Windows writes), with the columns asked for checked by name."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from haochaping.lib.errors import ValidationFailed
from haochaping.ratings.interchange import decode_bytes


def read_csv(path: str | Path) -> tuple[list[str], list[dict[str, str]]]:
    """(header, rows) of the file; row i of the list is line i + 2 of the file (the header is line 1)."""
    reader = csv.DictReader(io.StringIO(decode_bytes(Path(path).read_bytes()), newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def require_column(header: list[str], name: str, field: str) -> None:
    """A clear error naming the missing column and the columns the file has."""
    if name not in header:
        raise ValidationFailed(f"CSV 文件中没有列“{name}”（现有列：{'、'.join(header)}）", field=field)
