"""Which Databricks workspace DATABRICKS_HOST reads, and whether a ticket's run is of another.

A run id is unique within a workspace only: a ticket recorded from another workspace names a
run the service's own workspace may hold under the same id, which is another run. A log
analysis (analysis/log_jobs.py), the enrichment of a failure's error
(analysis/enrichment_service.py) and a repair (integrations/targets/databricks_repair.py)
read or act on a ticket's run through DATABRICKS_HOST only when it is not of another
workspace."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from integrations.parsers.databricks import AZURE_WORKSPACE_HOST, UNKNOWN_WORKSPACE


def _host_url() -> str:
    """DATABRICKS_HOST as the SDK reads it: a bare host name is an https one."""
    host = settings.DATABRICKS_HOST.strip()
    return f"https://{host}" if host and "://" not in host else host


def configured_workspace_id() -> str:
    """The id of the workspace DATABRICKS_HOST reads: DATABRICKS_WORKSPACE_ID, else the id an
    Azure Databricks host name carries (``adb-<id>.<n>.azuredatabricks.net``, with or without
    its scheme); "" when neither says (another cloud's host names no id, and asking the
    workspace is a network call)."""
    configured = str(settings.DATABRICKS_WORKSPACE_ID).strip()
    if configured:
        return configured
    host = (urlsplit(_host_url()).hostname or "").lower()
    match = AZURE_WORKSPACE_HOST.fullmatch(host)
    return match.group(1) if match else ""


def foreign_workspace(entity: dict[str, Any]) -> str:
    """The workspace a ticket's run entity names when it is known and not the one
    DATABRICKS_HOST reads (`configured_workspace_id`), else "". A notification without a
    workspace id is recorded under the one its run page names (integrations/parsers/
    databricks.py), else as "unknown": nothing to compare, as when the service's own id is
    not known. One whose run page names another workspace than its `workspace_id`
    (`run_page_workspace_id`) is of either: the one of them that is not DATABRICKS_HOST's
    (`conflicting_workspaces` says why it is refused whatever DATABRICKS_HOST reads)."""
    configured = configured_workspace_id()
    named = str(entity.get("workspace_id", "")).strip()
    page = str(entity.get("run_page_workspace_id", "")).strip()
    if page and page != named:
        return page if named == configured else named
    if not configured or named in ("", UNKNOWN_WORKSPACE) or named == configured:
        return ""
    return named


def error_fetchable(entity: dict[str, Any]) -> bool:
    """Whether the analysis can fetch the error of the run `entity` names: DATABRICKS_HOST and
    DATABRICKS_TOKEN are set, and the run is not of another workspace."""
    return bool(settings.DATABRICKS_HOST and settings.DATABRICKS_TOKEN) and not foreign_workspace(
        entity
    )


def conflicting_workspaces(entity: dict[str, Any]) -> str:
    """Why a run whose notification named one workspace and whose run page another is
    neither read nor acted on ('' when they agree): which workspace it is of is unclear, and
    the same run id in the wrong one is another run."""
    named = str(entity.get("workspace_id", "")).strip()
    page = str(entity.get("run_page_workspace_id", "")).strip()
    if not page or page == named:
        return ""
    return (
        f"the notification named Databricks workspace {named} but its run page "
        f"(run_page_url) is of workspace {page}: which workspace the run is of is unclear, "
        "and the same run id in the other one is another run"
    )


def other_workspace(entity: dict[str, Any]) -> str:
    """Why the run `entity` names is not read nor acted on through DATABRICKS_HOST ('' when it
    may be): its notification and its run page name different workspaces
    (`conflicting_workspaces`), or it is a run of another workspace (`foreign_workspace`)."""
    conflict = conflicting_workspaces(entity)
    if conflict:
        return conflict
    foreign = foreign_workspace(entity)
    if not foreign:
        return ""
    return (
        f"the run is of Databricks workspace {foreign}, and DATABRICKS_HOST reads workspace "
        f"{configured_workspace_id()} (DATABRICKS_WORKSPACE_ID, else its Azure host name): "
        "the same run id there is another run"
    )


def run_page_link(entity: dict[str, Any]) -> str:
    """The page DATABRICKS_HOST's workspace shows for the job run `entity` names, shaped as
    runs/get's `run_page_url` is (`https://<host>/?o=<workspace id>#job/<job id>/run/<run
    id>`), for a failure whose notification names none and whose run no read named (its
    ticket's analysis, or ingest where no run is read: `tickets.services`). "" unless the run is
    known to be of that workspace (its notification's workspace id is
    `configured_workspace_id`: a run id of another workspace, or of one not known, may be
    another run there) and names its job and run."""
    host = _host_url()
    workspace = configured_workspace_id()
    job_id, run_id = str(entity.get("job_id", "")).strip(), str(entity.get("run_id", "")).strip()
    if not (host and workspace and job_id.isdigit() and run_id.isdigit()):
        return ""
    if str(entity.get("workspace_id", "")).strip() != workspace or other_workspace(entity):
        return ""
    parts = urlsplit(host)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return ""
    address = parts.netloc.rpartition("@")[2]  # no credentials in a link
    return f"{parts.scheme}://{address}/?o={workspace}#job/{job_id}/run/{run_id}"
