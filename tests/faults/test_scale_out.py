"""Two process groups on one PostgreSQL and one Redis share the load without doing work twice.

Each group is what `make run` starts for web and work (`rca_project.serve`): gunicorn with the
same command and configuration (on its own port), the inbox relay (so two relays claim from
one inbox), a worker for the default queue and a worker for the outbound targets' queues (a
thread pool, as `make run` runs one per target; here one per group takes all the targets'
queues, to start fewer processes). Beat runs once, in the
first group, as the README says it must. Distinct failures are posted half to each web
process, and duplicates of some of them to both at once; then, from the database and from the
local JIRA and Slack servers' request logs: one ticket per failure, both posts of a duplicate
answered with the same ticket, one JIRA create and one Slack alert per ticket, and both
groups' workers ran analysis tasks and sent deliveries.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from celery import Celery
from django.conf import settings

from integrations import targets
from rca_project import local_services, serve
from tests.fakes.slack_api import _arguments
from tests.faults.stack import (
    BIN,
    WEBHOOK_TOKEN,
    Stack,
    adf_failure,
    free_port,
    wait_until,
)

GROUPS = (1, 2)
DISTINCT = 24  # failures, each its own ticket
DUPLICATED = 6  # of them posted to both web processes at once


class TwoGroups(Stack):
    """The fault suite's private stack, started as two `make run`-style groups."""

    def __init__(self) -> None:
        super().__init__(extra_env={"WEB_CONCURRENCY": "1", "WEB_THREADS": "4"})
        self.web_ports = {group: free_port() for group in GROUPS}

    def start(self) -> None:
        for fake in (self.gemini, self.jira, self.slack):
            fake.start()
        self._start_embedded_postgres()
        self.start_redis()
        self.manage("migrate", "--verbosity", "0")
        # The stack's default queue is `celery` (this test process names its own differently).
        outbound_queues = ",".join(f"celery.{t.name}" for t in targets.targets())
        for group in GROUPS:
            self._spawn(
                f"web{group}", serve.web_command(str(BIN), "127.0.0.1", self.web_ports[group])
            )
            self._spawn(f"relay{group}", serve.relay_command(str(BIN)))
            self._spawn(f"worker{group}", self._worker("celery", f"worker{group}", "prefork"))
            self._spawn(
                f"outbound{group}", self._worker(outbound_queues, f"outbound{group}", "threads")
            )
        self.start_beat()
        for group in GROUPS:
            wait_until(functools.partial(self._answers, group), 90, f"web{group} up")
        for name in self.worker_names():
            wait_until(functools.partial(self._ready, name), 90, f"{name} ready", interval=0.2)

    def _ready(self, name: str) -> bool:
        if not self.running(name):
            raise AssertionError(f"{name} exited:\n{self.log(name)}")
        return b" ready." in (self.logs / f"{name}.log").read_bytes()

    def stop(self) -> None:
        # Nothing to finish gracefully at the end of the test: SIGTERM to every process group
        # at once, a few seconds, then SIGKILL to what is left.
        for process in self.procs.values():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 3
        for process in self.procs.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        super().stop()  # SIGKILLs whatever did not exit, stops PostgreSQL, removes the files

    @staticmethod
    def worker_names() -> list[str]:
        return [f"{kind}{group}" for group in GROUPS for kind in ("worker", "outbound")]

    def _worker(self, queues: str, name: str, pool: str) -> list[str]:
        return [
            str(BIN / "celery"),
            "-A",
            "rca_project",
            "worker",
            "--queues",
            queues,
            "--pool",
            pool,
            "--concurrency",
            "2",
            "--hostname",
            f"{name}@%h",
            "--loglevel",
            "INFO",
        ]

    def _answers(self, group: int) -> bool:
        if not self.running(f"web{group}"):
            raise AssertionError(f"web{group} exited:\n{self.log(f'web{group}')}")
        try:
            url = f"http://127.0.0.1:{self.web_ports[group]}/healthz"
            return requests.get(url, timeout=1).status_code == 200
        except requests.RequestException:
            return False

    def post_to(self, group: int, body: dict[str, Any]) -> tuple[int, Any]:
        response = requests.post(
            f"http://127.0.0.1:{self.web_ports[group]}/webhooks/adf/",
            data=json.dumps(body),
            headers={"Content-Type": "application/json", "X-Webhook-Token": WEBHOOK_TOKEN},
            timeout=30,
        )
        return response.status_code, response.json()

    def tasks_run(self) -> dict[str, dict[str, int]]:
        """Per worker (by its name before the @), the tasks it ran, by task name."""
        app = Celery(broker=local_services.kombu_url(self.redis_url))
        try:
            stats = app.control.inspect(timeout=3).stats() or {}
        finally:
            app.close()
        return {hostname.split("@")[0]: found.get("total", {}) for hostname, found in stats.items()}


@pytest.fixture(scope="module")
def groups() -> Iterator[TwoGroups]:
    stack = TwoGroups()
    with stack:
        yield stack


def test_two_process_groups_share_the_work_and_do_none_twice(groups: TwoGroups) -> None:
    started = time.monotonic()
    prefix = "pl_scale_"
    failures = [adf_failure(f"{prefix}{n:02d}", f"scale-run-{n:02d}") for n in range(DISTINCT)]
    posts = [(GROUPS[n % 2], body) for n, body in enumerate(failures)]
    # The same delivery at both web processes at the same moment (a sender retrying through a
    # balancer): the first DUPLICATED failures, each pair released together by a barrier.
    posts += [(GROUPS[(n + 1) % 2], failures[n]) for n in range(DUPLICATED)]
    barriers = [threading.Barrier(2) for _ in range(DUPLICATED)]

    def post(index: int) -> tuple[int, Any]:
        if index < DUPLICATED or index >= DISTINCT:  # one of a pair: wait for the other
            barriers[index % DISTINCT].wait(timeout=30)
        return groups.post_to(*posts[index])

    order = [i for n in range(DUPLICATED) for i in (n, DISTINCT + n)]
    order += range(DUPLICATED, DISTINCT)
    with ThreadPoolExecutor(2 * DUPLICATED) as pool:
        futures = {index: pool.submit(post, index) for index in order}
        answers = [futures[index].result() for index in range(len(posts))]

    assert all(status == 202 for status, _ in answers), answers
    bodies = [body for _, body in answers]
    outcomes = [body["outcome"] for body in bodies]
    assert outcomes.count("created") == DISTINCT, outcomes
    assert outcomes.count("duplicate") == DUPLICATED, outcomes
    for n in range(DUPLICATED):  # both posts of a duplicate name the same ticket
        assert bodies[n]["ticket_id"] == bodies[DISTINCT + n]["ticket_id"]

    groups.wait_settled(90)
    # One ticket per failure with its RCA, one JIRA issue and one Slack alert each, nothing
    # pending, dead or half-written (the fault suite's own checks).
    assert not groups.problems(bodies, pipeline_prefix=prefix, expected_tickets=DISTINCT)
    tickets = groups.tickets_like(prefix)
    # What the targets were sent: exactly one create per ticket, whichever worker sent it.
    wanted = {f"rca-{ticket}" for ticket in tickets}
    created_for = [
        label
        for request in groups.jira.issue_requests("POST")
        for label in request.body["fields"]["labels"]
        if label in wanted
    ]
    assert sorted(created_for) == sorted(wanted)
    alerts = [
        r
        for r in groups.slack.api_requests("chat.postMessage")
        if not _arguments(r).get("thread_ts")
    ]
    assert len(alerts) == DISTINCT
    assert len(groups.slack.top_level()) == DISTINCT

    # Both groups' workers took work (not counting what beat sends): failures processed on
    # each default-queue worker, deliveries sent by each outbound worker.
    periodic = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    ran = groups.tasks_run()
    assert set(ran) == set(TwoGroups.worker_names()), ran
    for name, tasks in ran.items():
        assert sum(n for task, n in tasks.items() if task not in periodic) > 0, ran
        if name.startswith("outbound"):
            assert tasks.get("integrations.tasks.deliver_outbound", 0) > 0, ran
    assert time.monotonic() - started < 90


def _niceness(pid: int) -> set[int]:
    """The niceness of every thread of `pid` (field 19 of /proc/<pid>/task/<tid>/stat)."""
    found = set()
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(FileNotFoundError):  # a thread that just ended
            found.add(int(stat.read_text().rsplit(")", 1)[1].split()[16]))
    return found


def test_outbound_workers_yield_the_cpu_to_the_analysis(groups: TwoGroups) -> None:
    """Every thread of a worker on targets' queues only, its pool's included (they ran
    deliveries in the test above), runs at OUTBOUND_WORKER_NICE; the analysis workers and
    their prefork children at the niceness they were started with."""
    assert settings.OUTBOUND_WORKER_NICE > 0
    for group in GROUPS:
        outbound = groups.procs[f"outbound{group}"].pid
        # The pool's threads too (made as deliveries need them: one at least by now).
        assert len(list(Path(f"/proc/{outbound}/task").iterdir())) > 1
        assert _niceness(outbound) == {settings.OUTBOUND_WORKER_NICE}
        analysis = groups.procs[f"worker{group}"].pid
        children = [
            int(p) for p in Path(f"/proc/{analysis}/task/{analysis}/children").read_text().split()
        ]
        assert children
        for pid in [analysis, *children]:
            assert _niceness(pid) == {os.nice(0)}
