"""Azure Blob Storage: the evidence of each ticket (raw payloads, normalized events, the RCA as
JSON and Markdown), through `azure-storage-blob`. Uploads overwrite (the RCA files only one
telling an earlier analysis), so a retry is harmless."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import Any
from urllib.parse import urlsplit

from analysis.logs.markdown import code_block, escape_prose
from integrations.models import OutboundDelivery, WebhookDelivery
from integrations.targets.base import (
    DEFAULT_TIMEOUT,
    Action,
    Change,
    Target,
    TransportError,
    fresh_ticket,
    header,
    is_transient_status,
    parse_retry_after,
    wait_for,
)
from tickets.models import Ticket

UPLOAD = "blob_upload"
RCA_REWRITE = "blob_rca_rewrite"
# Analysed again after its evidence was kept (a fresh RCA, a log analysis attached).
ANALYSED = "analysed"
DEFAULT_CONTAINER = "rca-evidence"
# The RCA files' metadata naming the analysis they tell (UTC ISO 8601: the strings compare).
ANALYSED_AT_METADATA = "analysed_at"
CONDITIONAL_WRITE_TRIES = 5


# --- transport ----------------------------------------------------------------------------------


class BlobTransport:
    """Evidence files in Azure Blob Storage through `azure-storage-blob`."""

    name = "blob"

    def __init__(
        self, connection_string: str, container: str, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        from azure.storage.blob import BlobServiceClient

        self.container = container
        self.timeout = timeout
        try:
            self._service = BlobServiceClient.from_connection_string(
                connection_string,
                retry_total=0,  # retries happen at the task level
                connection_timeout=timeout,
                read_timeout=timeout,
            )
        except ValueError as exc:
            message = f"invalid Azure Storage connection string: {exc}"
            raise TransportError(message, permanent=True) from exc
        self._container = self._service.get_container_client(container)

    @classmethod
    def from_settings(cls) -> BlobTransport | None:
        from django.conf import settings

        connection_string = settings.AZURE_STORAGE_CONNECTION_STRING
        if not connection_string:
            return None
        container = settings.AZURE_STORAGE_CONTAINER or DEFAULT_CONTAINER
        return cls(connection_string, container, timeout=settings.OUTBOUND_TIMEOUT_SECONDS)

    @property
    def container_url(self) -> str:
        """The container's address without its query: with a connection string that holds a
        shared access signature, azure-storage-blob appends that signature to every `url`."""
        return urlsplit(self._container.url)._replace(query="").geturl().rstrip("/")

    def upload_evidence(
        self,
        prefix: str,
        files: dict[str, tuple[bytes, str]],
        *,
        analysed_at: dt.datetime | None = None,
    ) -> str:
        """Upload each file to `<prefix>/<name>` (overwriting: safe to repeat), creating the
        container when it is missing; returns the folder's URL.

        Files that tell an analysis give its `analysed_at`: they are not overwritten by an
        earlier analysis's (two re-analyses' rewrites can run at once, the older last)."""
        from azure.core.exceptions import ResourceNotFoundError

        folder = prefix.strip("/")
        for name, (content, content_type) in files.items():
            blob_name = f"{folder}/{name.lstrip('/')}"
            try:
                try:
                    self._upload(blob_name, content, content_type, analysed_at)
                except ResourceNotFoundError as exc:
                    if getattr(exc, "error_code", None) != "ContainerNotFound":
                        raise
                    self._create_container()
                    self._upload(blob_name, content, content_type, analysed_at)
            except Exception as exc:
                raise _map_azure_error(f"upload {blob_name}", exc) from exc
        return f"{self.container_url}/{folder}/"

    def sas_url(self, blob_name: str, *, minutes: int = 15) -> str:
        """A read-only link to one blob, valid for `minutes` (a 5-minute clock-skew allowance
        is added before the start)."""
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        credential = self._service.credential
        account_key = getattr(credential, "account_key", None)
        account_name = self._service.account_name  # given with the key in a connection string
        if not account_key or not account_name:
            raise TransportError(
                "SAS links need the account key in the connection string", permanent=True
            )
        now = dt.datetime.now(dt.UTC)
        token = generate_blob_sas(
            account_name=account_name,
            container_name=self.container,
            blob_name=blob_name,
            account_key=account_key,
            permission=BlobSasPermissions(read=True),
            start=now - dt.timedelta(minutes=5),
            expiry=now + dt.timedelta(minutes=minutes),
        )
        return f"{self._container.get_blob_client(blob_name).url}?{token}"

    def _upload(
        self, blob_name: str, content: bytes, content_type: str, analysed_at: dt.datetime | None
    ) -> None:
        from azure.storage.blob import ContentSettings

        if analysed_at is None:
            self._container.upload_blob(
                blob_name,
                content,
                overwrite=True,
                content_settings=ContentSettings(content_type=content_type),
            )
            return
        self._upload_unless_newer(
            blob_name, content, ContentSettings(content_type=content_type), analysed_at
        )

    def _upload_unless_newer(
        self, blob_name: str, content: bytes, content_settings: Any, analysed_at: dt.datetime
    ) -> None:
        """Write the blob unless it tells a later analysis (its `analysed_at` metadata). The
        write is conditional on what was read (its ETag, or that there was none), so a writer
        that read it before another's write reads again instead of overwriting."""
        from azure.core import MatchConditions
        from azure.core.exceptions import (
            ResourceExistsError,
            ResourceModifiedError,
            ResourceNotFoundError,
        )

        version = analysed_at.astimezone(dt.UTC).isoformat(timespec="microseconds")
        blob = self._container.get_blob_client(blob_name)
        for _ in range(CONDITIONAL_WRITE_TRIES):
            condition: dict[str, Any]
            try:
                stored = blob.get_blob_properties()
            except ResourceNotFoundError:
                condition = {"match_condition": MatchConditions.IfMissing}
            else:
                if stored.metadata.get(ANALYSED_AT_METADATA, "") > version:
                    return
                condition = {"etag": stored.etag, "match_condition": MatchConditions.IfNotModified}
            try:
                blob.upload_blob(
                    content,
                    overwrite=True,
                    metadata={ANALYSED_AT_METADATA: version},
                    content_settings=content_settings,
                    **condition,
                )
                return
            except (ResourceModifiedError, ResourceExistsError):
                continue  # written meanwhile: read it again
        raise TransportError(
            f"Azure Blob upload {blob_name}: rewritten by others {CONDITIONAL_WRITE_TRIES} times"
            " while writing",
            permanent=False,
        )

    def _create_container(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):  # created meanwhile by another worker
            self._container.create_container()


def _map_azure_error(what: str, exc: BaseException) -> TransportError:
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, ClientAuthenticationError):
        status = exc.status_code
        return TransportError(
            f"Azure Blob {what}: authentication failed: {exc.message}",
            permanent=True,
            status=status,
        )
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        # azure-core's response protocol leaves out `headers`, which every response type has.
        headers = exc.response.headers if exc.response is not None else None  # type: ignore[attr-defined]
        code = getattr(exc, "error_code", None)
        detail = f"{status} {code}" if code else f"{status}"
        return TransportError(
            f"Azure Blob {what} failed ({detail}): {exc.reason or exc.message}",
            permanent=not is_transient_status(status),
            retry_after=parse_retry_after(header(headers, "Retry-After")),
            status=status,
        )
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return TransportError(f"Azure Blob {what}: network error: {exc}", permanent=False)
    if isinstance(exc, AzureError | OSError):
        return TransportError(f"Azure Blob {what}: {exc}", permanent=False)
    if isinstance(exc, ValueError | TypeError):
        return TransportError(f"Azure Blob {what}: {exc}", permanent=True)
    return TransportError(f"Azure Blob {what}: unexpected error: {exc!r}", permanent=False)


# --- messages -----------------------------------------------------------------------------------


def delivery_files(deliveries: list[Any]) -> dict[str, tuple[bytes, str]]:
    """The evidence of what was received: raw payloads and normalized events."""
    files: dict[str, tuple[bytes, str]] = {}
    for delivery in deliveries:
        files[f"payloads/{delivery.tracking_id}.json"] = (
            delivery.raw_body.encode(),
            "application/json",
        )
        files[f"events/{delivery.tracking_id}.json"] = (
            json.dumps(delivery.event, indent=2).encode(),
            "application/json",
        )
    return files


def rca_files(ticket: Ticket) -> dict[str, tuple[bytes, str]]:
    """The ticket's RCA as `rca.json` and `rca.md`."""
    files: dict[str, tuple[bytes, str]] = {}
    report = {
        "ticket_id": ticket.pk,
        "pipeline": ticket.pipeline,
        "run_id": ticket.run_id,
        "source": ticket.source,
        "error_type": ticket.error_type,
        "severity": ticket.severity,
        "priority": ticket.priority,
        "root_cause": ticket.rca_result,
        "recommendations": ticket.recommendations,
        "confidence": ticket.confidence,
        "rca_source": ticket.rca_source,
        "rca_note": ticket.rca_note,
        "error_message": ticket.error_message,
        "similar": ticket.details.get("similar", []),
    }
    files["rca.json"] = (json.dumps(report, indent=2).encode(), "application/json")
    # RCA, pipeline and error are untrusted: escaped prose and a code block, as in a log
    # analysis's export, so a quoted `*` or `[...]` reads as it is and makes no Markdown.
    recommendations = "\n".join(
        f"{i}. {escape_prose(r)}" for i, r in enumerate(ticket.recommendations, 1)
    )
    error = "\n".join(code_block([ticket.error_message]))
    markdown = (
        f"# {escape_prose(ticket.pk)}: {escape_prose(ticket.pipeline)}\n\n"
        f"**{ticket.severity} / {ticket.priority}** · {ticket.error_type} · "
        f"RCA by {ticket.rca_source} (confidence {ticket.confidence})\n\n"
        f"## Root cause\n\n{escape_prose(ticket.rca_result)}\n\n"
        f"## Recommendations\n\n{recommendations}\n\n"
        f"## Error\n\n{error}\n"
    )
    files["rca.md"] = (markdown.encode(), "text/markdown")
    return files


# --- actions ------------------------------------------------------------------------------------


def _blob_upload(blob: BlobTransport, row: OutboundDelivery) -> None:
    ticket = fresh_ticket(row)
    deliveries = list(WebhookDelivery.objects.filter(ticket_id=ticket.pk).order_by("received_at"))
    url = blob.upload_evidence(ticket.pk, delivery_files(deliveries))
    blob.upload_evidence(ticket.pk, rca_files(ticket), analysed_at=rca_version(ticket))
    Ticket.objects.filter(pk=ticket.pk).update(blob_log_url=url)


def _blob_rca_rewrite(blob: BlobTransport, row: OutboundDelivery) -> None:
    """The kept `rca.json` and `rca.md` tell the RCA as it is now (the payloads stay)."""
    ticket = fresh_ticket(row)
    if not ticket.blob_log_url:
        wait_for(ticket, UPLOAD, "evidence")
    blob.upload_evidence(ticket.pk, rca_files(ticket), analysed_at=rca_version(ticket))


def rca_version(ticket: Ticket) -> dt.datetime:
    """Which analysis the RCA files tell (one not analysed yet tells the earliest)."""
    return ticket.analysed_at or dt.datetime.min.replace(tzinfo=dt.UTC)


def _follow(change: Change) -> tuple[str, dict[str, Any]] | None:
    if change.action == ANALYSED:
        return RCA_REWRITE, change.as_payload()
    return None


TARGET = Target(
    name="blob",
    label="Azure Blob",
    connect=BlobTransport.from_settings,
    settings=(
        "AZURE_STORAGE_CONNECTION_STRING",
        "AZURE_STORAGE_CONTAINER",
        "OUTBOUND_TIMEOUT_SECONDS",
    ),
    not_configured="Azure Blob is not configured (set AZURE_STORAGE_CONNECTION_STRING)",
    actions={
        UPLOAD: Action(_blob_upload, "Upload the evidence"),
        RCA_REWRITE: Action(_blob_rca_rewrite, "Rewrite the evidence's RCA"),
    },
    initial=(UPLOAD,),
    follow=_follow,
)
