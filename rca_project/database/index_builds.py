"""What the migrations that build an index concurrently share: an interrupted `CREATE INDEX
CONCURRENTLY` (a migrate stopped while a write held it up) leaves an invalid index, which
`CREATE INDEX ... IF NOT EXISTS` would keep as it is, so each such migration drops it first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def drop_if_invalid(schema_editor: BaseDatabaseSchemaEditor, name: str) -> None:
    """Drop index `name` when an interrupted concurrent build left it invalid."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%s) AND NOT indisvalid", [name]
        )
        invalid = cursor.fetchone() is not None
    if invalid:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {schema_editor.quote_name(name)}")


def dropping_an_interrupted_build(name: str) -> Callable[[Any, BaseDatabaseSchemaEditor], None]:
    """A `RunPython` function dropping index `name` when an interrupted build left it invalid."""

    def drop_an_interrupted_build(apps: Any, schema_editor: BaseDatabaseSchemaEditor) -> None:
        drop_if_invalid(schema_editor, name)

    return drop_an_interrupted_build
