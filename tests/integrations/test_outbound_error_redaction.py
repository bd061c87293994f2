"""Outbound errors stored before the fan-out redacted them (`last_error`, each attempt's
`error`), and remediation reasons stored before they were redacted, are redacted by
integrations/0031."""

from __future__ import annotations

import importlib
import uuid

import pytest
from django.apps import apps

from analysis.redaction import redact
from integrations.models import (
    AttemptOutcome,
    DeliveryAttempt,
    OutboundDelivery,
    OutboundStatus,
    Remediation,
)
from tests.api import make_ticket

pytestmark = pytest.mark.django_db

MARK = uuid.uuid4().hex[:10]
ACCOUNT_KEY = f"Ak{MARK}" + "Q" * 70 + "=="
SAS_SIGNATURE = f"Sig{MARK}pLaNtEd%2Bq0"
BEARER = f"bEaReR{MARK}Zx81Plant"


def test_outbound_errors_stored_before_they_were_redacted_are_redacted():
    ticket = make_ticket()
    leaky = (
        "Blob upload failed: DefaultEndpointsProtocol=https;AccountName=stprod;"
        f"AccountKey={ACCOUNT_KEY};EndpointSuffix=core.windows.net at "
        f"https://stprod.blob.core.windows.net/evidence/x.json?sv=2022-11-02&sig={SAS_SIGNATURE}"
    )
    dead = OutboundDelivery.objects.create(
        key=f"blob:{MARK}",
        ticket=ticket,
        target="blob",
        action="blob_upload",
        status=OutboundStatus.DEAD,
        attempts=2,
        last_error=leaky,
    )
    clean_error = "Slack chat.postMessage failed (429): ratelimited"
    clean = OutboundDelivery.objects.create(
        key=f"slack:{MARK}",
        ticket=ticket,
        target="slack",
        action="slack_alert",
        status=OutboundStatus.PENDING,
        attempts=1,
        last_error=clean_error,
    )
    tries = [
        DeliveryAttempt.objects.create(
            outbound=dead, outcome=AttemptOutcome.TRANSIENT_ERROR, error=leaky
        ),
        DeliveryAttempt.objects.create(
            outbound=dead,
            outcome=AttemptOutcome.PERMANENT_ERROR,
            error=f"JIRA create_issue failed (401): request had Authorization: Bearer {BEARER}",
        ),
        DeliveryAttempt.objects.create(
            outbound=clean, outcome=AttemptOutcome.TRANSIENT_ERROR, error=clean_error
        ),
    ]
    originals = [attempt.error for attempt in tries]
    playbook_error = (
        "the playbook reported failure: Action 'Run_query' failed: Server=tcp:sql-prod,1433;"
        f"User ID=etl;Password={MARK}Pw!;"
    )
    failed = Remediation.objects.create(
        ticket=ticket,
        run_key=f"adf:{MARK}",
        action="playbook",
        status="failed",
        reason=playbook_error,
    )

    migration = importlib.import_module("integrations.migrations.0031_redact_outbound_errors")
    migration.redact_outbound_errors(apps, None)
    migration.redact_outbound_errors(apps, None)  # a second run changes nothing more

    dead.refresh_from_db()
    clean.refresh_from_db()
    assert dead.last_error == redact(leaky) != leaky
    assert dead.last_error.startswith("Blob upload failed: DefaultEndpointsProtocol=https;")
    assert clean.last_error == clean_error
    for attempt, original in zip(tries, originals, strict=True):
        attempt.refresh_from_db()
        assert attempt.error == redact(original)
    failed.refresh_from_db()
    assert failed.reason == redact(playbook_error) != playbook_error
    assert failed.reason.startswith("the playbook reported failure: Action 'Run_query' failed")
    kept = [dead.last_error, failed.reason, *(attempt.error for attempt in tries)]
    for secret in (ACCOUNT_KEY, SAS_SIGNATURE, BEARER, f"{MARK}Pw!"):
        assert not [text for text in kept if secret in text], secret


def test_attempts_are_rewritten_one_statement_a_batch():
    """The attempts 0031 changes are written a batch at a time (README, Upgrading: one commit
    a row was most of the pass's time), every one of them, across the batches' edges."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    migration = importlib.import_module("integrations.migrations.0031_redact_outbound_errors")
    delivery = OutboundDelivery.objects.create(
        key=f"jira:{MARK}:batch",
        ticket=make_ticket(),
        target="jira",
        action="jira_create",
        status=OutboundStatus.DEAD,
        attempts=migration.BATCH + 3,
    )
    errors = [
        f"JIRA create_issue failed (401): request had Authorization: Bearer {BEARER}{n:04d}"
        for n in range(migration.BATCH + 3)
    ]
    DeliveryAttempt.objects.bulk_create(
        DeliveryAttempt(outbound=delivery, outcome=AttemptOutcome.PERMANENT_ERROR, error=error)
        for error in errors
    )
    attempts_table = DeliveryAttempt._meta.db_table

    with CaptureQueriesContext(connection) as queries:
        migration.redact_outbound_errors(apps, None)

    attempt_writes = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith(f'UPDATE "{attempts_table}"')
    ]
    assert len(attempt_writes) == 2  # BATCH + 3 rows read in two batches
    stored = list(delivery.tries.order_by("pk").values_list("error", flat=True))
    assert stored == [redact(error) for error in errors]
    assert not [text for text in stored if BEARER in text]
