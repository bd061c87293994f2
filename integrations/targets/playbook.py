"""Remediation: call a playbook (an existing Logic App, or any HTTP endpoint) with the ticket's
context; the playbook reports back at `/webhooks/remediation/` (or the replaced product's
`/api/remediation-callback`), authenticated with PLAYBOOK_SECRET.

The request is a JSON POST to PLAYBOOK_URL signed with HMAC-SHA256 over
`<timestamp>.<body>` (headers `X-RCA-Timestamp`, `X-RCA-Signature: sha256=<hex>`), so the
playbook can check it came from us. A Logic App's answer names its run in
`x-ms-workflow-run-id`, kept as the remediation's external run id. The result arrives by the
callback; none within REMEDIATION_WATCH_SECONDS fails the remediation.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from integrations import remediation as service
from integrations.models import OutboundDelivery, Remediation
from integrations.targets.base import (
    DEFAULT_TIMEOUT,
    Action,
    Target,
    TransportError,
    count_send,
    counted_sends,
    fresh_ticket,
    header,
    is_transient_status,
    parse_retry_after,
    ticket_url,
    uncount_send,
)
from integrations.targets.remediating import gave_up, no_second_start, remediation_of, target_run
from rca_project.http_errors import connection_failure, never_connected
from tickets.models import Ticket

CALL = "playbook"
CALLBACK_PATH = "/webhooks/remediation/"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature of a body: `sha256=` and the hex HMAC-SHA256 of `<timestamp>.<body>`."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return f"sha256={digest.hexdigest()}"


class PlaybookTransport:
    name = "playbook"

    def __init__(self, url: str, secret: str, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        import requests

        self.url = url
        self._secret = secret
        self._timeout = timeout
        self._session = requests.Session()

    @classmethod
    def configured(cls) -> bool:
        from django.conf import settings

        return bool(settings.PLAYBOOK_URL and settings.PLAYBOOK_SECRET)

    @classmethod
    def from_settings(cls) -> PlaybookTransport | None:
        from django.conf import settings

        if not cls.configured():
            return None
        return cls(
            settings.PLAYBOOK_URL,
            settings.PLAYBOOK_SECRET,
            timeout=settings.OUTBOUND_TIMEOUT_SECONDS,
        )

    def call(self, context: dict[str, Any]) -> str:
        """POST the context; returns the playbook's run id ("" when it names none)."""
        import requests

        body = json.dumps(context, sort_keys=True).encode()
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "X-RCA-Timestamp": timestamp,
            "X-RCA-Signature": sign(self._secret, timestamp, body),
        }
        try:
            response = self._session.post(
                self.url, data=body, headers=headers, timeout=self._timeout
            )
        except requests.RequestException as exc:
            # One that never reached the playbook (its connection refused, its host not
            # resolved) started nothing: sent again after the backoff (`no_second_start`).
            why = connection_failure(exc, self.url) or type(exc).__name__
            raise TransportError(
                f"call the playbook: {why}", permanent=False, unsent=never_connected(exc)
            ) from exc
        status = response.status_code
        if status >= 300:
            raise TransportError(
                f"call the playbook: {status}",
                permanent=not is_transient_status(status),
                status=status,
                retry_after=parse_retry_after(header(response.headers, "Retry-After")),
            )
        return header(response.headers, "x-ms-workflow-run-id") or ""


def shown_url(url: str) -> str:
    """PLAYBOOK_URL as the remediation's details (which viewers read) keep it: without its
    query (a Logic App's `sig`) and the user and password it may carry."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "PLAYBOOK_URL"
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2], query="", fragment=""))


def playbook_context(
    ticket: Ticket, remediation: Remediation, entity: dict[str, Any]
) -> dict[str, Any]:
    """What the playbook gets: the fields of the replaced product's callback, and where to
    send it; `entity`: the run the remediation acts on (`remediating.target_run`)."""
    from django.conf import settings

    return {
        "ticket_id": ticket.pk,
        "attempt_number": remediation.attempt_number,
        "remediation_id": remediation.pk,
        "source": ticket.source,
        "pipeline_name": ticket.pipeline,
        "original_run_id": str(entity.get("run_id") or remediation.run_key),
        "affected_entity": entity,
        "error_type": ticket.error_type,
        "error_message": ticket.error_message[:4000],
        "confidence": ticket.confidence,
        "ticket_url": ticket_url(ticket),
        "callback_url": f"{settings.PUBLIC_BASE_URL}{CALLBACK_PATH}",
    }


def _call(playbook: PlaybookTransport, row: OutboundDelivery) -> None:
    """Call the playbook once per delivery. A call is counted in Redis before it is sent (the
    attempt's own record is rolled back with its transaction): a delivery handed out again
    after a worker died with the call sent (beat's redelivery, the broker's after a lost
    worker) finds it counted and fails the remediation as one whose start may have run, as
    an unanswered call does, rather than run the playbook a second time; unlike the reruns,
    the playbook has no run to read first (a worker that died between the count and the send
    is taken for one that sent it: people retry it). A call refused before it acted (429,
    503, never connected) is taken back, and sent again after the backoff."""
    remediation = remediation_of(row)
    if remediation is None:
        return
    ticket = fresh_ticket(row)
    entity = target_run(row, remediation)
    sent = counted_sends(row)
    if sent is None:
        raise TransportError(
            "call the playbook: not sent, as Redis cannot tell whether an earlier attempt sent it",
            permanent=False,
            unsent=True,
        )
    if sent:
        raise TransportError(
            "call the playbook: an earlier attempt sent it and ended before its answer was "
            f"recorded (its worker stopped) {service.MAY_HAVE_STARTED}",
            permanent=True,
        )
    count_send(row)
    try:
        run_id = no_second_start(
            lambda: playbook.call(playbook_context(ticket, remediation, entity))
        )
    except TransportError as exc:
        if not exc.permanent:  # refused or never sent: nothing ran, it is sent again
            uncount_send(row)
        raise
    service.record_started(remediation.pk, run_id, playbook=shown_url(playbook.url))


TARGET: Target = Target(
    name="playbook",
    label="Playbook",
    connect=PlaybookTransport.from_settings,
    configured=PlaybookTransport.configured,
    gave_up=gave_up,
    settings=("PLAYBOOK_URL", "PLAYBOOK_SECRET", "OUTBOUND_TIMEOUT_SECONDS"),
    not_configured="the playbook needs PLAYBOOK_URL and PLAYBOOK_SECRET",
    actions={CALL: Action(_call, "Call the remediation playbook")},
)
