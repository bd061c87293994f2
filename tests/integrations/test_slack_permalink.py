"""The Slack alert's permalink (`chat.getPermalink`): asked once after the alert is posted,
stored on the ticket, shown on its page and in the API; Slack refusing or failing that one call
fails nothing. A real Celery worker and the real slack-sdk client against the local Slack
(tests/fakes/slack_api.py)."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qs

import pytest
from django.db import transaction

from integrations.circuit import CircuitBreaker
from integrations.models import OutboundDelivery, OutboundStatus
from tests.api import jwt_client
from tests.conftest import wait_for
from tests.dashboard import make_user
from tests.fakes.slack_api import FakeSlack
from tests.integrations.test_fanout import (
    SLACK_SECRET,
    SLACK_USER_ID,
    post_failure,
    post_slack_click,
    settled,
    slack_responder,
)
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slack(settings):
    """Slack alone (JIRA and Blob not configured: their deliveries are skipped)."""
    with FakeSlack() as fake:
        settings.JIRA_URL = ""
        settings.AZURE_STORAGE_CONNECTION_STRING = ""
        settings.SLACK_BOT_TOKEN = fake.token
        settings.SLACK_BASE_URL = fake.base_url
        settings.SLACK_SIGNING_SECRET = SLACK_SECRET
        settings.SLACK_DEFAULT_CHANNEL = "#data-platform-alerts"
        settings.OUTBOUND_TIMEOUT_SECONDS = 2
        settings.OUTBOUND_BACKOFF_SECONDS = 0.05
        settings.OUTBOUND_BACKOFF_MAX_SECONDS = 0.4
        settings.CIRCUIT_FAILURE_THRESHOLD = 1
        settings.GEMINI_API_KEY = ""
        CircuitBreaker("slack").reset()
        yield fake


def alerted(slack: FakeSlack) -> Ticket:
    ticket_id = post_failure()["ticket_id"]
    post = OutboundDelivery.objects.filter(ticket_id=ticket_id, action="slack_post")
    wait_for(lambda: post.filter(status=OutboundStatus.SUCCEEDED).exists(), timeout=30)
    settled(ticket_id)
    return Ticket.objects.get(pk=ticket_id)


def test_the_alerts_permalink_is_asked_once_and_shown_on_the_page_and_in_the_api(
    celery_worker, slack, client
):
    ticket = alerted(slack)

    expected = (
        f"https://fake-workspace.slack.com/archives/{ticket.slack_channel}/"
        f"p{ticket.slack_ts.replace('.', '')}"
    )
    assert ticket.slack_permalink == expected
    asked = slack.api_requests("chat.getPermalink")
    assert len(asked) == 1
    assert parse_qs(asked[0].body) == {
        "channel": [ticket.slack_channel],
        "message_ts": [ticket.slack_ts],
    }
    viewer = make_user("vera", "viewer")
    detail = jwt_client(viewer).get(f"/api/v1/tickets/{ticket.pk}/").json()
    assert detail["slack_permalink"] == expected
    assert (detail["slack_channel"], detail["slack_ts"]) == (ticket.slack_channel, ticket.slack_ts)
    client.force_login(viewer)
    html = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f'href="{expected}"' in html

    # Later edits of the alert (a click's update and thread reply) do not ask again.
    slack_responder("daan")
    slack.add_user(SLACK_USER_ID, name="daan")
    assert post_slack_click(ticket.pk, "rca_acknowledge").status_code == 200
    settled(ticket.pk)
    assert len(slack.api_requests("chat.update")) >= 1
    assert len(slack.api_requests("chat.getPermalink")) == 1


def refuse_with_an_error(slack: FakeSlack) -> None:
    # Slack's answer for a message it no longer finds (or a token it refuses for this method).
    slack.fail(
        200, {"ok": False, "error": "message_not_found"}, times=None, path_contains="getPermalink"
    )


def answer_503(slack: FakeSlack) -> None:
    slack.fail(503, times=None, path_contains="getPermalink")


def throttle(slack: FakeSlack) -> None:
    slack.throttle(30, times=None, path_contains="getPermalink")


@pytest.mark.parametrize("fault", [refuse_with_an_error, answer_503, throttle])
def test_no_permalink_from_slack_fails_nothing_and_is_not_asked_again(
    celery_worker, slack, client, fault: Callable[[FakeSlack], None]
):
    fault(slack)

    ticket = alerted(slack)

    post = OutboundDelivery.objects.get(ticket_id=ticket.pk, action="slack_post")
    assert (post.status, post.attempts, post.last_error) == (OutboundStatus.SUCCEEDED, 1, "")
    assert ticket.slack_ts and ticket.slack_permalink == ""
    assert len(slack.api_requests("chat.postMessage")) == 1
    assert len(slack.api_requests("chat.getPermalink")) == 1
    # One failed permalink (with a circuit threshold of 1) opens no breaker: edits still go.
    assert CircuitBreaker("slack").state() == "closed"
    client.force_login(make_user("vera", "viewer"))
    html = client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f"{ticket.slack_channel} · ts {ticket.slack_ts}" in html
    assert "fake-workspace.slack.com" not in html


def test_a_slow_permalink_holds_no_lock_on_the_ticket(celery_worker, slack):
    """While Slack holds the permalink request (past the client's timeout), the ticket's row is
    not locked by the alert's delivery: a click changing the ticket then goes through at once
    instead of waiting for Slack (which gives a click 3 seconds)."""
    slack.stall(5, path_contains="getPermalink")
    ticket_id = post_failure()["ticket_id"]
    wait_for(lambda: slack.api_requests("chat.getPermalink"), timeout=30)

    with transaction.atomic():
        locked = Ticket.objects.select_for_update(nowait=True).filter(pk=ticket_id).exists()
    assert locked

    post = OutboundDelivery.objects.filter(ticket_id=ticket_id, action="slack_post")
    wait_for(lambda: post.filter(status=OutboundStatus.SUCCEEDED).exists(), timeout=30)
    assert Ticket.objects.get(pk=ticket_id).slack_permalink == ""
    slack.release_stalled()


def test_the_release_before_can_still_insert_tickets_after_the_upgrade():
    """It does not know `slack_permalink`: its INSERT names every column but that one, so the
    column keeps its blank default in the database (Django drops the default it added the
    column with), as a rolling upgrade needs while the old set still takes webhooks."""
    from django.db import connection

    from tests.api import make_ticket

    model = make_ticket()
    with connection.cursor() as cursor:
        known = [
            column.name
            for column in connection.introspection.get_table_description(cursor, "tickets_ticket")
            if column.name != "slack_permalink"
        ]
        fresh = {"id": f"{model.pk}-old", "run_id": f"{model.run_id}-old"}
        names = ", ".join(connection.ops.quote_name(name) for name in known)
        values = ", ".join(
            "%s" if name in fresh else connection.ops.quote_name(name) for name in known
        )
        cursor.execute(
            f"INSERT INTO tickets_ticket ({names}) SELECT {values} FROM tickets_ticket"
            " WHERE id = %s",
            [fresh[name] for name in known if name in fresh] + [model.pk],
        )

    assert Ticket.objects.get(pk=f"{model.pk}-old").slack_permalink == ""


def test_the_release_before_can_still_insert_incidents_after_the_upgrade():
    """Nor does it know the incident's `slack_permalink` (tickets/0056): its INSERT leaves the
    column out, which keeps its blank default in the database."""
    from django.db import connection

    from tickets.models import Incident, new_incident_id

    model = Incident.objects.create(id=new_incident_id(), group_key="db:sql-01", culprit="sql-01")
    with connection.cursor() as cursor:
        known = [
            column.name
            for column in connection.introspection.get_table_description(cursor, "tickets_incident")
            if column.name != "slack_permalink"
        ]
        names = ", ".join(connection.ops.quote_name(name) for name in known)
        values = ", ".join(
            "%s" if name == "id" else connection.ops.quote_name(name) for name in known
        )
        cursor.execute(
            f"INSERT INTO tickets_incident ({names}) SELECT {values} FROM tickets_incident"
            " WHERE id = %s",
            [f"{model.pk}-old", model.pk],
        )

    assert Incident.objects.get(pk=f"{model.pk}-old").slack_permalink == ""
