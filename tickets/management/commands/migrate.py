"""Django's `migrate`, one at a time per database.

Two `make run` sets, or compose's migrate service beside a `make run`, starting together would
otherwise apply the same migrations at once, and one of them fails half-way (a duplicate type or
table). This one waits on a session-level advisory lock for the other to finish, then finds
nothing left to do.
"""

from typing import Any

from django.core.management.commands.migrate import Command as DjangoMigrate
from django.db import connections

# An arbitrary constant shared by every migrate of this service (advisory locks are per database).
MIGRATE_LOCK = 0x5243_414D_4947  # "RCAMIG"


class Command(DjangoMigrate):
    def handle(self, *args: Any, **options: Any) -> None:
        connection = connections[options["database"]]
        if connection.vendor != "postgresql":
            super().handle(*args, **options)
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK])
        try:
            super().handle(*args, **options)
        finally:
            if connection.connection is not None:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])
