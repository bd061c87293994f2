"""Policy decisions, approval (Slack buttons, admin) with its audit and expiry, the outcome on
the ticket, Slack and JIRA (real slack-sdk and jira clients against local fakes)."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import timezone
from slack_sdk.signature import SignatureVerifier

from integrations import fanout, remediation
from integrations.circuit import CircuitBreaker
from integrations.models import OutboundDelivery, Remediation, RemediationPolicy, SlackIdentity
from integrations.targets.slack import (
    SLACK_APPROVE_ACTION,
    SLACK_DECLINE_ACTION,
    SLACK_RETRY_ACTION,
    slack_alert,
)
from tests.conftest import wait_for
from tests.fakes.jira_api import FakeJira
from tests.fakes.slack_api import FakeSlack
from tests.remediation.conftest import (
    make_policy,
    make_ticket,
    proposed,
    refused_for_our_credentials,
)
from tickets import incidents, lifecycle
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Incident, Ticket, new_incident_id

pytestmark = pytest.mark.django_db

SLACK_SECRET = "slack-signing-secret-for-tests"


# --- policy --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("confidence", "mode", "expected"),
    [
        (0.95, "auto", "running"),
        (0.8, "auto", "running"),
        (0.7, "auto", "awaiting_approval"),
        (0.6, "auto", "awaiting_approval"),
        (0.59, "auto", "skipped"),
        (None, "auto", "skipped"),
        (0.95, "approval", "awaiting_approval"),
        (0.95, "never", "skipped"),
    ],
)
def test_confidence_and_mode_decide(settings, confidence, mode, expected):
    make_policy(action="playbook", mode=mode)
    ticket = make_ticket(confidence=confidence)

    found = proposed(ticket.pk)

    assert found is not None and found.status == expected
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == expected
    if expected == "skipped":
        assert found.reason  # says why: below the threshold, or never


def test_policy_matching_by_class_signal_source_and_pipeline():
    make_policy(
        action="playbook",
        error_classes=["NetworkError"],
        sources=["adf"],
        pipeline_glob="pl_copy_*",
        signals=["connection reset"],
    )
    assert remediation.propose(make_ticket().pk) is not None
    assert remediation.propose(make_ticket(error_type="CodeError").pk) is None
    assert remediation.propose(make_ticket(source="airflow").pk) is None
    assert remediation.propose(make_ticket(pipeline="other").pk) is None
    assert remediation.propose(make_ticket(error_message="NullPointerException").pk) is None


def _policy_form(**changes: str) -> dict[str, str]:
    form = {
        "name": "reruns",
        "enabled": "on",
        "order": "1",
        "error_classes": "[]",
        "signals": '["connection reset"]',
        "sources": "[]",
        "pipeline_glob": "*",
        "action": "adf_rerun",
        "mode": "auto",
        "auto_min_confidence": "0.8",
        "approval_min_confidence": "0.6",
        "max_attempts": "2",
        "backoff_seconds": "300",
    }
    return {**form, **changes}


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        # A bare string was matched by its characters: "timeout" covered any message with a t.
        ("signals", '"timeout"', "Signals: expected a JSON list"),
        (
            "signals",
            '["timeout", " "]',
            'Signals: each is a phrase the error message must contain, not " "',
        ),
        # A string of classes was matched as a substring: DataError was "in" it.
        ("error_classes", '"NetworkError, TimeoutError"', "Error classes: expected a JSON list"),
        ("error_classes", '["NetworkErorr"]', 'Error classes: "NetworkErorr" is not one of'),
        ("sources", '["ADF"]', 'Sources: "ADF" is not one of'),
        ("auto_min_confidence", "80", "A confidence is between 0 and 1"),
        ("approval_min_confidence", "0.9", "The approval threshold must not be above"),
    ],
)
def test_a_policy_with_a_bad_value_is_refused_naming_it_and_nothing_is_saved(field, value, named):
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.com", "pw-not-secret-1"))
    kept = make_policy(name="reruns", signals=["connection reset"])
    url = f"/admin/integrations/remediationpolicy/{kept.pk}/change/"

    changed = admin.post(url, _policy_form(**{field: value, "mode": "approval"}))
    added = admin.post(
        "/admin/integrations/remediationpolicy/add/", _policy_form(name="new", **{field: value})
    )

    for answer in (changed, added):
        assert answer.status_code == 200  # the form again, not a redirect after a save
        errors = answer.context["adminform"].form.errors
        assert list(errors) == [field] and named in " ".join(errors[field]), errors
    assert list(RemediationPolicy.objects.values_list("name", "mode", "signals")) == [
        ("reruns", "auto", ["connection reset"])
    ]
    # What it would have covered is not rerun: a data error whose message has a "t" in it.
    data_error = make_ticket(error_type="DataError", error_message="Column 'total' not found")
    assert remediation.propose(data_error.pk) is None


def test_a_policy_stored_with_a_bare_string_reads_it_as_one_item():
    """Written past the form (the ORM, a fixture), a bare string is one signal or class, not
    its characters or substrings."""
    make_policy(signals="timeout", error_classes="NetworkError, TimeoutError", sources="adf")
    data_error = make_ticket(error_type="DataError", error_message="Column 'total' not found")
    assert remediation.propose(data_error.pk) is None
    network = make_ticket(error_type="NetworkError", error_message="read timeout after 30 s")
    assert remediation.propose(network.pk) is None  # "NetworkError" is not "NetworkError, ..."
    RemediationPolicy.objects.update(error_classes="NetworkError")
    assert proposed(network.pk).status == "running"


def test_first_policy_by_order_wins_and_disabled_ones_are_ignored():
    make_policy(name="never for this", order=1, mode="never", enabled=False)
    make_policy(name="never", order=2, mode="never")
    make_policy(name="auto", order=3, mode="auto")
    found = proposed(make_ticket().pk)
    assert found is not None and found.status == "skipped" and "never" in found.reason

    # The ticket page says it is not remediated, not that the policy's action was skipped.
    from tests.dashboard import make_user

    page = Client()
    page.force_login(make_user("ana", "viewer"))
    answer = page.get(f"/tickets/{found.ticket_id}/")
    assert answer.status_code == 200, answer.status_code
    html = answer.content.decode()
    panel = html.split('id="remediation"')[1].split("</section>")[0]
    assert "Not remediated" in panel and found.get_action_display() not in panel


def test_dry_run_records_what_it_would_do_and_does_nothing():
    make_policy(action="adf_rerun", dry_run=True)
    ticket = make_ticket()
    found = proposed(ticket.pk)
    assert found is not None and found.status == "skipped" and found.dry_run
    assert "dry run: would have run" in found.reason and "Rerun the ADF pipeline" in found.reason
    assert not OutboundDelivery.objects.filter(ticket=ticket).exists()


def test_a_dry_run_on_an_unconfigured_target_says_it_could_not_run(settings):
    settings.AZURE_TENANT_ID = ""
    make_policy(action="adf_rerun", dry_run=True)
    found = proposed(make_ticket().pk)
    assert found is not None and found.status == "skipped"
    assert "dry run: would have run" in found.reason and "not configured: " in found.reason


def test_max_attempts_and_backoff(settings):
    make_policy(action="playbook", mode="approval", max_attempts=2, backoff_seconds=600)
    ticket = make_ticket()
    first = proposed(ticket.pk)
    assert first is not None
    assert remediation.propose(ticket.pk) is None  # one active at a time
    Remediation.objects.filter(pk=first.pk).update(status="failed", finished_at=timezone.now())
    assert remediation.propose(ticket.pk) is None  # within the backoff
    Remediation.objects.filter(pk=first.pk).update(
        finished_at=timezone.now() - timedelta(seconds=601)
    )
    second = proposed(ticket.pk)
    assert second is not None and second.attempt_number == 2
    Remediation.objects.filter(pk=second.pk).update(
        status="failed", finished_at=timezone.now() - timedelta(hours=1)
    )
    assert remediation.propose(ticket.pk) is None  # attempts used up


def test_beat_proposes_the_next_attempt_whose_scheduled_proposal_was_lost():
    """`finish` schedules the next attempt with a countdown task; if the broker refused it (or
    the message died with a worker), beat's sweep proposes it once the backoff is over."""
    make_policy(action="playbook", mode="approval", max_attempts=3, backoff_seconds=600)
    ticket = make_ticket()
    first = proposed(ticket.pk)
    Remediation.objects.filter(pk=first.pk).update(status="failed", finished_at=timezone.now())
    assert remediation.sweep() == 0  # within the backoff
    assert ticket.remediations.count() == 1

    Remediation.objects.filter(pk=first.pk).update(
        finished_at=timezone.now() - timedelta(seconds=601)
    )
    assert remediation.sweep() == 1
    second = ticket.remediations.get(attempt_number=2)
    assert second.status == "awaiting_approval"
    assert remediation.sweep() == 0  # the due attempt was made once
    assert ticket.remediations.count() == 2

    # The last attempt allowed failed: nothing more, however long ago.
    Remediation.objects.filter(pk=second.pk).update(
        status="failed", finished_at=timezone.now() - timedelta(seconds=601)
    )
    assert remediation.sweep() == 1
    third = ticket.remediations.get(attempt_number=3)
    Remediation.objects.filter(pk=third.pk).update(
        status="failed", finished_at=timezone.now() - timedelta(hours=2)
    )
    assert remediation.sweep() == 0
    assert ticket.remediations.count() == 3


def test_the_sweep_leaves_failures_no_attempt_can_follow():
    """A resolved ticket, or a policy switched off, gets no next attempt from the sweep."""
    policy = make_policy(action="playbook", mode="approval", max_attempts=3, backoff_seconds=60)
    resolved, switched_off = make_ticket(status="resolved"), make_ticket()
    for ticket in (resolved, switched_off):
        Remediation.objects.create(
            ticket=ticket,
            run_key=ticket.run_id,
            policy=policy,
            action="playbook",
            status="failed",
            finished_at=timezone.now() - timedelta(seconds=120),
        )
    assert [
        r.ticket_id
        for r in Remediation.objects.retry_due(
            timezone.now(), remediation.RETRY_CATCH_UP, timedelta(seconds=60)
        )
    ] == [switched_off.pk]
    RemediationPolicy.objects.filter(pk=policy.pk).update(enabled=False)
    assert remediation.sweep() == 0
    assert Remediation.objects.count() == 2


def test_a_long_overdue_retry_is_not_raised_from_the_dead():
    """A failure whose next attempt was due more than a day ago is history, not work."""
    make_policy(action="playbook", mode="approval", max_attempts=2, backoff_seconds=60)
    ticket = make_ticket()
    first = proposed(ticket.pk)
    Remediation.objects.filter(pk=first.pk).update(
        status="failed",
        finished_at=timezone.now() - remediation.RETRY_CATCH_UP - timedelta(hours=1),
    )
    assert remediation.sweep() == 0
    assert ticket.remediations.count() == 1


def test_default_policy_ships_auto_for_transient_and_never_for_deterministic(migration_data):
    # The data migration's rows (the autouse fixture removed them; migration_data restores).
    from importlib import import_module

    defaults = import_module("integrations.migrations.0009_default_remediation_policies")
    for fields in defaults.POLICIES:
        RemediationPolicy.objects.get_or_create(name=fields["name"], defaults=fields)

    throttled = make_ticket(error_message="ErrorCode=2200 Too Many Requests (429): throttled")
    assert proposed(throttled.pk).status == "running"
    lost = make_ticket(
        source="databricks",
        error_type="ResourceExhaustion",
        error_message="org.apache.spark.scheduler.ExecutorLostFailure (executor 3 exited)",
    )
    found = proposed(lost.pk)
    assert found.status == "running" and found.action == "databricks_repair"
    auth = make_ticket(error_type="AuthenticationError", error_message="connection reset; 401")
    found = proposed(auth.pk)
    assert found.status == "skipped" and "Deterministic" in found.reason
    assert remediation.propose(make_ticket(error_message="KeyError: 'amount'").pk) is None


READ_TIMEOUTS = [
    (
        "adf",
        "adf_rerun",
        "requests.exceptions.ReadTimeout: HTTPSConnectionPool(host='api.example.com', "
        "port=443): Read timed out. (read timeout=30)",
    ),
    (
        "airflow",
        "airflow_clear",
        "urllib3.exceptions.ReadTimeoutError: HTTPConnectionPool(host='10.0.0.4', port=8080)",
    ),
    (
        "databricks",
        "databricks_repair",
        "java.net.SocketTimeoutException: Read timed out",
    ),
]


@pytest.mark.parametrize(("source", "action", "message"), READ_TIMEOUTS)
def test_default_policies_take_a_read_timeout_as_transient(migration_data, source, action, message):
    """A read that timed out (requests', urllib3's and Java's wordings) is a transient network
    failure: the shipped policies did not name it, so such a failure got no rerun."""
    from importlib import import_module

    from django.apps import apps

    defaults = import_module("integrations.migrations.0009_default_remediation_policies")
    for fields in defaults.POLICIES:
        RemediationPolicy.objects.get_or_create(name=fields["name"], defaults=fields)
    ticket = make_ticket(source=source, error_type="TimeoutError", error_message=message)
    assert remediation.propose(ticket.pk) is None  # as 0009 shipped them

    import_module("integrations.migrations.0027_default_policies_read_timeouts").add_read_timeouts(
        apps, None
    )

    found = proposed(ticket.pk)
    assert found.action == action and found.status == "running"
    assert found.policy is not None and "transient" in found.policy.name.lower()


def test_read_timeouts_are_not_added_to_a_default_policy_an_admin_narrowed(migration_data):
    from importlib import import_module

    from django.apps import apps

    defaults = import_module("integrations.migrations.0009_default_remediation_policies")
    for fields in defaults.POLICIES:
        RemediationPolicy.objects.get_or_create(name=fields["name"], defaults=fields)
    narrowed = RemediationPolicy.objects.get(name__startswith="Transient Airflow failures")
    narrowed.signals = ["connection reset"]
    narrowed.save()
    migration = import_module("integrations.migrations.0027_default_policies_read_timeouts")

    migration.add_read_timeouts(apps, None)
    migration.add_read_timeouts(apps, None)  # once only, however often it runs

    narrowed.refresh_from_db()
    assert narrowed.signals == ["connection reset"]
    adf = RemediationPolicy.objects.get(name__startswith="Transient ADF failures")
    assert adf.signals[-2:] == ["read timed out", "readtimeout"]
    assert adf.signals.count("readtimeout") == 1
    migration.remove_read_timeouts(apps, None)
    adf.refresh_from_db()
    assert "read timed out" not in adf.signals and "readtimeout" not in adf.signals


def test_a_rerun_of_what_data_factory_calls_a_user_error_says_why_it_is_proposed(
    migration_data, webhook_client
):
    """Data Factory reports a refused connection as a UserError: the rule-based RCA said a
    rerun without a change would likely fail again, while the shipped policy proposed a rerun
    for it (its message names "connection refused"), and nothing said why: two contradictory
    things on one ticket. The proposal now says why it is made despite the RCA."""
    from importlib import import_module

    from integrations import processing
    from integrations.models import WebhookDelivery
    from tests.conftest import local_payload

    defaults = import_module("integrations.migrations.0009_default_remediation_policies")
    for fields in defaults.POLICIES:
        RemediationPolicy.objects.get_or_create(name=fields["name"], defaults=fields)
    body = local_payload("adf_failure.json")
    body.update(
        run_id=f"run-{uuid.uuid4().hex[:8]}",
        error_message="Operation on target Lookup_Orders failed: connection refused",
        failure_type="UserError",
    )
    answer = webhook_client("/webhooks/adf/", body).json()
    processing.process_delivery(WebhookDelivery.objects.get(tracking_id=answer["tracking_id"]).pk)

    ticket = Ticket.objects.get(pk=answer["ticket_id"])
    assert ticket.rca_source == "rules"
    assert "rerunning without a change will likely fail again" in ticket.rca_result
    pending = Remediation.objects.get(ticket=ticket)
    assert pending.action == "adf_rerun" and pending.status == "awaiting_approval"
    assert pending.reason == (
        "policy 'Transient ADF failures: rerun from the failed activity', confidence "
        f"{ticket.confidence:.2f}: needs approval; Data Factory reports a user error (the RCA: "
        "a rerun without a change will likely fail again), proposed anyway as its error names "
        "'connection refused', one of the policy's signals: a rerun helps only if that cause "
        "has passed"
    )


USER_ERROR_RCA = (
    "The connection was refused. Data Factory reports a user error, so rerunning without a "
    "change will likely fail again."
)
BECAUSE_OF_THE_SIGNAL = (
    "Data Factory reports a user error (the RCA: a rerun without a change will likely fail "
    "again), {done} as its error names 'connection refused', one of the policy's signals: a "
    "rerun helps only if that cause has passed"
)


def test_a_dry_run_rerun_of_a_user_error_says_why_it_would_be_proposed():
    """A policy in dry run records what it would have done, before someone turns it on: that
    reason said nothing of the RCA's "will likely fail again", which the proposal says."""
    policy = make_policy(
        name="reruns", mode="approval", dry_run=True, signals=["connection refused"]
    )
    ticket = make_ticket(
        error_message="Operation on target Lookup failed: connection refused",
        rca_result=USER_ERROR_RCA,
    )

    found = proposed(ticket.pk)

    assert (found.status, found.dry_run) == ("skipped", True)
    assert found.reason == (
        "dry run: would have asked 'Rerun the ADF pipeline from the failed activity' "
        f"(policy '{policy.name}', confidence 0.90: needs approval); "
        + BECAUSE_OF_THE_SIGNAL.format(done="would be proposed anyway")
    )


def test_a_held_rerun_of_a_user_error_asked_for_on_release_says_why():
    """An automatic rerun held behind an incident whose policy now asks for approval: its
    reason is written again on release, and kept saying why a rerun is asked for despite the
    RCA."""
    policy = make_policy(name="reruns", signals=["connection refused"])
    incident = Incident.objects.create(
        id=new_incident_id(), group_key="linked-service:sql", culprit="linked-service:sql"
    )
    ticket = make_ticket(
        error_message="Operation on target Lookup failed: connection refused",
        rca_result=USER_ERROR_RCA,
        incident=incident,
    )
    held = proposed(ticket.pk)
    assert held.status == "held"
    RemediationPolicy.objects.filter(pk=policy.pk).update(mode="approval")
    Incident.objects.filter(pk=incident.pk).update(recovered_count=1)

    remediation.release_held([ticket.pk])

    held.refresh_from_db()
    assert held.status == "awaiting_approval"
    assert held.reason == (
        "policy 'reruns', confidence 0.90: needs approval (released from its hold); "
        + BECAUSE_OF_THE_SIGNAL.format(done="asked for anyway")
    )


@pytest.mark.parametrize(
    "state_message",
    [
        # runs/get's state message as Databricks writes it: termination codes in upper snake case
        "Cluster 0923-164208-meows279 is in unexpected state Terminated: "
        "CLOUD_PROVIDER_LAUNCH_FAILURE(CLOUD_FAILURE): azure_error_code:AllocationFailed",
        "Cluster 0923-164208-meows279 was terminated. Reason: DRIVER_UNREACHABLE (SERVICE_FAULT)",
    ],
)
def test_default_databricks_repair_matches_termination_codes(migration_data, state_message):
    from importlib import import_module

    defaults = import_module("integrations.migrations.0009_default_remediation_policies")
    for fields in defaults.POLICIES:
        RemediationPolicy.objects.get_or_create(name=fields["name"], defaults=fields)

    ticket = make_ticket(
        source="databricks", error_type="ExternalServiceError", error_message=state_message
    )
    found = proposed(ticket.pk)

    assert found is not None and found.action == "databricks_repair"


# --- approval ------------------------------------------------------------------------------------


def _responder(name: str = "daan", role: str = "responder") -> User:
    """A user with the role, linked to the Slack member id U<NAME> (secB's SlackIdentity)."""
    user = User.objects.create_user(name)
    user.groups.add(Group.objects.get_or_create(name=role)[0])
    SlackIdentity.objects.create(slack_user_id=f"U{name.upper()}", user=user)
    return user


def _slack_click(
    ticket_id: str, action_id: str, name: str, remediation_id: int | str | None = None
) -> dict:
    """A signed click by the Slack member U<NAME> on the Approve / Decline buttons of the
    ticket's alert (block `rca-remediation:<ticket>`), deciding `remediation_id` (by default
    the one awaiting approval)."""
    if remediation_id is None:
        remediation_id = Remediation.objects.get(ticket_id=ticket_id, status="awaiting_approval").pk
    payload = {
        "type": "block_actions",
        "user": {"id": f"U{name.upper()}", "username": name, "name": name},
        "container": {"type": "message", "message_ts": "1.0", "channel_id": "C0ALERTS001"},
        "actions": [
            {
                "action_id": action_id,
                "block_id": f"rca-remediation:{ticket_id}",
                "value": str(remediation_id),
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    timestamp = str(int(time.time()))
    signature = SignatureVerifier(SLACK_SECRET).generate_signature(timestamp=timestamp, body=body)
    response = Client().post(
        "/webhooks/slack/actions/",
        data=body,
        content_type="application/x-www-form-urlencoded",
        HTTP_X_SLACK_REQUEST_TIMESTAMP=timestamp,
        HTTP_X_SLACK_SIGNATURE=signature,
    )
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def slack_signed(settings):
    settings.SLACK_SIGNING_SECRET = SLACK_SECRET


def test_awaiting_approval_shows_approve_and_decline_buttons_on_the_alert():
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    remediation.propose(ticket.pk)
    _, blocks = slack_alert(Ticket.objects.get(pk=ticket.pk))
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    ids = {b["action_id"] for b in buttons}
    assert {SLACK_APPROVE_ACTION, SLACK_DECLINE_ACTION} <= ids
    pending = Remediation.objects.get(ticket=ticket)
    deciding = [
        b for b in buttons if b["action_id"] in (SLACK_APPROVE_ACTION, SLACK_DECLINE_ACTION)
    ]
    assert {b["value"] for b in deciding} == {str(pending.pk)}
    block = next(b for b in blocks if b["type"] == "actions" and deciding[0] in b["elements"])
    assert block["block_id"] == f"rca-remediation:{ticket.pk}"
    assert any("Awaiting approval" in json.dumps(b) for b in blocks)


def test_slack_approve_by_a_responder_starts_it_and_is_audited(slack_signed):
    _responder("daan")
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = proposed(ticket.pk)

    result = _slack_click(ticket.pk, SLACK_APPROVE_ACTION, "daan")

    assert result["result"] == [f"remediation {pending.pk} approved by daan"]
    pending.refresh_from_db()
    assert pending.status == "running"
    assert pending.decided_by == "daan" and pending.decided_via == "slack"
    assert pending.decided_at is not None
    entry = AuditLog.objects.get(ticket=ticket, action="remediation approved")
    assert entry.actor_kind == "slack" and entry.actor_name == "daan"
    assert OutboundDelivery.objects.filter(ticket=ticket, action="playbook").exists()


def test_a_slack_approval_under_a_policy_switched_off_since_runs_nothing(slack_signed):
    """The policy was disabled after the proposal: the click approves nothing and the clicker
    is told why. Switched to dry run instead, the click records what would have run, and the
    clicker is told nothing was run."""
    _responder("daan")
    make_policy(name="slack-policy", action="playbook", mode="approval")
    ticket = make_ticket()
    pending = proposed(ticket.pk)
    RemediationPolicy.objects.update(enabled=False)

    result = _slack_click(ticket.pk, SLACK_APPROVE_ACTION, "daan")

    why = f"remediation {pending.pk} was not approved: its policy 'slack-policy' is disabled"
    assert result["result"] == [f"no change: {why}"]
    pending.refresh_from_db()
    assert pending.status == "awaiting_approval"

    RemediationPolicy.objects.update(enabled=True, dry_run=True)
    result = _slack_click(ticket.pk, SLACK_APPROVE_ACTION, "daan")

    assert result["result"] == [f"remediation {pending.pk} approved by daan as a dry run"]
    pending.refresh_from_db()
    assert (pending.status, pending.dry_run) == ("skipped", True)
    assert pending.reason == (
        "dry run: would have run 'Call the playbook (Logic App)' (policy 'slack-policy'; "
        "approved by daan via slack)"
    )
    assert not OutboundDelivery.objects.filter(ticket=ticket, target="playbook").exists()


def test_an_approved_remediation_says_who_approved_it_not_that_it_needs_approval(slack_signed):
    """The alert, the ticket page and the API show the running remediation's reason: once
    approved it is the approval, not the proposal's "needs approval"."""
    _responder("daan")
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = proposed(ticket.pk)
    assert pending.reason.endswith("needs approval")

    _slack_click(ticket.pk, SLACK_APPROVE_ACTION, "daan")

    pending.refresh_from_db()
    assert pending.status == "running" and pending.reason == "approved by daan via slack"
    _, blocks = slack_alert(Ticket.objects.get(pk=ticket.pk))
    line = next(b["text"]["text"] for b in blocks if "*Remediation*" in json.dumps(b))
    assert line.endswith("· Running (approved by daan via slack)")


def test_slack_approval_needs_the_responder_role(slack_signed):
    _responder("viewer", role="viewer")
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = proposed(ticket.pk)

    result = _slack_click(ticket.pk, SLACK_APPROVE_ACTION, "viewer")
    assert result["result"] == ["not allowed: your account does not have the responder role"]
    result = _slack_click(ticket.pk, SLACK_APPROVE_ACTION, "nobody")
    assert result["result"][0].startswith("not allowed")
    pending.refresh_from_db()
    assert pending.status == "awaiting_approval"


def test_slack_decline(slack_signed):
    _responder("maria")
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = proposed(ticket.pk)
    _slack_click(ticket.pk, SLACK_DECLINE_ACTION, "maria")
    pending.refresh_from_db()
    assert pending.status == "declined" and pending.decided_by == "maria"
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "declined"
    assert not OutboundDelivery.objects.filter(ticket=ticket, action="playbook").exists()


def test_slack_buttons_of_an_earlier_remediation_decide_nothing(slack_signed):
    """The first remediation was approved and failed; the second awaits approval. A click on
    the first alert's buttons names the first: refused, the second still waits."""
    _responder("daan")
    make_policy(action="playbook", mode="approval", backoff_seconds=0)
    ticket = make_ticket()
    first = proposed(ticket.pk)
    remediation.approve(first.pk, Actor.for_user(_responder("ops")), via="admin")
    remediation.finish(first.pk, succeeded=False, detail="the playbook failed")
    second = proposed(ticket.pk)
    assert second.status == "awaiting_approval" and second.pk != first.pk

    result = _slack_click(ticket.pk, SLACK_APPROVE_ACTION, "daan", remediation_id=first.pk)

    assert result["result"] == [
        f"no change: remediation {first.pk} is failed, not awaiting approval"
    ]
    second.refresh_from_db()
    assert second.status == "awaiting_approval" and second.decided_by == ""
    result = _slack_click(ticket.pk, SLACK_DECLINE_ACTION, "daan", remediation_id=second.pk)
    assert result["result"] == [f"remediation {second.pk} declined by daan"]


def test_slack_approval_after_expiry_is_refused_and_the_remediation_expires(slack_signed):
    _responder("daan")
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = proposed(ticket.pk)
    Remediation.objects.filter(pk=pending.pk).update(expires_at=timezone.now())

    result = _slack_click(ticket.pk, SLACK_APPROVE_ACTION, "daan")

    assert result["result"] == [f"no change: the approval of remediation {pending.pk} has expired"]
    pending.refresh_from_db()
    assert pending.status == "expired" and pending.decided_by == ""
    assert not OutboundDelivery.objects.filter(ticket=ticket, action="playbook").exists()


def test_slack_button_naming_another_tickets_remediation_is_refused(slack_signed):
    _responder("daan")
    make_policy(action="playbook", mode="approval")
    mine, other = make_ticket(), make_ticket()
    proposed(mine.pk)
    others = proposed(other.pk)

    result = _slack_click(mine.pk, SLACK_APPROVE_ACTION, "daan", remediation_id=others.pk)

    assert result["result"] == [f"no change: remediation {others.pk} is not for ticket {mine.pk}"]
    assert Remediation.objects.get(pk=others.pk).status == "awaiting_approval"
    # An alert posted before the buttons named their remediation: the block named it, the
    # buttons the ticket.
    result = _slack_click(str(others.pk), SLACK_APPROVE_ACTION, "daan", remediation_id=mine.pk)
    assert result["result"] == [
        "no change: this button is from an older alert; decide on the ticket's page"
    ]
    result = _slack_click(mine.pk, SLACK_APPROVE_ACTION, "daan", remediation_id=10**9)
    assert result["result"] == [f"no change: there is no remediation {10**9}"]
    assert Remediation.objects.get(ticket=mine).status == "awaiting_approval"


@pytest.mark.parametrize("value", ["²", "1²", "9" * 40, "abc"])
def test_slack_button_with_a_malformed_remediation_id_is_refused_like_an_older_alert(
    slack_signed, value
):
    """`str.isdigit` takes "²" (which `int` refuses) and any number of digits (a bigint does
    not): each was a 500."""
    _responder("daan")
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    proposed(ticket.pk)

    result = _slack_click(ticket.pk, SLACK_APPROVE_ACTION, "daan", remediation_id=value)

    assert result["result"] == [
        "no change: this button is from an older alert; decide on the ticket's page"
    ]
    assert Remediation.objects.get(ticket=ticket).status == "awaiting_approval"


def _retry_buttons(ticket: Ticket) -> list[str]:
    """The values of the Retry buttons on the ticket's alert as it would be posted now."""
    _, blocks = slack_alert(Ticket.objects.get(pk=ticket.pk))
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    return [b["value"] for b in buttons if b["action_id"] == SLACK_RETRY_ACTION]


def _last_attempt_refused(ticket: Ticket) -> Remediation:
    """The ticket's first playbook call failed, and its next one was refused for our
    credentials: the last attempt at its run."""
    first = proposed(ticket.pk)
    remediation.finish(first.pk, succeeded=False, detail="the playbook failed")
    assert _retry_buttons(ticket) == []  # the policy's next attempt follows it
    Remediation.objects.filter(pk=first.pk).update(finished_at=timezone.now() - timedelta(hours=1))
    return refused_for_our_credentials(ticket.pk)


def test_a_failed_last_attempt_offers_retry_on_its_slack_alert(slack_signed):
    """The alert of a last attempt people may retry has a Retry button naming it; a
    responder's click retries it (a viewer's does not), and the button of the alert as it
    was then retries nothing more."""
    _responder("daan")
    _responder("viewer", role="viewer")
    make_policy(action="playbook", mode="auto", auto_min_confidence=0.0, max_attempts=3)
    ticket = make_ticket()
    last = _last_attempt_refused(ticket)
    assert _retry_buttons(ticket) == [str(last.pk)]

    result = _slack_click(ticket.pk, SLACK_RETRY_ACTION, "viewer", remediation_id=last.pk)
    assert result["result"] == ["not allowed: your account does not have the responder role"]
    result = _slack_click(ticket.pk, SLACK_RETRY_ACTION, "daan", remediation_id=last.pk)

    assert result["result"] == [f"remediation {last.pk} retried by daan"]
    again = Remediation.objects.get(ticket=ticket, attempt_number=3)
    assert (again.status, again.decided_by, again.decided_via) == ("running", "daan", "slack")
    entry = AuditLog.objects.get(ticket=ticket, action="remediation retried")
    assert entry.actor_kind == "slack" and entry.actor_name == "daan"
    assert _retry_buttons(ticket) == []
    result = _slack_click(ticket.pk, SLACK_RETRY_ACTION, "daan", remediation_id=last.pk)
    assert result["result"] == [
        f"no change: remediation {last.pk} was not retried: remediation {again.pk} of the "
        "ticket came after it"
    ]
    assert Remediation.objects.filter(ticket=ticket).count() == 3


def test_a_slack_retry_under_a_policy_in_dry_run_runs_nothing(slack_signed):
    _responder("daan")
    make_policy(action="playbook", mode="auto", auto_min_confidence=0.0, max_attempts=3)
    ticket = make_ticket()
    last = _last_attempt_refused(ticket)
    RemediationPolicy.objects.update(dry_run=True)

    result = _slack_click(ticket.pk, SLACK_RETRY_ACTION, "daan", remediation_id=last.pk)

    assert result["result"] == [f"remediation {last.pk} retried by daan as a dry run"]
    dry = Remediation.objects.get(ticket=ticket, attempt_number=3)
    assert dry.status == "skipped" and dry.reason.startswith("dry run: would have run")
    assert not OutboundDelivery.objects.filter(
        ticket=ticket, payload__remediation_id=dry.pk
    ).exists()
    assert _retry_buttons(ticket) == [str(last.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_refused_slack_decision_is_explained_to_the_clicker(celery_worker, settings):
    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN = slack.token
        settings.SLACK_BASE_URL = slack.base_url
        settings.SLACK_SIGNING_SECRET = SLACK_SECRET
        slack.add_user("UDAAN", name="daan")
        _responder("daan")
        make_policy(action="playbook", mode="approval")
        ticket = make_ticket()
        pending = proposed(ticket.pk)
        remediation.decline(pending.pk, Actor.for_user(_responder("ops")), via="admin")

        _slack_click(ticket.pk, SLACK_APPROVE_ACTION, "daan", remediation_id=pending.pk)

        # (Earlier tests' answers may still wait on the broker: this one is looked for.)
        text = f"Nothing was changed: remediation {pending.pk} is declined, not awaiting approval."
        told = wait_for(lambda: [m for m in slack.ephemeral if m["text"] == text])
        assert (told[0]["channel"], told[0]["user"]) == ("C0ALERTS001", "UDAAN")


def test_an_approval_expires(settings):
    settings.REMEDIATION_APPROVAL_SECONDS = 60
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = proposed(ticket.pk)
    assert pending.expires_at is not None
    assert pending.expires_at - timezone.now() <= timedelta(seconds=60)

    assert remediation.sweep(now=timezone.now()) == 0
    Remediation.objects.filter(pk=pending.pk).update(expires_at=timezone.now())
    with pytest.raises(remediation.RemediationError, match="expired"):
        remediation.approve(pending.pk, Actor.for_user(_responder()), via="admin")

    pending.refresh_from_db()
    assert pending.status == "expired"
    assert Ticket.objects.get(pk=ticket.pk).remediation_status == "expired"


def test_sweep_expires_what_nobody_answered(settings):
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = proposed(ticket.pk)
    Remediation.objects.filter(pk=pending.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert remediation.sweep() == 1
    assert Remediation.objects.get(pk=pending.pk).status == "expired"


def test_admin_approve_action(client):
    admin = User.objects.create_superuser("boss", password="pw-for-tests-only")
    client.force_login(admin)
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket()
    pending = proposed(ticket.pk)
    response = client.post(
        "/admin/integrations/remediation/",
        {"action": "approve", "_selected_action": [pending.pk]},
    )
    assert response.status_code == 302
    pending.refresh_from_db()
    assert pending.status == "running" and pending.decided_via == "admin"
    assert pending.decided_by == "boss"


# --- outcome in Slack and JIRA --------------------------------------------------------------------


def _remediated_on_its_page(
    settings,
    jira: FakeJira,
    slack: FakeSlack,
    *,
    succeeded: bool,
    detail: str,
    resolved_first_by: str = "",
) -> Ticket:
    """A ticket paged in JIRA and Slack whose approved playbook remediation ended, its
    follow-ups delivered. `resolved_first_by`: a responder of that name resolved the ticket
    (on the dashboard) while the remediation ran, before it ended."""
    settings.JIRA_URL, settings.JIRA_USER = jira.url, jira.user
    settings.JIRA_API_TOKEN = jira.token
    settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
    for name in ("jira", "slack"):
        CircuitBreaker(name).reset()
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket(itsm_ticket_id="", slack_ts="", slack_channel="")
    fanout.schedule_initial(ticket.pk)
    for row in OutboundDelivery.objects.filter(ticket=ticket):
        fanout.deliver(row.pk)
    pending = proposed(ticket.pk)
    remediation.approve(pending.pk, Actor.for_user(_responder()), via="admin")
    if resolved_first_by:
        person = Actor.for_user(_responder(resolved_first_by), via="dashboard")
        lifecycle.resolve(ticket.pk, person, note="restarted the gateway by hand")
    remediation.finish(pending.pk, succeeded=succeeded, detail=detail)
    for row in OutboundDelivery.objects.filter(ticket=ticket, status="pending"):
        fanout.deliver(row.pk)
    return ticket


def test_a_failed_remediation_says_so_in_slack_and_jira(settings):
    with FakeJira() as jira, FakeSlack() as slack:
        ticket = _remediated_on_its_page(
            settings, jira, slack, succeeded=False, detail="rerun failed: still throttled"
        )

        ticket.refresh_from_db()
        thread = slack.thread(ticket.slack_channel, ticket.slack_ts)
        assert any("still throttled" in m["text"] for m in thread)
        comments = jira.issues[ticket.itsm_ticket_id]["comments"]
        assert any("remediation failed" in str(c) for c in comments)
        assert ticket.status == "open" and ticket.remediation_status == "failed"


def test_a_remediation_that_resolves_its_ticket_tells_no_fix_beside_its_success(settings):
    """The thread said "What fixed it: Rerun (remediation, ...)" right beside "remediation
    succeeded": the remediation's own line says what ran. The fix is still kept."""
    with FakeJira() as jira, FakeSlack() as slack:
        ticket = _remediated_on_its_page(
            settings, jira, slack, succeeded=True, detail="the rerun succeeded"
        )

        ticket.refresh_from_db()
        assert ticket.status == "resolved"
        texts = [m["text"] for m in slack.thread(ticket.slack_channel, ticket.slack_ts)]
        comments = [str(c) for c in jira.issues[ticket.itsm_ticket_id]["comments"]]
        assert any("remediation succeeded" in t for t in texts)
        assert any("resolve" in t for t in texts)
        assert any("resolved" in c for c in comments)
        assert not [t for t in texts + comments if "fixed it" in t]
        fix = ticket.resolutions.get()
        assert fix.fix == "Call the playbook (Logic App) (remediation, approved by daan)"


def test_a_remediation_that_resolves_its_ticket_says_so_once_in_slack_and_jira(settings):
    """One success was told twice: a "resolve" line beside the "remediation succeeded" line
    in the Slack thread, and two JIRA comments ("resolved the ticket", "reported that the
    remediation succeeded") quoting one reason. Now one line and one comment say both: what
    succeeded, its reason, and that the ticket is resolved; the issue still moves to Done."""
    with FakeJira() as jira, FakeSlack() as slack:
        ticket = _remediated_on_its_page(
            settings, jira, slack, succeeded=True, detail="the rerun succeeded"
        )

        ticket.refresh_from_db()
        pending = Remediation.objects.get(ticket=ticket)
        who = f"remediation playbook (id {pending.pk})"
        texts = [m["text"] for m in slack.thread(ticket.slack_channel, ticket.slack_ts)]
        after_approval = texts[texts.index(next(t for t in texts if "approved" in t)) + 1 :]
        assert after_approval == [
            f"{who} — remediation succeeded (via remediation): the rerun succeeded; the ticket "
            "is resolved"
        ]
        comments = [c["body"] for c in jira.issues[ticket.itsm_ticket_id]["comments"]]
        told = [c for c in comments if c.startswith(who)]
        assert told == [
            f"{who} reported that the remediation succeeded in the RCA service.\n"
            "{noformat}\nthe rerun succeeded; the ticket is resolved\n{noformat}"
        ]
        assert jira.issues[ticket.itsm_ticket_id]["status"] == "Done"
        assert ticket.status == "resolved" and ticket.resolved_by == who
        alert = slack.messages[(ticket.slack_channel, ticket.slack_ts)]
        assert "resolved" in json.dumps(alert).lower()


def test_a_remediation_succeeding_after_people_resolved_tells_their_resolve_and_claims_none(
    settings,
):
    """People resolved the ticket while its remediation ran: their resolve is told (a Slack
    line, a JIRA comment: it is no remediation's, `told_with_its_success` leaves it), and the
    remediation's success, which resolved nothing, does not say it resolved the ticket."""
    with FakeJira() as jira, FakeSlack() as slack:
        ticket = _remediated_on_its_page(
            settings,
            jira,
            slack,
            succeeded=True,
            detail="the rerun succeeded",
            resolved_first_by="raj",
        )

        ticket.refresh_from_db()
        pending = Remediation.objects.get(ticket=ticket)
        assert pending.status == "succeeded"
        who = f"remediation playbook (id {pending.pk})"
        texts = [m["text"] for m in slack.thread(ticket.slack_channel, ticket.slack_ts)]
        after_approval = texts[texts.index(next(t for t in texts if "approved" in t)) + 1 :]
        assert [t.split(" — ")[0] for t in after_approval] == ["raj", who], after_approval
        assert after_approval[0] == "raj — resolve (via dashboard)"
        assert after_approval[1] == (
            f"{who} — remediation succeeded (via remediation): the rerun succeeded"
        )
        comments = [c["body"] for c in jira.issues[ticket.itsm_ticket_id]["comments"]]
        assert len([c for c in comments if c.startswith("raj ")]) == 1, comments
        told = [c for c in comments if c.startswith(who)]
        assert len(told) == 1 and "the ticket is resolved" not in told[0], told
        assert jira.issues[ticket.itsm_ticket_id]["status"] == "Done"
        assert ticket.status == "resolved" and ticket.resolved_by == "raj"


def test_a_decline_says_who_declined_it_once_in_the_slack_thread(settings, slack_signed):
    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
        CircuitBreaker("slack").reset()
        _responder("daan")
        make_policy(action="playbook", mode="approval")
        tickets = [make_ticket(slack_ts="", slack_channel="") for _ in range(2)]
        for ticket in tickets:
            fanout.schedule_initial(ticket.pk)
            for row in OutboundDelivery.objects.filter(ticket=ticket, target="slack"):
                fanout.deliver(row.pk)
            proposed(ticket.pk)
        _slack_click(tickets[0].pk, SLACK_DECLINE_ACTION, "daan")
        remediation.decline(
            Remediation.objects.get(ticket=tickets[1]).pk,
            Actor.for_user(User.objects.get(username="daan")),
            via="api",
            note="a deploy is running",
        )
        for row in OutboundDelivery.objects.filter(target="slack", status="pending"):
            fanout.deliver(row.pk)

        replies = []
        for ticket in tickets:
            ticket.refresh_from_db()
            replies.append(slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"])
        assert replies == [
            "daan — remediation declined (via slack)",
            "daan — remediation declined (via api): a deploy is running",
        ]
        # The remediation's reason keeps the whole decision.
        reasons = [Remediation.objects.get(ticket=t).reason for t in tickets]
        assert reasons == [
            "declined by daan via slack",
            "declined by daan via api: a deploy is running",
        ]


def _remediation_buttons(message: dict) -> list[str]:
    return [
        element["action_id"]
        for block in message.get("blocks") or []
        if block.get("type") == "actions"
        for element in block["elements"]
        if element["action_id"] in (SLACK_APPROVE_ACTION, SLACK_DECLINE_ACTION)
    ]


def test_an_approved_remediation_skipped_updates_its_slack_alert_and_says_why(settings):
    """Approved, but its run has an active remediation (another ticket's): the alert's
    Approve / Decline buttons go and its thread says why nothing ran (they stayed, offering a
    decision already made)."""
    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
        CircuitBreaker("slack").reset()
        make_policy(action="playbook", mode="approval")
        running = make_ticket()
        Remediation.objects.create(
            ticket=running, run_key=running.run_id, action="playbook", status="running"
        )
        ticket = make_ticket(slack_ts="", slack_channel="")
        fanout.schedule_initial(ticket.pk)
        for row in OutboundDelivery.objects.filter(ticket=ticket, target="slack"):
            fanout.deliver(row.pk)
        pending = proposed(ticket.pk)
        for row in OutboundDelivery.objects.filter(ticket=ticket, status="pending"):
            fanout.deliver(row.pk)
        ticket.refresh_from_db()
        assert _remediation_buttons(slack.messages[(ticket.slack_channel, ticket.slack_ts)]) == [
            SLACK_APPROVE_ACTION,
            SLACK_DECLINE_ACTION,
        ]
        Ticket.objects.filter(pk=ticket.pk).update(
            latest_run={"run_key": running.run_id, "entity": running.affected_entity}
        )

        remediation.approve(pending.pk, Actor.for_user(_responder()), via="api")
        for row in OutboundDelivery.objects.filter(ticket=ticket, status="pending"):
            fanout.deliver(row.pk)

        assert Remediation.objects.get(pk=pending.pk).status == "skipped"
        message = slack.messages[(ticket.slack_channel, ticket.slack_ts)]
        assert _remediation_buttons(message) == []
        assert "Skipped" in json.dumps(message["blocks"])
        # Told as the approval, naming who approved it, as a start or a hold is.
        assert slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"] == (
            f"daan — remediation approved (via api): remediation playbook (id {pending.pk}) "
            f"skipped: run {running.run_id} has an active remediation already"
        )


def test_an_approved_remediation_held_updates_its_slack_alert(settings):
    """Approved while a hold check holds its ticket (a member of an incident whose culprit is
    still failing): the alert shows it held, its Approve / Decline buttons gone, rather than
    still offering the decision made (a second click is told it is not awaiting approval)."""
    remediation.register_hold_check("test-held", lambda ticket: "its culprit is still failing")
    try:
        with FakeSlack() as slack:
            settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
            CircuitBreaker("slack").reset()
            make_policy(action="playbook", mode="approval")
            ticket = make_ticket(slack_ts="", slack_channel="")
            fanout.schedule_initial(ticket.pk)
            pending = proposed(ticket.pk)
            for row in OutboundDelivery.objects.filter(ticket=ticket, status="pending"):
                fanout.deliver(row.pk)
            ticket.refresh_from_db()
            message = slack.messages[(ticket.slack_channel, ticket.slack_ts)]
            assert _remediation_buttons(message) == [SLACK_APPROVE_ACTION, SLACK_DECLINE_ACTION]

            remediation.approve(pending.pk, Actor.for_user(_responder()), via="api")
            for row in OutboundDelivery.objects.filter(ticket=ticket, status="pending"):
                fanout.deliver(row.pk)

            assert Remediation.objects.get(pk=pending.pk).status == "held"
            message = slack.messages[(ticket.slack_channel, ticket.slack_ts)]
            assert _remediation_buttons(message) == []
            assert "Held behind an incident (its culprit is still failing)" in json.dumps(
                message["blocks"]
            )
            # The thread says who approved it, and that it is held.
            assert slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"] == (
                f"daan — remediation approved (via api): remediation playbook (id {pending.pk}) "
                "held: its culprit is still failing"
            )
    finally:
        remediation.unregister_hold_check("test-held")


def _approved_and_held_on_slack(settings, slack: FakeSlack) -> tuple[Ticket, Remediation]:
    """A ticket alerted in Slack whose playbook remediation daan approved via the API while a
    hold check held it."""
    settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
    CircuitBreaker("slack").reset()
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket(slack_ts="", slack_channel="")
    fanout.schedule_initial(ticket.pk)
    pending = proposed(ticket.pk)
    remediation.register_hold_check("test-held", lambda ticket: "its culprit is still failing")
    try:
        remediation.approve(pending.pk, Actor.for_user(_responder()), via="api")
    finally:
        remediation.unregister_hold_check("test-held")
    _deliver_pending_slack()
    ticket.refresh_from_db()
    assert Remediation.objects.get(pk=pending.pk).status == "held"
    return ticket, pending


def test_an_approved_remediation_skipped_once_held_names_who_approved_it(settings):
    """Approved, held, then its policy disabled: the thread's skip line said the policy
    skipped it and nothing of the approval, which the thread had told as what started it."""
    with FakeSlack() as slack:
        ticket, pending = _approved_and_held_on_slack(settings, slack)
        RemediationPolicy.objects.update(enabled=False)
        assert remediation.skip_switched_off([pending.pk]) == 1
        _deliver_pending_slack()

        off = f"its policy '{RemediationPolicy.objects.get().name}' is disabled"
        assert Remediation.objects.get(pk=pending.pk).reason == off
        said = slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"]
        assert said == f"remediation policy — remediation skipped (via system): {off} " + (
            "(approved by daan via api)"
        )


def test_an_approved_remediation_released_under_a_dry_run_names_who_approved_it(settings):
    """Approved, held, its policy switched to dry run, then released: recorded as what it
    would have run "released from its hold", where one approved under the dry run names who
    approved it."""
    with FakeSlack() as slack:
        ticket, pending = _approved_and_held_on_slack(settings, slack)
        RemediationPolicy.objects.update(dry_run=True)
        remediation.release_held([ticket.pk])
        _deliver_pending_slack()

        pending.refresh_from_db()
        name = RemediationPolicy.objects.get().name
        would = (
            "dry run: would have run 'Call the playbook (Logic App)' "
            f"(policy '{name}'; approved by daan via api; released from its hold)"
        )
        assert (pending.status, pending.dry_run, pending.reason) == ("skipped", True, would)
        said = slack.thread(ticket.slack_channel, ticket.slack_ts)[-1]["text"]
        assert said.endswith(f"remediation skipped (via system): {would}"), said


def test_a_decision_stands_when_the_ticket_is_proposed_again():
    make_policy(action="playbook", mode="never")
    ticket = make_ticket()
    assert proposed(ticket.pk).status == "skipped"
    assert remediation.propose(ticket.pk) is None
    assert Remediation.objects.filter(ticket=ticket).count() == 1


def _awaiting_approval_on_slack(settings, slack: FakeSlack) -> tuple[Ticket, Remediation, int]:
    """A ticket alerted in Slack whose playbook remediation awaits approval, and the number of
    lines its thread has then."""
    settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
    CircuitBreaker("slack").reset()
    make_policy(action="playbook", mode="approval")
    ticket = make_ticket(slack_ts="", slack_channel="")
    fanout.schedule_initial(ticket.pk)
    for row in OutboundDelivery.objects.filter(ticket=ticket, target="slack"):
        fanout.deliver(row.pk)
    pending = proposed(ticket.pk)
    for row in OutboundDelivery.objects.filter(ticket=ticket, status="pending"):
        fanout.deliver(row.pk)
    ticket.refresh_from_db()
    return ticket, pending, len(slack.thread(ticket.slack_channel, ticket.slack_ts))


def test_an_approval_says_who_approved_it_and_what_became_of_it_once_in_the_slack_thread(
    settings, slack_signed
):
    """A decline had its line in the thread, an approval none: people following the thread
    never learnt who approved the rerun nor that it started, until its "succeeded" or
    "failed". The approval's one line names who approved it, how, and that it started (with
    the note), and its end adds its own line, not a second approval."""
    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
        CircuitBreaker("slack").reset()
        _responder("ana")
        make_policy(action="playbook", mode="approval")
        tickets = [make_ticket(slack_ts="", slack_channel="") for _ in range(2)]
        pending = []
        for ticket in tickets:
            fanout.schedule_initial(ticket.pk)
            for row in OutboundDelivery.objects.filter(ticket=ticket, target="slack"):
                fanout.deliver(row.pk)
            pending.append(proposed(ticket.pk))
            ticket.refresh_from_db()
        before = [len(slack.thread(t.slack_channel, t.slack_ts)) for t in tickets]
        _slack_click(tickets[0].pk, SLACK_APPROVE_ACTION, "ana")
        remediation.approve(
            pending[1].pk,
            Actor.for_user(User.objects.get(username="ana")),
            via="api",
            note="the deploy is over",
        )
        _deliver_pending_slack()
        remediation.finish(pending[0].pk, succeeded=False, detail="rerun failed: still throttled")
        _deliver_pending_slack()

        lines = [
            [m["text"] for m in slack.thread(t.slack_channel, t.slack_ts)[seen:]]
            for t, seen in zip(tickets, before, strict=True)
        ]
        first, second = pending[0].pk, pending[1].pk
        assert lines[0][0] == (
            f"ana — remediation approved (via slack): remediation playbook (id {first}) started"
        )
        assert lines[0][1:] == [
            f"remediation playbook (id {first}) — remediation failed (via remediation): "
            "rerun failed: still throttled"
        ]
        assert lines[1] == [
            f"ana — remediation approved (via api): remediation playbook (id {second}) started "
            "(note: the deploy is over)"
        ]
        assert Ticket.objects.get(pk=tickets[1].pk).remediation_status == "running"


def test_people_resolving_a_ticket_awaiting_approval_read_one_thread_line(
    settings, django_capture_on_commit_callbacks
):
    """The resolve skips the remediation awaiting approval: its thread line says so, and the
    skip adds no line of its own (the alert still shows it skipped, without its buttons)."""
    with FakeSlack() as slack:
        ticket, pending, before = _awaiting_approval_on_slack(settings, slack)

        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.resolve(ticket.pk, Actor.for_user(_responder("daan"), via="slack"))
        for row in OutboundDelivery.objects.filter(ticket=ticket, status="pending"):
            fanout.deliver(row.pk)

        assert Remediation.objects.get(pk=pending.pk).status == "skipped"
        lines = [m["text"] for m in slack.thread(ticket.slack_channel, ticket.slack_ts)[before:]]
        assert lines == ["daan — resolve (via slack); the pending remediation is skipped"]
        message = slack.messages[(ticket.slack_channel, ticket.slack_ts)]
        assert _remediation_buttons(message) == []
        assert "Skipped" in json.dumps(message["blocks"])


def test_a_resolve_with_no_remediation_pending_says_nothing_of_one(
    settings, django_capture_on_commit_callbacks
):
    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
        CircuitBreaker("slack").reset()
        make_policy(action="playbook", mode="approval")
        ticket = make_ticket(slack_ts="", slack_channel="")
        fanout.schedule_initial(ticket.pk)
        for row in OutboundDelivery.objects.filter(ticket=ticket, target="slack"):
            fanout.deliver(row.pk)
        pending = proposed(ticket.pk)
        remediation.decline(pending.pk, Actor.for_user(_responder("daan")), via="api")
        for row in OutboundDelivery.objects.filter(ticket=ticket, status="pending"):
            fanout.deliver(row.pk)
        ticket.refresh_from_db()

        with django_capture_on_commit_callbacks(execute=True):
            lifecycle.resolve(ticket.pk, Actor.for_user(User.objects.get(username="daan")))
        for row in OutboundDelivery.objects.filter(ticket=ticket, status="pending"):
            fanout.deliver(row.pk)

        thread = slack.thread(ticket.slack_channel, ticket.slack_ts)
        assert thread[-1]["text"] == "daan — resolve (via user)"


def test_an_approval_just_after_people_resolved_adds_no_second_skip_line(settings):
    """Approved the moment people resolved the ticket (their resolve committed, its skip of
    the remediation not run yet): the approval skips it, and the thread keeps the resolve's
    one line saying so, not a second "remediation skipped" one."""
    with FakeSlack() as slack:
        ticket, pending, before = _awaiting_approval_on_slack(settings, slack)
        daan, anna = _responder("daan"), _responder("anna")

        # Committed; its on-commit skip (`close_remediation_loop`) has not run yet.
        lifecycle.resolve(ticket.pk, Actor.for_user(daan, via="slack"))
        with pytest.raises(remediation.RemediationError, match="the ticket is resolved"):
            remediation.approve(pending.pk, Actor.for_user(anna), via="slack")
        for row in OutboundDelivery.objects.filter(ticket=ticket, status="pending"):
            fanout.deliver(row.pk)

        assert Remediation.objects.get(pk=pending.pk).status == "skipped"
        lines = [m["text"] for m in slack.thread(ticket.slack_channel, ticket.slack_ts)[before:]]
        assert lines == ["daan — resolve (via slack); the pending remediation is skipped"]


def _member_without_its_own_alert(slack: FakeSlack) -> tuple[Ticket, Incident]:
    """A ticket that joined its incident in its grace delay: its own alert skipped it, the
    incident's Slack message is out."""
    lead = make_ticket(slack_ts="", slack_channel="")
    incident = Incident.objects.create(
        id=new_incident_id(), group_key="ir:shir-prod", culprit="ir:shir-prod", lead_ticket=lead
    )
    member = make_ticket(slack_ts="", slack_channel="", incident=incident)
    Ticket.objects.filter(pk=lead.pk).update(incident=incident)
    fanout.schedule_incident_change(incident.pk, "formed")
    fanout.schedule_initial(member.pk)
    _deliver_pending_slack()
    incident.refresh_from_db()
    assert incident.slack_ts and Ticket.objects.get(pk=member.pk).slack_ts == ""
    assert len(slack.top_level()) == 1
    return member, incident


def _deliver_pending_slack() -> None:
    for row in OutboundDelivery.objects.filter(target="slack", status="pending"):
        fanout.deliver(row.pk)


def test_a_member_without_its_own_alert_is_asked_to_approve_in_its_incidents_thread(
    settings, slack_signed
):
    """Its approval is asked for under the incident's message with the alert's buttons (a
    click decides it as one on the alert does), and the request shows the decision, its
    buttons gone. Released into awaiting approval, or expiring, it is told there alike."""
    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
        CircuitBreaker("slack").reset()
        _responder("daan")
        make_policy(action="playbook", mode="approval")
        member, incident = _member_without_its_own_alert(slack)

        pending = proposed(member.pk)
        _deliver_pending_slack()

        [asked] = slack.thread(incident.slack_channel, incident.slack_ts)
        assert _remediation_buttons(asked) == [SLACK_APPROVE_ACTION, SLACK_DECLINE_ACTION]
        actions = next(b for b in asked["blocks"] if b["type"] == "actions")
        assert actions["block_id"] == f"rca-remediation:{member.pk}"
        assert {e["value"] for e in actions["elements"]} == {str(pending.pk)}
        assert member.pk in asked["text"]

        result = _slack_click(member.pk, SLACK_APPROVE_ACTION, "daan")
        _deliver_pending_slack()

        assert result["result"] == [f"remediation {pending.pk} approved by daan"]
        [asked] = slack.thread(incident.slack_channel, incident.slack_ts)
        assert _remediation_buttons(asked) == []
        # Approved, it waits on its incident's culprit, as on an alert (its buttons gone).
        assert Remediation.objects.get(pk=pending.pk).status == "held"
        assert "Held behind an incident" in json.dumps(asked["blocks"])
        assert len(slack.top_level()) == 1


def test_a_members_held_remediation_released_into_approval_is_asked_for_in_the_thread(settings):
    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
        CircuitBreaker("slack").reset()
        policy = make_policy(action="playbook", mode="auto")
        member, incident = _member_without_its_own_alert(slack)
        held = proposed(member.pk)
        assert held.status == "held"
        _deliver_pending_slack()
        assert slack.thread(incident.slack_channel, incident.slack_ts) == []
        RemediationPolicy.objects.filter(pk=policy.pk).update(mode="approval")

        remediation.release_held([member.pk])
        _deliver_pending_slack()

        assert Remediation.objects.get(pk=held.pk).status == "awaiting_approval"
        [asked] = slack.thread(incident.slack_channel, incident.slack_ts)
        assert _remediation_buttons(asked) == [SLACK_APPROVE_ACTION, SLACK_DECLINE_ACTION]


def test_a_members_approval_expiring_updates_its_request_in_the_incidents_thread(settings):
    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
        CircuitBreaker("slack").reset()
        make_policy(action="playbook", mode="approval")
        member, incident = _member_without_its_own_alert(slack)
        pending = proposed(member.pk)
        _deliver_pending_slack()
        Remediation.objects.filter(pk=pending.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )

        assert remediation.sweep() == 1
        _deliver_pending_slack()

        [asked] = slack.thread(incident.slack_channel, incident.slack_ts)
        assert _remediation_buttons(asked) == []
        assert "Expired" in json.dumps(asked["blocks"])


def test_a_remediation_awaiting_approval_before_its_ticket_joined_an_incident_is_asked_for(
    settings,
):
    """Proposed as the ticket was analysed (its alert waiting out its grace delay), then the
    ticket joined an incident: its alert is skipped, so the incident's thread asks instead
    (the proposal's announcement found no incident to ask under)."""
    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
        CircuitBreaker("slack").reset()
        make_policy(action="playbook", mode="approval")
        member = make_ticket(slack_ts="", slack_channel="")
        fanout.schedule_initial(member.pk)
        pending = proposed(member.pk)
        assert pending.status == "awaiting_approval"
        lead = make_ticket(slack_ts="", slack_channel="")
        incident = Incident.objects.create(
            id=new_incident_id(), group_key="ir:shir-prod", culprit="ir:shir-prod", lead_ticket=lead
        )
        Ticket.objects.filter(pk__in=[lead.pk, member.pk]).update(incident=incident)
        fanout.schedule_incident_change(incident.pk, "formed")

        _deliver_pending_slack()
        _deliver_pending_slack()

        incident.refresh_from_db()
        assert Ticket.objects.get(pk=member.pk).slack_ts == ""
        [asked] = slack.thread(incident.slack_channel, incident.slack_ts)
        assert _remediation_buttons(asked) == [SLACK_APPROVE_ACTION, SLACK_DECLINE_ACTION]
        assert len(slack.top_level()) == 1


def test_a_members_request_in_the_incidents_thread_is_updated_after_it_was_detached(settings):
    """Asked for in the incident's thread, then taken out of the incident (its own alert
    offers the decision now): decided, the request in the thread loses its buttons too."""
    with FakeSlack() as slack:
        settings.SLACK_BOT_TOKEN, settings.SLACK_BASE_URL = slack.token, slack.base_url
        CircuitBreaker("slack").reset()
        make_policy(action="playbook", mode="approval")
        member, incident = _member_without_its_own_alert(slack)
        pending = proposed(member.pk)
        _deliver_pending_slack()
        [asked] = slack.thread(incident.slack_channel, incident.slack_ts)
        assert _remediation_buttons(asked) == [SLACK_APPROVE_ACTION, SLACK_DECLINE_ACTION]
        Incident.objects.filter(pk=incident.pk).update(member_count=2)
        incidents.detach(incident.pk, member.pk, Actor.system("test"))
        fanout.schedule_own_page(member.pk)
        _deliver_pending_slack()
        assert Ticket.objects.get(pk=member.pk).slack_ts

        remediation.decline(pending.pk, Actor.system("test"), via="api")
        _deliver_pending_slack()

        assert Remediation.objects.get(pk=pending.pk).status == "declined"
        [asked] = slack.thread(incident.slack_channel, incident.slack_ts)
        assert _remediation_buttons(asked) == []
        assert "Declined" in json.dumps(asked["blocks"])


def test_the_policy_list_saves_beside_a_policy_stored_with_its_thresholds_crossed():
    """A policy saved before the thresholds were compared may hold an approval threshold above
    its automatic one. The list's form edits neither (enabled, order, mode, dry run): the
    comparison keyed on a field it does not have made every save of a page showing that
    policy a 500 (ValueError), switching another policy off included."""
    admin = Client()
    admin.force_login(User.objects.create_superuser("root", "root@example.com", "pw-not-secret-1"))
    crossed = make_policy(name="a-crossed", order=1, auto_min_confidence=0.7)
    RemediationPolicy.objects.filter(pk=crossed.pk).update(approval_min_confidence=0.9)
    other = make_policy(name="b-other", order=2)
    rows = [crossed, other]
    form = {
        "form-TOTAL_FORMS": str(len(rows)),
        "form-INITIAL_FORMS": str(len(rows)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
        "_save": "Save",
    }
    for index, policy in enumerate(rows):
        form |= {
            f"form-{index}-id": str(policy.pk),
            f"form-{index}-order": str(policy.order),
            f"form-{index}-mode": policy.mode,
        }
        if policy is crossed:  # `other` is switched off: its box is left unticked
            form[f"form-{index}-enabled"] = "on"

    answer = admin.post("/admin/integrations/remediationpolicy/?o=1", form)

    assert answer.status_code == 302, answer.content[:500]
    other.refresh_from_db()
    crossed.refresh_from_db()
    assert not other.enabled and crossed.enabled
    # The policy's own page still names the crossed thresholds when it is saved there.
    changed = admin.post(
        f"/admin/integrations/remediationpolicy/{crossed.pk}/change/",
        _policy_form(name="a-crossed", auto_min_confidence="0.7", approval_min_confidence="0.9"),
    )
    errors = changed.context["adminform"].form.errors
    assert "The approval threshold must not be above" in " ".join(errors["approval_min_confidence"])
