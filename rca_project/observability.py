"""Prometheus metrics and structured logs with the tracking id on every line.

Metrics work across processes (gunicorn workers, Celery prefork children) through
prometheus_client's multiprocess mode when PROMETHEUS_MULTIPROC_DIR is set (`make run` sets
it); otherwise each process serves its own.
"""

from __future__ import annotations

import contextvars
import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import redis
from django.conf import settings
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

WEBHOOKS = Counter(
    "rca_webhooks_total", "Webhook deliveries by source and outcome.", ["source", "outcome"]
)
INGEST_SECONDS = Histogram(
    "rca_ingest_seconds",
    "Time to ingest a failure webhook (parse, dedup, ticket, audit).",
    ["source"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
)
TASKS = Counter("rca_tasks_total", "Celery tasks by name and outcome.", ["task", "outcome"])
TASK_SECONDS = Histogram("rca_task_seconds", "Celery task run time.", ["task"])
OUTBOUND_ATTEMPTS = Counter(
    "rca_outbound_attempts_total", "Attempts at JIRA, Slack and Blob.", ["target", "outcome"]
)
LLM_CALLS = Counter("rca_llm_calls_total", "LLM calls by outcome.", ["outcome"])
LLM_SECONDS = Histogram("rca_llm_seconds", "LLM call latency.", buckets=(0.5, 1, 2, 5, 10, 20, 40))
LLM_TOKENS = Counter("rca_llm_tokens_total", "LLM tokens used.", ["kind"])
RCA_FALLBACKS = Counter("rca_rule_fallbacks_total", "RCAs that fell back to the rules.", ["reason"])
SLA_BREACHES = Counter("rca_sla_breaches_total", "Tickets marked SLA-breached.")

tracking_id: contextvars.ContextVar[str] = contextvars.ContextVar("tracking_id", default="-")


@contextmanager
def tracking(value: object) -> Iterator[None]:
    """Everything logged inside carries this tracking id."""
    token = tracking_id.set(str(value) if value else "-")
    try:
        yield
    finally:
        tracking_id.reset(token)


class TrackingIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.tracking_id = tracking_id.get()
        return True


# Gauges read at scrape time from live state (queue depths, circuit breakers, in Redis). The
# apps that own that state register a function yielding them (integrations does, in ready()).
LiveGauges = Callable[[], Iterable[Metric]]
_live_gauges: dict[str, LiveGauges] = {}


def register_live_gauges(name: str, gauges: LiveGauges) -> None:
    """Have `/metrics` include what `gauges()` yields; registering a name again replaces it."""
    _live_gauges[name] = gauges


class LiveStateCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        for name, gauges in list(_live_gauges.items()):
            try:
                yield from list(gauges())
            except Exception:
                logging.getLogger(__name__).warning("live gauges %s unavailable", name)


def worker_heartbeat_key() -> str:
    """Where the beat-scheduled heartbeat task writes when a worker last ran it."""
    return f"{settings.REDIS_KEY_PREFIX}:worker:heartbeat"


WORKER_HEARTBEAT_MAX_AGE = 120


def worker_heartbeat_recent() -> bool:
    """Beat schedules a heartbeat task every 30 s; a worker running it proves both alive."""
    try:
        client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1
        )
        beat = client.get(worker_heartbeat_key())
    except Exception:
        return False
    try:
        # Only a worker writes it, but anything with the Redis URL can: not a time is stale.
        beaten_at = float(beat) if beat is not None else math.nan
    except ValueError:
        return False
    return math.isfinite(beaten_at) and time.time() - beaten_at < WORKER_HEARTBEAT_MAX_AGE


def render_metrics() -> bytes:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)
    else:
        from prometheus_client import REGISTRY

        registry = REGISTRY
    output = generate_latest(registry)
    live = CollectorRegistry()
    live.register(LiveStateCollector())
    return output + generate_latest(live)
