"""Django's PostgreSQL backend, with a connection health check that costs no round trip, and
cursors whose statements are prepared on the server for the webhook path's fixed statements.

With `CONN_HEALTH_CHECKS` (settings.py) Django checks a kept connection before the first query
of every request and task, and its check is a `SELECT 1`: one more round trip for every
webhook, about 5 % of a webhook's CPU in the web process and a statement for the server. A
healthy idle connection has nothing to read. One whose server went away or is going (a restart,
`pg_terminate_backend`, an idle-session timeout) has its termination notice or end-of-file
waiting. So an idle connection with nothing to read is usable as it stands; anything else is
checked as Django checks it.

Django binds parameters client-side (quoted into the SQL text), so PostgreSQL parses every
statement anew, and Django turns psycopg's prepared statements off. `prepared_cursor()` binds
them server-side and prepares each SQL text once per connection: PostgreSQL then parses it
once and plans each execution, or keeps a generic plan where it judges that no costlier. Only
statements run through it are prepared (psycopg never prepares a client-side cursor's, which
every other query of Django's uses). A connection pooler in transaction mode must track
prepared statements (PgBouncer 1.21 or later, with `max_prepared_statements` set) to sit
between this service and PostgreSQL.
"""

from __future__ import annotations

import select
import sys
from typing import Any, cast

import psycopg
from django.db.backends.postgresql import base
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorWrapper
from django.utils.asyncio import async_unsafe
from psycopg.pq import Format, TransactionStatus

# psycopg prepares a statement once executed this many times on a connection; Django opens its
# connections with None (nothing prepared, `prepare=True` ignored too) unless OPTIONS gives a
# number. This one is never reached: only the statements a `prepared_cursor` runs are
# prepared, at their first execution.
PREPARED_ONLY_WHEN_ASKED = sys.maxsize


class _PreparingCursor(base.CursorMixin, psycopg.Cursor[Any]):
    """Django's server-binding cursor (`base.ServerBindingCursor`), each statement prepared
    (by psycopg, once per connection and SQL text)."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> Any:
        return super().execute(query, params, **{**kwargs, "prepare": True})


class DatabaseOperations(PostgresOperations):
    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> Any:
        if isinstance(cursor, _PreparingCursor):
            # psycopg keeps no text of a statement it ran by name: logged (DEBUG, captured
            # queries) as Django's own cursors send theirs, the parameters quoted in.
            try:
                return self.compose_sql(sql, params)
            except psycopg.errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        if connection.info.transaction_status == TransactionStatus.IDLE:
            poller = select.poll()
            try:
                poller.register(connection.fileno(), select.POLLIN)
                if not poller.poll(0):
                    return True
            except (OSError, ValueError):
                return False
        return super().is_usable()

    @async_unsafe
    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        if connection.prepare_threshold is None:
            connection.prepare_threshold = PREPARED_ONLY_WHEN_ASKED
        return connection

    @async_unsafe
    def prepared_cursor(self) -> CursorWrapper:
        """`cursor()`, its statements prepared on the server and their parameters bound there
        (`%s` placeholders as usual; one statement per execution). Errors, execute wrappers
        and query logging as with `cursor()`."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = _PreparingCursor(self.connection)
            # As `create_cursor` does: the connection's time zone if it differs.
            loader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, Format.TEXT)
            if self.timezone != loader.timezone:
                register_tzloader(self.timezone, cursor)
            # As `_prepare_cursor` does.
            self.validate_thread_sharing()
            wrapped = cast(CursorWrapper, cursor)
            return (
                self.make_debug_cursor(wrapped)
                if self.queries_logged
                else self.make_cursor(wrapped)
            )
