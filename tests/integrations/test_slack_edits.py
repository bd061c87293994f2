"""Edits of a ticket's Slack alert that pile up are merged: the alert is updated once to the
ticket as it is, each thread reply is still posted. A real Celery worker, the real slack-sdk
client against the local Slack (tests/fakes), real PostgreSQL row locks between sessions."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from integrations import fanout
from integrations.models import OutboundDelivery, OutboundStatus
from integrations.targets import slack as slack_target
from tests.api import clear_throttles, jwt_client, make_ticket
from tests.api import make_user as api_user
from tests.conftest import wait_for
from tests.dashboard import make_user
from tests.integrations.test_incident_paging import settled, targets  # noqa: F401 (fixture)
from tests.tickets.test_incidents import post, storm_failure
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import Ticket
from tickets.vocabulary import Source

pytestmark = pytest.mark.django_db(transaction=True)

REPEATS = 10


def paged(pipeline: str) -> Ticket:
    """A failure whose Slack alert is out, every delivery of it finished."""
    ticket_id = post(storm_failure(pipeline))["ticket_id"]
    wait_for(lambda: Ticket.objects.filter(pk=ticket_id).exclude(slack_ts="").exists(), 30)
    settled()
    return Ticket.objects.get(pk=ticket_id)


def occurrences_shown(message: dict) -> str:
    fields = next(b for b in message["blocks"] if b["type"] == "section" and "fields" in b)
    (shown,) = [f["text"] for f in fields["fields"] if f["text"].startswith("*Occurrences*")]
    return shown.removeprefix("*Occurrences*\n")


def test_a_storm_of_repeats_edits_the_alert_once_and_each_thread_reply_is_posted(
    celery_worker,
    targets,  # noqa: F811 (fixture)
):
    _jira, slack = targets
    ticket = paged("pl_orders")
    message = slack.messages[(ticket.slack_channel, ticket.slack_ts)]
    edits_before = len(message["history"])
    # Slack throttles the edits for a while: what the repeats ask for piles up meanwhile, as it
    # does behind SLACK_EDITS_PER_SECOND in a storm (the pace's wait, Slack's Retry-After: the
    # engine waits for either the same way).
    slack.throttle(2, times=None, path_contains="chat.update")
    for _ in range(REPEATS // 2):
        post(storm_failure("pl_orders"))
    # A person acknowledges in the middle of the storm: that is told in the thread.
    lifecycle.acknowledge(ticket.pk, Actor.for_user(make_user("ana", "responder")))
    for _ in range(REPEATS - REPEATS // 2):
        post(storm_failure("pl_orders"))
    counted = Ticket.objects.filter(pk=ticket.pk, occurrence_count=REPEATS + 1)
    wait_for(counted.exists, 30)
    slack.clear_faults()
    settled()

    syncs = OutboundDelivery.objects.filter(ticket=ticket, action=slack_target.SYNC)
    recurred = syncs.filter(payload__action="recurred")
    sent = recurred.filter(status=OutboundStatus.SUCCEEDED)
    merged = recurred.filter(status=OutboundStatus.SKIPPED)
    edits = len(message["history"]) - edits_before
    # One edit for the repeats, one with the acknowledgement's thread reply; they used to be
    # one edit per repeat. A repeat landing while the pending edits are being tried takes an
    # edit of its own, and the first sent takes the others; two workers sending at once may
    # each send one.
    assert edits <= 3, f"{edits} chat.update calls for {REPEATS} repeats"
    assert occurrences_shown(message) == str(REPEATS + 1)
    assert ":eyes: Acknowledged by ana" in json.dumps(message["blocks"])
    # Every counted failure's edit is in the delivery history: sent, or merged into one sent.
    assert recurred.count() == REPEATS and sent.count() + merged.count() == REPEATS
    sent_ids = set(sent.values_list("pk", flat=True))
    for row in merged:
        assert row.payload["merged_into"] in sent_ids
        assert row.last_error == (
            f"merged into delivery {row.payload['merged_into']}, which shows the ticket as it "
            "is when it is sent"
        )
        assert row.status_words().startswith("Skipped — merged into delivery ")
    # The API tells it as the admin does.
    clear_throttles()
    shown = (
        jwt_client(api_user("viewer"))
        .get(f"/api/v1/tickets/{ticket.pk}/deliveries/?page_size=200")
        .json()
    )
    assert shown["next"] is None
    merged_shown = {
        d["id"]: d["last_error"]
        for d in shown["results"]
        if d["action"] == slack_target.SYNC and d["status"] == "skipped"
    }
    assert merged_shown == {row.pk: row.last_error for row in merged}
    # The thread reply is never merged: posted once, and the next one after it.
    (ack,) = syncs.filter(payload__action="acknowledge")
    assert ack.status == OutboundStatus.SUCCEEDED
    lifecycle.resolve(ticket.pk, Actor.for_user(make_user("bo", "responder")))
    settled()
    thread = [reply["text"] for reply in slack.thread(ticket.slack_channel, ticket.slack_ts)]
    assert len(thread) == 2
    assert thread[0].startswith("ana — acknowledge") and thread[1].startswith("bo — resolve")


def holding(work: Callable[[], object]) -> tuple[threading.Event, threading.Thread]:
    """Run `work` in a transaction of its own session, left open until `release` is set."""
    ready, release = threading.Event(), threading.Event()

    def body() -> None:
        try:
            with transaction.atomic():
                work()
                ready.set()
                release.wait(20)
        finally:
            connections.close_all()

    thread = threading.Thread(target=body)
    thread.start()
    assert ready.wait(20)
    return release, thread


def pending_edit(ticket_id: str) -> OutboundDelivery:
    with transaction.atomic():
        fanout.schedule_follow_up(ticket_id, "recurred", Actor.source(Source.ADF))
    return OutboundDelivery.objects.filter(
        ticket_id=ticket_id, action=slack_target.SYNC, status=OutboundStatus.PENDING
    ).latest("pk")


def test_an_edit_being_delivered_takes_no_later_change_and_one_merged_into_waits_for_it(
    targets,  # noqa: F811 (fixture)
    settings,
):
    """A worker delivering the pending edit holds its row: it may have read the ticket
    already, so a change then gets an edit of its own. A change merged into the pending edit
    holds its row until the change commits: a worker finds it busy meanwhile and sends
    nothing, so it cannot show the ticket as it was before the change."""
    _jira, slack = targets
    settings.SLACK_EDITS_PER_SECOND = 0  # unpaced: only the locks decide here
    ticket = Ticket.objects.create(
        id="ADF-20251210T123456-merge1",
        pipeline="pl",
        run_id="adf:merge1",
        source="adf",
        fingerprint="f-merge1",
    )
    OutboundDelivery.objects.create(
        key=f"{ticket.pk}:{slack_target.POST}",
        ticket=ticket,
        target="slack",
        action=slack_target.POST,
        status=OutboundStatus.PENDING,
    )
    first = pending_edit(ticket.pk)

    # A worker is delivering it (its row lock, as `fanout.deliver` takes it).
    lock = OutboundDelivery.objects.select_for_update().filter(pk=first.pk)
    release, thread = holding(lambda: list(lock))
    try:
        second = pending_edit(ticket.pk)
    finally:
        release.set()
        thread.join(20)
    assert second.pk != first.pk  # not merged into the one being delivered
    OutboundDelivery.objects.filter(pk=first.pk).update(status=OutboundStatus.SUCCEEDED)

    # Merged into the pending one: its row is held until the change commits.
    def change() -> None:
        fanout.schedule_follow_up(ticket.pk, "recurred", Actor.source(Source.ADF))

    release, thread = holding(change)
    try:
        assert fanout.deliver(second.pk).status == "busy"
    finally:
        release.set()
        thread.join(20)
    merged = OutboundDelivery.objects.filter(ticket=ticket, action=slack_target.SYNC).latest("pk")
    assert merged.status == OutboundStatus.SKIPPED
    assert merged.payload["merged_into"] == second.pk
    assert not slack.api_requests("chat.update")


def test_an_edit_sent_takes_the_pending_edits_a_change_made_while_one_was_being_tried(
    targets,  # noqa: F811 (fixture)
    settings,
):
    """A change while the pending edit was being tried (Slack answering 429, say) got an edit
    of its own; the edit tried stays pending. Whichever of them is sent first reads the ticket
    after both changes committed, so it stands for the other too: one chat.update, not one
    each once Slack takes edits again (a storm's repeats met this on a loaded machine). What
    was merged into the one not sent names the one sent."""
    _jira, slack = targets
    settings.SLACK_EDITS_PER_SECOND = 0  # unpaced: only the locks decide here
    ticket = make_ticket()
    alert = OutboundDelivery.objects.create(
        key=f"{ticket.pk}:{slack_target.POST}",
        ticket=ticket,
        target="slack",
        action=slack_target.POST,
    )
    assert fanout.deliver(alert.pk).status == OutboundStatus.SUCCEEDED
    ticket.refresh_from_db()
    tried = pending_edit(ticket.pk)
    lock = OutboundDelivery.objects.select_for_update().filter(pk=tried.pk)
    release, thread = holding(lambda: list(lock))  # a worker trying it
    try:
        own = pending_edit(ticket.pk)
        with transaction.atomic():
            fanout.schedule_follow_up(ticket.pk, "recurred", Actor.source(Source.ADF))
    finally:
        release.set()
        thread.join(20)
    merged = OutboundDelivery.objects.filter(ticket=ticket, action=slack_target.SYNC).latest("pk")
    assert own.pk != tried.pk and merged.payload["merged_into"] == own.pk
    Ticket.objects.filter(pk=ticket.pk).update(occurrence_count=4)

    assert fanout.deliver(tried.pk).status == OutboundStatus.SUCCEEDED
    assert fanout.deliver(own.pk).status == OutboundStatus.SKIPPED

    assert len(slack.api_requests("chat.update")) == 1
    assert occurrences_shown(slack.messages[(ticket.slack_channel, ticket.slack_ts)]) == "4"
    for row in (own, merged):
        row.refresh_from_db()
        assert row.status == OutboundStatus.SKIPPED
        assert row.payload["merged_into"] == tried.pk
        assert row.last_error == fanout.merged_words(tried.pk)
    assert not own.tries.exists()  # never tried: nothing of it was sent


def test_the_pending_edit_to_merge_into_is_read_from_the_mergeable_ones_alone():
    """Every repeat of a storm's ticket looks for its pending edit: read from the ticket's
    deliveries or every pending one, that look-up would grow with the storm it is there to cut
    down, or with a target's backlog."""
    ticket = make_ticket(itsm_ticket_id="OPS-1", slack_ts="1700000000.000100")
    backlog = make_ticket()
    now = timezone.now()
    OutboundDelivery.objects.bulk_create(
        [
            OutboundDelivery(
                key=f"{backlog.pk}:jira_sync:{n}",
                ticket=backlog,
                target="jira",
                action="jira_sync",
                next_attempt_at=now + timedelta(minutes=5),
            )
            for n in range(5000)
        ]
        + [
            OutboundDelivery(
                key=f"{ticket.pk}:{slack_target.SYNC}:{n}",
                ticket=ticket,
                target="slack",
                action=slack_target.SYNC,
                payload={"action": "recurred", fanout.MERGES: True},
                status=OutboundStatus.SKIPPED,
                created_at=now - timedelta(seconds=n),
            )
            for n in range(5000)
        ],
        batch_size=2000,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboundDelivery._meta.db_table}")

    with CaptureQueriesContext(connection) as queries, transaction.atomic():
        fanout.schedule_follow_up(ticket.pk, "recurred", Actor.source(Source.ADF))
    (look_up,) = [query["sql"] for query in queries if "SKIP LOCKED" in query["sql"]]
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {look_up}")
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "outbound_mergeable" in plan, plan
