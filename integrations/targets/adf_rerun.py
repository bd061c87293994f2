"""Remediation: rerun a failed Azure Data Factory pipeline run in recovery mode, from the failed
activity, and watch the new run (azure-mgmt-datafactory).

`pipelines.create_run(rg, factory, pipeline, reference_pipeline_run_id=<failed run>,
is_recovery=True, start_from_failure=True)` starts the rerun, which ADF groups with the failed
run (the same `runGroupId`; the group's newest run alone `isLatest`); `pipeline_runs.get` is
polled until the new run ends. Before it, the failed run is read (`AdfTransport.later_run`):
one that is no longer its group's latest was rerun already (in ADF Studio, by the API, or by
this service) and is not rerun beside that later run, except a later run this service started
and that failed, which the next attempt reruns from instead; a later run that this
delivery's earlier attempt started, its worker stopping before it recorded the new run's id
(`remediating.send_start`), is followed as the rerun it started. Credentials: the service principal
of AZURE_TENANT_ID / AZURE_CLIENT_ID / AZURE_CLIENT_SECRET (azure-identity's ClientSecretCredential,
its login host AZURE_AUTHORITY_HOST when set), the subscription from the alert or
AZURE_SUBSCRIPTION_ID, the endpoint AZURE_MANAGEMENT_URL.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from integrations import remediation as service
from integrations.models import OutboundDelivery, Remediation
from integrations.targets.base import (
    DEFAULT_TIMEOUT,
    Action,
    FollowUp,
    Target,
    TransportError,
    fresh_ticket,
    header,
    is_transient_status,
    parse_retry_after,
)
from integrations.targets.remediating import (
    adopt_start,
    gave_up,
    keep_watching,
    look_again_later,
    remediation_of,
    send_start,
    sent_unrecorded,
    target_run,
)
from rca_project.http_errors import connection_failure

RERUN, WATCH = "adf_rerun", "adf_rerun_watch"
ADF_SCOPE = "https://management.azure.com/.default"
SUCCEEDED, FAILED_STATES = "Succeeded", ("Failed", "Cancelled", "Canceled")
# How far around the failed run's start the run group is queried for a later run (queries
# need a window of lastUpdated; a later run was updated after the failed run started).
GROUP_QUERY_SLACK = timedelta(minutes=5)
GROUP_QUERY_PAGES = 10


@dataclass(frozen=True)
class LaterRun:
    """A run of the failed run's run group that came after it (ADF's rerun of it)."""

    run_id: str  # '' when the run says it is not the latest but the group lists no other
    status: str
    invoked_by: str  # "Manual", "DailyTrigger (ScheduleTrigger)", or ''


# Entra ID's login host, azure-identity's default authority.
LOGIN_URL = "https://login.microsoftonline.com"


def _login_url(authority: str) -> str:
    """AZURE_AUTHORITY_HOST as a URL (azure-identity takes a bare host too), else the default."""
    if not authority:
        return LOGIN_URL
    return authority if "://" in authority else f"https://{authority}"


def _loopback_http(url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme != "http":
        return False
    host = parts.hostname or ""
    try:
        return host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class AdfTransport:
    """The Data Factory management API through `DataFactoryManagementClient`."""

    name = "adf_rerun"

    def __init__(
        self,
        credential: Any,
        subscription_id: str,
        *,
        base_url: str = "https://management.azure.com",
        timeout: float = DEFAULT_TIMEOUT,
        login_url: str = LOGIN_URL,
    ) -> None:
        from azure.mgmt.datafactory import DataFactoryManagementClient

        self.subscription_id = subscription_id
        self._credential = credential
        self._base_url = base_url.rstrip("/")
        self._login_url = login_url  # Entra ID: named when the token request gets no answer
        self._timeout = timeout
        # Plain http is for local test servers only (azure-core refuses to send a token
        # over http unless told, per call).
        self._call_options: dict[str, Any] = (
            {"enforce_https": False} if _loopback_http(self._base_url) else {}
        )
        self._clients: dict[str, Any] = {}
        self._client_class = DataFactoryManagementClient

    def _client(self, subscription_id: str) -> Any:
        if subscription_id not in self._clients:
            scope = ADF_SCOPE if self._call_options else f"{self._base_url}/.default"
            self._clients[subscription_id] = self._client_class(
                self._credential,
                subscription_id,
                base_url=self._base_url,
                credential_scopes=[scope],
                retry_total=0,  # retrying is the engine's
                connection_timeout=self._timeout,
                read_timeout=self._timeout,
            )
        return self._clients[subscription_id]

    @classmethod
    def configured(cls) -> bool:
        from django.conf import settings

        return bool(
            settings.AZURE_TENANT_ID and settings.AZURE_CLIENT_ID and settings.AZURE_CLIENT_SECRET
        )

    @classmethod
    def from_settings(cls) -> AdfTransport | None:
        from azure.identity import ClientSecretCredential
        from django.conf import settings

        if not cls.configured():
            return None
        tenant, client, secret = (
            settings.AZURE_TENANT_ID,
            settings.AZURE_CLIENT_ID,
            settings.AZURE_CLIENT_SECRET,
        )
        timeout = settings.OUTBOUND_TIMEOUT_SECONDS
        options: dict[str, Any] = {}
        if settings.AZURE_AUTHORITY_HOST:
            options["authority"] = settings.AZURE_AUTHORITY_HOST
        if settings.AZURE_DISABLE_INSTANCE_DISCOVERY:
            options["disable_instance_discovery"] = True
        credential = ClientSecretCredential(
            tenant, client, secret, connection_timeout=timeout, read_timeout=timeout, **options
        )
        return cls(
            credential,
            settings.AZURE_SUBSCRIPTION_ID,
            base_url=settings.AZURE_MANAGEMENT_URL,
            timeout=timeout,
            login_url=_login_url(settings.AZURE_AUTHORITY_HOST),
        )

    def rerun_from_failure(self, where: dict[str, str], pipeline: str, run_id: str) -> str:
        """Start the recovery rerun; returns the new run's id."""
        client = self._client(where["subscription_id"])
        with _azure_errors(f"createRun of {pipeline}", self._base_url, self._login_url):
            response = client.pipelines.create_run(
                where["resource_group"],
                where["factory"],
                pipeline,
                reference_pipeline_run_id=run_id,
                is_recovery=True,
                start_from_failure=True,
                **self._call_options,
            )
        return str(response.run_id)

    def later_run(self, where: dict[str, str], run_id: str) -> LaterRun | None:
        """The latest run of `run_id`'s run group when that is not `run_id` itself (it was
        rerun since), else None. `isLatest` true on the run says no later one exists; else the
        group is queried (`RunGroupId`), newest first, for the run marked latest (the newest
        started after it when none is marked). A run marked not latest whose group lists no
        other (out of the query's window) is answered as a later run of unknown id."""
        from azure.mgmt.datafactory.models import (
            RunFilterParameters,
            RunQueryFilter,
            RunQueryOrderBy,
        )

        client = self._client(where["subscription_id"])
        rg, factory = where["resource_group"], where["factory"]
        with _azure_errors(f"get pipeline run {run_id}", self._base_url, self._login_url):
            run = client.pipeline_runs.get(rg, factory, run_id, **self._call_options)
        if run.is_latest is True:
            return None
        now = datetime.now(UTC)
        # Data Factory keeps run data 45 days: no later run is older than that.
        since = run.run_start or run.last_updated or now - timedelta(days=45)
        group = run.run_group_id or run_id
        query = RunFilterParameters(
            last_updated_after=since - GROUP_QUERY_SLACK,
            last_updated_before=now + GROUP_QUERY_SLACK,
            filters=[
                RunQueryFilter(
                    operand="RunGroupId",
                    operator="Equals",
                    values_property=[group],
                )
            ],
            order_by=[RunQueryOrderBy(order_by="RunStart", order="DESC")],
        )
        later: list[Any] = []
        with _azure_errors(f"query the run group of {run_id}", self._base_url, self._login_url):
            for _ in range(GROUP_QUERY_PAGES):
                page = client.pipeline_runs.query_by_factory(
                    rg, factory, query, **self._call_options
                )
                later += [
                    other
                    for other in page.value or []
                    if other.run_id != run_id
                    and (other.run_group_id or other.run_id) == group
                    and (other.is_latest or _started_after(other.run_start, run.run_start))
                ]
                if not page.continuation_token:
                    break
                query.continuation_token = page.continuation_token
        if not later:
            return LaterRun("", "", "") if run.is_latest is False else None
        marked = [other for other in later if other.is_latest]
        newest = marked[0] if marked else max(later, key=lambda other: other.run_start)
        return LaterRun(str(newest.run_id), str(newest.status or ""), _invoker(newest))

    def run_status(self, where: dict[str, str], run_id: str) -> tuple[str, str]:
        """(status, message) of a pipeline run."""
        client = self._client(where["subscription_id"])
        with _azure_errors(f"get pipeline run {run_id}", self._base_url, self._login_url):
            run = client.pipeline_runs.get(
                where["resource_group"], where["factory"], run_id, **self._call_options
            )
        return str(run.status or ""), str(run.message or "")


def _started_after(start: datetime | None, reference: datetime | None) -> bool:
    return start is not None and (reference is None or start > reference)


def _invoker(run: Any) -> str:
    invoked = run.invoked_by
    if invoked is None or not invoked.name:
        return ""
    kind = invoked.invoked_by_type
    return f"{invoked.name} ({kind})" if kind and kind != invoked.name else str(invoked.name)


@contextmanager
def _azure_errors(what: str, url: str, login_url: str) -> Iterator[None]:
    """azure-core errors as TransportError (permanent for 4xx other than 408/409/429). One
    that got no answer says what happened in words (`http_errors.connection_failure`: "…:
    127.0.0.1 refused the connection on port 9"), as Airflow's do, and whether it was the call
    to `url` (Azure Resource Manager) or the token request to `login_url` (Entra ID) that got
    none; the exception's name only when it names nothing known. A connection never made
    (ServiceRequestError) sent nothing (`unsent`: a start is tried again)."""
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
    )

    try:
        yield
    except HttpResponseError as exc:
        status = exc.status_code
        refused = isinstance(exc, ClientAuthenticationError)
        if refused and status is None:
            unanswered = _unanswered_login(exc, login_url)
            if unanswered:
                # Entra ID was not reached: nothing was refused, and no call was sent to ARM.
                raise TransportError(
                    f"{what}: Entra ID token: {unanswered}", permanent=False, unsent=True
                ) from exc
            # azure-identity's refusal of the token request keeps no response: Entra ID refused
            # the service principal's credentials (counted as a 401).
            raise TransportError(
                f"{what}: 401 the token request was refused", permanent=True, status=401
            ) from exc
        code = getattr(getattr(exc, "error", None), "code", None) or ""
        message = f"{what}: {status} {code}".strip()
        transient = is_transient_status(status) and not refused
        headers = getattr(exc.response, "headers", None)
        raise TransportError(
            message,
            permanent=not transient,
            retry_after=parse_retry_after(header(headers, "Retry-After")),
            status=status,
        ) from exc
    except AzureError as exc:
        why = connection_failure(exc, url) or type(exc).__name__
        # azure-core's ServiceRequestError: "no request was sent" (the connection was never
        # made); any other error (ServiceResponseError: no answer) may have reached the service.
        unsent = isinstance(exc, ServiceRequestError)
        raise TransportError(f"{what}: {why}", permanent=False, unsent=unsent) from exc


def _unanswered_login(exc: BaseException, login_url: str) -> str:
    """What the token request ran into, in words, when it got no answer from Entra ID (azure-
    identity raises that as a ClientAuthenticationError too, over the transport's
    ServiceRequestError or ServiceResponseError); '' when Entra ID answered (it refused)."""
    from azure.core.exceptions import ServiceRequestError, ServiceResponseError

    seen: BaseException | None = exc.__cause__ or exc.__context__
    for _ in range(10):
        if seen is None:
            return ""
        if isinstance(seen, ServiceRequestError | ServiceResponseError):
            return connection_failure(seen, login_url) or type(seen).__name__
        seen = seen.__cause__ or seen.__context__
    return ""


def _where(entity: dict[str, Any], transport: AdfTransport) -> dict[str, str]:
    where = _named_where(entity, transport.subscription_id)
    unnamed = _unnamed(entity, where)
    if unnamed:
        raise TransportError(unnamed, permanent=True)
    return where


def _named_where(entity: dict[str, Any], subscription_id: str) -> dict[str, str]:
    return {
        "subscription_id": entity.get("subscription_id") or subscription_id,
        "resource_group": entity.get("resource_group", ""),
        "factory": entity.get("factory", ""),
    }


def _unnamed(entity: dict[str, Any], where: dict[str, str]) -> str:
    """What the source's names for the run lack to rerun it ('' when nothing)."""
    missing = [name for name, value in where.items() if not value]
    if not entity.get("run_id"):
        missing.append("run_id")
    return f"the alert does not name the ADF {', '.join(missing)}" if missing else ""


def run_unnamed(entity: dict[str, Any]) -> str:
    """Asked before a rerun is proposed (`remediation.cannot_run`): an Azure Monitor alert that
    named no run and whose analysis found none (Tickets, "ADF alerts naming no run" in the
    README) leaves nothing to rerun, and is skipped saying so rather than failing once started.
    `_where` asks again as the rerun is sent."""
    from django.conf import settings

    return _unnamed(entity, _named_where(entity, settings.AZURE_SUBSCRIPTION_ID))


def _rerun(adf: AdfTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    remediation = remediation_of(row)
    if remediation is None:
        return None
    ticket = fresh_ticket(row)
    entity = target_run(row, remediation)  # the latest failed run counted on the ticket
    where = _where(entity, adf)
    failed_run = str(entity["run_id"])
    # An alert split by activity names no pipeline: its ticket carries the rule's name, and
    # the run its analysis found names the pipeline (`tickets.services.settle_run`).
    pipeline = str(entity.get("pipeline") or ticket.pipeline)
    reference = failed_run
    later = adf.later_run(where, failed_run)
    if later is not None and _unrecorded_own_rerun(row, later):
        # This delivery's earlier attempt started it, and its worker stopped before the run id
        # was recorded: followed as the rerun it started, not skipped as someone else's.
        return adopt_start(WATCH, remediation, later.run_id, reference_run_id=reference)
    if later is not None:
        if not _own_failed_rerun(later):
            service.finish_not_run(remediation.pk, detail=_rerun_already(failed_run, later))
            return None
        # This service's own rerun of it failed (the failure not reported yet): the next
        # attempt reruns the group's latest run from its failed activity.
        reference = later.run_id
    new_run = send_start(row, lambda: adf.rerun_from_failure(where, pipeline, reference))
    service.record_started(remediation.pk, new_run, reference_run_id=reference)
    return [
        FollowUp(
            WATCH,
            payload={"remediation_id": remediation.pk},
            key_suffix=f"remediation:{remediation.pk}:{WATCH}:0",
        )
    ]


_STATUS_WORDS = {"InProgress": "in progress", "Queued": "queued", "Canceling": "being cancelled"}


def _unrecorded_own_rerun(row: OutboundDelivery, later: LaterRun) -> bool:
    """The later run is the one this delivery's earlier attempt started (`sent_unrecorded`):
    a run no remediation names (an earlier attempt's recorded rerun, failed, is rerun from
    instead: `_own_failed_rerun`)."""
    return (
        bool(later.run_id)
        and sent_unrecorded(row)
        and not Remediation.objects.filter(action=RERUN, external_run_id=later.run_id).exists()
    )


def _own_failed_rerun(later: LaterRun) -> bool:
    """A rerun this service started (a remediation's new run) that ended failed or cancelled."""
    return (
        later.status in FAILED_STATES
        and Remediation.objects.filter(action=RERUN, external_run_id=later.run_id).exists()
    )


def _rerun_already(failed_run: str, later: LaterRun) -> str:
    """Why no rerun was sent: the run was rerun already (ADF Studio, the API, a trigger)."""
    if not later.run_id:
        return (
            f"run {failed_run} is no longer its run group's latest at Data Factory (rerun "
            "since; the group's query listed no later run): no rerun was sent, and the ticket "
            "stays open: the later run's outcome, as Data Factory reports it, decides the ticket"
        )
    invoked = f", invoked by {later.invoked_by}" if later.invoked_by else ""
    state = _STATUS_WORDS.get(later.status, later.status.lower()) or "of unknown status"
    return (
        f"run {failed_run} was rerun already at Data Factory: its run group's latest run is "
        f"{later.run_id} ({state}{invoked}); no rerun was sent beside it, and the ticket "
        "stays open: that run's outcome, as Data Factory reports it, decides the ticket"
    )


def _watch(adf: AdfTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    remediation = remediation_of(row)
    if remediation is None:
        return None
    where = _where(target_run(row, remediation), adf)
    try:
        status, message = adf.run_status(where, remediation.external_run_id)
    except TransportError as exc:
        return look_again_later(WATCH, row, remediation, exc)
    if status == SUCCEEDED:
        service.finish(
            remediation.pk, succeeded=True, detail=f"rerun {remediation.external_run_id} succeeded"
        )
        return None
    if status in FAILED_STATES:
        detail = f"rerun {remediation.external_run_id} {status.lower()}: {message}"
        service.finish(remediation.pk, succeeded=False, detail=detail)
        return None
    return keep_watching(WATCH, row, remediation)


TARGET: Target = Target(
    name="adf_rerun",
    label="ADF rerun",
    connect=AdfTransport.from_settings,
    configured=AdfTransport.configured,
    gave_up=gave_up,
    settings=(
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "AZURE_SUBSCRIPTION_ID",
        "AZURE_MANAGEMENT_URL",
        "AZURE_AUTHORITY_HOST",
        "AZURE_DISABLE_INSTANCE_DISCOVERY",
        "OUTBOUND_TIMEOUT_SECONDS",
    ),
    not_configured="ADF reruns need AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET",
    unreachable=run_unnamed,
    actions={
        RERUN: Action(_rerun, "Rerun the ADF pipeline from the failed activity"),
        WATCH: Action(_watch, "Watch the ADF rerun"),
    },
)
