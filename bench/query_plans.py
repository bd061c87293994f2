"""Query plans of the hot paths at production size: 100,000 tickets (bench/api.py's load) and,
per ticket, outbound deliveries, occurrences and audit entries, a million of each, skewed: a
few flaky pipelines' tickets hold tens of thousands of rows each, one of them a storm of the
last days (its rows at the end of the tables), one spread over months.

    .venv/bin/python bench/query_plans.py [--tickets 100000] [--rows 1000000] [--reuse]
                                          [--seed-only] [--verbose] [--only TEXT ...]

Runs each hot path's real code (each path's time in all is printed), captures the SQL it
sends, and prints PostgreSQL's EXPLAIN (ANALYZE, BUFFERS) figures of each statement, run again
in a transaction rolled back: execution time, buffers, and what in its plan grows with a table
(a scan of a big table, a sort or filter of 1,000 rows or more). A statement that cannot run
twice (a unique key it took) is listed unexplained. `--verbose` prints the plans themselves;
`--only deliveries` runs only the paths whose label holds that text.

Uses its own database (`rca_bench_plans`, recreated unless `--reuse`; BENCH_PLANS_DB names
another) and Redis database 12 (BENCH_PLANS_REDIS_DB).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, bench_environment, setup_django

BENCH_DB = os.environ.get("BENCH_PLANS_DB", "rca_bench_plans")
BENCH_REDIS_DB = int(os.environ.get("BENCH_PLANS_REDIS_DB", "12"))
HOT_TICKETS = 5  # flaky pipelines' tickets, each with HOT_ROWS rows per table
HOT_ROWS = 20_000
TOKEN = "bench-token-plans"


def environment(reuse: bool) -> dict[str, str]:
    if not reuse:
        return bench_environment(BENCH_DB, BENCH_REDIS_DB)
    import subprocess

    from rca_project import local_services

    env = dict(os.environ, DJANGO_SETTINGS_MODULE="rca_project.settings", LOG_LEVEL="WARNING")
    env.setdefault("DATABASE_URL", local_services.embedded_postgres_url(BENCH_DB))
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity", "0"], cwd=REPO, env=env, check=True
    )
    return env


def seed_history(rows: int) -> None:
    """`rows` outbound deliveries, occurrences and audit entries over the stored tickets, the
    hot tickets' HOT_ROWS each among them, then ANALYZE."""
    from django.db import connection

    started = time.perf_counter()
    spread = rows - HOT_TICKETS * HOT_ROWS
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE bench_ids AS SELECT row_number() OVER (ORDER BY random()) AS n,"
            " id FROM tickets_ticket"
        )
        cursor.execute("SELECT count(*) FROM bench_ids")
        (count,) = cursor.fetchone()
        cursor.execute("SELECT id FROM bench_ids WHERE n <= %s ORDER BY n", [HOT_TICKETS])
        hot = [row[0] for row in cursor.fetchall()]
        # Each table: rows in the order they were written over 90 days, most of them on random
        # tickets, those of four hot tickets interleaved with them from start to end, the
        # storm's (hot[0]) all at the end.
        cursor.execute(
            """
            CREATE TEMP TABLE bench_rows AS
            SELECT g AS n, i.id AS ticket_id,
                   now() - interval '90 days' * (1 - g::float / %(total)s) AS at
            FROM generate_series(1, %(spread)s) g
            JOIN bench_ids i
              ON i.n = %(hot)s + 1 + (hashint4(g) & 2147483647) %% (%(count)s - %(hot)s)
            UNION ALL
            SELECT %(spread)s + g, h.id,
                   now() - interval '90 days' * (1 - (%(spread)s + g)::float / %(total)s)
            FROM generate_series(1, %(hot_rows)s) g
            JOIN bench_ids h ON h.n = 1
            """,
            {
                "total": rows,
                "spread": spread,
                "hot": HOT_TICKETS,
                "count": count,
                "hot_rows": HOT_ROWS,
            },
        )
        # The spread hot tickets: replace that many spread rows, evenly through the table.
        cursor.execute(
            """
            UPDATE bench_rows r SET ticket_id = h.id
            FROM bench_ids h
            WHERE r.n <= %(spread)s AND mod(r.n, %(every)s) = 0
              AND h.n = 2 + (r.n / %(every)s) %% %(others)s
            """,
            {
                "spread": spread,
                "every": spread // ((HOT_TICKETS - 1) * HOT_ROWS),
                "others": HOT_TICKETS - 1,
            },
        )
        cursor.execute(
            """
            INSERT INTO integrations_outbounddelivery
                (key, ticket_id, target, action, payload, status, attempts, last_error,
                 created_at, next_attempt_at, completed_at)
            SELECT ticket_id || ':' || a.action || ':' || n, ticket_id, a.target, a.action,
                   jsonb_build_object('action', 'recurred'),
                   CASE WHEN mod(n, 500) = 0 THEN 'dead' WHEN mod(n, 97) = 0 THEN 'skipped'
                        ELSE 'succeeded' END,
                   1, '', at, at, at + interval '2 seconds'
            FROM bench_rows,
                 LATERAL (SELECT (ARRAY['jira', 'slack', 'blob'])[1 + mod(n, 3)] AS target,
                                 (ARRAY['jira_comment', 'slack_update', 'blob_upload'])
                                     [1 + mod(n, 3)] AS action) a
            """
        )
        cursor.execute(
            """
            INSERT INTO tickets_occurrence (key, ticket_id, outcome, seen_at)
            SELECT 'adf:run-' || n, ticket_id,
                   CASE WHEN mod(n, 1000) = 0 THEN 'regressed' ELSE 'correlated' END, at
            FROM bench_rows
            """
        )
        cursor.execute(
            """
            INSERT INTO tickets_auditlog
                (ticket_id, created_at, actor_kind, actor_name, action, before, after, details)
            SELECT ticket_id, at, 'source', 'adf', 'recurred',
                   jsonb_build_object('occurrence_count', 1),
                   jsonb_build_object('occurrence_count', 2),
                   jsonb_build_object('run_id', 'run-' || n)
            FROM bench_rows
            """
        )
        for table in ("integrations_outbounddelivery", "tickets_occurrence", "tickets_auditlog"):
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("DROP TABLE bench_rows")
        cursor.execute(
            "UPDATE tickets_ticket SET occurrence_count = %s WHERE id = ANY(%s)", [HOT_ROWS, hot]
        )
        cursor.execute("DROP TABLE bench_ids")
    took = time.perf_counter() - started
    print(
        f"seeded     {rows:,} outbound deliveries, occurrences and audit entries each"
        f" ({HOT_TICKETS} tickets with {HOT_ROWS:,} of each) in {took:.1f} s"
    )


# What the report points at, a cost that grows with a table or a ticket's history: a scan
# of a big table, a sort of LARGE rows or more, a filter that threw LARGE rows or more away.
BIG_TABLES = (
    "tickets_ticket",
    "integrations_outbounddelivery",
    "tickets_occurrence",
    "tickets_auditlog",
    "integrations_webhookdelivery",
)
LARGE = 1000
SCAN = re.compile(r"(?:Seq Scan|Bitmap Heap Scan) on (\w+)")
SORT = re.compile(r"(?<!Incremental )Sort  \(cost=\S+ rows=(\d+)")
REMOVED = re.compile(r"Rows Removed by Filter: (\d+)")


def watched(plan: str) -> list[str]:
    found = {f"scan of {table}" for table in SCAN.findall(plan) if table in BIG_TABLES}
    found |= {f"sort of {rows} rows" for rows in SORT.findall(plan) if int(rows) >= LARGE}
    found |= {f"{rows} rows filtered out" for rows in REMOVED.findall(plan) if int(rows) >= LARGE}
    return sorted(found)


class Captured:
    """Every statement a path sends, its parameters bound into its text."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not many:
            import psycopg

            # Bound here: Django's own `last_executed_query` has no text for the webhook
            # path's prepared statements.
            raw = context["connection"].connection
            self.statements.append(psycopg.ClientCursor(raw).mogrify(sql, params))
        return result


def explain(statement: str) -> tuple[float, int, list[str], str]:
    """Execution time (ms), shared buffers touched, what `watched` points at in its plan, and
    the plan: the statement run again inside a transaction that is rolled back."""
    from django.db import connection, transaction

    text = ""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement}")
                text = "\n".join(row[0] for row in cursor.fetchall())
            transaction.set_rollback(True)
    except Exception as exc:  # a statement that cannot run twice (a unique key taken)
        return float("nan"), 0, [f"not explained: {type(exc).__name__}"], ""
    executed = re.search(r"Execution Time: ([\d.]+)", text)
    ms = float(executed.group(1)) if executed else float("nan")
    top = re.search(r"Buffers: (.*)", text)
    buffers = sum(int(n) for n in re.findall(r"(?:hit|read)=(\d+)", top.group(1))) if top else 0
    return ms, buffers, watched(text), text


def run_path(label: str, path: Callable[[], object], verbose: bool) -> list[tuple[float, str]]:
    from django.db import connection

    captured = Captured()
    started = time.perf_counter()
    with connection.execute_wrapper(captured):
        path()
    elapsed = (time.perf_counter() - started) * 1000
    rows = []
    for statement in captured.statements:
        head = statement.split()[0].upper()
        if head in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "SET", "LISTEN"):
            continue
        ms, buffers, found, plan = explain(statement)
        rows.append((ms, statement))
        flag = "  <-- " + "; ".join(found) if found else ""
        print(f"  {ms:9.2f} ms {buffers:7d} buf  {' '.join(statement.split())[:110]}{flag}")
        if verbose and plan:
            print("      " + plan.replace("\n", "\n      "))
    print(
        f"{label}: {len(rows)} statements, {elapsed:.0f} ms in all (EXPLAIN ANALYZE sum"
        f" {sum(ms for ms, _ in rows if ms == ms):.1f} ms)\n"
    )
    return rows


class Built:
    """A path whose set-up (`build`, returning the path) runs outside its capture."""

    def __init__(self, build: Callable[[], Callable[[], object]]) -> None:
        self.build = build


def failure_body(pipeline: str, run_id: str) -> bytes:
    template = json.loads((REPO / "tests" / "payloads" / "adf_failure.json").read_text())
    body = {**template, "run_id": run_id, "pipeline": pipeline}
    body["error_message"] = body["error_message"].replace("sqlsrv-sales", f"sqlsrv-{pipeline}")
    return json.dumps(body).encode()


def hot_tickets() -> list[str]:
    """The tickets with the longest histories, the storm's (its rows last) first."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT ticket_id FROM integrations_outbounddelivery GROUP BY ticket_id"
            " ORDER BY count(*) DESC LIMIT %s",
            [HOT_TICKETS],
        )
        hot = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "SELECT ticket_id FROM integrations_outbounddelivery WHERE ticket_id = ANY(%s)"
            " GROUP BY ticket_id ORDER BY min(id) DESC",
            [hot],
        )
        return [row[0] for row in cursor.fetchall()]


def user_reads(
    ticket: str,
    get: Callable[[str], Callable[[], None]],
    later_page: Callable[[str, int], Built],
) -> list[tuple[str, Callable[[], object] | Built]]:
    """What on-call staff read, beyond the paths above: every filter and ordering of the API's
    ticket list, its second page, stats, similar tickets, incidents, a ticket's pages, the
    board's other views and the admin lists with their filters and searches."""
    from datetime import timedelta

    from django.utils import timezone

    month_ago = (timezone.now() - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tickets = "/api/v1/tickets/"
    api_lists = [
        "status=open",
        "status=acknowledged",
        "severity=Critical",
        "priority=P1",
        "source=databricks",
        "error_type=DatabaseError",
        "sla_status=Breached",
        "team=sales",
        f"created_after={month_ago}",
        "jira_key=OPS-5",
        "search=pl_sales_001",
        "search=SqlFailedToConnect",
        f"search={ticket}",
    ]
    orderings = [
        "timestamp",
        "-timestamp",
        "severity",
        "-severity",
        "priority",
        "sla_deadline",
        "-sla_deadline",
        "occurrence_count",
        "-occurrence_count",
        "last_seen",
        "-last_seen",
    ]
    admin = "/admin/tickets/ticket/"
    admin_lists = [
        "status__exact=open",
        "severity__exact=High",
        "source=databricks",
        "error_type__exact=DatabaseError",
        "finops_team=sales",
        "sla=overdue",
        "sla=Breached",
        "rca_source__exact=rules",
        "rca_source__exact=gemini",
        "q=pl_sales_001",
        f"q={ticket}",
        "o=13",
        "o=-9",
        f"timestamp__year={timezone.now().year}",
    ]
    return [
        *((f"read: api list ?{q}", get(f"{tickets}?{q}")) for q in api_lists),
        *((f"read: api list ?ordering={o}", get(f"{tickets}?ordering={o}")) for o in orderings),
        (
            "read: api list ?ordering=-last_seen&status=open",
            get(f"{tickets}?ordering=-last_seen&status=open"),
        ),
        (
            "read: api list ?ordering=-last_seen, 2nd page",
            later_page(f"{tickets}?ordering=-last_seen", 1),
        ),
        (
            "read: api list ?ordering=-occurrence_count, 2nd page",
            later_page(f"{tickets}?ordering=-occurrence_count", 1),
        ),
        (
            "read: api list ?ordering=occurrence_count, 2nd page",
            later_page(f"{tickets}?ordering=occurrence_count", 1),
        ),
        ("read: api list, 2nd page", later_page(tickets, 1)),
        ("read: api ticket detail", get(f"{tickets}{ticket}/")),
        ("read: api similar", get(f"{tickets}{ticket}/similar/")),
        ("read: api stats", get("/api/v1/stats/")),
        ("read: api incident stats", get("/api/v1/stats/incidents/")),
        ("read: api incidents", get("/api/v1/incidents/")),
        ("read: dashboard ticket page", get(f"/tickets/{ticket}/")),
        ("read: dashboard charts", get("/charts/")),
        ("read: admin ticket change page", get(f"{admin}{ticket}/change/")),
        *((f"read: admin ticket list ?{q}", get(f"{admin}?{q}")) for q in admin_lists),
        ("read: admin incidents", get("/admin/tickets/incident/")),
        ("read: admin audit log", get("/admin/tickets/auditlog/")),
        ("read: admin audit log ?q=ticket", get(f"/admin/tickets/auditlog/?q={ticket}")),
        ("read: admin occurrences", get("/admin/tickets/occurrence/")),
        ("read: admin inbox", get("/admin/integrations/webhookdelivery/")),
        (
            "read: admin outbound ?status=dead",
            get("/admin/integrations/outbounddelivery/?status__exact=dead"),
        ),
        (
            "read: admin outbound ?q=ticket",
            get(f"/admin/integrations/outbounddelivery/?q={ticket}"),
        ),
        ("read: admin resolutions", get("/admin/tickets/resolution/")),
    ]


def report(hot: list[str], verbose: bool, only: list[str] | None = None) -> int:
    from django.contrib.auth.models import User
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from integrations import fanout, processing
    from integrations.models import OutboundDelivery, WebhookDelivery
    from tickets import lifecycle, rollup
    from tickets.lifecycle import Actor
    from tickets.models import Ticket
    from tickets.vocabulary import Source

    storm, spread = hot[0], hot[-1]
    run = uuid.uuid4().hex[:8]
    pipeline = f"pl_plans_{run}"
    webhooks = Client(HTTP_HOST="127.0.0.1")
    headers = {"X-Webhook-Token": TOKEN}

    def post(run_id: str) -> None:
        response = webhooks.post(
            "/webhooks/adf/", failure_body(pipeline, run_id), "application/json", headers=headers
        )
        assert response.status_code == 202, response.content

    def process_pending() -> None:
        for pk in WebhookDelivery.objects.filter(status="pending").values_list("pk", flat=True):
            processing.process_delivery(pk)

    # The storm's ticket becomes this pipeline's failure: the new ticket's fingerprint and
    # identity moved onto it, the new ticket deleted, so a recurrence attaches to the storm.
    post(f"{run}-0")
    process_pending()
    new = Ticket.objects.get(pipeline=pipeline)
    Ticket.objects.filter(pk=storm).update(
        fingerprint=new.fingerprint,
        pipeline=pipeline,
        source=new.source,
        status="open",
        group_key=new.group_key,
        culprit=new.culprit,
        last_seen=timezone.now(),
        itsm_ticket_id=f"OPS-{run}",
        slack_ts="1700000000.999999",
        incident=None,
    )
    Ticket.objects.filter(pk=spread).update(
        itsm_ticket_id=f"OPS-{run}-s", slack_ts="1700000000.999998"
    )
    new.delete()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE tickets_ticket")

    admin = User.objects.filter(username="bench-plans").first() or User.objects.create_superuser(
        "bench-plans", password=uuid.uuid4().hex
    )
    browser = Client(HTTP_HOST="127.0.0.1")
    browser.force_login(admin)

    def get(path: str) -> Callable[[], None]:
        def fetch() -> None:
            response = browser.get(path)
            assert response.status_code == 200, (path, response.status_code)

        return fetch

    def later_page(path: str, pages: int) -> Built:
        """The page `pages` pages after the first, each cursor read from the page before; those
        earlier pages are read when the path is built, outside its capture."""

        def build() -> Callable[[], None]:
            url = path
            for _ in range(pages):
                response = browser.get(url)
                assert response.status_code == 200, (url, response.status_code)
                url = response.json()["next"]
            return get(url)

        return Built(build)

    def regression() -> None:
        lifecycle.resolve(storm, Actor.for_user(admin))
        post(f"{run}-regressed")

    paths: list[tuple[str, Callable[[], object] | Built]] = [
        ("ingest: new failure", lambda: post(f"{run}-new")),
        ("ingest: duplicate", lambda: post(f"{run}-new")),
        ("ingest: recurrence on the storm's ticket", lambda: post(f"{run}-1")),
        ("processing: the recurrence (analysis batch)", process_pending),
        (
            "follow-up on the storm's ticket",
            lambda: fanout.schedule_follow_up(storm, "recurred", Actor.source(Source.ADF)),
        ),
        (
            "follow-up on the spread ticket",
            lambda: fanout.schedule_follow_up(spread, "recurred", Actor.source(Source.ADF)),
        ),
        ("resolve + regression on the storm's ticket", regression),
        ("processing: the regression", process_pending),
        (
            "fan-out: a delivery",
            lambda: fanout.deliver(
                OutboundDelivery.objects.filter(ticket_id=storm).latest("pk").pk
            ),
        ),
        ("beat: redeliver_stale", lambda: fanout.redeliver_stale(300)),
        ("beat: redeliver inbox", lambda: processing.redeliver_unfinished(lambda ids: len(ids))),
        ("beat: SLA breaches", lifecycle.mark_sla_breaches),
        ("beat: rollup fold", rollup.fold),
        ("beat: outbound retention", fanout.apply_outbound_retention),
        ("dashboard: board", get("/")),
        ("api: ticket list", get("/api/v1/tickets/")),
        ("api: list, status + severity", get("/api/v1/tickets/?status=open&severity=High")),
        ("api: list, by pipeline", get(f"/api/v1/tickets/?pipeline={pipeline}")),
        ("api: list, ordered by last seen", get("/api/v1/tickets/?ordering=-last_seen")),
        ("api: storm ticket detail", get(f"/api/v1/tickets/{storm}/")),
        ("api: storm ticket deliveries (first page)", get(f"/api/v1/tickets/{storm}/deliveries/")),
        (
            "api: storm ticket deliveries (the 100th page)",
            later_page(f"/api/v1/tickets/{storm}/deliveries/", 99),
        ),
        ("api: storm ticket audit", get(f"/api/v1/tickets/{storm}/audit/")),
        ("dashboard: storm ticket page", get(f"/tickets/{storm}/")),
        ("admin: storm ticket change page", get(f"/admin/tickets/ticket/{storm}/change/")),
        ("admin: ticket list", get("/admin/tickets/ticket/")),
        ("admin: outbound list", get("/admin/integrations/outbounddelivery/")),
        *user_reads(spread, get, later_page),
    ]
    for label, path in paths:
        if only and not any(text in label for text in only):
            continue
        print(f"{label}")
        try:
            run_path(label, path.build() if isinstance(path, Built) else path, verbose)
        except Exception as exc:
            print(f"  failed: {type(exc).__name__}: {exc}"[:300] + "\n")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="the last run's database as it is")
    parser.add_argument("--seed-only", action="store_true")
    parser.add_argument("--verbose", action="store_true", help="print every plan")
    parser.add_argument(
        "--only", nargs="+", metavar="TEXT", help="only the paths whose label holds one of these"
    )
    args = parser.parse_args()

    env = environment(args.reuse)
    env.update(
        WEBHOOK_TOKEN=TOKEN, JIRA_URL="", SLACK_BOT_TOKEN="", AZURE_STORAGE_CONNECTION_STRING=""
    )
    setup_django(env)
    from integrations.models import OutboundDelivery

    if not args.reuse:
        from api import load

        load(args.tickets, random.Random(5))
    if not OutboundDelivery.objects.exists():
        seed_history(args.rows)
    if args.seed_only:
        return 0
    return report(hot_tickets(), args.verbose, args.only)


if __name__ == "__main__":
    sys.exit(main())
