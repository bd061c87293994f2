"""Latency of the slow user-facing reads at 100,000 tickets, as people meet it: each path
requested again and again through Django's test client (the middleware, the view, the
serializer or the admin's template and every statement), the median and the 95th percentile
printed, and each one's ratio against a baseline measured in the same run, interleaved with
them (`/healthz`: no query at all). On bench/query_plans.py's database (its 100,000 tickets and
million audit entries; build it first with `bench/query_plans.py --seed-only`); it changes
nothing there but for an admin user of its own.

    .venv/bin/python bench/read_paths.py [--repeat 30] [--only TEXT ...]

`--only severity` runs only the paths whose label holds that text. Then, for the pages
`TicketQuerySet.ids_first` reads (the API's orderings by severity, priority and SLA deadline,
the admin list's urgency order filtered by RCA source; and two admin lists it is not used
for, to show what it would add there), the page read both ways in turn, in
the same run: as one query (how it was read before) and ids first, each one's median and p95
and their ratio. Uses BENCH_PLANS_DB
(`rca_bench_plans`) on the embedded server unless DATABASE_URL names another, and Redis
database 12 (BENCH_PLANS_REDIS_DB). The figures of the statements themselves (EXPLAIN ANALYZE,
buffers): `bench/query_plans.py --reuse --only TEXT`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import percentile, setup_django
from query_plans import environment

TICKETS = "/api/v1/tickets/"
ADMIN = "/admin/tickets/ticket/"
PATHS = [
    f"{TICKETS}?ordering=severity",
    f"{TICKETS}?ordering=-severity",
    f"{TICKETS}?ordering=priority",
    f"{TICKETS}?ordering=-priority",
    f"{TICKETS}?ordering=sla_deadline",
    f"{TICKETS}?ordering=-sla_deadline",
    f"{TICKETS}?ordering=severity&status=open",
    f"{TICKETS}?ordering=priority&source=databricks",
    f"{TICKETS}?ordering=timestamp",
    f"{ADMIN}?rca_source__exact=gemini",
    f"{ADMIN}?rca_source__exact=rules",
    f"{ADMIN}?rca_source__exact=pending",
    ADMIN,
    "/admin/tickets/auditlog/?action=recurred",
    "/api/v1/stats/incidents/?since={month}",
    "/api/v1/stats/incidents/?since={quarter}",
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--only", nargs="+", metavar="TEXT")
    args = parser.parse_args()
    setup_django(environment(reuse=True))

    from datetime import timedelta

    from django.contrib.auth.models import User
    from django.test import Client
    from django.utils import timezone

    now = timezone.now()
    month = (now - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    quarter = (now - timedelta(days=91)).strftime("%Y-%m-%dT%H:%M:%SZ")
    paths = [path.format(month=month, quarter=quarter) for path in PATHS]
    if args.only:
        paths = [path for path in paths if any(text in path for text in args.only)]
    admin = User.objects.filter(username="bench-reads").first() or User.objects.create_superuser(
        "bench-reads", password=uuid.uuid4().hex
    )
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(admin)

    def timed(path: str) -> float:
        started = time.perf_counter()
        response = browser.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status_code == 200, (path, response.status_code)
        return elapsed

    baseline: list[float] = []
    figures: dict[str, list[float]] = {path: [] for path in paths}
    for path in ["/healthz", *paths]:  # warm: connections, caches, the first request's imports
        timed(path)
    for _ in range(args.repeat):
        for path in paths:
            baseline.append(timed("/healthz"))
            figures[path].append(timed(path))
    if not paths:
        compare_pages(args.repeat, args.only)
        return 0
    base = statistics.median(baseline)
    print(
        f"{args.repeat} requests each; load {os.getloadavg()[0]:.2f};"
        f" baseline /healthz median {base:.2f} ms"
    )
    for path, values in figures.items():
        values.sort()
        median, p95 = statistics.median(values), percentile(values, 95)
        label = path.replace(month, "30d").replace(quarter, "91d")
        print(f"{label:60s} median {median:7.1f} ms  p95 {p95:7.1f} ms  (x{median / base:6.1f})")
    compare_pages(args.repeat, args.only)
    return 0


# The API's `?ordering=severity` and `-severity` (by rank, `with_severity_rank`).
SEVERITY_FIRST = ("severity_rank", "id")
SEVERITY_LAST = ("-severity_rank", "-id")


def compare_pages(repeat: int, only: list[str] | None) -> None:
    """A page of 51 (the API's 50 and the one telling whether there is a next) read as one
    query and ids first, in turn."""
    from django.db import connection

    from tickets.admin import LIST_DEFERRED
    from tickets.models import Ticket, TicketQuerySet

    api = Ticket.objects.defer("embedding")  # as the API's list reads them
    listed = Ticket.objects.by_urgency().defer(*LIST_DEFERRED)  # as the admin's list does
    pages: dict[str, TicketQuerySet] = {
        "api severity": api.with_severity_rank().order_by(*SEVERITY_FIRST),
        "api -severity": api.with_severity_rank().order_by(*SEVERITY_LAST),
        "api priority": api.order_by("priority", "id"),
        "api -priority": api.order_by("-priority", "-id"),
        "api sla_deadline": api.order_by("sla_deadline", "id"),
        "api -sla_deadline": api.order_by("-sla_deadline", "-id"),
        "api severity, status=open": api.with_severity_rank()
        .filter(status="open")
        .order_by(*SEVERITY_FIRST),
        "admin, no filter": listed,
        "admin status=open": listed.filter(status="open"),
        "admin rca_source=gemini": listed.filter(rca_source="gemini"),
        "admin rca_source=rules": listed.filter(rca_source="rules"),
        "admin rca_source=pending": listed.filter(rca_source="pending"),
    }
    if only:
        pages = {label: qs for label, qs in pages.items() if any(t in label for t in only)}
    if not pages:
        return
    print(
        f"\npages read as one query / ids first ({repeat} each, in turn);"
        f" load {os.getloadavg()[0]:.2f}"
    )

    def timed(queryset: TicketQuerySet) -> float:
        started = time.perf_counter()
        rows = list(queryset[0:51])
        elapsed = (time.perf_counter() - started) * 1000
        assert len(rows) <= 51
        return elapsed

    for label, queryset in pages.items():
        one, first = queryset.all(), queryset.ids_first()
        assert [t.pk for t in one[0:51]] == [t.pk for t in first[0:51]], label
        times: dict[str, list[float]] = {"one": [], "ids first": []}
        for _ in range(repeat):
            times["one"].append(timed(one))
            times["ids first"].append(timed(first))
        figures = []
        for values in times.values():
            values.sort()
            figures.append((statistics.median(values), percentile(values, 95)))
        (m1, p1), (m2, p2) = figures
        print(
            f"{label:28s} one query {m1:7.1f} / {p1:7.1f} ms   ids first {m2:7.1f} / {p2:7.1f} ms"
            f"   (median x{m2 / m1:5.2f}, p95 x{p2 / p1:5.2f})"
        )
    connection.close()


if __name__ == "__main__":
    sys.exit(main())
