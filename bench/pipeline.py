"""The whole path, end to end: N distinct failures ingested, analysed (Gemini, through a local
server answering at once) and fanned out to JIRA and Slack (local servers speaking their APIs)
and Azure Blob (Azurite), by one Celery worker with 2 processes.

Prints tickets fully fanned out per second and p50/p95 from ingest to all three targets done,
and, in the same run, the rate at which the same worker drains trivial tasks.

    .venv/bin/python bench/pipeline.py [--failures 1000]

Uses its own database (`rca_bench_pipeline`) and Redis database 12.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, bench_environment, percentile, setup_django, start_relay, start_worker

from tests.fakes.azurite import Azurite
from tests.fakes.gemini_api import FakeGemini
from tests.fakes.jira_api import FakeJira
from tests.fakes.slack_api import FakeSlack


def drain_rate(count: int) -> float:
    """Trivial tasks per second the running worker drains."""
    from integrations.circuit import redis_client
    from integrations.tasks import ping

    key = f"bench:ping:{uuid.uuid4().hex}"
    ping.delay(key)  # warm
    deadline = time.monotonic() + 60
    while not redis_client().get(key) and time.monotonic() < deadline:
        time.sleep(0.05)
    redis_client().delete(key)
    started = time.perf_counter()
    for _ in range(count):
        ping.delay(key)
    while int(redis_client().get(key) or 0) < count:
        time.sleep(0.01)
    return count / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--failures", type=int, default=1000)
    parser.add_argument("--trivial-tasks", type=int, default=3000)
    args = parser.parse_args()

    with FakeGemini() as gemini, FakeJira() as jira, FakeSlack() as slack, Azurite() as azurite:
        env = bench_environment("rca_bench_pipeline", 12)
        env.update(
            GEMINI_API_KEY="bench-key",
            GEMINI_BASE_URL=gemini.url,
            EMBEDDING_BACKEND="local",
            JIRA_URL=jira.url,
            JIRA_USER=jira.user,
            JIRA_API_TOKEN=jira.token,
            SLACK_BOT_TOKEN=slack.token,
            SLACK_BASE_URL=slack.base_url,
            AZURE_STORAGE_CONNECTION_STRING=azurite.connection_string,
        )
        setup_django(env)
        from django.conf import settings
        from django.db.models import Max

        from integrations import targets
        from integrations.ingest import ingest_delivery
        from integrations.models import OutboundDelivery, OutboundStatus
        from tickets.models import Ticket

        # Analysis and every target's deliveries, in one worker of 2 processes.
        worker = start_worker(env, [settings.CELERY_TASK_DEFAULT_QUEUE, *targets.outbound_queues()])
        relay = start_relay(env)
        try:
            raw_rate = drain_rate(args.trivial_tasks)
            template = json.loads((REPO / "tests" / "payloads" / "adf_failure.json").read_text())
            ingested: dict[str, float] = {}
            started = time.time()
            for index in range(args.failures):
                # Each names its own server: distinct failures, no incident among them.
                message = template["error_message"].replace("sqlsrv-sales", f"sqlsrv-{index}")
                body = {
                    **template,
                    "run_id": str(uuid.uuid4()),
                    "pipeline": f"pl_bench_{index}",
                    "error_message": message,
                }
                result = ingest_delivery("adf", json.dumps(body).encode())
                assert result.ticket_id is not None  # a new failure always makes a ticket
                ingested[result.ticket_id] = time.time()
            ingest_seconds = time.time() - started
            initial = ["jira_create", "slack_post", "blob_upload"]
            deadline = time.monotonic() + 900
            while time.monotonic() < deadline:
                done = OutboundDelivery.objects.filter(
                    action__in=initial, status=OutboundStatus.SUCCEEDED
                ).count()
                if done >= 3 * args.failures:
                    break
                time.sleep(0.5)
            finished = (
                OutboundDelivery.objects.filter(action__in=initial, status=OutboundStatus.SUCCEEDED)
                .values("ticket_id")
                .annotate(last=Max("completed_at"))
            )
            completion = {row["ticket_id"]: row["last"].timestamp() for row in finished}
        finally:
            relay.terminate()
            worker.terminate()
            relay.wait(timeout=30)
            worker.wait(timeout=60)

        complete = [t for t in ingested if t in completion]
        latencies = sorted((completion[t] - ingested[t]) * 1000 for t in complete)
        total_seconds = max(completion.values()) - started if completion else float("inf")
        rate = len(complete) / total_seconds
        gemini_rcas = Ticket.objects.filter(rca_source="gemini").count()
        print(f"worker      1 Celery worker, 2 processes; {args.failures} distinct failures")
        print(f"ingest      {args.failures / ingest_seconds:.0f} failures/s in-process")
        print(
            f"pipeline    {len(complete)}/{args.failures} fully fanned out "
            f"(JIRA issue, Slack alert, blobs) in {total_seconds:.1f} s = {rate:.1f} tickets/s"
        )
        if latencies:
            p50, p95 = percentile(latencies, 50) / 1000, percentile(latencies, 95) / 1000
            print(f"latency     ingest -> all three targets done: p50 {p50:.2f} s, p95 {p95:.2f} s")
        print(f"baseline    the same worker drains {raw_rate:.0f} trivial tasks/s")
        print(
            f"check       Gemini RCAs {gemini_rcas}, JIRA issues {len(jira.issues)}, "
            f"Slack alerts {len([m for m in slack.messages.values() if not m.get('thread_ts')])}"
        )
        ok = len(complete) == args.failures and len(jira.issues) == args.failures
        print("result      " + ("every ticket fanned out once" if ok else "INCOMPLETE"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
