"""Django's `migrate`, one at a time per database.

Two `make run` sets, or compose's migrate service beside a `make run`, starting together would
otherwise apply the same migrations at once, and one of them fails half-way (a duplicate type or
table). This one waits for a session-level advisory lock while the other holds it, then finds
nothing left to do.

It waits by trying the lock (`pg_try_advisory_lock`) every POLL_SECONDS, idle in between, not
blocked in `pg_advisory_lock`: a session blocked there holds a snapshot all the while, and an
index built CONCURRENTLY by the migrate holding the lock (tickets/0031) waits for every older
snapshot to go: each would wait for the other, and PostgreSQL ends one with "deadlock detected".
"""

import time
from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

# An arbitrary constant shared by every migrate of this service (advisory locks are per database).
MIGRATE_LOCK = 0x5243_414D_4947  # "RCAMIG"
# How often a migrate waiting for another tries the lock again.
POLL_SECONDS = 0.5


class Command(DjangoMigrate):
    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            super().handle(*args, **options)
            return
        told = False
        while True:
            # Autocommit: each try is its own short statement, no snapshot kept between tries.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [MIGRATE_LOCK])
                (locked,) = cursor.fetchone()
            if locked:
                break
            if not told:
                self.stderr.write("Another migrate of this database is running: waiting for it.")
                told = True
            time.sleep(POLL_SECONDS)
        try:
            super().handle(*args, **options)
        finally:
            if connection.connection is not None:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])
