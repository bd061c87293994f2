"""The check an Azure alert's Resolved makes before ending its ticket (tickets/services.py
`_alerts_still_firing`): how long it takes on a ticket holding N alerts of one rule split by
pod (a storm of pods, or a ticket open for weeks), every other alert already resolved (the last
Resolved, the one that ends it), among --other-tickets tickets of --alerts-per-other alerts
each (resolved too) on the same table.

    .venv/bin/python bench/alerts_still_firing.py [--alerts 2000 10000] [--repeat 20]

Prints, per N, the median and best time of one check and the SQL statements it ran, beside the
baseline measured in the same run, interleaved: the check as it was before it became one
statement (the alerts' keys read into Python, hashed there, their marks counted by an `IN`
list), and the ratio. Uses its
own database (`rca_bench_alerts_firing`, on the embedded server unless DATABASE_URL names
another); no Redis.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, setup_django

DATABASE = "rca_bench_alerts_firing"


def environment() -> dict[str, str]:
    env = dict(os.environ)
    if "DATABASE_URL" not in env:
        import psycopg

        from rca_project import local_services

        admin = local_services.embedded_postgres_url("postgres")
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{DATABASE}"')
        env["DATABASE_URL"] = local_services.embedded_postgres_url(DATABASE)
    env.update(DJANGO_SETTINGS_MODULE="rca_project.settings", LOG_LEVEL="WARNING")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=REPO, env=env, check=True
    )
    return env


def alert_key(ticket: int, pod: int) -> str:
    return f"azure:api-pod-errors-{ticket}|/subscriptions/x/alerts/pod-{pod}:2026-11-16T11:59:59Z"


def ticket_with_alerts(number: int, alerts: int) -> tuple[str, str]:
    """A ticket with `alerts` alerts, each marked resolved; its id and its last alert's key."""
    from django.utils import timezone

    from tickets import services
    from tickets.models import Occurrence, Ticket, new_ticket_id

    now = timezone.now()
    ticket = Ticket.objects.create(
        id=new_ticket_id("azure_monitor"),
        pipeline=f"api-pod-errors-{number}",
        run_id=f"azure:api-pod-errors-{number}",
        source="azure_monitor",
        fingerprint=f"{number:064d}",
    )
    keys = [alert_key(number, pod) for pod in range(alerts)]
    Occurrence.objects.bulk_create(
        [
            Occurrence(
                key=key,
                ticket=ticket,
                outcome="created" if pod == 0 else "correlated",
                seen_at=now - timedelta(seconds=alerts - pod),
            )
            for pod, key in enumerate(keys)
        ],
        batch_size=5000,
    )
    Occurrence.objects.bulk_create(
        [Occurrence(key=services._alert_resolved_key(key), outcome="pending") for key in keys],
        batch_size=5000,
    )
    return ticket.pk, keys[-1]


def keys_in_python_check(ticket_id: str, resolved_occurrence: str) -> int:
    """The baseline: the check before it was one statement (the keys and
    their marks through Python, two statements here)."""
    from tickets import services
    from tickets.models import Occurrence

    keys = Occurrence.objects.alerts_counted_on(ticket_id).exclude(key=resolved_occurrence)
    marks = {services._alert_resolved_key(key) for key in keys.values_list("key", flat=True)}
    if not marks:
        return 0
    return len(marks) - Occurrence.objects.filter(key__in=marks).count()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--alerts", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument("--other-tickets", type=int, default=1000)
    parser.add_argument("--alerts-per-other", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    setup_django(environment())

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tickets import services

    for number in range(args.other_tickets):
        ticket_with_alerts(1_000_000 + number, args.alerts_per_other)
    cases = [(alerts, *ticket_with_alerts(alerts, alerts)) for alerts in args.alerts]
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    checks = {"one statement": services._alerts_still_firing, "baseline": keys_in_python_check}
    for alerts, ticket_id, last in cases:
        timings: dict[str, list[float]] = {name: [] for name in checks}
        for name, check in checks.items():
            assert check(ticket_id, last) == 0, name
        for _ in range(args.repeat):  # interleaved, so both see the same machine
            for name, check in checks.items():
                start = time.perf_counter()
                check(ticket_id, last)
                timings[name].append(time.perf_counter() - start)
        for name, check in checks.items():
            with CaptureQueriesContext(connection) as queries:
                check(ticket_id, last)
            print(
                f"{alerts:>6} alerts, {name:>13}: median"
                f" {statistics.median(timings[name]) * 1000:8.2f} ms,"
                f" best {min(timings[name]) * 1000:8.2f} ms, {len(queries)} statements"
            )
        ratio = statistics.median(timings["baseline"]) / statistics.median(timings["one statement"])
        print(f"{alerts:>6} alerts: the baseline takes {ratio:.1f}x the one statement's time")


if __name__ == "__main__":
    main()
