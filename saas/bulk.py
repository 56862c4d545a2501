"""Writing many rows at once with PostgreSQL's COPY.

A multi-row INSERT of a hundred records with dozens of columns is expensive before it reaches the
database: Django compiles a placeholder per value and psycopg rewrites the long statement on every
call. COPY sends the same rows as a stream. Used for rows that are only appended (timeline entries,
audit events); `bulk_create` stays the tool for everything else.

Like the ORM, COPY names the table without a schema: the connection's search_path (the current
tenant) decides where rows land.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from django.db import connection, models
from psycopg import sql


def copy_insert(model: type[models.Model], objects: Sequence[models.Model]) -> None:
    """INSERT `objects` with one COPY; an auto-incremented primary key is left to the database (the
    instances don't learn it). Falls back to `bulk_create` when a value is an SQL expression."""
    if not objects:
        return
    fields = [f for f in model._meta.concrete_fields if not (f.primary_key and isinstance(f, models.AutoField))]
    rows = []
    for obj in objects:
        row = []
        for field in fields:
            value = field.pre_save(obj, add=True)
            if hasattr(value, "resolve_expression"):
                model._default_manager.bulk_create(objects)
                return
            row.append(field.get_db_prep_save(value, connection))
        rows.append(row)
    columns: list[sql.Composable] = [sql.Identifier(str(f.column)) for f in fields]
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(model._meta.db_table), sql.SQL(", ").join(columns)
    )
    started = time.monotonic()
    with connection.cursor() as cursor:
        raw: Any = cursor.cursor
        with raw.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
    if connection.queries_logged:  # statement counts (tests, the benchmark) see it like any other
        text = statement.as_string(raw)
        connection.queries_log.append({"sql": text, "time": f"{time.monotonic() - started:.3f}"})
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias
