"""AZURE_STORAGE_CONNECTION_STRING may hold a shared access signature instead of the account
key (the portal's "Shared access signature" connection string). azure-storage-blob then puts
that signature in every client's `url`; the evidence folder's URL the service stores on the
ticket (`blob_log_url`, shown to every viewer in the API and on the dashboard) must not carry
it. Against the real Azurite emulator."""

from __future__ import annotations

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

from integrations.targets.blob import BlobTransport
from tests.fakes.azurite import ACCOUNT_KEY, ACCOUNT_NAME, Azurite


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
