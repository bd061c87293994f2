"""AZURE_STORAGE_CONNECTION_STRING may hold a shared access signature instead of the account
key (the portal's "Shared access signature" connection string). azure-storage-blob then puts
that signature in every client's `url`; the evidence folder's URL the service stores on the
ticket (`blob_log_url`, shown to every viewer in the API and on the dashboard) must not carry
it (nor those stored before: a migration rewrites them). Against the real Azurite emulator."""

from __future__ import annotations

import importlib
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from azure.storage.blob import (
    AccountSasPermissions,
    BlobServiceClient,
    ResourceTypes,
    generate_account_sas,
)
from django.apps import apps
from django.utils import timezone

from integrations.targets.blob import BlobTransport
from tests.fakes.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite
from tickets.models import Ticket


@pytest.fixture(scope="module")
def azurite() -> Iterator[Azurite]:
    with Azurite() as emulator:
        yield emulator


def test_the_evidence_url_never_carries_the_connection_strings_signature(azurite):
    sas = generate_account_sas(
        ACCOUNT_NAME,
        ACCOUNT_KEY,
        resource_types=ResourceTypes(service=True, container=True, object=True),
        permission=AccountSasPermissions(read=True, write=True, create=True, list=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    signature = sas.split("sig=", 1)[1].split("&", 1)[0]
    container = f"rca-evidence-{uuid.uuid4().hex[:12]}"
    BlobServiceClient.from_connection_string(azurite.connection_string).create_container(container)
    blob = BlobTransport(
        f"BlobEndpoint={azurite.blob_endpoint};SharedAccessSignature={sas}", container, timeout=10
    )

    url = blob.upload_evidence("ADF-20240405-0003", {"rca.md": (b"# rca", "text/markdown")})

    assert url == f"{azurite.blob_endpoint}/{container}/ADF-20240405-0003/"
    assert signature not in url and "sig=" not in url
    assert signature not in blob.container_url
    uploaded = BlobServiceClient.from_connection_string(azurite.connection_string)
    names = [b.name for b in uploaded.get_container_client(container).list_blobs()]
    assert names == ["ADF-20240405-0003/rca.md"]


@pytest.mark.django_db
def test_an_evidence_url_stored_with_the_signature_loses_it_on_migrate():
    """Stored before the fix: the signature, then the folder. Rewritten as uploads write it
    now; a URL without a signature, and none, are left alone."""
    container = "https://acct.blob.core.windows.net/rca-evidence"
    signed, plain, none = (_ticket(n) for n in range(3))
    stored = {
        signed: f"{container}?sv=2024-08-04&ss=b&sig=c2VjcmV0K%2Fc2ln%3D/{signed}/",
        plain: f"{container}/{plain}/",
        none: "",
    }
    for ticket_id, url in stored.items():
        Ticket.objects.filter(pk=ticket_id).update(blob_log_url=url)

    migration = importlib.import_module("tickets.migrations.0027_evidence_url_without_signature")
    migration.drop_signatures(apps, None)

    urls = dict(Ticket.objects.filter(pk__in=stored).values_list("pk", "blob_log_url"))
    assert urls == {
        signed: f"{container}/{signed}/",
        plain: f"{container}/{plain}/",
        none: "",
    }


def _ticket(n: int) -> str:
    now = timezone.now()
    return Ticket.objects.create(
        id=f"ADF-20240405T1200{n:02d}-{n:06x}",
        pipeline=f"pl_sales_{n}",
        run_id=f"adf:run-{n}",
        source="adf",
        fingerprint=f"{n:064x}",
        sla_seconds=3600,
        sla_deadline=now + timedelta(hours=1),
    ).pk
