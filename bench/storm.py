"""A storm through the real stack: 2,000 failures from 8 root causes across 400 pipelines, plus 100
unrelated single failures, posted at concurrency 32 to gunicorn (2 threaded workers, as
`make run` starts it), processed as `make run` processes it (a Celery worker of 2 processes on the
default queue, a thread-pool worker per outbound target) and paged to JIRA and Slack (local
servers speaking their APIs). Gemini is not configured (rule-based RCA).

Prints the incidents formed (want 8), misgrouped tickets (want 0), JIRA issues created and
Slack messages posted (want 8 + 100), the time from a cause's first failure being sent to its
page (JIRA issue and Slack message both there; p50/p95, want p95 < 10 s) and the ratio of
alerts received to pages sent.

    .venv/bin/python bench/storm.py [--per-cause 250] [--pipelines-per-cause 50] [--singles 100]

With --remediate, the same storm with the transient causes (SQL Server and Key Vault unreachable
from ADF; the warehouse, the partner API and Event Hubs unreachable from Airflow) marked
remediable by a policy, plus --transient-singles ADF failures that name no culprit ("connection
reset by peer"). ADF reruns go through the real azure-identity and azure-mgmt-datafactory
clients to local stand-ins of Entra ID (https) and Azure Resource Manager, Airflow clears through
apache-airflow-client to a local Airflow API; the bench ends every rerun it is asked for as
succeeded. Once the storm is processed, it posts one success per remediable incident (one
member's pipeline recovered), which releases the incident's held remediations in batches of
--batch-size. It prints the failures remediated at once, those held behind an incident and
rerun after the recovery, and the runs remediated twice, counted from the requests the fake
services received per failed run (want 0). The storm has no Databricks cause.

Uses its own database (`rca_bench_storm`) and Redis database 13.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    REPO,
    bench_environment,
    free_port,
    one_request,
    percentile,
    setup_django,
    start_outbound_workers,
    start_relay,
    start_worker,
    wait_for_workers,
)
from common import start_gunicorn as start_web

from tests.fakes.airflow_api import FakeAirflow
from tests.fakes.azure_ad import FakeAzureAd
from tests.fakes.azure_management_api import FakeAzureManagement, adf_pipeline_run
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
        "storage:dlsprod",
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


# --remediate: which causes are transient (rerun once the culprit is back), what their errors
# say for the policy, and the error of a transient failure that names no culprit.
TRANSIENT_CAUSES = {
    0: "network-related",
    3: "operation timed out",
    4: "connection refused",
    5: "max retries exceeded",
    7: "timeoutexception",
}
TRANSIENT_SINGLE = (
    "ErrorCode=2200 Failure happened on 'Source' side. ErrorCode=UserErrorFailedToConnect,"
    "Message=Copy failed: connection reset by peer"
)
ADF_SUBSCRIPTION = "11111111-1111-1111-1111-111111111111"  # tests/payloads/adf_failure.json's


class RemediationFakes:
    """Entra ID, Azure Resource Manager and Airflow on local ports for --remediate; a thread
    ends every rerun or clear they are asked for as succeeded."""

    def __init__(self, stack: ExitStack) -> None:
        self.aad = stack.enter_context(FakeAzureAd())
        self.arm = stack.enter_context(
            FakeAzureManagement(subscription_id=ADF_SUBSCRIPTION, token=self.aad.access_token)
        )
        self.airflow = stack.enter_context(FakeAirflow())
        self._stop = threading.Event()
        self._finisher = threading.Thread(target=self._finish_reruns, daemon=True)
        self._finisher.start()
        stack.callback(self._stop.set)

    def env(self) -> dict[str, str]:
        return {
            "AZURE_TENANT_ID": self.aad.tenant_id,
            "AZURE_CLIENT_ID": self.aad.client_id,
            "AZURE_CLIENT_SECRET": self.aad.client_secret,
            "AZURE_SUBSCRIPTION_ID": ADF_SUBSCRIPTION,
            "AZURE_MANAGEMENT_URL": self.arm.url,
            "AZURE_AUTHORITY_HOST": self.aad.authority,
            "AZURE_DISABLE_INSTANCE_DISCOVERY": "true",
            "REQUESTS_CA_BUNDLE": self.aad.ca_bundle,
            "AIRFLOW_API_URL": self.airflow.url,
            "AIRFLOW_USERNAME": self.airflow.username,
            "AIRFLOW_PASSWORD": self.airflow.password,
        }

    def add_failed_run(self, source: str, body: dict) -> None:
        if source == "adf":
            run = adf_pipeline_run(
                body["run_id"],
                body["pipeline"],
                "Failed",
                subscription_id=ADF_SUBSCRIPTION,
                resource_group=body["resource_group"],
                factory=body["factory"],
            )
            self.arm.add_pipeline_run(body["resource_group"], body["factory"], run)
        else:
            self.airflow.add_task_instance(
                body["dag_id"], body["run_id"], body["task_id"], "failed"
            )

    def _finish_reruns(self) -> None:
        while not self._stop.wait(0.3):
            for (group, factory), runs in list(self.arm.pipeline_runs.items()):
                for run_id, run in list(runs.items()):
                    if run["status"] == "InProgress":
                        self.arm.finish_run(group, factory, run_id, "Succeeded")
            for instance in list(self.airflow.instances.values()):
                if instance["state"] is None:  # cleared: the scheduler runs it again
                    instance["state"] = "success"

    def reruns_per_run(self) -> Counter[tuple[str, ...]]:
        """How many reruns each failed run got, from the requests the services received."""
        counts: Counter[tuple[str, ...]] = Counter()
        for request in list(self.arm.requests):
            if request.method == "POST" and request.path.endswith("/createRun"):
                counts["adf", str(request.param("referencePipelineRunId"))] += 1
        for request in list(self.airflow.requests):
            if request.method == "POST" and request.path.endswith("/clearTaskInstances"):
                body = request.body if isinstance(request.body, dict) else {}
                dag = request.path.split("/")[-2]
                for task in body.get("task_ids") or []:
                    task_id = task[0] if isinstance(task, list) else task
                    counts["airflow", dag, str(body.get("dag_run_id")), str(task_id)] += 1
        return counts


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


def mark_transient_causes_remediable() -> None:
    """One policy per source for the storm's transient causes, ahead of the shipped rules (the
    classifier calls the Key Vault timeout a configuration error, which the shipped "never"
    rule would take). Automatic from confidence 0.4: without Gemini the RCA is rule-based,
    and the rules' confidence for these errors is 0.45-0.65, below the shipped 0.8."""
    from integrations.models import RemediationPolicy

    for source, action in (("adf", "adf_rerun"), ("airflow", "airflow_clear")):
        signals = [TRANSIENT_CAUSES[i] for i in TRANSIENT_CAUSES if CAUSES[i][0] == source]
        if source == "adf":
            signals.append("connection reset")  # the transient singles
        RemediationPolicy.objects.create(
            name=f"Storm: transient {source} causes",
            order=5,
            sources=[source],
            signals=signals,
            action=action,
            mode="auto",
            auto_min_confidence=0.4,
            approval_min_confidence=0.4,
        )


@dataclass
class Rerun:
    recovered: list[str]  # the tickets whose success was posted, one per remediable incident
    sent_at: float
    done_at: float


def recover_and_rerun(port: int, token: str, adf: dict, airflow: dict) -> Rerun:
    """Once the storm is processed, post one success per remediable incident (one member's
    run recovered) and wait until no remediation is held or running any more."""
    from integrations.models import DeliveryStatus, Remediation, WebhookDelivery
    from tickets.models import Incident, Ticket

    deadline = time.monotonic() + 900
    pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING)
    while pending.exists() and time.monotonic() < deadline:
        time.sleep(0.5)
    culprits = [CAUSES[i][2] for i in TRANSIENT_CAUSES]
    recovered: list[str] = []
    for incident in Incident.objects.filter(merged_into__isnull=True, culprit__in=culprits):
        member = Ticket.objects.filter(incident=incident, remediations__status="held").first()
        if member is None:
            continue
        entity = member.affected_entity
        if member.source == "adf":
            path = "/webhooks/adf/"
            body = {
                **adf_body(adf, member.pipeline, entity["factory"], ""),
                "status": "Succeeded",
            }
        else:
            path = "/webhooks/airflow/"
            body = {**airflow_body(airflow, entity["dag_id"], ""), "state": "success"}
        status = asyncio.run(one_request(port, request_bytes(path, body, token)))[0]
        if status == 202:
            recovered.append(member.pk)
    sent_at = time.time()
    active = Remediation.objects.filter(status__in=("proposed", "held", "running"))
    while active.exists() and time.monotonic() < deadline:
        time.sleep(1)
    return Rerun(recovered, sent_at, time.time())


def report_remediation(fakes: RemediationFakes, rerun: Rerun, transient_singles: int) -> bool:
    from django.db.models import Max

    from integrations.models import Remediation
    from tickets.models import Ticket

    transient_culprits = [CAUSES[i][2] for i in TRANSIENT_CAUSES]
    deterministic = [c[2] for i, c in enumerate(CAUSES) if i not in TRANSIENT_CAUSES]
    at_once = Remediation.objects.filter(release_group="")
    at_once_done = at_once.filter(status="succeeded")
    singles_done = at_once_done.filter(ticket__pipeline__startswith="single_pl_t").count()
    released = Remediation.objects.exclude(release_group="")
    by_status = Counter(released.values_list("status", flat=True))
    # The recovered members: skipped when their success came (before the release, so in no
    # release group), or at the release.
    recovered_skips = Remediation.objects.filter(
        status="skipped", reason="the run recovered at its source"
    ).count()
    held_members = released.exclude(status="skipped").count() + recovered_skips
    still = Remediation.objects.filter(status__in=("proposed", "held", "running")).count()
    wrong = (
        Remediation.objects.filter(ticket__culprit__in=deterministic)
        .exclude(status="skipped")
        .count()
    )
    counts = fakes.reruns_per_run()
    twice = sum(1 for n in counts.values() if n > 1)
    recovered_runs = {
        ("adf", t.affected_entity.get("run_id", ""))
        if t.source == "adf"
        else (
            "airflow",
            t.affected_entity.get("dag_id", ""),
            t.affected_entity.get("run_id", ""),
            t.affected_entity.get("task_id", ""),
        )
        for t in Ticket.objects.filter(pk__in=rerun.recovered)
    }
    rerun_recovered = sum(counts[key] for key in recovered_runs)
    ours = Remediation.objects.exclude(external_run_id="").count()
    last = released.aggregate(last=Max("finished_at"))["last"]
    tail = f"{last.timestamp() - rerun.sent_at:.1f} s" if last else "n/a"
    transient_tickets = Ticket.objects.filter(culprit__in=transient_culprits).count()
    adf_runs = sum(1 for key in counts if key[0] == "adf")
    print(
        f"remediate   policy: causes {sorted(TRANSIENT_CAUSES)} transient ({transient_tickets} "
        f"tickets) + {transient_singles} transient singles; the others never"
    )
    print(
        f"remediated  at once: {at_once_done.count()} succeeded ({singles_done} transient "
        f"singles, {at_once_done.count() - singles_done} storm failures placed before their "
        f"incident formed); failed {at_once.filter(status='failed').count()}"
    )
    print(
        f"held        {held_members} behind {len(rerun.recovered)} incidents, released by one "
        f"success each: rerun and succeeded {by_status['succeeded']}, failed "
        f"{by_status['failed']}, skipped as recovered {recovered_skips}; still held or "
        f"running {still} (want 0); last rerun done {tail} after the successes"
    )
    print(f"never       remediations of deterministic causes: {wrong} (want 0)")
    print(
        f"remediated twice: {twice} (want 0), from the fakes' requests: {adf_runs} ADF runs "
        f"rerun, {len(counts) - adf_runs} Airflow tasks cleared ({ours} remediations started "
        f"one); reruns of a run that had recovered: {rerun_recovered} (want 0)"
    )
    return (
        twice == 0
        and rerun_recovered == 0
        and still == 0
        and wrong == 0
        and singles_done == transient_singles
        and by_status["succeeded"] > 0
        and len(counts) == ours
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-cause", type=int, default=250)
    parser.add_argument("--pipelines-per-cause", type=int, default=50)
    parser.add_argument("--singles", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument(
        "--remediate", action="store_true", help="mark the transient causes remediable"
    )
    parser.add_argument("--transient-singles", type=int, default=20, help="with --remediate")
    parser.add_argument("--batch-size", type=int, default=10, help="REMEDIATION_BATCH_SIZE")
    args = parser.parse_args()
    rng = random.Random(12)
    transient_singles = args.transient_singles if args.remediate else 0

    token = f"storm-{uuid.uuid4().hex}"
    with ExitStack() as stack:
        jira = stack.enter_context(FakeJira())
        slack = stack.enter_context(FakeSlack())
        fakes = RemediationFakes(stack) if args.remediate else None
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
        if fakes is not None:
            env.update(
                fakes.env(),
                REMEDIATION_POLL_SECONDS="1",
                REMEDIATION_BATCH_SIZE=str(args.batch_size),
            )
        setup_django(env)
        from django.conf import settings

        from integrations import targets
        from tickets.models import Incident, IncidentEvent, Ticket

        if fakes is not None:
            mark_transient_causes_remediable()

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
                if fakes is not None:
                    fakes.add_failed_run(source, body)
        for n in range(args.singles):
            message = f"KeyError: 'column_{n}' in transform step {n}"
            body = adf_body(adf, f"single_pl_{n:03d}", "adf-misc", message)
            posts.append((-1, request_bytes("/webhooks/adf/", body, token)))
        for n in range(transient_singles):
            body = adf_body(adf, f"single_pl_t{n:03d}", "adf-misc", TRANSIENT_SINGLE)
            posts.append((-1, request_bytes("/webhooks/adf/", body, token)))
            assert fakes is not None
            fakes.add_failed_run("adf", body)
        rng.shuffle(posts)

        port = free_port()
        web = start_web(env, port)
        # As `make run` runs them: analysis in a worker of 2 processes on the default queue,
        # each outbound target in a thread-pool worker of its own.
        worker = start_worker(env, [settings.CELERY_TASK_DEFAULT_QUEUE])
        outbound = start_outbound_workers(env)
        relay = start_relay(env)
        try:
            wait_for_workers([settings.CELERY_TASK_DEFAULT_QUEUE, *targets.outbound_queues()])
            statuses, sent_at, wall = asyncio.run(
                timed_load(port, [r for _, r in posts], args.concurrency)
            )
            first_sent: dict[int, float] = {}
            for (cause, _), at in zip(posts, sent_at, strict=True):
                if cause >= 0:
                    first_sent[cause] = min(at, first_sent.get(cause, at))
            deadline = time.monotonic() + 600
            expected_pages = len(CAUSES) + args.singles + transient_singles
            while time.monotonic() < deadline:
                paged = Incident.objects.exclude(itsm_ticket_id="").exclude(slack_ts="").count()
                singles = Ticket.objects.filter(
                    incident__isnull=True, pipeline__startswith="single_pl_"
                )
                singles_done = singles.exclude(itsm_ticket_id="").exclude(slack_ts="").count()
                if paged >= len(CAUSES) and singles_done >= args.singles + transient_singles:
                    break
                time.sleep(0.5)
            time.sleep(3 * float(settings.INCIDENT_UPDATE_SECONDS))  # let late pages show
            if fakes is not None:
                rerun = recover_and_rerun(port, token, adf, airflow)
        finally:
            for process in (relay, worker, *outbound, web):
                process.terminate()
            for process in (relay, worker, *outbound, web):
                process.wait(timeout=60)

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
        if fakes is not None:
            ok = report_remediation(fakes, rerun, transient_singles) and ok
        print("result      " + ("as wanted" if ok else "NOT as wanted"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
