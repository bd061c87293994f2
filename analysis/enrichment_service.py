"""Which tickets lack their error text, and fetching it with the configured credentials.

Databricks job notifications carry only ids; ADF metric alerts only counts. With credentials
(`DATABRICKS_HOST`/`DATABRICKS_TOKEN`; `AZURE_*` for a service principal) the real error is
fetched through the official SDKs. Without them, or when the call fails, the analysis goes on
with what the alert carried and says what is missing.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from analysis import enrichment
from analysis.redaction import redact_data
from tickets.databricks_workspace import other_workspace, run_page_link
from tickets.models import DATABRICKS_REFETCH, Ticket
from tickets.rules import databricks_run_owner
from tickets.services import SUCCEEDED_SINCE

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Enriched:
    error_message: str = ""
    # What the failure is correlated on when it is not `error_message` (a Databricks error
    # without its trace: `enrichment.Enrichment.correlation_text`).
    correlation_text: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    # Links to the run in its own tool the fetched run gives (a Databricks run page): they
    # join the ticket's links beside those of the notification.
    links: dict[str, str] = field(default_factory=dict)
    # The ADF pipeline run found for an alert that named none, as it was read: its factory,
    # resource group and subscription, its run id and its pipeline (the ticket's affected
    # entity takes them: `tickets.services.settle_run`), and a later run of its pipeline that
    # succeeded, if one has (`SUCCEEDED_SINCE`).
    run: dict[str, str] = field(default_factory=dict)
    # The owner the fetched Databricks run names (`databricks_owner`), taken before its
    # details are redacted (a user's name is their e-mail).
    owner: str = ""
    # Why the Databricks run could not be read for a reason that may pass (a throttle, a 5xx,
    # a timeout), whether or not it is marked to be read again (`unread_for_now`).
    unreachable: str = ""
    # The job run the Databricks run's failing Run Job task triggered, its key in the ticket's
    # workspace, and that task (`TRIGGERED_JOB_RUN`): also when the read of that run is to be
    # tried again, its id being known. Empty otherwise.
    triggered_run: dict[str, str] = field(default_factory=dict)


def enrich(ticket: Ticket, *, databricks_down: str = "") -> Enriched:
    """`databricks_down`: why a read of another run just failed for a reason that may pass
    (`unread_for_now`): a Databricks run is then not read (each read would wait its whole
    `ENRICHMENT_TIMEOUT_SECONDS` in vain, holding back every page of the batch) but marked to
    be read again (unless DATABRICKS_REFETCH_TRIES is 0)."""
    if not ticket.details.get("needs_enrichment"):
        return Enriched()
    if ticket.source == "databricks":
        return _enrich_databricks(ticket, databricks_down)
    if ticket.processing_mode == "adf":
        return _enrich_adf(ticket)
    return Enriched(missing=["the alert carries no error text"])


def _enrich_databricks(ticket: Ticket, databricks_down: str = "") -> Enriched:
    # The latest failed run counted on the ticket (the one a repair acts on), not the first.
    entity = (ticket.latest_run or {}).get("entity") or ticket.affected_entity
    enriched = _read_databricks_run(ticket, entity, databricks_down)
    if enriched.links.get("run"):
        return enriched
    # The run read names no page (or was not read): the page DATABRICKS_HOST's workspace shows
    # for it, when the run is known to be of that workspace.
    page = run_page_link(entity)
    return replace(enriched, links={"run": page}) if page else enriched


def _read_databricks_run(
    ticket: Ticket, entity: dict[str, Any], databricks_down: str = ""
) -> Enriched:
    if not (settings.DATABRICKS_HOST and settings.DATABRICKS_TOKEN):
        return Enriched(
            missing=[
                "the Databricks notification carries no error text; set DATABRICKS_HOST and "
                "DATABRICKS_TOKEN to fetch the failed run's error and trace"
            ]
        )
    config = databricks_config()
    elsewhere = other_workspace(entity)
    if elsewhere:  # the same run id on DATABRICKS_HOST's workspace is another run
        return Enriched(missing=[f"the run's error was not fetched: {elsewhere}"])
    if databricks_down:
        not_tried = f"not tried, as a read of another run just failed: {databricks_down}"
        return _unread(ticket, enrichment.EnrichmentError(not_tried, retryable=True))
    try:
        found = enrichment.enrich_databricks_run(
            config,
            str(entity.get("run_id", "")),
            entity.get("task_key", ""),
            str(entity.get("task_run_id", "")),
        )
    except enrichment.EnrichmentError as exc:
        logger.warning("Databricks enrichment of %s failed: %s", ticket.pk, exc)
        return _unread(ticket, exc)
    if found.unread_for_now:
        logger.warning(
            "Databricks enrichment of %s is partial: %s", ticket.pk, found.unread_for_now
        )
        if _refetch_try(ticket) <= settings.DATABRICKS_REFETCH_TRIES:
            # Read again whole, as a run whose runs/get failed so: its failure is settled on
            # its error (`settle_fingerprint`), not on the state message that stood in for it.
            unread = enrichment.EnrichmentError(found.unread_for_now, retryable=True)
            return replace(_unread(ticket, unread), triggered_run=_triggered_run(ticket, found))
    enriched = replace(
        _found(found),
        owner=databricks_owner(found.details),
        unreachable=redact_data(found.unread_for_now),
        triggered_run=_triggered_run(ticket, found),
    )
    if ticket.details.get(REFETCH):
        enriched = replace(enriched, details={**enriched.details, REFETCH: None})
    # The job run's page, as a notification's `run.run_page_url` would name it.
    page = enriched.details.get("run_page_url")
    if isinstance(page, str) and page.startswith(("https://", "http://")):
        return replace(enriched, links={"run": page})
    return enriched


REFETCH = DATABRICKS_REFETCH


def _triggered_run(ticket: Ticket, found: enrichment.Enrichment) -> dict[str, str]:
    """The run `found.triggered_run_id` names, keyed as a notification of it from the ticket's
    workspace is (`databricks:<workspace>:<run id>`: a Run Job task runs a job of its own
    workspace), and the Run Job task that triggered it."""
    if found.triggered_run_id is None:
        return {}
    workspace = ticket.run_id.split(":")[1]
    return {
        "run_key": f"databricks:{workspace}:{found.triggered_run_id}",
        "task_key": found.triggering_task,
    }


# What the RCA of a run not to be read again says of it, where the read may succeed later.
NOT_READ_AGAIN = (
    "it is not read again: ask for a fresh RCA to read it once the Databricks API answers"
)


def _unread(ticket: Ticket, exc: enrichment.EnrichmentError) -> Enriched:
    """The ticket's run could not be read: why, and, when the read may succeed later and
    DATABRICKS_REFETCH_TRIES are not spent, the mark that has it read again; once they are
    (or with none), the RCA says it is not read again and how staff have it read."""
    tries = _refetch_try(ticket)
    unreachable = (
        (redact_data(str(exc)) or "the Databricks API did not answer") if exc.retryable else ""
    )
    if exc.retryable and tries <= settings.DATABRICKS_REFETCH_TRIES:
        marked = redact_data(
            {"failed_at": timezone.now().isoformat(), "tries": tries, "reason": str(exc)}
        )
        return Enriched(
            missing=[
                f"could not fetch the run's error: {exc}; it is read again once the "
                "Databricks API answers"
            ],
            details={REFETCH: marked},
            unreachable=unreachable,
        )
    cleared = {REFETCH: None} if ticket.details.get(REFETCH) else {}
    given_up = f"; {NOT_READ_AGAIN}" if exc.retryable else ""
    return Enriched(
        missing=[f"could not fetch the run's error: {exc}{given_up}"],
        details=cleared,
        unreachable=unreachable,
    )


def _refetch_try(ticket: Ticket) -> int:
    """Which read of the ticket's run this is, counting the reads that failed for a reason
    that may pass (`details.databricks_refetch.tries`)."""
    return int((ticket.details.get(REFETCH) or {}).get("tries") or 0) + 1


def unread_for_now(ticket: Ticket, enriched: Enriched) -> str:
    """Why the ticket's Databricks run could not be read for a reason that may pass (a
    throttle, a 5xx, a timeout), or "" when it was read or could not be for good. Also when
    the run is not to be read again (DATABRICKS_REFETCH_TRIES is 0 or spent): the API is down
    for the batch's other runs all the same."""
    return enriched.unreachable if ticket.source == "databricks" else ""


def databricks_owner(details: dict[str, Any]) -> str:
    """Who owns a Databricks run's failure where no rule names an owner: the person the job runs
    as (jobs/get's `run_as_user_name`, its current setting), who answers for what it does
    whoever started this run, else the run's creator (`creator_user_name`), by
    `rules.databricks_run_owner`; a service principal names nobody, so the job running as one
    falls back to the creator. "" when neither names a person."""
    for name in ("run_as_user_name", "creator_user_name"):
        owner = databricks_run_owner(str(details.get(name) or ""))
        if owner:
            return owner
    return ""


def databricks_config() -> enrichment.DatabricksConfig:
    return enrichment.DatabricksConfig(
        host=settings.DATABRICKS_HOST,
        token=settings.DATABRICKS_TOKEN,
        timeout_seconds=settings.ENRICHMENT_TIMEOUT_SECONDS,
    )


def _enrich_adf(ticket: Ticket) -> Enriched:
    entity = ticket.affected_entity
    factory, resource_group = entity.get("factory", ""), entity.get("resource_group", "")
    subscription = entity.get("subscription_id") or settings.AZURE_SUBSCRIPTION_ID
    credentials = (settings.AZURE_TENANT_ID, settings.AZURE_CLIENT_ID, settings.AZURE_CLIENT_SECRET)
    if not all(credentials) or not subscription:
        return Enriched(
            missing=[
                "the ADF alert carries no error text; set AZURE_TENANT_ID, AZURE_CLIENT_ID, "
                "AZURE_CLIENT_SECRET (and AZURE_SUBSCRIPTION_ID) to fetch its error from Data "
                "Factory"
            ]
        )
    if not (factory and resource_group):
        return Enriched(missing=["the alert does not name the data factory and resource group"])
    config = enrichment.AdfConfig(
        subscription_id=subscription,
        credential=enrichment.adf_credential_from_settings(
            *credentials,
            timeout_seconds=settings.ENRICHMENT_TIMEOUT_SECONDS,
            authority=settings.AZURE_AUTHORITY_HOST,
            disable_instance_discovery=settings.AZURE_DISABLE_INSTANCE_DISCOVERY,
        ),
        base_url=settings.AZURE_MANAGEMENT_URL,
        timeout_seconds=settings.ENRICHMENT_TIMEOUT_SECONDS,
    )
    details = ticket.details
    named_after_rule = details.get("named_after_alert_rule")
    trigger, activity = details.get("trigger", ""), details.get("activity", "")
    if named_after_rule and trigger and not activity:
        return _enrich_adf_trigger(ticket, config, resource_group, factory, trigger)
    window = {
        "since": ticket.first_seen - timedelta(hours=2),
        "until": ticket.first_seen + timedelta(minutes=10),
    }
    started = time.monotonic()
    try:
        run_id = details.get("pipeline_run_id")
        if not run_id and not named_after_rule:
            run_id = enrichment.latest_failed_adf_run(
                config, resource_group, factory, ticket.pipeline, **window
            )
        elif not run_id and activity:
            # The alert was split by the activity's name alone: it names no pipeline.
            run_id = enrichment.latest_adf_run_with_failed_activity(
                config, resource_group, factory, activity, **window
            )
        elif not run_id:
            return Enriched(
                missing=[
                    "the alert names no pipeline, activity, trigger or run: split a metric "
                    "alert's rule by the Name dimension, or have a log alert's query return "
                    "PipelineName and RunId"
                ]
            )
        if not run_id:
            where = f"activity '{activity}'" if named_after_rule else "this pipeline"
            return Enriched(missing=[f"no failed run of {where} found around the alert"])
        # The look-up and the read share ENRICHMENT_TIMEOUT_SECONDS: each had all of it, so an
        # analysis could wait twice as long as the setting says.
        left = settings.ENRICHMENT_TIMEOUT_SECONDS - (time.monotonic() - started)
        if left <= 0:
            return Enriched(missing=[f"no time was left to read the error of run {run_id}"])
        found = enrichment.enrich_adf_pipeline_run(
            replace(config, timeout_seconds=left), resource_group, factory, run_id
        )
    except enrichment.EnrichmentError as exc:
        logger.warning("ADF enrichment of %s failed: %s", ticket.pk, exc)
        return Enriched(missing=[f"could not fetch the pipeline run's error: {exc}"])
    run = {
        "factory": factory,
        "resource_group": resource_group,
        "subscription_id": subscription,
        "run_id": run_id,
        "pipeline": str(found.details.get("pipeline") or ticket.pipeline),
    }
    if not details.get("pipeline_run_id"):
        # Found, not named: the pipeline's `Succeeded` may have landed before the ticket took
        # the run's recovery key (`settle_run`), and ended nothing.
        succeeded = _succeeded_since(config, resource_group, run, found.details, started)
        if succeeded:
            run[SUCCEEDED_SINCE] = succeeded
    # Redacted as ingest redacts the ADF webhook's names for the run (its affected entity).
    return replace(_found(found, pipeline_run_id=run_id), run=redact_data(run))


def _succeeded_since(
    config: enrichment.AdfConfig,
    resource_group: str,
    run: dict[str, str],
    details: dict[str, Any],
    started: float,
) -> str:
    """The id of a later run of the found run's pipeline that succeeded after it failed ('' when
    none is, or it could not be read in the time left: the failure stands, as it did before
    this look)."""
    left = settings.ENRICHMENT_TIMEOUT_SECONDS - (time.monotonic() - started)
    run_start, run_end = details.get("run_start"), details.get("run_end")
    if left <= 0 or not run_start or not run_end:
        return ""
    try:
        found = enrichment.adf_run_succeeded_since(
            replace(config, timeout_seconds=left),
            resource_group,
            run["factory"],
            run["pipeline"],
            datetime.fromisoformat(run_start),
            datetime.fromisoformat(run_end),
        )
    except enrichment.EnrichmentError as exc:
        logger.warning("could not read the later runs of %s: %s", run["pipeline"], exc)
        return ""
    return found or ""


def _enrich_adf_trigger(
    ticket: Ticket, config: enrichment.AdfConfig, resource_group: str, factory: str, trigger: str
) -> Enriched:
    """A trigger's failure (`TriggerFailedRuns`) started no pipeline run: its error is the
    trigger run's message."""
    try:
        found = enrichment.latest_failed_adf_trigger_run(
            config,
            resource_group,
            factory,
            trigger,
            since=ticket.first_seen - timedelta(hours=2),
            until=ticket.first_seen + timedelta(minutes=10),
        )
    except enrichment.EnrichmentError as exc:
        logger.warning("ADF enrichment of %s failed: %s", ticket.pk, exc)
        return Enriched(missing=[f"could not fetch the trigger run's error: {exc}"])
    if found is None:
        return Enriched(missing=["no failed run of this trigger found around the alert"])
    return _found(found)


def _found(found: enrichment.Enrichment, **extra: Any) -> Enriched:
    """What was fetched, its details redacted: they are stored on the ticket and shown as
    they are (a run's error trace quotes connection strings and tokens as the error does)."""
    details = {
        **redact_data(found.details),
        **extra,
        "enriched_by": found.source,
        "needs_enrichment": False,
    }
    return Enriched(
        error_message=found.error_message,
        correlation_text=found.correlation_text,
        details=details,
    )
