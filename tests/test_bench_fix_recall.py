"""bench/fix_recall.py replays its failures as the service ingests them: its figures say how
often the service shows the right fix first only if its tickets are fingerprinted alike."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import REPO, local_payload
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def fix_recall():
    sys.path.insert(0, str(REPO / "bench"))
    try:
        import fix_recall

        yield fix_recall
    finally:
        sys.path.remove(str(REPO / "bench"))


def test_a_replayed_failure_gets_the_fingerprint_ingest_gives_it(webhook_client, fix_recall):
    """The bench fingerprinted on the source, pipeline, class and message alone: a failure whose
    source names its deployment (an ADF factory), its part or its subject (an alert's) got
    another fingerprint than the service gives it."""
    from retrieval_quality import trigram_hashing

    body = local_payload("adf_failure.json")
    answer = webhook_client("/webhooks/adf/", body).json()
    ingested = Ticket.objects.get(pk=answer["ticket_id"])
    row = {
        "seq": 1,
        "source": "adf",
        "pipeline": body["pipeline"],
        "deployment": body["factory"],
        "message": body["error_message"],
        "family": "sql-firewall",
        "fix": "Allowed the integration runtime through the SQL firewall.",
    }

    fix_recall.replay([row], "trigram", trigram_hashing)

    replayed = Ticket.objects.get(pk="BENCH-001")
    assert replayed.error_type == ingested.error_type
    assert replayed.fingerprint == ingested.fingerprint
