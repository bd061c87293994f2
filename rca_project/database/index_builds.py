"""What the migrations that build an index concurrently share: an interrupted `CREATE INDEX
CONCURRENTLY` (a migrate stopped while a write held it up) leaves an invalid index, which
`CREATE INDEX ... IF NOT EXISTS` would keep as it is, so each such migration drops it first."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import ProjectState


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


def is_built(schema_editor: BaseDatabaseSchemaEditor, name: str) -> bool:
    """Whether a valid index `name` is there."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT 1 FROM pg_index WHERE indexrelid = to_regclass(%s) AND indisvalid", [name]
        )
        return cursor.fetchone() is not None


class AddIndexConcurrentlyUnlessBuilt(AddIndexConcurrently):
    """Builds the index unless a valid one of its name is there already: a migrate interrupted
    as it dropped the index this one replaces left it built, and the migration unrecorded."""

    def database_forwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if not is_built(schema_editor, self.index.name):
            super().database_forwards(app_label, schema_editor, from_state, to_state)


class RemoveIndexConcurrentlyRebuiltUnlessBuilt(RemoveIndexConcurrently):
    """Migrating back builds the index again unless a valid one of its name is there already
    (a migrate back interrupted as it dropped the index that replaced it). An invalid one an
    interrupted build of it left is dropped first by `dropping_an_interrupted_build`, run
    backwards just after this operation."""

    def database_backwards(
        self,
        app_label: str,
        schema_editor: BaseDatabaseSchemaEditor,
        from_state: ProjectState,
        to_state: ProjectState,
    ) -> None:
        if not is_built(schema_editor, self.name):
            super().database_backwards(app_label, schema_editor, from_state, to_state)
