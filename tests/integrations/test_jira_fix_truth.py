"""What fixed a failure, as told from JIRA, stays true: who said it (a person, not an
automation rule), what the issue's resolution says, and in which order JIRA and this service
acted, whatever their clocks say. Through the JIRA webhook endpoint; the end-to-end ones with a
real Celery worker and the real jira and slack-sdk clients against the local fakes."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from django.db import connection, transaction

from integrations import syncback
from integrations.parsers.slack_actions import SlackAction
from tests.dashboard import make_user
from tests.integrations import test_fanout
from tests.integrations.test_fanout import (
    MARIA,
    fanned_out,
    jira_webhook,
    post_failure,
    post_jira,
    settled,
)
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import ActorKind, AuditLog, Resolution, Ticket
from tickets.resolutions import previous_fixes

pytestmark = pytest.mark.django_db(transaction=True)

# The local JIRA, Slack and Azurite of the fan-out tests, and their ticket linked to OPS-7.
azurite = test_fanout.azurite
targets = test_fanout.targets
linked_ticket = test_fanout.linked_ticket

# The account Jira Cloud's automation rules act as: an app's (`accountType` "app").
AUTOMATION_FOR_JIRA = {
    "accountId": "557058:f58131cb-b67d-43c7-b30d-6b58d40bd077",
    "accountType": "app",
    "displayName": "Automation for Jira",
    "active": True,
}
MARIA_ON_CLOUD = {**MARIA, "accountType": "atlassian"}


def comment_created(key: str, comment_id: str, body: str, author: dict) -> dict:
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "comment_created",
        "issue": {"id": "10040", "key": key, "fields": {}},
        "comment": {"id": comment_id, "body": body, "author": author},
    }


def done_with(key: str, *, resolution: str = "Done", comment: str = "", user: dict = MARIA) -> dict:
    """Done in JIRA, its resolution set and a comment left on the transition screen."""
    webhook = jira_webhook(key, "To Do", "Done", user=user)
    webhook["changelog"]["items"].append(
        {"field": "resolution", "fromString": None, "toString": resolution}
    )
    if comment:
        webhook["comment"] = {"id": uuid.uuid4().hex[:6], "body": comment, "author": user}
    return webhook


def resolution_changed(key: str, before: str, after: str) -> dict:
    """Maria changes a Done issue's resolution alone: no status item in the changelog."""
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "jira:issue_updated",
        "issue_event_type_name": "issue_generic",
        "user": MARIA_ON_CLOUD,
        "issue": {"id": "10040", "key": key, "fields": {"status": {"name": "Done"}}},
        "changelog": {
            "id": uuid.uuid4().hex[:8],
            "items": [
                {
                    "field": "resolution",
                    "fieldtype": "jira",
                    "fieldId": "resolution",
                    "from": "10000",
                    "fromString": before,
                    "to": "10002",
                    "toString": after,
                }
            ],
        },
    }


def next_failure_like(ticket: Ticket) -> Ticket:
    return Ticket.objects.create(
        id=f"ADF-20251211T000000-{uuid.uuid4().hex[:6]}",
        pipeline=ticket.pipeline,
        run_id=f"adf:{uuid.uuid4().hex[:6]}",
        source="adf",
        fingerprint=ticket.fingerprint,
    )


def test_a_fix_commented_in_jira_as_one_is_typed_in_slack_is_recorded_once(linked_ticket):
    """The Slack box's late fix locks the ticket before it looks for a fix; the JIRA `Fix:`
    comment did not: told at the same moment, both were kept, two fixes of one resolve."""
    post_jira(done_with("OPS-7"))
    daan = make_user("daan", "responder")
    typed = SlackAction(
        action_id="rca_resolve_with_fix",
        ticket_id=linked_ticket.pk,
        user_id="U1",
        username="daan",
        action_ts="1.0",
        channel_id="C1",
        message_ts="1.0",
        text="restarted the self-hosted IR",
    )
    slack_kept = threading.Event()
    release = threading.Event()

    def slack_box() -> None:
        try:
            with transaction.atomic():
                syncback._keep_fix_typed_late(typed, Actor(ActorKind.SLACK, "daan", daan))
                slack_kept.set()
                release.wait(10)
        finally:
            connection.close()

    answers: list[str] = []

    def jira_comment() -> None:
        try:
            comment = comment_created("OPS-7", "700", "Fix: failed over the IR", MARIA_ON_CLOUD)
            answers.append(post_jira(comment).json()["result"])
        finally:
            connection.close()

    slack = threading.Thread(target=slack_box)
    slack.start()
    assert slack_kept.wait(10)
    jira = threading.Thread(target=jira_comment)
    jira.start()
    jira.join(1.5)  # it waits for the Slack box's transaction
    release.set()
    slack.join(10)
    jira.join(10)

    assert answers == ["comment recorded"]
    assert [r.fix for r in Resolution.objects.usable()] == ["restarted the self-hosted IR"]


def test_changing_a_done_issues_resolution_to_duplicate_withdraws_its_fix(linked_ticket):
    post_jira(done_with("OPS-7", comment="Fix: raised the IR's concurrent jobs limit"))
    assert [r.fix for r in Resolution.objects.usable()] == ["raised the IR's concurrent jobs limit"]

    answer = post_jira(resolution_changed("OPS-7", "Done", "Duplicate"))

    assert answer.json() == {
        "ticket_id": linked_ticket.pk,
        "result": "resolution says nothing was fixed: the fix recorded withdrawn",
    }
    assert previous_fixes(next_failure_like(linked_ticket)) == []
    entry = AuditLog.objects.get(ticket=linked_ticket, action="fix withdrawn")
    assert (entry.actor_name, entry.details["resolution"], entry.details["fix"]) == (
        "Maria Lopez",
        "Duplicate",
        "raised the IR's concurrent jobs limit",
    )
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "resolved"
    # Back to Done, or another resolution that says nothing was fixed: nothing more happens.
    again = post_jira(resolution_changed("OPS-7", "Duplicate", "Won't Do"))
    assert again.json()["result"] == "nothing to apply"


def test_a_resolution_changed_to_fixed_or_on_an_open_ticket_withdraws_nothing(linked_ticket):
    post_jira(done_with("OPS-7", comment="Fix: raised the IR's concurrent jobs limit"))

    assert post_jira(resolution_changed("OPS-7", "Done", "Fixed")).json()["result"] == (
        "nothing to apply"
    )
    post_jira(jira_webhook("OPS-7", "Done", "To Do"))
    assert post_jira(resolution_changed("OPS-7", "Done", "Won't Do")).json()["result"] == (
        "nothing to apply"
    )
    assert Resolution.objects.usable().count() == 1


def test_an_automation_closing_a_stale_issue_records_no_fix(linked_ticket):
    """Jira Cloud's automation rules act as an app's account (`accountType` "app"): its
    "closed for inactivity" comment was recorded as what fixed the failure, and offered as
    "Last time" for the next one."""
    closed = done_with(
        "OPS-7",
        comment="Closing this issue: no activity for 30 days. Reopen it if it still matters.",
        user=AUTOMATION_FOR_JIRA,
    )

    assert post_jira(closed).json()["result"] == "status set to resolved"
    ticket = Ticket.objects.get(pk=linked_ticket.pk)
    assert (ticket.status, ticket.resolved_by) == ("resolved", "Automation for Jira")
    assert not Resolution.objects.exists()
    # Its `Fix:` comment is no person's fix either; Maria's, after it, is.
    bot = comment_created("OPS-7", "801", "Fix: auto-closed", AUTOMATION_FOR_JIRA)
    assert post_jira(bot).json()["result"] == "comment recorded"
    maria = comment_created("OPS-7", "802", "Fix: rotated the SAS token", MARIA_ON_CLOUD)
    assert post_jira(maria).json()["result"] == "comment recorded as the fix"
    assert [f.fix for f in previous_fixes(next_failure_like(linked_ticket))] == [
        "rotated the SAS token"
    ]


@pytest.mark.parametrize("resolution", ["Rejected", "Obsolete", "Abgelehnt", "Not Our Problem"])
def test_a_custom_or_german_not_fixed_resolution_records_no_fix(
    linked_ticket, settings, resolution
):
    settings.JIRA_NOT_FIXED_RESOLUTIONS = ["not our problem"]  # the site's own

    answer = post_jira(done_with("OPS-7", resolution=resolution, comment="see OPS-3"))

    assert answer.json()["result"] == "status set to resolved"
    assert not Resolution.objects.exists()
    entry = AuditLog.objects.get(ticket=linked_ticket, action="resolve")
    assert entry.details["note"] == f"JIRA OPS-7 (resolution: {resolution})"


def test_a_fixed_resolution_in_german_keeps_its_comment_as_the_fix(linked_ticket):
    post_jira(done_with("OPS-7", resolution="Erledigt", comment="Fix: IR neu gestartet"))

    assert [r.fix for r in Resolution.objects.all()] == ["IR neu gestartet"]


def test_a_reopen_in_jira_just_after_a_resolve_here_counts_though_our_clock_is_ahead(
    celery_worker, targets
):
    """Resolved here, its issue moved to Done; Maria reopens it in JIRA 5 seconds later. This
    server's clock runs 2 minutes ahead of JIRA's: her change looked older than the resolve
    and was ignored, the ticket left resolved under an open issue."""
    jira, slack, _ = targets
    ticket = fanned_out(post_failure()["ticket_id"])
    settled(ticket.pk)
    lifecycle.resolve(ticket.pk, Actor.for_user(make_user("ana", "responder"), "dashboard"))
    settled(ticket.pk)
    assert jira.issues[ticket.itsm_ticket_id]["status"] == "Done"
    resolved_here = AuditLog.objects.get(ticket=ticket, action="resolve").created_at
    jira.issues[ticket.itsm_ticket_id]["status"] = "To Do"  # Maria reopens it
    reopened = jira_webhook(ticket.itsm_ticket_id, "Done", "To Do")
    reopened["timestamp"] = int((resolved_here.timestamp() + 5 - 120) * 1000)

    answer = post_jira(reopened)

    assert answer.json()["result"] == "status set to open"
    settled(ticket.pk)
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert jira.issues[ticket.itsm_ticket_id]["status"] == "To Do"
    assert "reopen" in slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"]


def test_a_change_made_in_jira_before_a_resolve_here_is_still_ignored(linked_ticket):
    """Taken in JIRA (To Do to In Progress) before the resolve here, delivered after it: the
    issue was not in the resolved status then, so the clocks decide, and it is older."""
    taken = jira_webhook("OPS-7", "To Do", "In Progress")
    taken["timestamp"] -= 19_000
    lifecycle.resolve(linked_ticket.pk, Actor.system("test"))

    assert "older than the ticket's last status change" in post_jira(taken).json()["result"]
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "resolved"


def comment_changed(event: str, comment_id: str, body: str = "", *, key: str = "") -> dict:
    """`comment_updated` or `comment_deleted`: Jira Cloud's names the issue; Jira Server's
    (`key` empty) only the comment's URL."""
    webhook = {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": event,
        "comment": {
            "self": f"https://jira.example.org/rest/api/2/issue/10040/comment/{comment_id}",
            "id": comment_id,
            "body": body,
            "author": MARIA_ON_CLOUD,
            "updateAuthor": MARIA_ON_CLOUD,
        },
    }
    if key:
        webhook["issue"] = {"id": "10040", "key": key, "fields": {}}
    return webhook


def test_an_edited_fix_comment_edits_the_fix_and_a_deleted_one_withdraws_it(linked_ticket):
    """Maria corrects the comment she resolved the issue with: the next failure was still told
    what she first typed ("an edited comment changes nothing"), and after she deleted it, still
    offered it as what fixed it."""
    resolved = done_with("OPS-7", comment="Fix: raised the limit")
    post_jira(resolved)
    comment_id = resolved["comment"]["id"]
    edited = comment_changed(
        "comment_updated",
        comment_id,
        "Fix: raised the IR's concurrent jobs limit to 8",
        key="OPS-7",
    )

    assert post_jira(edited).json() == {
        "ticket_id": linked_ticket.pk,
        "result": "fix edited: its comment was edited",
    }
    assert post_jira(edited).json()["result"] == "replay ignored"
    assert [f.fix for f in previous_fixes(next_failure_like(linked_ticket))] == [
        "raised the IR's concurrent jobs limit to 8"
    ]
    entry = AuditLog.objects.get(ticket=linked_ticket, action="fix edited")
    assert (entry.actor_name, entry.before, entry.after) == (
        "Maria Lopez",
        {"fix": "raised the limit"},
        {"fix": "raised the IR's concurrent jobs limit to 8"},
    )
    # Jira Server's `comment_deleted` names the comment alone.
    assert post_jira(comment_changed("comment_deleted", comment_id)).json() == {
        "ticket_id": linked_ticket.pk,
        "result": "fix withdrawn: its comment was deleted",
    }
    assert previous_fixes(next_failure_like(linked_ticket)) == []


def test_a_fix_comment_edited_to_say_something_else_withdraws_its_fix(linked_ticket):
    post_jira(done_with("OPS-7"))
    post_jira(comment_created("OPS-7", "910", "Fix: restarted the IR node", MARIA_ON_CLOUD))
    other = comment_created("OPS-7", "911", "Looks like the IR again", MARIA_ON_CLOUD)
    post_jira(other)

    retracted = comment_changed(
        "comment_updated", "910", "Restarting the IR node did not help after all", key="OPS-7"
    )
    assert post_jira(retracted).json()["result"] == "fix withdrawn: its comment was edited"
    assert previous_fixes(next_failure_like(linked_ticket)) == []
    # A comment that told no fix, edited, changes nothing.
    not_a_fix = comment_changed("comment_updated", "911", "Fix: nothing", key="OPS-7")
    assert post_jira(not_a_fix).json()["result"] == "nothing to apply"
    assert Resolution.objects.usable().count() == 0


def test_changing_an_incidents_done_issue_to_duplicate_withdraws_its_fix_from_every_member(
    targets,
):
    from tests.tickets.test_incidents import post, storm_failure
    from tickets.models import Incident

    members = [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(3)]
    incident = Incident.objects.get()
    Incident.objects.filter(pk=incident.pk).update(itsm_ticket_id="OPS-77")
    resolved = done_with("OPS-77", comment="Failed the SQL server over to its secondary")
    resolved["changelog"]["items"][0]["fromString"] = "In Progress"
    assert post_jira(resolved).json()["result"] == f"incident {incident.pk} status set to resolved"
    assert Resolution.objects.usable().count() == 3

    answer = post_jira(resolution_changed("OPS-77", "Done", "Won't Do"))

    assert (
        answer.json()["result"] == "resolution says nothing was fixed: the fix recorded withdrawn"
    )
    assert Resolution.objects.usable().count() == 0
    assert sorted(
        AuditLog.objects.filter(action="fix withdrawn").values_list("ticket_id", flat=True)
    ) == sorted(members)
    assert previous_fixes(next_failure_like(Ticket.objects.get(pk=members[0]))) == []


def test_a_change_from_a_status_the_issue_had_before_the_change_here_still_counts_as_older(
    linked_ticket,
):
    """The issue's status before the change here told nothing of the order: moved back to To
    Do from In Progress in JIRA, then acknowledged here (the issue stays In Progress), the
    late event must not reopen the ticket; nor must a reopen from Done made before a reopen
    and a resolve here."""
    now = int(time.time() * 1000)
    taken = jira_webhook("OPS-7", "To Do", "In Progress")
    taken["timestamp"] = now - 30_000
    assert post_jira(taken).json()["result"] == "status set to in_progress"
    put_back = jira_webhook("OPS-7", "In Progress", "To Do")
    put_back["timestamp"] = now - 19_000
    lifecycle.transition(linked_ticket.pk, "acknowledge", Actor.system("test"))

    assert "older than the ticket's last status change" in post_jira(put_back).json()["result"]
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "acknowledged"

    # Resolved here; reopened in JIRA (Done to To Do), JIRA's clock behind this one's; then,
    # before that event arrives, reopened and resolved again here.
    lifecycle.resolve(linked_ticket.pk, Actor.system("test"))
    reopened_there = jira_webhook("OPS-7", "Done", "To Do")
    reopened_there["timestamp"] = now - 10_000
    lifecycle.reopen(linked_ticket.pk, Actor.system("test"))
    lifecycle.resolve(linked_ticket.pk, Actor.system("test"))

    assert (
        "older than the ticket's last status change" in (post_jira(reopened_there).json()["result"])
    )
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "resolved"


def test_an_older_edit_of_a_fix_comment_delivered_late_does_not_undo_a_newer_one(linked_ticket):
    """JIRA retries a failed delivery later: Maria's first edit arrived after her second, and
    the fix went back to the text she had already corrected."""
    resolved = done_with("OPS-7", comment="Fix: raised the limit")
    post_jira(resolved)
    comment_id = resolved["comment"]["id"]
    first = comment_changed(
        "comment_updated", comment_id, "Fix: raised the limit to 6", key="OPS-7"
    )
    second = comment_changed(
        "comment_updated", comment_id, "Fix: raised the limit to 8", key="OPS-7"
    )
    second["timestamp"] = first["timestamp"] + 60_000

    assert post_jira(second).json()["result"] == "fix edited: its comment was edited"
    assert "older than the comment's last edit" in post_jira(first).json()["result"]
    assert [f.fix for f in previous_fixes(next_failure_like(linked_ticket))] == [
        "raised the limit to 8"
    ]


def test_a_late_change_in_jira_out_of_a_status_it_had_reached_there_first_is_still_older(
    linked_ticket,
):
    """Taken then resolved in JIRA, both delivered late, after an acknowledge here (the issue
    then In Progress again): the issue had reached In Progress in JIRA before the change here,
    so leaving it told nothing of the order, yet the late resolve was applied over the
    acknowledge."""
    now = int(time.time() * 1000)
    taken = jira_webhook("OPS-7", "To Do", "In Progress")
    taken["timestamp"] = now - 30_000
    resolved_there = jira_webhook("OPS-7", "In Progress", "Done")
    resolved_there["timestamp"] = now - 20_000
    lifecycle.transition(linked_ticket.pk, "acknowledge", Actor.system("test"))

    assert "older than the ticket's last status change" in post_jira(taken).json()["result"]
    assert (
        "older than the ticket's last status change" in (post_jira(resolved_there).json()["result"])
    )
    assert Ticket.objects.get(pk=linked_ticket.pk).status == "acknowledged"
