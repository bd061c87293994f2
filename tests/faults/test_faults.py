"""Fault injection against a complete private copy of the service (real processes).

Each scenario breaks something for real (SIGKILL of the worker, Redis stopped, PostgreSQL
restarted, JIRA/Slack/Gemini failing, throttling and stalling, the same webhook 20 times at
once) and then checks FROM THE DATABASE that every delivery answered 2xx ended processed exactly
once: one ticket per distinct failure, one JIRA issue and one Slack alert per ticket, an RCA and
an audit trail on every ticket, nothing pending, nothing half-written.

One Stack serves the whole module; faults are reset and the stack brought back to a settled
state between scenarios. These are plain pytest functions: no Django test database is used.
"""

from __future__ import annotations

import itertools
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.faults.stack import Stack, adf_failure, airflow_failure, jira_status_event, wait_until

SCENARIO_SECONDS = 150  # a hard bound per scenario: a hang fails the test instead of the run
# One failure takes a few seconds end to end on an idle stack. (Celery 5.7.0's worker died in the
# outage scenario: kombu's restore_unacked raised AttributeError as it closed the lost connection.)
RECOVERY_SECONDS = 30


@pytest.fixture(scope="module")
def shared_stack() -> Iterator[Stack]:
    with Stack() as stack:
        # Warm up: the first task of a fresh worker pays for its imports.
        status, body = stack.post("adf", adf_failure("pl_warmup", "warmup-run"))
        assert status == 202, body
        stack.wait_settled(60)
        yield stack


@pytest.fixture
def stack(shared_stack: Stack) -> Iterator[Stack]:
    """The shared stack, healthy and settled, with no fault armed; a scenario may not hang."""
    stack = shared_stack
    stack.reset_faults()
    if not stack.running("redis"):
        stack.start_redis()
    if not stack._db_answers():
        stack.start_postgres()
    if not stack.running("worker"):
        stack.start_worker(wait=True)
    assert stack.running("relay"), f"the inbox relay exited:\n{stack.log('relay')}"
    stack.wait_settled(60)

    def out_of_time(*_: Any) -> None:
        raise TimeoutError(f"scenario took longer than {SCENARIO_SECONDS}s")

    previous = signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(SCENARIO_SECONDS)
    started = time.monotonic()
    try:
        yield stack
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        stack.reset_faults()
        print(f"\nscenario took {time.monotonic() - started:.1f}s")


def _prefix(name: str) -> str:
    return f"pl_{name}_{uuid.uuid4().hex[:6]}_"


def _post_all(stack: Stack, bodies: list[dict[str, Any]], source: str = "adf") -> list[dict]:
    accepted = []
    for body in bodies:
        status, answer = stack.post(source, body)
        assert status == 202 and isinstance(answer, dict), (status, answer)
        accepted.append(answer)
    return accepted


def _generate_calls(stack: Stack) -> int:
    return len(stack.gemini.generate_requests())


def _jira_creates(stack: Stack) -> int:
    return len([r for r in stack.jira.requests if r.method == "POST" and r.path.endswith("/issue")])


def _duplicates_removed(stack: Stack, tickets: list[str]) -> list[tuple]:
    """The reconcile's audit entries: what a late create left twice, and what was kept."""
    return stack.query(
        "SELECT ticket_id, action, details::text FROM tickets_auditlog"
        " WHERE ticket_id = ANY(%s) AND action LIKE '%%duplicates removed' ORDER BY id",
        [tickets],
    )


def _assert_complete(stack: Stack, accepted: list[dict], prefix: str, tickets: int) -> None:
    """Nothing lost, everything processed once, nothing half-written, and exactly one JIRA
    issue and one Slack alert per ticket (a create whose answer was lost is not repeated)."""
    stack.wait_settled(90)
    problems = stack.problems(accepted, pipeline_prefix=prefix, expected_tickets=tickets)
    assert not problems, "\n".join(problems)
    print(f"duplicates removed: {_duplicates_removed(stack, stack.tickets_like(prefix))}")


# --- 1. worker killed mid-task --------------------------------------------------------------


def test_worker_killed_during_analysis_and_during_fan_out(stack: Stack) -> None:
    # a) SIGKILL while Gemini analyses are in flight (each answer held 1.5 s).
    prefix = _prefix("kill_rca")
    stack.gemini.stall(1.5, path_contains=":generateContent")
    calls_before = _generate_calls(stack)
    accepted = _post_all(stack, [adf_failure(f"{prefix}{i}", f"{prefix}run{i}") for i in range(6)])
    wait_until(lambda: _generate_calls(stack) >= calls_before + 2, 30, "analyses in flight")
    stack.kill_worker()
    unfinished = stack.scalar(
        "SELECT count(*) FROM integrations_webhookdelivery"
        " WHERE status = 'pending' AND tracking_id::text = ANY(%s)",
        [[a["tracking_id"] for a in accepted]],
    )
    assert unfinished > 0, "the kill came too late: nothing was in flight"
    print(f"killed during analysis: {unfinished} of 6 deliveries unfinished")
    stack.reset_faults()
    stack.start_worker(wait=True)
    _assert_complete(stack, accepted, prefix, tickets=6)

    # b) SIGKILL while JIRA issue creations are in flight (JIRA holds each request 1.5 s, then
    # creates the issue anyway: the retry must find it rather than open a second one).
    prefix = _prefix("kill_fanout")
    stack.jira.stall(1.5, path_contains="/rest/api/2/issue")
    creates_before = _jira_creates(stack)
    accepted = _post_all(stack, [adf_failure(f"{prefix}{i}", f"{prefix}run{i}") for i in range(4)])
    wait_until(lambda: _jira_creates(stack) >= creates_before + 1, 30, "JIRA creations in flight")
    stack.kill_worker()
    unlinked = stack.scalar(
        "SELECT count(*) FROM integrations_outbounddelivery d JOIN tickets_ticket t"
        " ON t.id = d.ticket_id WHERE d.action = 'jira_create' AND d.status = 'pending'"
        " AND t.pipeline LIKE %s",
        [prefix.replace("_", r"\_") + "%"],
    )
    assert unlinked > 0, "the kill came too late: no JIRA delivery was in flight"
    print(f"killed during fan-out: {unlinked} of 4 JIRA issues not linked yet")
    stack.reset_faults()
    stack.start_worker(wait=True)
    _assert_complete(stack, accepted, prefix, tickets=4)


# --- 2. broker down ---------------------------------------------------------------------------


def test_redis_down_webhooks_still_accepted_then_redelivered(stack: Stack) -> None:
    prefix = _prefix("redis_down")
    stack.stop_redis()
    bodies = [adf_failure(f"{prefix}{i}", f"{prefix}run{i}") for i in range(5)]
    started = time.monotonic()
    accepted = _post_all(stack, bodies)
    accepted += _post_all(stack, bodies[:1])  # a sender retry while the broker is down
    seconds_per_webhook = (time.monotonic() - started) / len(accepted)
    assert [a["outcome"] for a in accepted] == ["created"] * 5 + ["duplicate"]
    pending = stack.scalar(
        "SELECT count(*) FROM integrations_webhookdelivery"
        " WHERE status = 'pending' AND tracking_id::text = ANY(%s)",
        [[a["tracking_id"] for a in accepted]],
    )
    assert pending == 5, "accepted deliveries must wait in the inbox while the broker is down"
    assert seconds_per_webhook < 5, f"webhooks took {seconds_per_webhook:.1f}s each"
    print(f"Redis down: {len(accepted)} webhooks answered 202 in {seconds_per_webhook:.2f}s each")
    time.sleep(2)
    stack.start_redis()
    _assert_complete(stack, accepted, prefix, tickets=5)
    assert stack.running("beat"), f"beat died while Redis was down:\n{stack.log('beat')}"


# --- 3. database restarted under load ------------------------------------------------------------


def test_postgres_restart_under_load(stack: Stack) -> None:
    prefix = _prefix("pg_restart")
    results: list[tuple[dict, int, Any]] = []
    stop = threading.Event()
    counter = itertools.count()

    def load() -> None:
        while not stop.is_set():
            index = next(counter)
            body = adf_failure(f"{prefix}{index}", f"{prefix}run{index}")
            try:
                status, answer = stack.post("adf", body, timeout=20)
            except Exception as exc:  # a dropped connection is a finding too
                status, answer = 0, repr(exc)
            results.append((body, status, answer))
            time.sleep(0.15)

    # Two senders, about 10 webhooks a second: more than the worker finishes, so it is busy too.
    threads = [threading.Thread(target=load, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    time.sleep(1.5)
    stack.stop_postgres()
    time.sleep(3)
    stack.start_postgres()
    time.sleep(2)
    stop.set()
    for thread in threads:
        thread.join(timeout=30)

    statuses = [status for _, status, _ in results]
    ok, outage_count = statuses.count(202), statuses.count(503)
    print(
        f"{len(results)} webhooks during the restart: 202 x{ok}, 503 x{outage_count},"
        f" other {len(results) - ok - outage_count}"
    )
    unexpected = [(s, a) for _, s, a in results if s not in (202, 503)]
    assert not unexpected, f"answers other than 202/503 during the restart: {unexpected[:5]}"
    outage = [(body, answer) for body, status, answer in results if status == 503]
    assert outage, f"no webhook hit the outage ({len(results)} posted)"
    assert all(isinstance(a, dict) and a.get("error") for _, a in outage), outage[:3]
    assert statuses.count(202) > 0

    # The senders retry what got 503: each failure then has its ticket, exactly once.
    accepted = [answer for _, status, answer in results if status == 202]
    accepted += _post_all(stack, [body for body, _ in outage])
    _assert_complete(stack, accepted, prefix, tickets=len(results))


# --- 3b. the web tier while PostgreSQL, then Redis, is down --------------------------------------


def test_api_and_sign_in_answer_503_json_while_postgres_or_redis_is_down(stack: Stack) -> None:
    """Not only the webhooks: the API's list, stats and token exchange, and the dashboard's
    sign-in (its lockout counts live in Redis), answer 503 with Retry-After, never a 500; and
    once both are back the stack processes a new failure at once."""
    username, password = f"outage-{uuid.uuid4().hex[:6]}", "outage-password-1"
    token = stack.manage(
        "shell",
        "-c",
        "from django.contrib.auth.models import Group, User\n"
        "from rest_framework_simplejwt.tokens import AccessToken\n"
        f"user = User.objects.create_user({username!r}, password={password!r})\n"
        "user.groups.add(Group.objects.get(name='viewer'))\n"
        "print(AccessToken.for_user(user))",
    ).split()[-1]  # after the shell's "N objects imported automatically" banner
    auth = {"Authorization": f"Bearer {token}"}
    credentials = {"username": username, "password": password}
    assert stack.get("/api/v1/tickets/", headers=auth).status_code == 200

    def unavailable(response: Any, dependency: str) -> str | None:
        if response.status_code != 503 or not response.headers.get("Retry-After"):
            return f"{response.request.method} {response.url}: {response.status_code}"
        if "/api/" in response.url and response.json() != {
            "error": f"{dependency} unavailable; retry later"
        }:
            return f"{response.url}: {response.text[:200]}"
        return None

    stack.stop_postgres()
    try:
        answers = [
            stack.get("/api/v1/tickets/", headers=auth),
            stack.get("/api/v1/stats/", headers=auth),
            stack._session().post(f"{stack.base_url}/api/v1/token/", json=credentials, timeout=30),
        ]
        status, body = stack.post("adf", adf_failure("pl_outage_api", "outage-api-run"))
    finally:
        stack.start_postgres()
    problems = [p for p in (unavailable(a, "database") for a in answers) if p]
    assert status == 503 and isinstance(body, dict) and body.get("error"), (status, body)

    stack.stop_redis()
    try:
        browser = stack._session()
        page = browser.get(f"{stack.base_url}/login/", timeout=30)
        sign_in = browser.post(
            f"{stack.base_url}/login/",
            data={**credentials, "csrfmiddlewaretoken": browser.cookies.get("csrftoken", "")},
            headers={"Referer": f"{stack.base_url}/login/"},
            timeout=30,
        )
        token_login = browser.post(f"{stack.base_url}/api/v1/token/", json=credentials, timeout=30)
    finally:
        stack.start_redis()
    assert page.status_code == 200
    problems += [p for p in (unavailable(sign_in, "cache"), unavailable(token_login, "cache")) if p]
    assert not problems, problems
    assert stack.get("/api/v1/tickets/", headers=auth).status_code == 200

    # And the stack processes again at once: a new failure goes through end to end (ticket,
    # RCA, JIRA issue, Slack alert) in a normal scenario's time, not after a stall.
    prefix = _prefix("after_outage")
    accepted = _post_all(stack, [adf_failure(f"{prefix}0", f"{prefix}run0")])
    waited = stack.wait_settled(RECOVERY_SECONDS)
    problems = stack.problems(accepted, pipeline_prefix=prefix, expected_tickets=1)
    assert not problems, "\n".join(problems)
    print(f"first failure after the outage processed in {waited:.1f}s")


# --- 4. JIRA, Slack and Gemini failing, throttling, stalling --------------------------------------


def test_targets_failing_throttling_and_stalling(stack: Stack) -> None:
    prefix = _prefix("targets")
    # Each target: 500s, then 429 with Retry-After, then requests held past the client timeout.
    stack.gemini.fail(500, stack.gemini.error_body(500, "internal"), times=2)
    stack.gemini.throttle(1, times=2)
    stack.gemini.stall(4, times=2, path_contains=":generateContent")  # timeout is 3 s
    # JIRA and Slack hold a request 6 s (the client gives up after 2 s) and then do it anyway,
    # as a slow server does: a retry must not create a second issue or post a second alert.
    stall = 6.0
    # The faults hit the calls that create something: JIRA's POST /issue, Slack's postMessage.
    for fake, path in ((stack.jira, "/rest/api/2/issue"), (stack.slack, "chat.postMessage")):
        fake.fail(500, fake.error_body(500, "internal error"), times=3, path_contains=path)
        fake.throttle(1, times=2, path_contains=path)
        fake.stall(stall, times=2, path_contains=path)
    accepted = _post_all(stack, [adf_failure(f"{prefix}{i}", f"{prefix}run{i}") for i in range(4)])
    stack.wait_settled(90)
    time.sleep(stall)  # the held requests are carried out late: count what they did too
    problems = stack.problems(accepted, pipeline_prefix=prefix, expected_tickets=4)

    tickets = stack.tickets_like(prefix)
    sources = dict(
        stack.query("SELECT id, rca_source FROM tickets_ticket WHERE id = ANY(%s)", [tickets])
    )
    if "rules" not in sources.values():
        problems.append(f"no rule-based fallback while Gemini failed: {sources}")
    seen = {
        (target, status)
        for target, status in stack.query(
            "SELECT d.target, a.http_status FROM integrations_deliveryattempt a"
            " JOIN integrations_outbounddelivery d ON d.id = a.outbound_id"
            " WHERE d.ticket_id = ANY(%s) AND a.outcome = 'transient_error'",
            [tickets],
        )
    }
    for target in ("jira", "slack"):
        if (target, 500) not in seen or (target, 429) not in seen or (target, None) not in seen:
            problems.append(f"{target}: not every fault was met (500, 429, timeout): {seen}")
    print(f"rca sources {sorted(sources.values())}; transient errors seen {sorted(seen, key=str)}")
    print(f"duplicates removed: {_duplicates_removed(stack, tickets)}")
    assert not problems, "\n".join(problems)


# --- 5. concurrency and replays -----------------------------------------------------------------


def test_concurrent_duplicates_and_out_of_order_jira_events(stack: Stack) -> None:
    prefix = _prefix("dupes")
    body = airflow_failure(f"{prefix}dag", f"{prefix}run")
    gate = threading.Barrier(20)

    def post_once(_: int) -> tuple[int, Any]:
        gate.wait(timeout=30)
        return stack.post("airflow", body)

    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(post_once, range(20)))
    assert all(status == 202 for status, _ in answers), answers
    outcomes = sorted(answer["outcome"] for _, answer in answers)
    assert outcomes == ["created"] + ["duplicate"] * 19, outcomes
    assert len({answer["ticket_id"] for _, answer in answers}) == 1
    accepted = [answer for _, answer in answers]
    _assert_complete(stack, accepted, prefix, tickets=1)

    ticket_id = accepted[0]["ticket_id"]
    key = stack.scalar("SELECT itsm_ticket_id FROM tickets_ticket WHERE id = %s", [ticket_id])
    labels = stack.jira.issues[key]["labels"]
    base = int(time.time() * 1000)
    done = jira_status_event(
        key, labels, from_status="To Do", to_status="Done", at_ms=base + 1000, changelog_id="c1"
    )
    todo = jira_status_event(
        key, labels, from_status="Done", to_status="To Do", at_ms=base + 2000, changelog_id="c2"
    )
    progress = jira_status_event(
        key,
        labels,
        from_status="To Do",
        to_status="In Progress",
        at_ms=base + 3000,
        changelog_id="c3",
    )
    # The newest first, five times at once; then the older ones, and replays of everything.
    with ThreadPoolExecutor(5) as pool:
        first = list(pool.map(stack.post_jira_event, [progress] * 5))
    later = [stack.post_jira_event(event) for event in (done, todo, progress, done)]
    results = []
    for status, answer in first + later:
        assert status == 200 and isinstance(answer, dict), (status, answer)
        results.append(answer["result"])
    assert results.count("status set to in_progress") == 1, results

    stack.wait_settled(60)
    status = stack.scalar("SELECT status FROM tickets_ticket WHERE id = %s", [ticket_id])
    assert status == "in_progress", results
    jira_audit = stack.query(
        "SELECT action FROM tickets_auditlog WHERE ticket_id = %s AND actor_kind = 'jira'",
        [ticket_id],
    )
    assert len(jira_audit) == 1, jira_audit
    duplicates = stack.query(
        "SELECT action, actor_kind, count(*) FROM tickets_auditlog WHERE ticket_id = %s"
        " GROUP BY action, actor_kind, before::text, after::text, details::text"
        " HAVING count(*) > 1",
        [ticket_id],
    )
    assert not duplicates, duplicates
    problems = stack.problems(accepted, pipeline_prefix=prefix, expected_tickets=1)
    assert not problems, "\n".join(problems)
