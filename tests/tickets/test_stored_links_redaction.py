"""Links stored before ingest redacted them (tickets/0032, integrations/0014)."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps

from integrations.models import WebhookDelivery
from tests.api import make_ticket

pytestmark = pytest.mark.django_db

TOKEN = "tok3nS3cretValue42"
SIGNATURE = "S1gN4tur3Value%3D"
TOKEN_LOG = f"https://airflow.local/log?dag_id=sales_daily&token={TOKEN}"
SAS_LOG = f"https://acct.blob.core.windows.net/logs/try2.txt?sv=2022-11-02&sr=b&sig={SIGNATURE}"
CLEAN_RUN = "https://adb-1.azuredatabricks.net/#job/7/run/42"


def test_ticket_links_stored_before_ingest_redacted_them_are_redacted():
    with_token = make_ticket(links={"log": TOKEN_LOG, "run": CLEAN_RUN})
    # A recurrence's log link (record_recurrence) replaced the ticket's first one.
    with_sas = make_ticket(links={"log": SAS_LOG})
    clean = make_ticket(links={"run": CLEAN_RUN})
    without = make_ticket()
    updated_at = {t.pk: t.updated_at for t in (clean, without)}

    migration = importlib.import_module("tickets.migrations.0032_redact_stored_links")
    migration.redact_ticket_links(apps, None)
    migration.redact_ticket_links(apps, None)  # a second run changes nothing more

    with_token.refresh_from_db()
    assert with_token.links == {
        "log": "https://airflow.local/log?dag_id=sales_daily&token=[REDACTED]",
        "run": CLEAN_RUN,
    }
    with_sas.refresh_from_db()
    assert with_sas.links == {"log": SAS_LOG.replace(SIGNATURE, "[REDACTED]")}
    for ticket in (clean, without):
        ticket.refresh_from_db()
        assert ticket.updated_at == updated_at[ticket.pk]
    assert clean.links == {"run": CLEAN_RUN} and without.links == {}


def test_inbox_events_stored_before_ingest_redacted_their_links_are_redacted():
    event = {"source": "airflow", "pipeline": "sales_daily", "error_message": "boom"}
    leaking = WebhookDelivery.objects.create(
        source="airflow", status="processed", event={**event, "links": {"log": SAS_LOG}}
    )
    clean = WebhookDelivery.objects.create(
        source="databricks", status="processed", event={**event, "links": {"run": CLEAN_RUN}}
    )
    rejected = WebhookDelivery.objects.create(source="adf", status="rejected", event={})

    migration = importlib.import_module("integrations.migrations.0014_redact_inbox_event_links")
    migration.redact_event_links(apps, None)
    migration.redact_event_links(apps, None)

    leaking.refresh_from_db()
    assert leaking.event == {**event, "links": {"log": SAS_LOG.replace(SIGNATURE, "[REDACTED]")}}
    clean.refresh_from_db()
    assert clean.event == {**event, "links": {"run": CLEAN_RUN}}
    rejected.refresh_from_db()
    assert rejected.event == {}
