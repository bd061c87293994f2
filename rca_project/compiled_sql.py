"""INSERTs for the webhook path without the ORM compiling the same statement every time.

`Model.objects.create()` builds and compiles its INSERT anew on every call (a third of a
webhook's CPU went to Django compiling statements). Here each model's INSERT is built once per
process, from the same fields `Model.save()` writes, and the values are those the fields give
when saved (`pre_save`: an auto_now timestamp is set, as `save()` sets it), prepared as the ORM
prepares them. Models without `db_default` or generated fields only; no signals are sent (none
of these models has receivers).

The row goes as one JSON parameter (`row_insert_sql`), which PostgreSQL converts to the
columns' types: psycopg caches the parsing of a statement only up to 50 parameters (a
ticket's 60 columns, one parameter each, would be re-parsed on every webhook), and binding
one text costs it less than binding each value with its own adapter (a JSON column's Python
dumper included).

These INSERTs, and the webhook path's other fixed statements (the occurrence claim, a
failure's candidates read, a new ticket's statement), go through `prepared_cursor()`: prepared
once per connection instead of parsed by PostgreSQL on every execution
(`rca_project/database`)."""

from __future__ import annotations

import json
import math
import uuid
from datetime import date, datetime
from functools import cache
from typing import Any, cast

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.utils import CursorWrapper
from django.db.models.fields import Field

from rca_project.database.base import DatabaseWrapper


def prepared_cursor() -> CursorWrapper:
    """A cursor of the default connection whose statements are prepared on the server, their
    parameters bound there (`DatabaseWrapper.prepared_cursor`)."""
    return cast(DatabaseWrapper, connections[DEFAULT_DB_ALIAS]).prepared_cursor()


@cache
def _insert_plan(model: type[models.Model]) -> tuple[tuple[Field[Any, Any], ...], bool]:
    meta = model._meta
    fields = tuple(
        field
        for field in meta.local_concrete_fields
        if field is not meta.auto_field and not field.generated
    )
    if any(field.has_db_default() for field in fields):
        raise TypeError(f"{model.__name__} has db_default fields: save it through the ORM")
    return fields, meta.auto_field is not None


def inserted(obj: models.Model, pk: Any = None) -> None:
    """Mark `obj` as saved (with its auto primary key, if it has one)."""
    if pk is not None:
        obj.pk = pk
    obj._state.adding = False
    obj._state.db = connection.alias


def insert(obj: models.Model) -> None:
    """`obj.save()` of a new row, in one statement built once per model, its values as one
    JSON parameter (`row_json`)."""
    model = type(obj)
    with prepared_cursor() as cursor:
        if _insert_plan(model)[1]:
            cursor.execute(row_insert_returning_pk_sql(model), [row_json(obj)])
            inserted(obj, cursor.fetchone()[0])
        else:
            cursor.execute(row_insert_sql(model), [row_json(obj)])
            inserted(obj)


@cache
def _row_plan(model: type[models.Model]) -> str:
    fields, _ = _insert_plan(model)
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


@cache
def row_insert_returning_pk_sql(model: type[models.Model]) -> str:
    """`row_insert_sql(model)` returning the new row's primary key as `pk`."""
    pk_column = connection.ops.quote_name(str(model._meta.pk.column))
    return f"{row_insert_sql(model)} RETURNING {pk_column} AS pk"


@cache
def _row_fields(model: type[models.Model]) -> tuple[tuple[str, Field[Any, Any], bool, bool], ...]:
    """Per column of `model`'s row: its name, its field, whether the field computes its value
    when saved (`pre_save` overridden: auto_now timestamps) rather than reading it, and whether
    it is a JSON field (its value goes into the row as it is)."""
    fields, _ = _insert_plan(model)
    for field in fields:
        if isinstance(field, models.JSONField) and field.encoder is not None:
            raise TypeError(f"{field.name}: a JSON field with an encoder")
    return tuple(
        (
            str(field.column),
            field,
            type(field).pre_save is not Field.pre_save,
            isinstance(field, models.JSONField),
        )
        for field in fields
    )


def _json_value(field: Field[Any, Any], value: Any) -> Any:
    """A value that is not already JSON (text, whole number, NULL) as `row_json` writes it."""
    if type(value) is datetime and value.tzinfo is not None:
        # What the field's preparation returns an aware datetime as: itself.
        return value.isoformat()
    if isinstance(value, (str, int, float)):
        return value
    value = field.get_db_prep_save(value, connection)
    if isinstance(value, date):  # datetimes too
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if value is not None and not isinstance(value, (str, int, float)):
        raise TypeError(f"{field.name}: no JSON form for {type(value).__name__}")
    return value


def row_json(obj: models.Model) -> str:
    """`obj`'s row as a JSON object keyed by column, for `row_insert_sql`. Text, numbers,
    booleans, NULL, JSON fields (without a custom encoder), timestamps and UUIDs; anything else
    raises TypeError rather than guess its text form."""
    row: dict[str, Any] = {}
    for column, field, computed, is_json in _row_fields(type(obj)):
        value = field.pre_save(obj, True) if computed else getattr(obj, field.attname)
        if not (is_json or value is None or type(value) is str or type(value) is int):
            value = _json_value(field, value)
        if isinstance(value, float) and not math.isfinite(value):
            raise TypeError(f"{field.name}: {value} has no JSON form")
        row[column] = value
    return json.dumps(row, ensure_ascii=False)
