"""The instances of a mapped Airflow task failing alike page once: a real Celery worker, the
real jira and slack-sdk clients against the local servers (tests/fakes)."""

from __future__ import annotations

import re
import time

import pytest

from integrations.models import OutboundDelivery, OutboundStatus
from integrations.targets.slack import SYNC as SLACK_SYNC
from tests.conftest import local_payload, wait_for
from tests.integrations.test_incident_paging import targets  # noqa: F401 (fixture)
from tickets.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)


def test_thirty_instances_failing_alike_make_one_issue_and_one_alert(
    celery_worker,
    webhook_client,
    targets,  # noqa: F811 (fixture)
):
    jira, slack = targets
    body = {**local_payload("airflow_failure.json"), "state": "failed"}

    answers = [
        webhook_client("/webhooks/airflow/", {**body, "map_index": n}).json() for n in range(30)
    ]
    # Every delivery but the alert's edits, which follow the count paced at
    # SLACK_EDITS_PER_SECOND (those asked for while one waits merge into it, but the waits
    # add up on a busy machine) and post nothing new.
    paging = OutboundDelivery.objects.filter(status=OutboundStatus.PENDING).exclude(
        action=SLACK_SYNC
    )
    wait_for(lambda: not paging.exists(), 60)
    time.sleep(0.5)
    wait_for(lambda: not paging.exists(), 60)

    (ticket,) = Ticket.objects.all()
    assert {answer["ticket_id"] for answer in answers} == {ticket.pk}
    # Paged as the ticket stood then: the count of instances counted by that moment.
    named = re.compile(r"sales_daily\.load_orders \(\d+ mapped instances? failed")
    (issue,) = jira.issues.values()
    assert named.search(issue["summary"]), issue["summary"]
    (alert,) = slack.top_level()
    assert named.search(alert["text"]), alert["text"]
