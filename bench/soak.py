"""Soak: N minutes of mixed traffic against a complete private copy of the service.

New failures (ADF, Airflow), duplicates, recurrences (Airflow retries), signed JIRA and Slack
callbacks, API reads with a JWT, and 20 websocket clients on `/ws/tickets/` (daphne, session
cookie), while the Celery worker is restarted twice (SIGTERM, then started again). Prints the
throughput, p50/p99 per endpoint, web/worker/daphne RSS at the start (after a warm-up) and at the
end, the websocket events received, and the nothing-lost check read from the database.

    .venv/bin/python bench/soak.py [--minutes 10] [--rate 10]

Stops by itself. Exits non-zero if a delivery answered 2xx was lost or not processed exactly
once, if a request got a 5xx, or if web or worker memory grew by more than 10%.
Everything runs on its own PostgreSQL and Redis under a temporary directory (tests/faults/stack.py).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import random
import re
import sys
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from bench.common import percentile  # noqa: E402
from tests.faults.stack import Stack, adf_failure, airflow_failure, jira_status_event  # noqa: E402

# The reads. The REST API (JWT) is the real thing; set USE_API_READS = False to read the health
# and metrics endpoints instead (they need no API).
USE_API_READS = True
API_READS = ("/api/v1/tickets/", "/api/v1/stats/")
FALLBACK_READS = ("/readyz", "/metrics")

WEBSOCKET_CLIENTS = 20
MEMORY_GROWTH_LIMIT = 0.10
USERNAME, PASSWORD = "soak-admin", "soak-" + uuid.uuid4().hex

# Operation mix (weights).
MIX = {
    "new_failure": 15,
    "duplicate": 10,
    "recurrence": 10,
    "jira_callback": 5,
    "slack_action": 5,
    "read": 55,
}


class Traffic:
    """Shared state of the load threads: what was sent, what came back, how long it took."""

    def __init__(self, stack: Stack, prefix: str, reads: tuple[str, ...], token: str) -> None:
        self.stack = stack
        self.prefix = prefix
        self.reads = reads
        self.auth = {"Authorization": f"Bearer {token}"} if token else {}
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
        self.errors: list[str] = []
        self.accepted: list[dict[str, Any]] = []
        self.sent: list[tuple[str, dict[str, Any]]] = []  # (source, body) of new failures
        self.airflow: list[dict[str, Any]] = []
        self.created = 0
        self.counter = itertools.count()
        self.changelog = itertools.count(1)
        self.clock_ms = int(time.time() * 1000)

    def _record(self, endpoint: str, started: float, status: int, answer: Any) -> None:
        elapsed = time.perf_counter() - started
        with self.lock:
            self.latency[endpoint].append(elapsed)
            self.statuses[endpoint][status] += 1
            if status >= 500 or status == 0:
                self.errors.append(f"{endpoint} -> {status}: {str(answer)[:200]}")

    def _failure(self, source: str, body: dict[str, Any], endpoint: str) -> None:
        started = time.perf_counter()
        try:
            status, answer = self.stack.post(source, body)
        except Exception as exc:
            status, answer = 0, repr(exc)
        self._record(endpoint, started, status, answer)
        if 200 <= status < 300 and isinstance(answer, dict):
            with self.lock:
                self.accepted.append(answer)
                if answer.get("outcome") == "created":
                    self.created += 1

    # -- operations ----------------------------------------------------------------------------
    def new_failure(self) -> None:
        index = next(self.counter)
        if index % 2:
            body = airflow_failure(f"{self.prefix}dag{index}", f"{self.prefix}run{index}")
            source = "airflow"
        else:
            body = adf_failure(f"{self.prefix}pl{index}", f"{self.prefix}run{index}")
            source = "adf"
        self._failure(source, body, f"POST /webhooks/{source}/ (new)")
        with self.lock:
            self.sent.append((source, body))
            if source == "airflow":
                self.airflow.append(body)

    def duplicate(self) -> None:
        with self.lock:
            if not self.sent:
                return
            source, body = random.choice(self.sent)
        self._failure(source, body, f"POST /webhooks/{source}/ (duplicate)")

    def recurrence(self) -> None:
        """An Airflow retry: the same task of the same run, the next try."""
        with self.lock:
            if not self.airflow:
                return
            previous = random.choice(self.airflow)
            body = {**previous, "try_number": previous["try_number"] + 1}
            self.airflow[self.airflow.index(previous)] = body
        self._failure("airflow", body, "POST /webhooks/airflow/ (recurrence)")

    def jira_callback(self) -> None:
        issues = [
            (key, list(issue["labels"]))
            for key, issue in list(self.stack.jira.issues.items())
            if any(label.startswith("rca-") for label in issue["labels"])
        ]
        if not issues:
            return
        key, labels = random.choice(issues)
        target = random.choice(["To Do", "In Progress", "Done"])
        with self.lock:
            self.clock_ms += 1000
            at_ms = self.clock_ms
        event = jira_status_event(
            key,
            labels,
            from_status="To Do",
            to_status=target,
            at_ms=at_ms,
            changelog_id=f"soak-{next(self.changelog)}",
        )
        started = time.perf_counter()
        try:
            status, answer = self.stack.post_jira_event(event)
        except Exception as exc:
            status, answer = 0, repr(exc)
        self._record("POST /webhooks/jira/", started, status, answer)

    def slack_action(self) -> None:
        with self.lock:
            if not self.accepted:
                return
            ticket_id = random.choice(self.accepted).get("ticket_id")
        if not ticket_id:
            return
        action = random.choice(["rca_acknowledge", "rca_take"])
        started = time.perf_counter()
        try:
            status, answer = self.stack.post_slack_action(ticket_id, action)
        except Exception as exc:
            status, answer = 0, repr(exc)
        self._record("POST /webhooks/slack/actions/", started, status, answer)

    def read(self) -> None:
        path = random.choice(self.reads)
        started = time.perf_counter()
        try:
            response = self.stack.get(path, headers=self.auth)
            status, answer = response.status_code, response.text[:200]
        except Exception as exc:
            status, answer = 0, repr(exc)
        if status != 200 and status < 500:
            with self.lock:
                self.errors.append(f"GET {path} -> {status}: {answer}")
        self._record(f"GET {path}", started, status, answer)

    def run(self, stop: threading.Event, rate: float, threads: int) -> list[threading.Thread]:
        operations = list(MIX)
        weights = [MIX[name] for name in operations]

        def loop() -> None:
            interval = threads / rate
            next_at = time.monotonic() + random.uniform(0, interval)
            while not stop.is_set():
                getattr(self, random.choices(operations, weights)[0])()
                next_at += interval
                time.sleep(max(0.0, next_at - time.monotonic()))

        workers = [threading.Thread(target=loop, daemon=True) for _ in range(threads)]
        for worker in workers:
            worker.start()
        return workers


# --- websocket clients ---------------------------------------------------------------------------


class WebsocketClients:
    def __init__(self, url: str, origin: str, cookie: str, count: int) -> None:
        self.url, self.origin, self.cookie, self.count = url, origin, cookie, count
        self.received = [0] * count
        self.connects = [0] * count
        self.drops = [0] * count
        self.refused: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def connected(self) -> int:
        return sum(1 for c, d in zip(self.connects, self.drops, strict=True) if c > d)

    def _main(self) -> None:
        asyncio.run(self._all())

    async def _all(self) -> None:
        await asyncio.gather(*(self._client(i) for i in range(self.count)))

    async def _client(self, index: int) -> None:
        from websockets.asyncio.client import connect
        from websockets.typing import Origin

        while not self._stop.is_set():
            try:
                async with connect(
                    self.url,
                    origin=Origin(self.origin),
                    additional_headers={"Cookie": self.cookie},
                    open_timeout=15,
                ) as socket:
                    self.connects[index] += 1
                    while not self._stop.is_set():
                        try:
                            await asyncio.wait_for(socket.recv(), 0.5)
                        except TimeoutError:
                            continue
                        self.received[index] += 1
            except Exception as exc:
                if self._stop.is_set():
                    break
                self.refused.append(repr(exc)[:200])
            if self._stop.is_set():
                break
            if self.connects[index] > self.drops[index]:
                self.drops[index] += 1  # the server closed it while the run was going on
            await asyncio.sleep(0.5)


# --- set-up --------------------------------------------------------------------------------------


def create_admin(stack: Stack) -> None:
    stack.manage(
        "shell",
        "-c",
        "from django.contrib.auth import get_user_model; "
        f"get_user_model().objects.create_superuser({USERNAME!r}, 'soak@example.com', "
        f"{PASSWORD!r})",
    )


def jwt_token(stack: Stack) -> str:
    response = stack._session().post(
        f"{stack.base_url}/api/v1/token/",
        json={"username": USERNAME, "password": PASSWORD},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access"]


def session_cookie(stack: Stack) -> str:
    import requests

    browser = requests.Session()
    page = browser.get(f"{stack.base_url}/admin/login/", timeout=30)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    if not match:
        raise RuntimeError("no CSRF token on /admin/login/")
    browser.post(
        f"{stack.base_url}/admin/login/",
        data={
            "csrfmiddlewaretoken": match[1],
            "username": USERNAME,
            "password": PASSWORD,
            "next": "/admin/",
        },
        headers={"Referer": f"{stack.base_url}/admin/login/"},
        timeout=30,
    )
    session = browser.cookies.get("sessionid")
    if not session:
        raise RuntimeError("logging in on /admin/login/ gave no session cookie")
    return f"sessionid={session}"


def memory(stack: Stack) -> dict[str, int]:
    return {name: stack.rss(name) for name in ("web", "worker", "daphne")}


def mib(value: float) -> str:
    return f"{value / 2**20:.0f} MiB"


# --- main ----------------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=10.0, help="requests per second, all kinds")
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    duration = args.minutes * 60

    print("starting the stack (PostgreSQL, Redis, gunicorn, daphne, worker, beat)...", flush=True)
    with Stack(daphne=True, extra_env={"JWT_ACCESS_SECONDS": str(int(duration) + 3600)}) as stack:
        create_admin(stack)
        reads = API_READS if USE_API_READS else FALLBACK_READS
        token = jwt_token(stack) if USE_API_READS else ""
        cookie = session_cookie(stack)
        clients = WebsocketClients(
            f"ws://127.0.0.1:{stack.daphne_port}/ws/tickets/",
            f"http://127.0.0.1:{stack.daphne_port}",
            cookie,
            WEBSOCKET_CLIENTS,
        )
        clients.start()
        time.sleep(3)
        print(f"websocket clients connected: {clients.connected()}/{WEBSOCKET_CLIENTS}", flush=True)

        prefix = f"soak_{uuid.uuid4().hex[:6]}_"
        traffic = Traffic(stack, prefix, reads, token)
        stop = threading.Event()
        started = time.monotonic()
        threads = traffic.run(stop, args.rate, args.threads)

        warm_up = min(60.0, duration * 0.1)
        restarts = [duration / 3, 2 * duration / 3]
        memory_start: dict[str, int] | None = None
        next_report = 30.0
        while (elapsed := time.monotonic() - started) < duration:
            if memory_start is None and elapsed >= warm_up:
                memory_start = memory(stack)
            if restarts and elapsed >= restarts[0]:
                restarts.pop(0)
                stop_at = time.monotonic()
                stack.restart_worker()
                print(
                    f"[{elapsed:5.0f}s] worker restarted (SIGTERM + start) in "
                    f"{time.monotonic() - stop_at:.1f}s",
                    flush=True,
                )
            if elapsed >= next_report:
                next_report += 30
                inbox, outbound = stack.pending_counts()
                with traffic.lock:
                    done = sum(len(v) for v in traffic.latency.values())
                print(
                    f"[{elapsed:5.0f}s] {done} requests, {traffic.created} tickets, pending "
                    f"inbox {inbox} outbound {outbound}, websocket events "
                    f"{sum(clients.received)}",
                    flush=True,
                )
            time.sleep(0.5)
        memory_end = memory(stack)
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
        traffic_seconds = time.monotonic() - started

        settle_started = time.monotonic()
        try:
            stack.wait_settled(300)
            settled = True
        except AssertionError as exc:
            print(f"NOT SETTLED: {str(exc)[:2000]}")
            settled = False
        settle_seconds = time.monotonic() - settle_started
        time.sleep(2)  # the last broadcasts
        clients.stop()

        problems = stack.problems(
            traffic.accepted, pipeline_prefix=prefix, expected_tickets=traffic.created
        )
        if not settled:
            problems.insert(0, "the backlog did not drain within 300 s")
        memory_start = memory_start or memory_end
        report(
            args,
            traffic,
            traffic_seconds,
            settle_seconds,
            memory_start,
            memory_end,
            warm_up,
            clients,
            problems,
        )
        failures = []
        if problems:
            failures.append("deliveries lost or not processed exactly once")
        if traffic.errors:
            failures.append(f"{len(traffic.errors)} requests failed (5xx / unexpected)")
        for name in ("web", "worker"):
            if memory_start[name] and memory_end[name] > memory_start[name] * (
                1 + MEMORY_GROWTH_LIMIT
            ):
                failures.append(f"{name} memory grew more than {MEMORY_GROWTH_LIMIT:.0%}")
        print("result      " + ("; ".join(failures) if failures else "OK: nothing lost"))
        return 1 if failures else 0


def report(
    args: argparse.Namespace,
    traffic: Traffic,
    traffic_seconds: float,
    settle_seconds: float,
    memory_start: dict[str, int],
    memory_end: dict[str, int],
    warm_up: float,
    clients: WebsocketClients,
    problems: list[str],
) -> None:
    total = sum(len(v) for v in traffic.latency.values())
    print()
    print(f"soak        {args.minutes:g} min, target {args.rate:g} req/s, {args.threads} threads")
    print(
        f"throughput  {total} requests in {traffic_seconds:.0f} s = "
        f"{total / traffic_seconds:.1f} req/s; {traffic.created} tickets "
        f"({traffic.created / traffic_seconds:.2f}/s); backlog drained {settle_seconds:.0f} s "
        "after the traffic stopped"
    )
    print("endpoint                                   count     p50 ms   p99 ms   statuses")
    for endpoint in sorted(traffic.latency):
        values = sorted(traffic.latency[endpoint])
        statuses = ", ".join(f"{k}x{v}" for k, v in sorted(traffic.statuses[endpoint].items()))
        print(
            f"  {endpoint:<40} {len(values):>6} {percentile(values, 50) * 1000:>9.0f}"
            f" {percentile(values, 99) * 1000:>8.0f}   {statuses}"
        )
    for name in ("web", "worker", "daphne"):
        before, after = memory_start[name], memory_end[name]
        growth = (after - before) / before if before else 0.0
        print(
            f"rss {name:<7} {mib(before)} (after {warm_up:.0f} s warm-up) -> {mib(after)} "
            f"at the end ({growth:+.1%})"
        )
    print(
        f"websocket   {WEBSOCKET_CLIENTS} clients, events received: total "
        f"{sum(clients.received)}, per client min {min(clients.received)} max "
        f"{max(clients.received)}; reconnects {sum(clients.drops)}"
    )
    if clients.refused:
        print(f"            connection errors: {len(clients.refused)}, e.g. {clients.refused[0]}")
    outcomes: dict[str, int] = defaultdict(int)
    for answer in traffic.accepted:
        outcomes[answer.get("outcome", "?")] += 1
    print(f"accepted    {len(traffic.accepted)} failure webhooks: {dict(outcomes)}")
    for error in traffic.errors[:10]:
        print(f"error       {error}")
    if problems:
        print(f"LOST        {len(problems)} problems:")
        for problem in problems[:30]:
            print(f"  - {problem}")
    else:
        print("check       every delivery answered 2xx processed exactly once; one JIRA issue and")
        print("            one Slack alert per ticket; every ticket analysed and audited")


if __name__ == "__main__":
    sys.exit(main())
