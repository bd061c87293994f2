"""Time the latest tickets migrations, both ways, on a production-size table (Upgrading).

    .venv/bin/python bench/migration_timing.py [--tickets 100000] [--to 0059] [--rounds 2]

Loads tickets as `bench/api.py` does, then marks a quarter of the Databricks ones with the job
run their Run Job task triggered (`details.triggered_job_run`, as the release at 0b9c3aa stores
it: what `tickets/0061` indexes) and a sixteenth of the Azure Monitor ones as quiet Service
Health notices whose clock runs (what `tickets/0060` takes the clock off). Then, each round,
migrates tickets back to `--to` and forward to the latest, printing each migration's own time
(Django's `migrate -v 2`) and each command's wall time, Django's start included.

Uses its own database (`rca_bench_migrations`, recreated; BENCH_MIGRATIONS_DB names another)
and Redis database 13 (BENCH_MIGRATIONS_REDIS_DB).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, bench_environment, setup_django

BENCH_DB = os.environ.get("BENCH_MIGRATIONS_DB", "rca_bench_migrations")
BENCH_REDIS_DB = int(os.environ.get("BENCH_MIGRATIONS_REDIS_DB", "13"))
# `migrate -v 2` ends each line of a migration it applies or unapplies with its time.
APPLIED = re.compile(r"^\s*((?:Una|A)pplying \S+)\.\.\. OK \(([\d.]+)s\)", re.M)


def mark_tickets() -> tuple[int, int]:
    """Tickets naming a triggered run, and quiet notices whose clock runs, that were marked."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE tickets_ticket SET details = coalesce(details, '{}'::jsonb)
                || jsonb_build_object('triggered_job_run', jsonb_build_object(
                       'run_key', 'databricks:1234:' || (100000 + (hashtext(id) & 1048575)),
                       'task_key', 'run_child'))
            WHERE source = 'databricks' AND (hashtext(id) & 3) = 0
            """
        )
        triggered = cursor.rowcount
        cursor.execute(
            """
            UPDATE tickets_ticket
            SET details = coalesce(details, '{}'::jsonb) || '{"service_health_notice": true}',
                sla_status = 'Pending', status = 'open'
            WHERE source = 'azure-monitor' AND (hashtext(id) & 15) = 1
            """
        )
        notices = cursor.rowcount
        cursor.execute("VACUUM ANALYZE tickets_ticket")
    return triggered, notices


def migrate_tickets(env: dict[str, str], target: str) -> None:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "manage.py", "migrate", "tickets", target, "-v", "2"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    for name, seconds in APPLIED.findall(done.stdout):
        print(f"  {name:<70} {float(seconds):6.2f} s")
    print(f"migrate tickets {target}: {wall:.1f} s in all")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--to", default="0059", help="the tickets migration to go back to")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    env = bench_environment(BENCH_DB, BENCH_REDIS_DB)
    setup_django(env)
    import api
    from django.db.migrations.loader import MigrationLoader

    api.load(args.tickets, random.Random(11))
    triggered, notices = mark_tickets()
    print(f"marked     {triggered:,} naming a triggered run, {notices:,} quiet notices")
    latest = max(name for app, name in MigrationLoader(None).disk_migrations if app == "tickets")
    for _ in range(args.rounds):
        migrate_tickets(env, args.to)
        migrate_tickets(env, latest[:4])
    return 0


if __name__ == "__main__":
    sys.exit(main())
