"""A storm through the real stack: 2,000 failures from 8 root causes across 400 pipelines, plus
100 unrelated single failures, posted at concurrency 32 to gunicorn (2 sync workers), processed
by one Celery worker (2 processes) and paged to JIRA and Slack (local servers speaking their
APIs). Gemini is not configured (rule-based RCA).

Prints the incidents formed (want 8), misgrouped tickets (want 0), JIRA issues created and
Slack messages posted (want 8 + 100), the time from a cause's first failure being sent to its
page (JIRA issue and Slack message both there; p50/p95, want p95 < 10 s) and the ratio of
alerts received to pages sent.

    .venv/bin/python bench/storm.py [--per-cause 250] [--pipelines-per-cause 50] [--singles 100]

Uses its own database (`rca_bench_storm`) and Redis database 13.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, bench_environment, free_port, one_request, percentile, setup_django
from common import start_gunicorn as start_web

from tests.fakes.jira_api import FakeJira
from tests.fakes.slack_api import FakeSlack

# The eight root causes: what the failing pipelines' errors say, and the culprit they name.
CAUSES = [
    (
        "adf",
        "ErrorCode=SqlFailedToConnect,Message=Cannot connect to SQL Database. Server: "
        "'sql-prod-01', Database: 'dw', User: 'etl'. A network-related or instance-specific "
        "error occurred while establishing a connection to SQL Server.",
        "sql-server:sql-prod-01.database.windows.net",
    ),
    (
        "adf",
        "ErrorCode=AdlsGen2OperationFailed,Message=ADLS Gen2 operation failed for: Operation "
        "returned an invalid status code 'Forbidden'. Account: 'dlsprod'. "
        "abfss://raw@dlsprod.dfs.core.windows.net/sales/",
        "storage:dlsprod/raw",
    ),
    (
        "adf",
        "ErrorCode=UserErrorSelfHostedIRNotOnline: The Integration Runtime 'SHIR-Prod' is "
        "offline or not registered.",
        "integration-runtime:shir-prod",
    ),
    (
        "adf",
        "Failed to get the secret from Azure Key Vault, secretName: sql-password, baseUrl: "
        "https://kv-data-prod.vault.azure.net/. The operation timed out.",
        "key-vault:kv-data-prod.vault.azure.net",
    ),
    (
        "airflow",
        'psycopg2.OperationalError: connection to server at "warehouse.internal" (10.0.4.12), '
        "port 5432 failed: Connection refused",
        "database-host:warehouse.internal",
    ),
    (
        "airflow",
        "requests.exceptions.ConnectionError: HTTPSConnectionPool(host='api.partner.example.com',"
        " port=443): Max retries exceeded with url: /v2/orders",
        "api-host:api.partner.example.com",
    ),
    (
        "airflow",
        "airflow.exceptions.AirflowNotFoundException: The conn_id `snowflake_dwh` isn't defined",
        "airflow-connection:snowflake_dwh",
    ),
    (
        "airflow",
        "org.apache.kafka.common.errors.TimeoutException: Topic orders not present in metadata "
        "after 60000 ms. bootstrap.servers = [evh-ingest.servicebus.windows.net:9093]",
        "eventhubs-namespace:evh-ingest.servicebus.windows.net",
    ),
]


def start_worker(env: dict[str, str], queues: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [
            str(Path(sys.executable).parent / "celery"),
            "-A",
            "rca_project",
            "worker",
            "--concurrency",
            "2",
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "-Q",
            ",".join(queues),
        ],
        cwd=REPO,
        env=env,
    )


def adf_body(template: dict, pipeline: str, factory: str, message: str) -> dict:
    return {
        **template,
        "pipeline": pipeline,
        "factory": factory,
        "run_id": str(uuid.uuid4()),
        "error_message": message,
    }


def airflow_body(template: dict, dag: str, message: str) -> dict:
    return {
        **template,
        "dag_id": dag,
        "task_id": "load",
        "run_id": f"scheduled__{uuid.uuid4()}",
        "try_number": 1,
        "state": "failed",
        "exception": message,
    }


async def timed_load(
    port: int, requests: list[bytes], concurrency: int
) -> tuple[list[int], list[float], float]:
    """Send the requests in order over `concurrency` connections; each one's status and the
    wall-clock time it was sent, and the duration of the whole run."""
    statuses = [0] * len(requests)
    sent_at = [0.0] * len(requests)
    next_index = 0

    async def worker() -> None:
        nonlocal next_index
        while next_index < len(requests):
            index = next_index
            next_index += 1
            sent_at[index] = time.time()
            statuses[index] = (await one_request(port, requests[index]))[0]

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses, sent_at, time.perf_counter() - started


def request_bytes(path: str, body: dict, token: str) -> bytes:
    data = json.dumps(body).encode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"X-Webhook-Token: {token}\r\nContent-Length: {len(data)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + data


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-cause", type=int, default=250)
    parser.add_argument("--pipelines-per-cause", type=int, default=50)
    parser.add_argument("--singles", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    rng = random.Random(12)

    token = f"storm-{uuid.uuid4().hex}"
    with FakeJira() as jira, FakeSlack() as slack:
        env = bench_environment("rca_bench_storm", 13)
        env.update(
            WEBHOOK_TOKEN=token,
            GEMINI_API_KEY="",
            EMBEDDING_BACKEND="local",
            JIRA_URL=jira.url,
            JIRA_USER=jira.user,
            JIRA_API_TOKEN=jira.token,
            SLACK_BOT_TOKEN=slack.token,
            SLACK_BASE_URL=slack.base_url,
            AZURE_STORAGE_CONNECTION_STRING="",
        )
        setup_django(env)
        from django.conf import settings

        from integrations import targets
        from tickets.models import Incident, IncidentEvent, Ticket

        adf = json.loads((REPO / "tests" / "payloads" / "adf_failure.json").read_text())
        airflow = json.loads((REPO / "tests" / "payloads" / "airflow_failure.json").read_text())
        posts: list[tuple[int, bytes]] = []  # (cause index or -1, request)
        for cause, (source, message, _) in enumerate(CAUSES):
            for n in range(args.per_cause):
                pipeline = f"c{cause}_pl_{n % args.pipelines_per_cause:03d}"
                if source == "adf":
                    factory = f"adf-{cause}-{n % 3}"
                    body = adf_body(adf, pipeline, factory, message)
                    posts.append((cause, request_bytes("/webhooks/adf/", body, token)))
                else:
                    body = airflow_body(airflow, pipeline, message)
                    posts.append((cause, request_bytes("/webhooks/airflow/", body, token)))
        for n in range(args.singles):
            message = f"KeyError: 'column_{n}' in transform step {n}"
            body = adf_body(adf, f"single_pl_{n:03d}", "adf-misc", message)
            posts.append((-1, request_bytes("/webhooks/adf/", body, token)))
        rng.shuffle(posts)

        queues = [settings.CELERY_TASK_DEFAULT_QUEUE, *targets.outbound_queues()]
        port = free_port()
        web = start_web(env, port)
        worker = start_worker(env, queues)
        try:
            statuses, sent_at, wall = asyncio.run(
                timed_load(port, [r for _, r in posts], args.concurrency)
            )
            first_sent: dict[int, float] = {}
            for (cause, _), at in zip(posts, sent_at, strict=True):
                if cause >= 0:
                    first_sent[cause] = min(at, first_sent.get(cause, at))
            deadline = time.monotonic() + 600
            expected_pages = len(CAUSES) + args.singles
            while time.monotonic() < deadline:
                paged = Incident.objects.exclude(itsm_ticket_id="").exclude(slack_ts="").count()
                singles = Ticket.objects.filter(
                    incident__isnull=True, pipeline__startswith="single_pl_"
                )
                singles_done = singles.exclude(itsm_ticket_id="").exclude(slack_ts="").count()
                if paged >= len(CAUSES) and singles_done >= args.singles:
                    break
                time.sleep(0.5)
            time.sleep(3 * float(settings.INCIDENT_UPDATE_SECONDS))  # let late pages show
        finally:
            worker.terminate()
            web.terminate()
            worker.wait(timeout=60)
            web.wait(timeout=30)

        incidents = list(Incident.objects.filter(merged_into__isnull=True))
        culprit_of_cause = {c[2]: i for i, c in enumerate(CAUSES)}
        misgrouped = 0
        for incident in incidents:
            expected = incident.culprit
            misgrouped += incident.members.exclude(culprit=expected).count()
        misgrouped += Ticket.objects.filter(
            incident__isnull=True, culprit__in=list(culprit_of_cause)
        ).count()
        misgrouped += Ticket.objects.filter(
            incident__isnull=False, pipeline__startswith="single_pl_"
        ).count()
        page_latencies: list[float] = []
        for incident in incidents:
            cause_index = culprit_of_cause.get(incident.culprit)
            times = IncidentEvent.objects.filter(
                incident=incident, kind__in=("jira_created", "slack_posted")
            ).values_list("at", flat=True)
            if cause_index is not None and len(times) == 2:
                paged_at = max(t.timestamp() for t in times)
                page_latencies.append(paged_at - first_sent[cause_index])
        page_latencies.sort()
        creates = [r for r in jira.issue_requests("POST") if r.path.endswith("/issue")]
        posts_sent = [m for m in slack.messages.values() if not m.get("thread_ts")]
        received = len(posts)
        tickets = Ticket.objects.count()
        pages = len(creates) + len(posts_sent)

        print(
            f"load        {received} failures ({len(CAUSES)} causes x {args.per_cause} over "
            f"{len(CAUSES) * args.pipelines_per_cause} pipelines + {args.singles} singles) at "
            f"concurrency {args.concurrency} in {wall:.1f} s; answers "
            f"{sorted(set(statuses))}"
        )
        print(
            f"incidents   {len(incidents)} formed (want {len(CAUSES)}); misgrouped tickets "
            f"{misgrouped} (want 0)"
        )
        print(
            f"pages       JIRA creates {len(creates)}, Slack posts {len(posts_sent)} "
            f"(want {expected_pages} each)"
        )
        if page_latencies:
            p50, p95 = percentile(page_latencies, 50), percentile(page_latencies, 95)
            print(f"time-to-page first failure -> incident paged: p50 {p50:.1f} s, p95 {p95:.1f} s")
        print(
            f"noise       alerts {received} -> tickets {tickets} -> incidents {len(incidents)} "
            f"-> pages {pages} (JIRA + Slack): {received / max(pages, 1):.1f} alerts per page"
        )
        ok = (
            len(incidents) == len(CAUSES)
            and misgrouped == 0
            and len(creates) == expected_pages
            and len(posts_sent) == expected_pages
        )
        print("result      " + ("as wanted" if ok else "NOT as wanted"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
