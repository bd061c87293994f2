"""Log-analysis jobs: create them (uploads, an allowed URL, a Blob path, a Databricks run, a
ticket), run them (read → mine → analyse, with progress pushed to the dashboard), cancel them,
recover them when a worker died, attach their RCA to a ticket and export them as Markdown.

The reading and mining are the pure ``analysis.logs`` core; this module adds the database,
the files on disk, the fetchers, the classifier, similar tickets and the Gemini/rule RCA.
"""

from __future__ import annotations

import itertools
import logging
import re
import shutil
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from analysis import airflow_log, enrichment, log_fetch, services
from analysis.classifier import classify_error
from analysis.embeddings import EmbeddingError, configured_backend, failure_text, local_backend
from analysis.gemini import LlmFailure, gemini_configured, generate_rca
from analysis.logs.formats import LineParser
from analysis.logs.mining import MiningResult, mine_lines
from analysis.logs.reader import (
    SNIFF_BYTES,
    LogReader,
    LogReadError,
    LogSource,
    ReadLimits,
    human_size,
    is_binary,
    is_container,
)
from analysis.models import LogAnalysisJob
from analysis.prompt import build_log_rca_prompt
from analysis.redaction import redact
from analysis.rules import build_rule_rca
from rca_project import airflow_api, http_errors, timed_read
from rca_project.observability import RCA_FALLBACKS
from tickets import lifecycle
from tickets.broadcast import GROUP, publisher
from tickets.databricks_workspace import (
    configured_workspace_id,
    conflicting_workspaces,
    foreign_workspace,
)
from tickets.lifecycle import Actor
from tickets.models import RcaSource, Ticket

logger = logging.getLogger(__name__)

Status = LogAnalysisJob.Status
Source = LogAnalysisJob.Source

COPY_CHUNK = 1024 * 1024
PUSH_INTERVAL_SECONDS = 0.5
# Progress: reading (fetching) up to 5 %, mining to 85 %, analysing to 100 %.
MINING_START, ANALYSING_START = 5, 85
MAX_NAME_CHARS = 200


class LogJobError(ValueError):
    """A request for a job that cannot be honoured; the message says why (a 4xx)."""


class JobCancelled(Exception):
    """The job was cancelled while it ran."""


@dataclass(frozen=True)
class Upload:
    name: str
    stream: IO[bytes]


def read_limits() -> ReadLimits:
    return ReadLimits(
        max_bytes=settings.LOG_ANALYSIS_MAX_BYTES,
        max_lines=settings.LOG_ANALYSIS_MAX_LINES,
        max_line_chars=settings.LOG_ANALYSIS_MAX_LINE_CHARS,
        max_files=settings.LOG_ANALYSIS_MAX_FILES,
    )


def job_dir(job: LogAnalysisJob) -> Path:
    return Path(settings.LOG_ANALYSIS_DIR) / str(job.id)


# --- creating -----------------------------------------------------------------------------
def create_job_from_files(
    owner: User, uploads: list[Upload], ticket: Ticket | None = None
) -> LogAnalysisJob:
    """Store the uploads under a new job (nothing is kept if any of them is refused: an empty
    file, or a plain file that is binary by the reader's own test on its first block)."""
    if not uploads:
        raise LogJobError("no file given")
    if len(uploads) > settings.LOG_ANALYSIS_MAX_FILES:
        raise LogJobError(
            f"too many files: {len(uploads)} (limit {settings.LOG_ANALYSIS_MAX_FILES})"
        )
    job = LogAnalysisJob(owner=owner, ticket=ticket, source=Source.UPLOAD)
    folder = job_dir(job)
    folder.mkdir(parents=True, exist_ok=True)
    inputs: list[dict[str, Any]] = []
    try:
        total = 0
        for index, upload in enumerate(uploads):
            name = _safe_name(upload.name, index)
            size = _copy(
                upload.stream, folder / f"{index:02d}", settings.LOG_ANALYSIS_MAX_BYTES - total
            )
            if size == 0:
                raise LogJobError(f"{name}: the file is empty")
            if _binary_upload(folder / f"{index:02d}"):
                raise LogJobError(
                    f"{name}: binary data, not a text log (plain text, .gz or .zip expected)"
                )
            total += size
            inputs.append({"name": name, "size": size})
        job.inputs = inputs
        job.step = f"{len(inputs)} file(s) waiting"
        job.save()
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    enqueue(job)
    return job


def create_job_from_url(owner: User, url: str, ticket: Ticket | None = None) -> LogAnalysisJob:
    """A job that fetches its log when it runs: ``databricks://runs/<run id>`` of a run a ticket
    records, or ``airflow://dags/<dag>/runs/<run>/tasks/<task>/tries/<n>`` (``?map_index=<i>``)
    of a task a ticket records (the job belongs to that ticket when none is named), a Blob path
    of our container (``blob://<path>`` or its https URL), or an http(s) URL on an allowed
    host."""
    source, ref, ticket = classify_url(url, ticket)
    job = LogAnalysisJob.objects.create(
        owner=owner, ticket=ticket, source=source, source_ref=ref, step="waiting to fetch"
    )
    enqueue(job)
    return job


def create_job_for_ticket(owner: User, ticket: Ticket) -> LogAnalysisJob:
    """ "Analyse the run's log": the ticket's Databricks run output (with DATABRICKS_HOST set,
    and the run not of another workspace: `foreign_workspace`), else its Airflow task try's
    log through Airflow's REST API (with AIRFLOW_API_URL set, and the task not of another
    deployment: `airflow_log.task_try_of`), else its log URL (an Airflow ticket's), else the
    error text and details the ticket holds. An Azure Monitor alert that is no pipeline
    failure has no run: LogJobError."""
    if not ticket.has_run_log:
        raise LogJobError(
            f"ticket {ticket.pk} is an Azure Monitor alert, not a pipeline run: it has no run "
            "log to analyse (upload its logs with ticket_id, or give a url)"
        )
    source, ref = Source.TICKET, ""
    log_url = str((ticket.links or {}).get("log", ""))
    # The job run's id: in the latest failure's resource, else the ticket's (its `run_id` is
    # the dedup key, databricks:<workspace>:<run>[:<task>], no run id the API takes).
    entity = (ticket.latest_run or {}).get("entity") or ticket.affected_entity or {}
    run_id = str(entity.get("run_id", ""))
    if (
        ticket.source == "databricks"
        and run_id.isdigit()
        and settings.DATABRICKS_HOST
        and not foreign_workspace(entity)
    ):
        source, ref = Source.DATABRICKS, run_id
    elif (task_try := airflow_log.task_try_of(ticket)) is not None:
        if task_try.try_number < 1:
            # Airflow counts tries from 1: no try 0 has a log its REST API could answer.
            raise LogJobError(
                f"ticket {ticket.pk}'s latest failure ({task_try.describe()}) was reported "
                "with try_number 0: Airflow counts tries from 1, so it has no log of that try "
                "to read (upload its logs with ticket_id, or give a url)"
            )
        source, ref = Source.AIRFLOW, task_try.ref()
    elif log_url.startswith(("http://", "https://")):
        source, ref = Source.URL, redact(log_url)
    job = LogAnalysisJob.objects.create(
        owner=owner, ticket=ticket, source=source, source_ref=ref, step="waiting to fetch"
    )
    enqueue(job)
    return job


def classify_url(url: str, ticket: Ticket | None) -> tuple[str, str, Ticket | None]:
    """(source, reference, the ticket the job belongs to) for a URL the service may fetch;
    LogJobError when it may not."""
    url = url.strip()
    if not url:
        raise LogJobError("url is empty")
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an unclosed IPv6 bracket ("http://[::1/log")
        raise LogJobError(f"url is not a valid URL: {exc}") from exc
    if parts.scheme == "databricks":
        run_id = parts.path.strip("/").removeprefix("runs/") if parts.netloc == "runs" else ""
        run_id = run_id or parts.path.rsplit("/", 1)[-1]
        # A run id is a 64-bit integer: at most 19 digits.
        if (
            parts.netloc != "runs"
            or not (run_id.isascii() and run_id.isdigit())
            or len(run_id.lstrip("0")) > 19
        ):
            raise LogJobError("a Databricks run is databricks://runs/<numeric run id>")
        if not settings.DATABRICKS_HOST:
            raise LogJobError("Databricks is not configured (DATABRICKS_HOST)")
        run_id = str(int(run_id))
        return Source.DATABRICKS, run_id, databricks_run_ticket(run_id, ticket)
    if parts.scheme == "airflow":
        try:
            task_try = airflow_log.TaskTry.parse(url)
        except airflow_log.AirflowLogError as exc:
            raise LogJobError(str(exc)) from exc
        if not airflow_api.configured():
            raise LogJobError(
                "Airflow is not configured (AIRFLOW_API_URL with AIRFLOW_API_TOKEN, or "
                "AIRFLOW_USERNAME and AIRFLOW_PASSWORD)"
            )
        return Source.AIRFLOW, task_try.ref(), airflow_task_ticket(task_try, ticket)
    blob_path = _our_blob_path(url)
    if blob_path is not None:
        if not settings.AZURE_STORAGE_CONNECTION_STRING:
            raise LogJobError("Blob storage is not configured (AZURE_STORAGE_CONNECTION_STRING)")
        return Source.BLOB, blob_path, ticket
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LogJobError(
            "url must be http(s)://, blob://<path>, databricks://runs/<id> or "
            "airflow://dags/<dag>/runs/<run>/tasks/<task>/tries/<n>"
        )
    if parts.username or parts.password or "[REDACTED" in redact(url):
        raise LogJobError("url must not carry credentials (a user, a password or a token)")
    allowed = {h.lower() for h in settings.LOG_ANALYSIS_URL_HOSTS}
    if ticket is not None:
        ticket_log = urlsplit(str((ticket.links or {}).get("log", "")))
        if ticket_log.hostname:
            allowed.add(ticket_log.hostname.lower())
    if parts.hostname.lower() not in allowed:
        raise LogJobError(
            f"host {parts.hostname} is not allowed: only the ticket's Airflow log host and "
            "LOG_ANALYSIS_URL_HOSTS"
        )
    return Source.URL, redact(url), ticket


# Where a Databricks ticket records its runs: the failure that opened it (`affected_entity`)
# and the latest one counted on it (`latest_run`, the run a remediation repairs), each naming
# the job run and, for a task's failure, the task's own run.
DATABRICKS_RUN_FIELDS = (
    "affected_entity__run_id",
    "affected_entity__task_run_id",
    "latest_run__entity__run_id",
    "latest_run__entity__task_run_id",
)


def databricks_run_ticket(run_id: str, ticket: Ticket | None) -> Ticket:
    """The ticket that records the Databricks run `run_id` (see DATABRICKS_RUN_FIELDS): the
    one named, or the last seen of those that do. The service's token reads any run of its
    workspace, so a run no ticket records is refused (LogJobError), as is one the named
    ticket does not record, and one recorded only as a run of another workspace
    (`foreign_workspace`)."""
    # The Databricks webhook keeps run ids as text; a number is matched too.
    values = [run_id, int(run_id)]
    records = Q()
    for field in DATABRICKS_RUN_FIELDS:
        records |= Q(**{f"{field}__in": values})
    found = Ticket.objects.filter(records, source="databricks")
    if ticket is not None:
        found = found.filter(pk=ticket.pk)
    fields = ("affected_entity", "latest_run", "last_seen")
    recorders = list(found.only(*fields).order_by("-last_seen", "-pk"))
    if not recorders:
        if ticket is not None:
            raise LogJobError(
                f"Databricks run {run_id} is not a run of ticket {ticket.pk}: only the run of "
                "a Databricks ticket's failure or its latest run is read"
            )
        raise LogJobError(
            f"no ticket records Databricks run {run_id}: only the run of a Databricks "
            "ticket's failure or its latest run is read"
        )
    # A run id is unique within a workspace only: a ticket of another workspace records a run
    # the service's own workspace may hold under the same id, which is not that ticket's run.
    foreign = conflict = ""
    for recorder in recorders:
        entities = _entities_recording(recorder, run_id)
        workspaces = {foreign_workspace(entity) for entity in entities} or {""}
        if "" in workspaces:  # recorded as a run of this workspace (or of one not named)
            return ticket if ticket is not None else recorder
        foreign = foreign or min(workspaces)
        conflict = conflict or next(filter(None, map(conflicting_workspaces, entities)), "")
    if conflict:
        raise LogJobError(
            f"Databricks run {run_id}"
            + (f" (ticket {ticket.pk})" if ticket is not None else "")
            + f" is not read from here: {conflict}"
        )
    raise LogJobError(
        f"Databricks run {run_id} is a run of workspace {foreign}"
        + (f" (ticket {ticket.pk})" if ticket is not None else "")
        + f", not of the workspace DATABRICKS_HOST reads ({configured_workspace_id()}): "
        "the same run id there is another run"
    )


def airflow_task_ticket(task_try: airflow_log.TaskTry, ticket: Ticket | None) -> Ticket:
    """The Airflow ticket whose failure or latest run is the task of `task_try` (its DAG, run,
    task and map index; any try of it): the one named, or the last seen of those that are.
    The service's credentials read every DAG's logs, so a task no ticket records is refused
    (LogJobError), as is one the named ticket does not record, and one recorded only as a
    task of another deployment than AIRFLOW_API_URL's (the same run id there is another run)."""
    records = Q()
    for field in ("affected_entity", "latest_run__entity"):
        task = Q(
            **{
                f"{field}__dag_id": task_try.dag_id,
                f"{field}__run_id": task_try.run_id,
                f"{field}__task_id": task_try.task_id,
            }
        )
        index = Q(**{f"{field}__map_index__in": [str(task_try.map_index), task_try.map_index]})
        if task_try.map_index < 0:  # a task that is not mapped may not name its map index
            index |= Q(**{f"{field}__map_index__isnull": True})
        records |= task & index
    found = Ticket.objects.filter(records, source="airflow")
    if ticket is not None:
        found = found.filter(pk=ticket.pk)
    recorders = list(
        found.only("affected_entity", "latest_run", "last_seen").order_by("-last_seen", "-pk")
    )
    what = f"Airflow task {task_try.dag_id}.{task_try.task_id} of run {task_try.run_id}"
    if not recorders:
        if ticket is not None:
            raise LogJobError(
                f"{what} is not a task of ticket {ticket.pk}: only the task of an Airflow "
                "ticket's failure or its latest run is read"
            )
        raise LogJobError(
            f"no ticket records {what}: only the task of an Airflow ticket's failure or its "
            "latest run is read"
        )
    elsewhere = ""
    for recorder in recorders:
        entities = [recorder.affected_entity, (recorder.latest_run or {}).get("entity")]
        for entity in entities:
            if not isinstance(entity, dict) or not task_try.names(entity):
                continue
            why = airflow_api.other_deployment(entity)
            if not why:
                return ticket if ticket is not None else recorder
            elsewhere = elsewhere or why
    raise LogJobError(f"{what} is not read from here: {elsewhere}")


def _entities_recording(ticket: Ticket, run_id: str) -> list[dict[str, Any]]:
    """The ticket's run entities (its failure's, its latest run's) naming run `run_id`, as the
    job run or a task's own run."""
    entities = [ticket.affected_entity or {}, (ticket.latest_run or {}).get("entity") or {}]
    return [
        entity
        for entity in entities
        if isinstance(entity, dict)
        and run_id in (str(entity.get("run_id", "")), str(entity.get("task_run_id", "")))
    ]


def _our_blob_path(url: str) -> str | None:
    """The blob name when the URL points into our container, else None."""
    container = settings.AZURE_STORAGE_CONTAINER
    if url.startswith("blob://"):
        path = url.removeprefix("blob://").lstrip("/")
        path = path.removeprefix(f"{container}/")
        if not path or ".." in path.split("/"):
            raise LogJobError("blob:// needs a blob path inside the evidence container")
        return path
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme == "https" and host.endswith(".blob.core.windows.net"):
        segments = parts.path.lstrip("/").split("/", 1)
        if len(segments) == 2 and segments[0] == container and segments[1]:
            account = host.split(".", 1)[0]
            if account.lower() not in settings.AZURE_STORAGE_CONNECTION_STRING.lower():
                raise LogJobError("that Blob URL is not in our storage account")
            return segments[1]
        raise LogJobError(f"only blobs of the {container} container can be read")
    return None


def enqueue(job: LogAnalysisJob) -> None:
    from analysis.tasks import run_log_analysis

    job_id = str(job.id)
    transaction.on_commit(lambda: run_log_analysis.delay(job_id))


def _safe_name(name: str, index: int) -> str:
    base = Path(str(name or "").replace("\\", "/")).name
    cleaned = "".join(c for c in base if c.isprintable())[:MAX_NAME_CHARS].strip()
    return cleaned or f"file-{index + 1}.log"


def _binary_upload(path: Path) -> bool:
    """A plain (not gzip or zip) upload whose first block fails the reader's text test; an
    archive's members are judged when the job unpacks them."""
    with path.open("rb") as stored:
        head = stored.read(SNIFF_BYTES + 4)  # the sniffed block after a byte-order mark
    return not is_container(head) and is_binary(head)


def _copy(stream: IO[bytes], target: Path, allowance: int) -> int:
    size = 0
    with target.open("wb") as out:
        while chunk := stream.read(COPY_CHUNK):
            size += len(chunk)
            if size > allowance:
                limit = human_size(settings.LOG_ANALYSIS_MAX_BYTES)
                raise LogJobError(f"the files exceed the limit of {limit} per job")
            out.write(chunk)
    return size


# --- running ------------------------------------------------------------------------------
def run_job(job_id: str) -> LogAnalysisJob | None:
    """Run a job to its end. Idempotent: a finished job, or one another worker is on (fresh
    heartbeat), is left alone; a job whose worker died starts again from its files."""
    job = _claim(job_id)
    if job is None:
        return LogAnalysisJob.objects.filter(pk=job_id).first()
    progress = _Progress(job)
    try:
        sources = _fetch(job, progress)
        progress.update(Status.MINING, MINING_START, "mining")
        mined = _mine(job, sources, progress)
        progress.update(
            Status.ANALYSING, ANALYSING_START, "classifying and finding similar tickets"
        )
        report = analyse(job, mined, progress)
        _finish(job, Status.DONE, report=report, step="done")
    except JobCancelled:
        logger.info("log analysis %s cancelled", job.pk)
    except (
        LogReadError,
        LogJobError,
        enrichment.EnrichmentError,
        airflow_log.AirflowLogError,
    ) as exc:
        _finish(job, Status.FAILED, error=redact(str(exc)), step="failed")
    except Exception as exc:
        logger.exception("log analysis %s failed", job.pk)
        _finish(job, Status.FAILED, error=f"internal error ({type(exc).__name__})", step="failed")
    finally:
        job.refresh_from_db()
        if job.finished:
            shutil.rmtree(job_dir(job), ignore_errors=True)
            _push(job)
    return job


def _claim(job_id: str) -> LogAnalysisJob | None:
    stale = timezone.now() - timedelta(seconds=settings.LOG_ANALYSIS_STALE_SECONDS)
    with transaction.atomic():
        job = LogAnalysisJob.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.finished:
            return None
        if job.status in LogAnalysisJob.RUNNING and job.heartbeat_at and job.heartbeat_at > stale:
            return None  # another worker is on it
        if job.attempts >= settings.LOG_ANALYSIS_MAX_ATTEMPTS:
            job.status = Status.FAILED
            job.error = f"gave up after {job.attempts} attempts (the worker stopped each time)"
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "error", "finished_at"])
            transaction.on_commit(partial(_drop_files_and_push, job))
            return None
        now = timezone.now()
        job.attempts += 1
        job.status = Status.READING
        job.progress = 0
        job.step = "reading"
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.error = ""
        job.save(
            update_fields=[
                "attempts",
                "status",
                "progress",
                "step",
                "started_at",
                "heartbeat_at",
                "error",
            ]
        )
    _push(job)
    return job


class _Progress:
    """Saves status/progress/step with a heartbeat, pushes it live, and stops a cancelled job."""

    def __init__(self, job: LogAnalysisJob) -> None:
        self.job = job
        self._pushed = 0.0

    def update(self, status: str, progress: int, step: str) -> None:
        job = self.job
        changed_status = status != job.status
        job.status, job.progress, job.step = status, max(0, min(100, progress)), step[:300]
        job.heartbeat_at = timezone.now()
        # Only a job that is still running takes the update: a cancel in between wins.
        updated = LogAnalysisJob.objects.filter(
            pk=job.pk, status__in=LogAnalysisJob.RUNNING
        ).update(
            status=job.status, progress=job.progress, step=job.step, heartbeat_at=job.heartbeat_at
        )
        if not updated:
            raise JobCancelled
        now = time.monotonic()
        if changed_status or now - self._pushed >= PUSH_INTERVAL_SECONDS:
            self._pushed = now
            _push(job)


def _fetch(job: LogAnalysisJob, progress: _Progress) -> list[LogSource]:
    folder = job_dir(job)
    if job.source == Source.UPLOAD:
        sources = [
            LogSource(folder / f"{index:02d}", item["name"])
            for index, item in enumerate(job.inputs)
        ]
        missing = [s.name for s in sources if not s.path.exists()]
        if missing:
            raise LogJobError(f"the uploaded files are gone ({', '.join(missing)}); upload again")
        return sources
    folder.mkdir(parents=True, exist_ok=True)
    progress.update(Status.READING, 1, f"fetching from {job.source}")
    if job.source == Source.DATABRICKS:
        config = enrichment.DatabricksConfig(
            host=settings.DATABRICKS_HOST,
            token=settings.DATABRICKS_TOKEN,
            timeout_seconds=settings.LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS,
        )
        texts = enrichment.databricks_run_outputs(config, job.source_ref)
    elif job.source == Source.BLOB:
        texts = None
        _download_blob(job.source_ref, folder / "00")
        name = job.source_ref.rsplit("/", 1)[-1]
        _set_inputs(job, [(name, folder / "00")])
    elif job.source == Source.AIRFLOW:
        texts = None
        task_try = airflow_log.TaskTry.parse(job.source_ref)
        airflow_log.fetch_log(
            task_try,
            folder / "00",
            max_bytes=settings.LOG_ANALYSIS_MAX_BYTES,
            timeout=settings.LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS,
        )
        name = f"{task_try.task_id}-try{task_try.try_number}.log"
        _set_inputs(job, [(name, folder / "00")])
    elif job.source == Source.URL:
        texts = None
        _download_url(job, folder / "00")
        name = Path(urlsplit(job.source_ref).path).name or "log"
        _set_inputs(job, [(name, folder / "00")])
    else:  # the ticket's own text
        ticket = job.ticket
        if ticket is None:
            raise LogJobError("the ticket of this job no longer exists")
        texts = [(f"{ticket.pk}.log", _ticket_text(ticket))]
    if texts is not None:
        files = []
        for index, (name, text) in enumerate(texts):
            path = folder / f"{index:02d}"
            path.write_text(text, encoding="utf-8")
            files.append((name, path))
        _set_inputs(job, files)
    return [LogSource(folder / f"{i:02d}", item["name"]) for i, item in enumerate(job.inputs)]


def _set_inputs(job: LogAnalysisJob, files: list[tuple[str, Path]]) -> None:
    job.inputs = [
        {"name": _safe_name(name, i), "size": path.stat().st_size}
        for i, (name, path) in enumerate(files)
    ]
    LogAnalysisJob.objects.filter(pk=job.pk).update(inputs=job.inputs)


def _ticket_text(ticket: Ticket) -> str:
    lines = [
        f"{ticket.first_seen.isoformat()} ERROR [{ticket.source} {ticket.pipeline}] "
        f"{ticket.error_message}"
    ]
    for key, value in sorted((ticket.details or {}).items()):
        if isinstance(value, str) and value and key not in {"similar"}:
            lines.append(f"{key}: {value}")
    return "\n".join(lines) + "\n"


def _download_url(job: LogAnalysisJob, target: Path) -> None:
    import requests
    import urllib3

    # source_ref is redacted for display; the fetch needs the URL as given. URLs that carried
    # secrets are refused at creation, so the redacted form is the URL itself (a job created
    # before that check with a masked token cannot be fetched, and says so).
    url = job.source_ref
    if "[REDACTED" in url:
        raise LogJobError("the URL carried a secret (redacted); give a URL without one")
    try:
        host = urlsplit(url).hostname or url
    except ValueError:  # an unclosed IPv6 bracket (log_fetch refuses it, naming the URL)
        host = url
    timeout = settings.LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    try:
        with log_fetch.fetch(url, fetch_policy(), deadline) as answer:
            if answer.is_redirect:
                raise LogJobError(
                    f"fetching the log answered HTTP {answer.status_code}, a redirect to "
                    f"{_redirect_host(answer.headers.get('Location', ''), url)}: redirects are "
                    "not followed; give the URL the log is served at"
                )
            if answer.status_code != 200:
                raise LogJobError(f"fetching the log answered HTTP {answer.status_code}")
            chunks = timed_read.body_before(answer.raw, deadline, COPY_CHUNK)
            first = next(chunks, b"")
            if html_page(answer.headers.get("Content-Type", ""), first):
                raise LogJobError(html_page_error())
            _copy_chunks(itertools.chain([first], chunks), target)
    except log_fetch.FetchRefused as exc:
        raise LogJobError(str(exc)) from exc
    except (requests.RequestException, urllib3.exceptions.HTTPError, TimeoutError) as exc:
        if time.monotonic() >= deadline:
            raise LogJobError(f"fetching the log from {host} took over {timeout:g} s") from exc
        why = http_errors.connection_failure(exc, url) or type(exc).__name__
        raise LogJobError(f"cannot fetch the log from {host}: {why}") from exc


def html_page_error() -> str:
    """The job's error when its log URL answered a web page."""
    why = "the log URL answered an HTML page (a sign-in or UI page), not a log"
    if airflow_api.configured():
        return (
            f"{why}: Airflow's REST API (AIRFLOW_API_URL) reads the log of a task of its own "
            "deployment whose DAG, run, task and try the ticket records; upload the log"
        )
    return (
        f"{why}: set AIRFLOW_API_URL (with AIRFLOW_API_TOKEN, or AIRFLOW_USERNAME and "
        "AIRFLOW_PASSWORD) so that an Airflow task's log is read through Airflow's REST API, "
        "or upload the log"
    )


_HTML_START = (b"<!doctype", b"<html")


def html_page(content_type: str, head: bytes) -> bool:
    """An answer that is a web page, not a log: served as text/html, or starting like one (an
    Airflow web UI, or the sign-in page it sends an unauthenticated reader to)."""
    if content_type.split(";", 1)[0].strip().lower() == "text/html":
        return True
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:16].lower()
    return start.startswith(_HTML_START)


def fetch_policy() -> log_fetch.FetchPolicy:
    """A ticket's log host comes from a webhook body: it must resolve to public addresses only
    (not this machine's, a private network's), unless an operator configured it: listed in
    LOG_ANALYSIS_URL_HOSTS (any port), or the host and port of AIRFLOW_API_URL (the Airflow the
    service already calls). The cloud's metadata services are refused even then."""
    return log_fetch.FetchPolicy.of(settings.LOG_ANALYSIS_URL_HOSTS, [settings.AIRFLOW_API_URL])


def _redirect_host(location: str, url: str) -> str:
    """The host a redirect points to (the URL's own for a relative one), for the message."""
    try:
        return urlsplit(location).hostname or urlsplit(url).hostname or "the same host"
    except ValueError:
        return "an invalid URL"


def _download_blob(blob_name: str, target: Path) -> None:
    """Read the blob by LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS from now, however slowly it is sent:
    azure-storage-blob reads the answers itself, so its requests go through a session whose
    connections are shut down then (`timed_read.session_by`), which also refuses a request
    sent later. The SDK's retry policy is off (its back-off alone would outlast the deadline);
    its own re-read of a cut body, after a pause of a second, is such a refused request."""
    from azure.core.exceptions import AzureError, ResourceNotFoundError
    from azure.core.pipeline.transport import RequestsTransport
    from azure.storage.blob import BlobServiceClient

    timeout = settings.LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    with timed_read.session_by(deadline) as session:
        transport = RequestsTransport(
            session=session,
            session_owner=False,
            connection_timeout=timeout,
            read_timeout=timeout,
        )
        service = BlobServiceClient.from_connection_string(
            settings.AZURE_STORAGE_CONNECTION_STRING, transport=transport, retry_total=0
        )
        blob = service.get_blob_client(settings.AZURE_STORAGE_CONTAINER, blob_name)
        try:
            _copy_chunks(blob.download_blob().chunks(), target)
        except ResourceNotFoundError as exc:
            raise LogJobError(f"no blob {blob_name} in {settings.AZURE_STORAGE_CONTAINER}") from exc
        except LogJobError:
            raise
        except (AzureError, ValueError) as exc:
            # A ValueError: headers cut short at the deadline lack the SDK's Content-Range.
            if time.monotonic() >= deadline:
                raise LogJobError(f"reading the blob {blob_name} took over {timeout:g} s") from exc
            if not isinstance(exc, AzureError):
                raise
            raise LogJobError(f"cannot read the blob: {type(exc).__name__}") from exc
        finally:
            service.close()


def _copy_chunks(chunks: Any, target: Path) -> None:
    size = 0
    with target.open("wb") as out:
        for chunk in chunks:
            size += len(chunk)
            if size > settings.LOG_ANALYSIS_MAX_BYTES:
                limit = human_size(settings.LOG_ANALYSIS_MAX_BYTES)
                raise LogJobError(f"the log exceeds the limit of {limit} per job")
            out.write(chunk)


def _mine(job: LogAnalysisJob, sources: list[LogSource], progress: _Progress) -> MiningResult:
    reader = LogReader(sources, read_limits())
    total = max(1, reader.total_input_bytes)

    def on_progress(lines: int) -> None:
        share = min(1.0, reader.bytes_consumed / total)
        done = MINING_START + int(share * (ANALYSING_START - MINING_START))
        progress.update(
            Status.MINING,
            done,
            f"mining: {lines:,} lines, {human_size(reader.bytes_consumed)} of {human_size(total)}",
        )

    mined = mine_lines(reader, on_progress=on_progress, text_bytes=lambda: reader.text_bytes)
    if not mined.lines:  # a fetched log, or an archive's members: uploads are checked at once
        names = reader.files_read or [source.name for source in sources]
        raise LogJobError(f"{', '.join(names)}: the log is empty")
    mined.lines_cut = reader.lines_cut
    return mined


# --- analysing ----------------------------------------------------------------------------
def analyse(job: LogAnalysisJob, mined: MiningResult, progress: _Progress) -> dict[str, Any]:
    """Classify the cause, find similar tickets, ask Gemini (or the rules): the report. A log
    without any error or exception has no cause to read: its report says so (no Gemini call,
    no similar tickets)."""
    if not mined.found_error:
        return build_report(mined, "Unknown", [], no_error_rca(mined))
    cause = mined.cause_text()
    classification = classify_error(cause)
    error_type = classification.error_type
    if mined.warnings_only and error_type == "Unknown":
        # Only warnings' exceptions, of no known cause: a run going on after what it logged
        # as a warning, not a failure to explain.
        return build_report(mined, error_type, [], no_error_rca(mined), no_error=True)
    similar = _similar(cause, error_type, job.ticket_id)
    progress.update(Status.ANALYSING, 90, "root-cause analysis")
    rca = _rca(job, mined, error_type, similar)
    if mined.warnings_only:
        rca = warned_rca(mined, rca)
    return build_report(mined, error_type, similar, rca)


_RULES_FAILED = "The pipeline failed: "


def warned_rca(mined: MiningResult, rca: dict[str, Any]) -> dict[str, Any]:
    """The RCA of a log whose failure is an exception of a WARN record, of a known cause (no
    error in the log): it says that the log does not show the run failed (a run goes on after
    what it logs as a warning: a lost task retried, a call that recovered) before the cause
    that exception names, so a run that succeeded is not reported as failed outright."""
    inner = mined.innermost_cause
    if inner is not None:
        where = f"line {inner.innermost.line}: {inner.innermost.type}"
    else:
        where = f"line {mined.failure.line}" if mined.failure is not None else "no line"
    cause = rca["root_cause"]
    # The rules' "The pipeline failed: <cause>" states what the log does not show.
    if cause.startswith(_RULES_FAILED):
        cause = cause[len(_RULES_FAILED) :]
    lead = (
        f"The log holds no error, only an exception logged as a warning ({where}), so it does "
        "not show that the run failed: a run goes on after what it logs as a warning (a lost "
        "task retried, a call that recovered). If the run did fail, this is the likely cause: "
    )
    return {
        **rca,
        "root_cause": lead + cause,
        "recommendations": [
            "Check whether the run failed: if it succeeded, the warning was handled; if it "
            "failed, analyse the log of the attempt that failed, which holds its error.",
            *rca["recommendations"],
        ],
        "rca_note": f"{rca['rca_note']}; no error in the log, only a warning's exception",
    }


def _similar(cause: str, error_type: str, exclude: str | None) -> list[tuple[Ticket, float]]:
    text = failure_text(error_type, cause)
    backend = configured_backend()
    try:
        vector = backend.embed([text])[0]
    except EmbeddingError as exc:
        logger.warning("embedding with %s failed (%s); using the local model", backend.name, exc)
        backend = local_backend()
        vector = backend.embed([text])[0]
    queryset = Ticket.objects.all()
    if exclude:
        queryset = queryset.exclude(pk=exclude)
    return queryset.nearest(
        [float(v) for v in vector], backend.name, k=5, min_similarity=settings.SIMILARITY_FLOOR
    )


def _platform(mined: MiningResult) -> str:
    formats = set(mined.formats)
    if "airflow" in formats:
        return "airflow"
    if "adf" in formats:
        return "adf"
    if formats & {"spark-log4j", "log4j"}:
        return "databricks"
    return ""


def _rca(
    job: LogAnalysisJob, mined: MiningResult, error_type: str, similar: list[tuple[Ticket, float]]
) -> dict[str, Any]:
    if not gemini_configured():
        RCA_FALLBACKS.labels("not_configured").inc()
        return _rule_rca(mined, error_type, "rule-based: no GEMINI_API_KEY configured")
    prompt = build_log_rca_prompt(
        mined.as_dict(), error_type, similar=similar, budget_tokens=prompt_budget(mined)
    )
    record = services.llm_call_recorder(job.ticket_id, "log-rca")
    try:
        answer = generate_rca(prompt.system_instruction, prompt.contents, on_attempt=record)
    except LlmFailure as failure:
        RCA_FALLBACKS.labels(failure.outcome).inc()
        note = f"rule-based: Gemini failed ({failure.outcome}: {failure.reason})"
        return _rule_rca(mined, error_type, note)
    return {
        "root_cause": answer.root_cause,
        "recommendations": answer.recommendations,
        "confidence": answer.confidence,
        "rca_source": RcaSource.GEMINI.value,
        "rca_note": f"Gemini ({settings.GEMINI_MODEL}) over the mined log",
        "llm_error_class": answer.error_class,
        "grounded_on": [t for t in answer.similar_ticket_ids if t in prompt.similar_ids],
    }


def prompt_budget(mined: MiningResult) -> int:
    """Tokens for the prompt: grows with what the log has to say (distinct error patterns,
    exception chains, evidence), not with its size, and never beyond the setting."""
    error_patterns = sum(1 for p in mined.patterns if {"ERROR", "FATAL"} & set(p["levels"]))
    items = (
        error_patterns
        + len(mined.chains)
        + len(mined.burst)
        + len(mined.rare_before_failure)
        + len(mined.rare_after_failure)
    )
    return min(settings.LOG_ANALYSIS_PROMPT_TOKENS, 1500 + 150 * items)


_LOG4J_FORMATS = frozenset({"spark-log4j", "log4j"})
# The logger of a log4j line ("Executor: ", "o.a.s.s.TaskSetManager: "), not an exception type.
_LOG4J_LOGGER = re.compile(r"(?![\w.$]*(?:Exception|Error|Throwable|Failure):)[\w.$]{1,200}:\s+")


def rule_rca_errors(mined: MiningResult) -> list[str]:
    """The errors the rule RCA reads, each quoted alone (they may be unrelated: an exception in
    one file, a job's failure in another): the innermost exception, then the failure's and
    the first error's messages (with the lines that continued them) without their header
    (time, level, thread, logger), each only when no part before holds it (a log4j failure
    line repeats its exception). Each is whole up to ``CAUSE_CHARS`` (what ``cause_text``
    classifies), not cut like the excerpts shown."""
    parser = LineParser()
    parts: list[str] = []
    if mined.innermost_cause is not None:
        parts.append(mined.innermost_cause.innermost_text())
    for excerpt in (mined.failure, mined.first_error):
        if excerpt is None:
            continue
        # The line's header is read from its first line; the lines that continued its
        # message (dbt's detail of an error) are kept.
        first, _, rest = excerpt.cause.partition("\n")
        parsed = parser.parse(first)
        if parsed.format == "airflow":
            # A line of a program's output the task logged (dbt's, spark-submit's): its header too.
            carried = parser.parse(parsed.message)
            parsed = carried if carried.header else parsed
        message = " ".join(f"{parsed.message}\n{rest}".split())
        logger = _LOG4J_LOGGER.match(message) if parsed.format in _LOG4J_FORMATS else None
        if logger:
            message = message[logger.end() :]
        if message and not any(message in part or part in message for part in parts):
            parts.append(message)
    return parts


def no_error_rca(mined: MiningResult) -> dict[str, Any]:
    """The RCA of a log that holds no error: it says so, and what to read instead. A log whose
    only exceptions were logged as warnings or information (handled by the run) says which."""
    lines = f"{mined.lines:,} line{'s' if mined.lines != 1 else ''}"
    handled = sum(mined.exception_types.values())
    if mined.warnings_only and mined.innermost_cause is not None:
        inner = mined.innermost_cause
        exceptions = (
            "its only exceptions were logged as warnings or information, of no known cause "
            f"(line {inner.innermost.line}: {inner.innermost_text()[:300]})"
        )
    elif handled:
        exceptions = (
            f"the {'exception it holds was' if handled == 1 else 'exceptions it holds were'} "
            "logged as information (INFO or below), as a run logs what it handled"
        )
    else:
        exceptions = "none holds an exception"
    recommendations = [
        "Check that this is the log of the run that failed and that it is complete: not cut "
        "before the failure, and not the log of a run or attempt that succeeded.",
        "For a task that was retried, analyse the log of the attempt that failed (Airflow "
        "keeps one log per try; a Databricks job one output per task run).",
        "Upload the driver log or the failing task's stderr: Spark and Databricks write the "
        "exception there, not to stdout.",
    ]
    warnings = mined.levels.get("WARN", 0)
    if warnings:
        recommendations.append(
            f"The log has {warnings:,} warning{'s' if warnings != 1 else ''}: the rare ones are "
            "in the evidence; read them in case one explains the failure."
        )
    return {
        "root_cause": (
            f"No error was found in the log: none of its {lines} is logged at ERROR or FATAL "
            f"and {exceptions}, so it does not show why the run failed."
        ),
        "recommendations": recommendations,
        "confidence": 0.0,
        "rca_source": RcaSource.RULES.value,
        "rca_note": (
            "no error in the log: its exceptions were logged as warnings or information"
            if handled
            else "no error or exception in the log: nothing to analyse"
        ),
    }


def _rule_rca(mined: MiningResult, error_type: str, note: str) -> dict[str, Any]:
    errors = rule_rca_errors(mined)
    rca = build_rule_rca(error_type, "\n".join(errors), source=_platform(mined), errors=errors)
    return {
        "root_cause": rca.root_cause,
        "recommendations": rca.recommendations,
        "confidence": rca.confidence,
        "rca_source": RcaSource.RULES.value,
        "rca_note": note,
    }


def build_report(
    mined: MiningResult,
    error_type: str,
    similar: list[tuple[Ticket, float]],
    rca: dict[str, Any],
    *,
    no_error: bool = False,
) -> dict[str, Any]:
    summary = mined.as_dict()
    evidence: list[dict[str, Any]] = []
    seen: dict[tuple[str, int], list[str]] = {}

    def add(role: str, excerpt: dict[str, Any] | None) -> None:
        if not excerpt or len(evidence) >= 40:
            return
        # A line is shown once (a log4j line holding its exception: as the innermost cause);
        # but an Airflow 3 record's exception (its ``error_detail``) is numbered as the
        # record's line without being part of its text: both are shown.
        key, text = (excerpt["file"], excerpt["line"]), excerpt["text"]
        if any(text[:200] in shown or shown[:200] in text for shown in seen.get(key, ())):
            return
        seen.setdefault(key, []).append(text)
        evidence.append({"role": role, **excerpt})

    chain = summary["innermost_cause"]
    if chain:
        inner = chain["innermost"]
        add(
            "innermost cause",
            {
                "file": chain["file"],
                "line": inner["line"],
                "time": chain["time"],
                "level": None,
                "text": f"{inner['type']}: {inner['message']}".rstrip(": "),
            },
        )
    add("failure", summary["failure"])
    add("first error", summary["first_error"])
    for item in summary["burst"]:
        add("error before the failure", item)
    for item in summary["rare_before_failure"]:
        add("rare line before the failure", item)
    for item in summary["rare_after_failure"]:
        add("rare line after the failure", item)
    for item in summary["rare_warnings"]:
        # A rare pattern's first line may be an error's (one the failure came long after).
        add("rare error" if item["level"] in ("ERROR", "FATAL") else "rare warning", item)
    evidence.sort(key=lambda e: (e["file"], e["line"]))
    return {
        **rca,
        "error_type": error_type,
        "no_error": no_error or not mined.found_error,
        "evidence": evidence,
        "patterns": summary["patterns"],
        "timeline": summary["timeline"],
        "similar": [
            {
                "id": ticket.pk,
                "pipeline": ticket.pipeline,
                "error_type": ticket.error_type,
                "status": ticket.status,
                "root_cause": ticket.rca_result[:300],
                "similarity": round(score, 3),
            }
            for ticket, score in similar
        ],
        "innermost_cause": chain["innermost"] if chain else None,
        "chains": summary["chains"],
        "failure_context": summary["failure_context"],
        "summary": {
            key: summary[key]
            for key in (
                "files",
                "formats",
                "lines",
                "bytes",
                "levels",
                "start",
                "end",
                "pattern_count",
                "lines_cut",
            )
        },
    }


def _finish(
    job: LogAnalysisJob,
    status: str,
    *,
    report: dict[str, Any] | None = None,
    error: str = "",
    step: str = "",
) -> None:
    now = timezone.now()
    values: dict[str, Any] = {
        "status": status,
        "finished_at": now,
        "heartbeat_at": now,
        "step": step,
    }
    if status == Status.DONE:
        values.update(progress=100, report=report)
    if error:
        values["error"] = error
    LogAnalysisJob.objects.filter(pk=job.pk, status__in=LogAnalysisJob.RUNNING).update(**values)


# --- live progress --------------------------------------------------------------------------
def job_event(job: LogAnalysisJob) -> dict[str, Any]:
    return {
        "id": str(job.id),
        "status": job.status,
        "progress": job.progress,
        "step": job.step,
        "error": job.error,
        "ticket_id": job.ticket_id,
    }


def _push(job: LogAnalysisJob) -> None:
    """Send the job's state to the dashboards (the ``/ws/tickets/`` group); best effort."""
    try:
        publisher.group_send(GROUP, {"type": "log_analysis.progress", "job": job_event(job)})
    except Exception:
        logger.warning("could not push progress of log analysis %s", job.pk, exc_info=True)


# --- staff actions --------------------------------------------------------------------------
def cancel_job(job_id: uuid.UUID | str) -> LogAnalysisJob:
    """Cancel a queued or running job; a finished one is returned unchanged."""
    with transaction.atomic():
        job = LogAnalysisJob.objects.select_for_update().get(pk=job_id)
        if job.finished:
            return job
        was_queued = job.status == Status.QUEUED
        job.status, job.step, job.finished_at = Status.CANCELLED, "cancelled", timezone.now()
        job.save(update_fields=["status", "step", "finished_at"])
    if was_queued:  # no worker holds its files: remove them here
        shutil.rmtree(job_dir(job), ignore_errors=True)
    _push(job)
    return job


class AttachError(ValueError):
    """A report that cannot be attached to the ticket asked for (the message says why)."""


def attach_to_ticket(job: LogAnalysisJob, ticket_id: str, actor: Actor) -> Ticket:
    """Make the job's RCA the ticket's RCA (``rca_source`` = log-analysis), audited."""
    if job.status != Status.DONE or not job.report:
        raise AttachError("only a finished analysis can be attached")
    report = job.report
    if _found_no_error(report):
        raise AttachError(
            "the analysis found no error in the log, so it has no root cause to give the "
            "ticket; analyse the failing run's log (the failed attempt, its driver or stderr)"
        )
    with transaction.atomic():
        ticket = Ticket.objects.select_for_update(no_key=True).defer("embedding").get(pk=ticket_id)
        before = {"rca_source": ticket.rca_source, "rca_result": ticket.rca_result[:200]}
        ticket.rca_result = report["root_cause"]
        ticket.recommendations = list(report.get("recommendations", []))
        ticket.confidence = report.get("confidence")
        ticket.rca_source = RcaSource.LOG_ANALYSIS
        ticket.rca_note = (
            f"log analysis {job.pk} ({report.get('rca_source', '')}): {report.get('rca_note', '')}"[
                :1000
            ]
        )
        ticket.analysed_at = timezone.now()
        ticket.rca_outage = ""
        ticket.details = {
            **{k: v for k, v in ticket.details.items() if k != services.RCA_OUTAGE_SINCE},
            "log_analysis": str(job.pk),
        }
        ticket.save(
            update_fields=[
                "rca_result",
                "recommendations",
                "confidence",
                "rca_source",
                "rca_note",
                "analysed_at",
                "rca_outage",
                "details",
                "updated_at",
            ]
        )
        lifecycle.write_audit(
            ticket,
            actor,
            "log analysis attached",
            before=before,
            after={"rca_source": ticket.rca_source, "rca_result": ticket.rca_result[:200]},
            details={"log_analysis": str(job.pk)},
        )
        lifecycle.announce(ticket.pk, "analysed", actor)
        LogAnalysisJob.objects.filter(pk=job.pk).update(ticket=ticket, attached_at=timezone.now())
    job.refresh_from_db()
    return ticket


def _found_no_error(report: dict[str, Any]) -> bool:
    """A report of a log without any error (``no_error``; reports written before it had no
    innermost cause and no failure or first error among their evidence)."""
    if "no_error" in report:
        return bool(report["no_error"])
    roles = {item.get("role") for item in report.get("evidence", [])}
    return not report.get("innermost_cause") and not roles & {"failure", "first error"}


def _drop_files_and_push(job: LogAnalysisJob) -> None:
    shutil.rmtree(job_dir(job), ignore_errors=True)
    _push(job)


def recover_stale_jobs() -> dict[str, int]:
    """Jobs whose worker stopped (no heartbeat for LOG_ANALYSIS_STALE_SECONDS) go back to the
    queue while attempts remain, and fail with the reason when none do; queued jobs whose
    message was lost are sent again. Never leaves a job "running" for ever."""
    stale = timezone.now() - timedelta(seconds=settings.LOG_ANALYSIS_STALE_SECONDS)
    counts = {"requeued": 0, "failed": 0}
    # Taken first, so a job requeued below is not sent twice in one pass.
    lost = list(
        LogAnalysisJob.objects.filter(status=Status.QUEUED).filter(
            Q(heartbeat_at__isnull=True, created_at__lt=stale) | Q(heartbeat_at__lt=stale)
        )
    )
    running = LogAnalysisJob.objects.filter(
        status__in=LogAnalysisJob.RUNNING, heartbeat_at__lt=stale
    )
    for job in running:
        with transaction.atomic():
            locked = LogAnalysisJob.objects.select_for_update().get(pk=job.pk)
            if (
                locked.status not in LogAnalysisJob.RUNNING
                or (locked.heartbeat_at or stale) >= stale
            ):
                continue
            if locked.attempts >= settings.LOG_ANALYSIS_MAX_ATTEMPTS:
                locked.status = Status.FAILED
                locked.error = (
                    f"the worker stopped while {locked.step or 'analysing'} "
                    f"(no heartbeat for {settings.LOG_ANALYSIS_STALE_SECONDS} s), "
                    f"{locked.attempts} times; giving up"
                )
                locked.finished_at = timezone.now()
                locked.save(update_fields=["status", "error", "finished_at"])
                counts["failed"] += 1
                transaction.on_commit(partial(_drop_files_and_push, locked))
            else:
                locked.status = Status.QUEUED
                locked.step = f"requeued: the worker stopped while {locked.step or 'analysing'}"
                locked.heartbeat_at = timezone.now()  # when it was sent again
                locked.save(update_fields=["status", "step", "heartbeat_at"])
                counts["requeued"] += 1
                enqueue(locked)
                transaction.on_commit(partial(_push, locked))
    for job in lost:
        # Stamped, so a job that is only waiting behind others is sent again once per
        # LOG_ANALYSIS_STALE_SECONDS, not at every pass (a second message is harmless: the
        # claim lets one run).
        sent = LogAnalysisJob.objects.filter(pk=job.pk, status=Status.QUEUED).update(
            heartbeat_at=timezone.now()
        )
        if sent:
            enqueue(job)
            counts["requeued"] += 1
    return counts
