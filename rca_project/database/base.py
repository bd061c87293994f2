"""Django's PostgreSQL backend, with a connection health check that costs no round trip.

With `CONN_HEALTH_CHECKS` (settings.py) Django checks a kept connection before the first query
of every request and task, and its check is a `SELECT 1`: one more round trip for every
webhook, about 5 % of a webhook's CPU in the web process and a statement for the server. A
healthy idle connection has nothing to read. One whose server went away or is going (a restart,
`pg_terminate_backend`, an idle-session timeout) has its termination notice or end-of-file
waiting. So an idle connection with nothing to read is usable as it stands; anything else is
checked as Django checks it.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg.pq import TransactionStatus


class DatabaseWrapper(base.DatabaseWrapper):
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
