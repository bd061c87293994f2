"""The whole path: N distinct failures ingested, analysed (Gemini, through a local server
answering at once) and fanned out to JIRA and Slack (local servers speaking their APIs) and
Azure Blob (Azurite), with the processes `make run` starts: the analysis worker (2 processes,
the default queue) and one thread-pool worker per target, each on its target's queue.

The failures are ingested first, while the inbox relay is stopped; then the relay starts and
hands the whole backlog to the queue at once, as after a storm. Prints, from that moment:
tickets analysed per second (the analysis workers' throughput), tickets fully fanned out per
second (analysis, then the three targets), p50/p95 to each; and, in the same run, the rate at
which the analysis worker drains trivial tasks.

With `--until-analysed` it stops once every ticket is analysed, the targets' workers having run
beside the analysis at their configured pace all along (a paced storm's fan-out takes minutes
longer than its analysis); it prints how far the fan-out got, and checks nothing went twice.

    .venv/bin/python bench/pipeline.py [--failures 1000] [--until-analysed]

Uses its own database (`rca_bench_pipeline`) and Redis database 12 (`--redis-db`).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (
    REPO,
    bench_environment,
    percentile,
    setup_django,
    start_outbound_workers,
    start_relay,
    start_worker,
)

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
    parser.add_argument(
        "--redis-db", type=int, default=12, help="another, when a second stack shares the Redis"
    )
    parser.add_argument(
        "--targets-after-analysis",
        action="store_true",
        help="start the targets' workers once every ticket is analysed (the analysis alone)",
    )
    parser.add_argument(
        "--until-analysed",
        action="store_true",
        help="stop once every ticket is analysed; the fan-out is reported as far as it got",
    )
    args = parser.parse_args()
    if args.until_analysed and args.targets_after_analysis:
        parser.error("--until-analysed measures the analysis with the targets running beside it")

    with FakeGemini() as gemini, FakeJira() as jira, FakeSlack() as slack, Azurite() as azurite:
        env = bench_environment("rca_bench_pipeline", args.redis_db)
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
        from django.db.models import Count, Max, Min

        from integrations.ingest import ingest_delivery
        from integrations.models import OutboundDelivery, OutboundStatus, WebhookDelivery
        from tickets.models import Ticket

        # As `make run` runs them: analysis in a worker of 2 processes on the default queue;
        # each target in a thread-pool worker of its own (the three a new ticket pages).
        worker = start_worker(env, [settings.CELERY_TASK_DEFAULT_QUEUE])

        def start_outbound() -> list[subprocess.Popen]:
            return start_outbound_workers(env, ("jira", "slack", "blob"))

        outbound = [] if args.targets_after_analysis else start_outbound()
        relay = None
        fan_out_started = None
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
            # The backlog goes to the queue at once.
            started = time.time()
            relay = start_relay(env)
            initial = ["jira_create", "slack_post", "blob_upload"]
            deadline = time.monotonic() + 900
            if args.targets_after_analysis or args.until_analysed:
                pending = Ticket.objects.filter(rca_source="pending")
                while pending.exists() and time.monotonic() < deadline:
                    time.sleep(0.2)
            if args.targets_after_analysis:
                # The analysis alone on the machine first; the targets' workers after it.
                fan_out_started = time.time()
                outbound = start_outbound()
            while time.monotonic() < deadline and not args.until_analysed:
                done = OutboundDelivery.objects.filter(
                    action__in=initial, status=OutboundStatus.SUCCEEDED
                ).count()
                if done >= 3 * args.failures:
                    break
                time.sleep(0.5)
            analysed = dict(
                Ticket.objects.exclude(rca_source="pending").values_list("pk", "analysed_at")
            )
            first_queued = WebhookDelivery.objects.aggregate(first=Min("queued_at"))["first"]
            finished = (
                OutboundDelivery.objects.filter(action__in=initial, status=OutboundStatus.SUCCEEDED)
                .values("ticket_id")
                .annotate(last=Max("completed_at"))
            )
            completion = {row["ticket_id"]: row["last"].timestamp() for row in finished}
        finally:
            for process in [*([relay] if relay else []), worker, *outbound]:
                process.terminate()
            for process in [*([relay] if relay else []), worker, *outbound]:
                process.wait(timeout=60)

        def rate_and_latency(done_at: dict[str, float]) -> tuple[int, float, str]:
            times = sorted((done_at[t] - started) * 1000 for t in ingested if t in done_at)
            if not times:
                return 0, 0.0, "none"
            p50, p95 = percentile(times, 50) / 1000, percentile(times, 95) / 1000
            seconds = times[-1] / 1000
            return len(times), seconds, f"p50 {p50:.2f} s, p95 {p95:.2f} s"

        analysed_count, analysed_seconds, analysed_latency = rate_and_latency(
            {t: at.timestamp() for t, at in analysed.items() if at}
        )
        complete_count, total_seconds, complete_latency = rate_and_latency(completion)
        if fan_out_started is not None:
            last = max(completion.values(), default=fan_out_started)
            fan_out_seconds = last - fan_out_started
            print(
                f"targets     started once all were analysed: fanned out in {fan_out_seconds:.1f}"
                f" s = {complete_count / fan_out_seconds:.1f} tickets/s from their start"
            )
        gemini_rcas = Ticket.objects.filter(rca_source="gemini").count()
        print(
            f"workers     analysis: 1 Celery worker, 2 processes; targets: one thread-pool worker "
            f"each (JIRA, Slack, Blob); {args.failures} distinct failures"
        )
        print(
            f"pacing      Slack {settings.SLACK_CHANNEL_POSTS_PER_SECOND:g}/s per channel (burst "
            f"{settings.SLACK_CHANNEL_BURST}), its edits {settings.SLACK_EDITS_PER_SECOND:g}/s, "
            f"JIRA {settings.JIRA_DELIVERIES_PER_SECOND:g}/s "
            f"(burst {settings.JIRA_BURST}); 0 is off; every alert goes to one channel"
        )
        print(f"ingest      {args.failures / ingest_seconds:.0f} failures/s in-process (relay off)")
        print(
            f"analysis    {analysed_count}/{args.failures} analysed in {analysed_seconds:.1f} s "
            f"from the backlog's release = {analysed_count / analysed_seconds:.1f} tickets/s; "
            f"{analysed_latency}"
        )
        last_rca = max((at for at in analysed.values() if at), default=None)
        if first_queued and last_rca:
            span = (last_rca - first_queued).total_seconds()
            print(
                f"analysis    {analysed_count / span:.1f} tickets/s from the relay's first hand-off"
                f" to the last RCA ({span:.1f} s: the relay's own start-up left out)"
            )
        if not args.until_analysed:
            print(
                f"fan-out     {complete_count}/{args.failures} fully fanned out (JIRA issue, Slack "
                f"alert, blobs) in {total_seconds:.1f} s = "
                f"{complete_count / total_seconds:.1f} tickets/s; {complete_latency}"
            )
        print(f"baseline    the analysis worker drains {raw_rate:.0f} trivial tasks/s")
        slack_alerts = len([m for m in slack.messages.values() if not m.get("thread_ts")])
        print(
            f"check       Gemini RCAs {gemini_rcas}, JIRA issues {len(jira.issues)}, "
            f"Slack alerts {slack_alerts}"
        )
        if args.until_analysed:
            sent = dict(
                OutboundDelivery.objects.filter(action__in=initial, status=OutboundStatus.SUCCEEDED)
                .values_list("action")
                .annotate(count=Count("pk"))
            )
            once = (
                len(jira.issues) == sent.get("jira_create", 0)
                and slack_alerts == sent.get("slack_post", 0)
                and len({row["summary"] for row in jira.issues.values()}) == len(jira.issues)
            )
            ok = analysed_count == args.failures and once
            print(
                f"fan-out     when the last was analysed: {sent.get('jira_create', 0)} JIRA "
                f"issues, {sent.get('slack_post', 0)} Slack alerts, {sent.get('blob_upload', 0)} "
                f"evidence uploads of {args.failures} each (the rest still paced)"
            )
            print(
                "result      "
                + ("every ticket analysed, nothing sent twice" if ok else "INCOMPLETE")
            )
            return 0 if ok else 1
        ok = complete_count == args.failures and len(jira.issues) == args.failures
        print("result      " + ("every ticket fanned out once" if ok else "INCOMPLETE"))
        return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
