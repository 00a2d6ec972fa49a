"""Bulk INSERT of model rows with one parameterised ``executemany``, bypassing model instantiation.

Used on the intake hot path and by the demo generator: building Django model instances costs more than
the insert itself at tens of thousands of rows per second. Column order and value adaptation come from the
model's own field definitions, so the SQL cannot drift from the schema.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection, models


class RowWriter:
    def __init__(self, model: type[models.Model], *, exclude: Sequence[str] = ("id",)):
        self.fields = [f for f in model._meta.concrete_fields if f.name not in exclude]
        self.names = [f.attname for f in self.fields]
        cols = ", ".join(connection.ops.quote_name(f.column) for f in self.fields)
        marks = ", ".join(["%s"] * len(self.fields))
        self.sql = f"INSERT INTO {connection.ops.quote_name(model._meta.db_table)} ({cols}) VALUES ({marks})"
        self._adapters: list[Callable[[Any], Any] | None] = [self._adapter_for(f) for f in self.fields]

    @staticmethod
    def _adapter_for(field: models.Field) -> Callable[[Any], Any] | None:
        if isinstance(field, models.JSONField):
            return lambda v: json.dumps(v, ensure_ascii=False, separators=(",", ":"))
        if isinstance(field, models.DateTimeField):
            return connection.ops.adapt_datetimefield_value
        if isinstance(field, models.UUIDField):
            return lambda v: field.get_db_prep_value(v, connection)
        return None

    def row(self, values: dict[str, Any]) -> tuple:
        out = []
        for name, adapt in zip(self.names, self._adapters, strict=True):
            v = values[name]
            out.append(adapt(v) if (adapt is not None and v is not None) else v)
        return tuple(out)

    def insert(self, rows: Iterable[dict[str, Any]]) -> int:
        params = [self.row(r) for r in rows]
        if params:
            with connection.cursor() as cursor:
                cursor.executemany(self.sql, params)
        return len(params)
