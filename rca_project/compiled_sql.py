"""INSERTs for the webhook path without the ORM compiling the same statement every time.

`Model.objects.create()` builds and compiles its INSERT anew on every call (a third of a
webhook's CPU went to Django compiling statements). Here each model's INSERT is built once per
process, from the same fields `Model.save()` writes, and the values are prepared by the fields
themselves (`pre_save`, then `get_db_prep_save`), as the ORM prepares them. Models without
`db_default` or generated fields only; no signals are sent (none of these models has receivers).

A wide row (the ticket's 58 columns) goes as one JSON parameter instead (`row_insert_sql`):
psycopg caches the parsing of a statement only up to 50 parameters, and re-parsed this one on
every webhook.
"""

from __future__ import annotations

import json
import math
import uuid
from datetime import date
from functools import cache
from typing import Any

from django.db import connection, models
from django.db.models.fields import Field


@cache
def _insert_plan(model: type[models.Model]) -> tuple[str, tuple[Field[Any, Any], ...], bool]:
    meta = model._meta
    fields = tuple(
        field
        for field in meta.local_concrete_fields
        if field is not meta.auto_field and not field.generated
    )
    if any(field.has_db_default() for field in fields):
        raise TypeError(f"{model.__name__} has db_default fields: save it through the ORM")
    quote = connection.ops.quote_name
    columns = [field.column for field in fields]  # concrete fields: never None
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(str(c)) for c in columns)})"
        f" VALUES ({', '.join(['%s'] * len(fields))})"
    )
    return sql, fields, meta.auto_field is not None


def insert_sql(model: type[models.Model]) -> str:
    """The INSERT of one `model` row, with a placeholder per `insert_params` value (no
    RETURNING: add `RETURNING id` to learn an auto primary key)."""
    return _insert_plan(model)[0]


def insert_params(obj: models.Model) -> list[Any]:
    """The values `insert_sql(type(obj))` takes for `obj`, prepared as `save()` prepares them."""
    _, fields, _ = _insert_plan(type(obj))
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for field in fields]


def inserted(obj: models.Model, pk: Any = None) -> None:
    """Mark `obj` as saved (with its auto primary key, if it has one)."""
    if pk is not None:
        obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


def insert(obj: models.Model) -> None:
    """`obj.save()` of a new row, in one statement compiled once per model."""
    sql, _, auto = _insert_plan(type(obj))
    params = insert_params(obj)
    with connection.cursor() as cursor:
        if auto:
            pk_column = connection.ops.quote_name(str(type(obj)._meta.pk.column))
            cursor.execute(f"{sql} RETURNING {pk_column}", params)
            inserted(obj, cursor.fetchone()[0])
        else:
            cursor.execute(sql, params)
            inserted(obj)


@cache
def _row_plan(model: type[models.Model]) -> str:
    _, fields, _ = _insert_plan(model)
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    columns = ", ".join(quote(str(field.column)) for field in fields)
    return (
        f"INSERT INTO {table} ({columns})"
        f" SELECT {columns} FROM jsonb_populate_record(NULL::{table}, %s::jsonb)"
    )


def row_insert_sql(model: type[models.Model]) -> str:
    """The INSERT of one `model` row from one parameter, `row_json(obj)` (PostgreSQL converts
    each JSON value to its column's type, as it converts text input)."""
    return _row_plan(model)


def row_json(obj: models.Model) -> str:
    """`obj`'s row as a JSON object keyed by column, for `row_insert_sql`. Text, numbers,
    booleans, NULL, JSON fields (without a custom encoder), timestamps and UUIDs; anything else
    raises TypeError rather than guess its text form."""
    _, fields, _ = _insert_plan(type(obj))
    row: dict[str, Any] = {}
    for field in fields:
        value = field.pre_save(obj, True)
        if isinstance(field, models.JSONField):
            if field.encoder is not None:
                raise TypeError(f"{field.name}: a JSON field with an encoder")
        elif value is not None and not isinstance(value, (str, int, float)):
            value = field.get_db_prep_save(value, connection)
            if isinstance(value, date):  # datetimes too
                value = value.isoformat()
            elif isinstance(value, uuid.UUID):
                value = str(value)
            elif value is not None and not isinstance(value, (str, int, float)):
                raise TypeError(f"{field.name}: no JSON form for {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value):
            raise TypeError(f"{field.name}: {value} has no JSON form")
        row[str(field.column)] = value
    return json.dumps(row, ensure_ascii=False)
