"""Databricks job notification webhooks (job- and task-level).

The body (`bodies.DatabricksNotification`) carries ids only (workspace, job, run, optionally the
task); the error text is fetched later by the analysis when workspace credentials are configured.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations.events import TASK_PART, EventKind, FailureEvent, Source
from integrations.parsers.bodies import DatabricksNotification, validate

FAILURE_EVENT = "jobs.on_failure"
FAILURE_EVENTS = {FAILURE_EVENT}
SUCCESS_EVENTS = {"jobs.on_success"}
# Any other event (the other known ones, bodies.DATABRICKS_EVENTS, or one Databricks adds
# later) is not a failure: stored and answered ignored, no ticket.

UNKNOWN_WORKSPACE = "unknown"
# Azure Databricks names a workspace's host after its id: adb-<workspace id>.<n>.azuredatabricks.net
AZURE_WORKSPACE_HOST = re.compile(r"adb-(\d+)\.\d+\.azuredatabricks\.net")


# A repair keeps its run's id, and the notification of its failure names no attempt: a repair's
# failure is keyed `<the run's occurrence key>#repair:<repair id>` once the run's repair history
# says which attempt ended last (integrations/repaired_runs.py), and names its repair in its
# details.
REPAIR_PART = "#repair:"
REPAIR_ID = "repair_id"


def run_page_workspace(url: str) -> str:
    """The workspace id a run page URL names: its `o` query parameter (any cloud's
    `https://<host>/?o=<id>#job/<job>/run/<run>`), else the id of an Azure host
    (`adb-<id>.<n>.azuredatabricks.net`); "" when it names none."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return ""
    named = parse_qs(parts.query).get("o", [""])[0].strip()
    if named.isdigit():
        return named
    match = AZURE_WORKSPACE_HOST.fullmatch(host)
    return match.group(1) if match else ""


def recovery_key(workspace: str, job_id: str, task_key: str = "") -> str:
    """A job's key, or `<job key>/task:<task>` for one task: a task's success ends only that
    task's failure, a job's success the job's failure and those of its tasks."""
    job = f"databricks:{workspace}:job:{job_id}"
    return f"{job}{TASK_PART}{task_key}" if task_key else job


def run_failure_key(job_run_key: str) -> str:
    """The occurrence key of a job run's own failure, which its tasks' failures are part of
    (`FailureEvent.part_of`), unbounded."""
    return f"{job_run_key}:{FAILURE_EVENT}"


def parse_databricks_notification(payload: Any) -> FailureEvent:
    body = validate(DatabricksNotification, payload)
    event_type = body.event_type
    run_page_url = body.run.run_page_url
    # Without `workspace_id`, the workspace its run page names: its failure and its success
    # key the run and the job alike whichever of them carries the field.
    page_workspace = run_page_workspace(run_page_url)
    workspace = body.workspace_id or page_workspace or UNKNOWN_WORKSPACE
    job_id = body.job.job_id
    job_name = body.job.name or f"job {job_id}"
    task_key = body.task.task_key if body.task else ""
    # A task's notification names the task's own run and, as its parent, the job's run: the run
    # its job's own notification names, and the one to read and repair.
    task_run_id = body.run.run_id if task_key and body.run.parent_run_id else ""
    run_id = body.run.parent_run_id if task_run_id else body.run.run_id

    job_run_key = f"databricks:{workspace}:{run_id}"
    run_key = f"{job_run_key}:{task_key}" if task_key else job_run_key
    # Each attempt of a retried task is a run of its own: one more occurrence, not a duplicate.
    occurrence_key = f"{run_key}:{task_run_id}" if task_run_id else run_key
    if event_type in FAILURE_EVENTS:
        kind = EventKind.FAILURE
    elif event_type in SUCCESS_EVENTS:
        kind = EventKind.RESOLVED
    else:
        kind = EventKind.IGNORED

    resource = {"workspace_id": workspace, "job_id": job_id, "job_name": job_name, "run_id": run_id}
    if task_key:
        resource["task_key"] = task_key
    if task_run_id:
        resource["task_run_id"] = task_run_id
    if page_workspace and page_workspace != workspace:
        # Which workspace the run is of is unclear: nothing is read nor repaired
        # (tickets/databricks_workspace.py).
        resource["run_page_workspace_id"] = page_workspace
    links = {}
    if run_page_url.startswith(("https://", "http://")):
        links["run"] = run_page_url
    state_message = body.run.state.state_message if body.run.state else ""
    what = f"task '{task_key}' of job" if task_key else "job"
    message = state_message or (
        f"Databricks {what} '{job_name}' (job {job_id}) run {run_id} failed; "
        "the notification carries no error text."
    )
    return FailureEvent(
        source=Source.DATABRICKS,
        processing_mode="databricks",
        kind=kind,
        pipeline=job_name[:500],
        run_key=run_key,
        occurrence_key=f"{occurrence_key}:{event_type}",
        part_of=run_failure_key(job_run_key) if task_key and kind == EventKind.FAILURE else "",
        resolve_key=recovery_key(workspace, job_id, task_key),
        deployment=body.workspace_id,
        unit=task_key,
        error_message=message if kind == EventKind.FAILURE else "",
        resource=resource,
        links=links,
        details={"event_type": event_type, "needs_enrichment": not state_message},
    )


def attempt_unnamed(event: FailureEvent) -> bool:
    """A Databricks job run's failure keyed by its run alone: a redelivery of it and the failure
    of a repair of the run come with the same key. (A task's notification that names its
    parent run names the task's own run, new at every repair.)"""
    return (
        event.source == Source.DATABRICKS
        and event.kind == EventKind.FAILURE
        and "task_run_id" not in event.resource
        and REPAIR_ID not in event.details
    )


def of_repair(event: FailureEvent, repair_id: int) -> FailureEvent:
    """The failure `event` reported, as the failure of the run's repair `repair_id`."""
    return dataclasses.replace(
        event,
        occurrence_key=f"{event.occurrence_key}{REPAIR_PART}{repair_id}",
        details={**event.details, REPAIR_ID: repair_id},
    )
