"""Settings come only from the environment (typed, with safe local defaults).

A bad value raises ImproperlyConfigured naming the variable. With no configuration at all the
service still comes up: an embedded PostgreSQL, the local (or an embedded) Redis, and a secret key
and webhook token generated once and kept under `var/`.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import django_cache_url
from channels_redis.core import RedisChannelLayer
from django.core.exceptions import ImproperlyConfigured
from environs import Env, EnvError, ValidationError, validate

from rca_project import local_services
from rca_project.client_address import parse_networks
from rca_project.openapi import SCHEMA_SETTINGS
from tickets.vocabulary import Source

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = local_services.VAR_DIR

env = Env()


def _persisted_secret(name: str) -> str:
    """A random value generated on first use and kept in var/, so restarts keep it. 64
    characters: Django's deploy check (security.W009) calls a secret key under 50 weak."""
    path = VAR_DIR / name
    if path.exists():
        return path.read_text().strip()
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(48)
    path.write_text(value)
    path.chmod(0o600)
    return value


def _cache_config(url: str, key_prefix: str) -> dict:
    if url.startswith("unix://"):  # the embedded Redis; django-cache-url has no such scheme
        config = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url}
    else:
        try:
            config = django_cache_url.parse(url)
        except Exception as exc:  # the library raises a bare Exception for unknown schemes
            raise ImproperlyConfigured(f"CACHE_URL: {exc}") from exc
    return {**config, "KEY_PREFIX": key_prefix}


# Validators raise (marshmallow 4 ignores a validator that returns False, as a lambda would).
_POSITIVE = validate.Range(min=0, min_inclusive=False)
_NOT_NEGATIVE = validate.Range(min=0)


def _is_http_url(value: str) -> None:
    """Empty (not configured), or an absolute http(s) URL with a host. Any other value failed
    each call made to it, a remediation's among them, as a start that may have run (requests
    raised MissingSchema or InvalidURL), without naming the setting. The message does not
    repeat the value: a Logic App's URL carries its signature."""
    if not value:
        return
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 (raises on a port that is not a number)
    except ValueError:
        parts = None
    if (
        parts is None
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or any(c.isspace() for c in value)
    ):
        raise ValidationError(
            "expected an absolute http:// or https:// URL with a host, such as "
            "https://example.com/path (the value is not repeated here)"
        )


def _are_networks(values: list[str]) -> None:
    """A validator for environs: it must raise (marshmallow 4 ignores a returned False)."""
    try:
        parse_networks(values)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


def _is_throttle_rate(value: str) -> None:
    """DRF reads a rate only when a request is throttled: one it cannot read failed every API
    request with a 500 instead of stopping the service."""
    if not re.fullmatch(r"0*[1-9][0-9]*/[smhd][^/]*", value):
        raise ValidationError(
            f"{value!r} is not a rate: requests per period, e.g. 60/min "
            "(a positive whole number, then /s, /min, /hour or /day)"
        )


# The fields the service sets on every issue it creates (integrations/targets/jira.py).
_JIRA_OWNED_FIELDS = ("project", "summary", "description", "issuetype", "priority", "labels")
# JIRA's project keys: an upper-case letter, then upper-case letters, digits or underscores.
_JIRA_PROJECT_KEY = re.compile(r"[A-Z][A-Z0-9_]+")


def _jira_issue_fields(raw: str) -> dict[str, dict[str, Any]]:
    """JIRA_ISSUE_FIELDS: a JSON object from a project key, or "*" for every project, to the
    fields added to each issue created there (a project requiring "Team" refused every create).
    Refused at start-up rather than at each create, whose 400 only dead-letters the issue."""
    if not raw.strip():
        return {}
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"JIRA_ISSUE_FIELDS is not valid JSON: {exc}") from None
    if not isinstance(parsed, dict):
        raise ImproperlyConfigured(
            'JIRA_ISSUE_FIELDS must be a JSON object, e.g. {"OPS": {"customfield_10010": ...}}'
        )
    for project, fields in parsed.items():
        if project != "*" and not _JIRA_PROJECT_KEY.fullmatch(project):
            # A key JIRA cannot have (`"ops"`) was never applied: issues are created with the
            # project's real key, and the project's create screen kept refusing them.
            hint = f": did you mean {project.upper()!r}?" if project.upper() != project else ""
            raise ImproperlyConfigured(
                f"JIRA_ISSUE_FIELDS[{project[:40]!r}] is not a JIRA project key (upper-case "
                f'letters, digits and _, starting with a letter) nor "*"{hint}'
            )
        if not isinstance(fields, dict):
            raise ImproperlyConfigured(
                f"JIRA_ISSUE_FIELDS[{project!r}] must be a JSON object of JIRA fields"
            )
        owned = sorted(set(fields) & set(_JIRA_OWNED_FIELDS))
        if owned:
            raise ImproperlyConfigured(
                f"JIRA_ISSUE_FIELDS[{project!r}] sets {', '.join(owned)}: the service sets "
                f"{', '.join(_JIRA_OWNED_FIELDS)} itself"
            )
    return parsed


try:
    DEBUG = env.bool("DEBUG", False)
    SECRET_KEY = env.str("SECRET_KEY", "") or _persisted_secret("secret_key")
    if not DEBUG and (len(SECRET_KEY) < 50 or len(set(SECRET_KEY)) < 5):
        # Django's own test of a weak key (`check --deploy`, security.W009), which only warns:
        # sessions, API tokens and signed links are forged from a guessed key.
        raise ImproperlyConfigured(
            "SECRET_KEY is too weak: use at least 50 random characters (e.g. python -c "
            "'import secrets; print(secrets.token_urlsafe(48))'), or unset it to have one generated"
        )
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
    # Reverse proxies whose X-Forwarded-For is believed (addresses or networks); none: the
    # TCP peer is the client (rca_project/client_address.py).
    TRUSTED_PROXIES: list[str] = env.list("TRUSTED_PROXIES", [], validate=_are_networks)
    CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", [])
    # A form refused by its CSRF check says what happened and links back (rca_project/errors.py).
    CSRF_FAILURE_VIEW = "rca_project.errors.csrf_failure"
    DATABASE_URL = env.str("DATABASE_URL", "") or local_services.embedded_postgres_url()
    DATABASES = {"default": env.dj_db_url("DATABASE_URL", DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # The same backend, with a health check that needs no round trip (rca_project/database).
        DATABASES["default"]["ENGINE"] = "rca_project.database"
    # A unix-socket URL (the embedded server) carries its directory as ?host=...
    if "host" in DATABASES["default"].get("OPTIONS", {}):
        DATABASES["default"]["HOST"] = DATABASES["default"]["OPTIONS"].pop("host")
    REDIS_URL = env.str("REDIS_URL", "") or local_services.default_redis_url()
    # Throttle counters and cached stats are shared by every web process, so they live in
    # Redis unless CACHE_URL says otherwise (e.g. locmem:// for a single process).
    CACHE_URL = env.str("CACHE_URL", "")
    # Served over HTTPS (directly or behind a proxy that sets X-Forwarded-Proto): secure
    # cookies, HSTS and a redirect from plain HTTP (the probes are exempt).
    TLS = env.bool("TLS", False)
    HSTS_SECONDS = env.int("HSTS_SECONDS", 365 * 24 * 3600, validate=validate.Range(min=0))

    WEBHOOK_TOKEN = env.str("WEBHOOK_TOKEN", "") or _persisted_secret("webhook_token")
    # Optional per-source tokens (WEBHOOK_TOKEN_AZURE_MONITOR, _ADF, _DATABRICKS, _AIRFLOW: the
    # sources' names in the vocabulary); when set, that source accepts only its own token.
    WEBHOOK_SOURCE_TOKENS = {
        source.value: token
        for source in Source
        if (token := env.str(f"WEBHOOK_TOKEN_{source.name}", ""))
    }
    WEBHOOK_MAX_BODY_BYTES = env.int("WEBHOOK_MAX_BODY_BYTES", 1024 * 1024, validate=_POSITIVE)

    # A body that stops arriving (a Content-Length larger than what is sent) is given up after
    # this many seconds without a byte (under gunicorn), answering 400.
    WEBHOOK_BODY_TIMEOUT_SECONDS = env.float(
        "WEBHOOK_BODY_TIMEOUT_SECONDS", 10.0, validate=_POSITIVE
    )

    # A repeat of a resolved failure within this window reopens its ticket as a regression;
    # later, it opens a new ticket linked to the old one.
    REGRESSION_WINDOW = timedelta(
        seconds=env.int("REGRESSION_WINDOW_SECONDS", 14 * 24 * 3600, validate=validate.Range(min=0))
    )
    # A source's own recovery (ADF run succeeded, Databricks on_success...) resolves the ticket.
    RESOLVE_ON_SOURCE_RECOVERY = env.bool("RESOLVE_ON_SOURCE_RECOVERY", True)
    # A Service Health notice (maintenance, action required, billing: no outage) is
    # a Low ticket that pages nobody (no JIRA issue, no Slack alert) unless this is true.
    SERVICE_HEALTH_NOTICES_PAGE = env.bool("SERVICE_HEALTH_NOTICES_PAGE", False)
    # Incidents (tickets/incidents.py): failures of several pipelines naming one culprit.
    INCIDENT_WINDOW = timedelta(seconds=env.int("INCIDENT_WINDOW_SECONDS", 600, validate=_POSITIVE))
    INCIDENT_MIN_PIPELINES = env.int("INCIDENT_MIN_PIPELINES", 2, validate=validate.Range(min=2))
    # An open incident (not resolved, not recovered) takes a new failure of its key this long
    # after its last member, however quiet the outage went in between (a pipeline on an hourly
    # schedule hitting the same dead server), while no member recovered since that last one;
    # INCIDENT_WINDOW still bounds forming one. Never
    # shorter than INCIDENT_WINDOW (`incidents.open_join_since`).
    INCIDENT_OPEN_JOIN = timedelta(
        seconds=env.int("INCIDENT_OPEN_JOIN_SECONDS", 2 * 3600, validate=_POSITIVE)
    )
    INCIDENT_UPDATE_SECONDS = env.float("INCIDENT_UPDATE_SECONDS", 5.0, validate=_POSITIVE)
    # A failure that names a culprit waits this long before paging on its own: time for the
    # other pipelines of a storm to arrive, so that the incident pages instead.
    INCIDENT_GRACE_SECONDS = env.float(
        "INCIDENT_GRACE_SECONDS", 3.0, validate=validate.Range(min=0, max=300)
    )
    INCIDENT_INLINE_MEMBERS = env.int("INCIDENT_INLINE_MEMBERS", 20, validate=validate.Range(min=1))
    INCIDENT_AUTO_RESOLVE = env.bool("INCIDENT_AUTO_RESOLVE", True)
    # The incident's Gemini RCA is made once when it forms and again only when its members have
    # grown by this factor since the last one (2: at 2, 4, 8... members: log2(N) calls at most).
    INCIDENT_RCA_GROWTH = env.float(
        "INCIDENT_RCA_GROWTH", 2.0, validate=validate.Range(min=1, min_inclusive=False)
    )
    DEFAULT_FINOPS_TEAM = env.str("DEFAULT_FINOPS_TEAM", "data-platform")
    DEFAULT_FINOPS_OWNER = env.str("DEFAULT_FINOPS_OWNER", "on-call")
    DEFAULT_FINOPS_COST_CENTER = env.str("DEFAULT_FINOPS_COST_CENTER", "")
    # Redelivery of pending inbox rows (integrations/processing.py), every value positive: an
    # age of zero republishes rows just received at each run, zero attempts never redelivers.
    REDELIVER_AFTER = timedelta(seconds=env.int("REDELIVER_AFTER_SECONDS", 300, validate=_POSITIVE))
    REDELIVER_MAX_ATTEMPTS = env.int("REDELIVER_MAX_ATTEMPTS", 10, validate=_POSITIVE)
    REDELIVER_INTERVAL_SECONDS = env.float("REDELIVER_INTERVAL_SECONDS", 60.0, validate=_POSITIVE)
    # The inbox relay (integrations/relay.py): rows per claim, how long it sleeps without a
    # notification, and how long it lets a burst gather after one.
    INBOX_RELAY_BATCH = env.int("INBOX_RELAY_BATCH", 200, validate=validate.Range(min=1))
    INBOX_RELAY_POLL_SECONDS = env.float(
        "INBOX_RELAY_POLL_SECONDS", 1.0, validate=validate.Range(min=0, max=60, min_inclusive=False)
    )
    INBOX_RELAY_LINGER_SECONDS = env.float(
        "INBOX_RELAY_LINGER_SECONDS", 0.01, validate=validate.Range(min=0, max=1)
    )
    # Live dashboard events (tickets/broadcast.py): how long a process's sender gathers the
    # events that follow one before it sends them to Redis as one batch.
    LIVE_EVENTS_LINGER_SECONDS = env.float(
        "LIVE_EVENTS_LINGER_SECONDS", 0.05, validate=validate.Range(min=0, max=1)
    )
    # Processing: a task takes up to this many relayed deliveries at once (its own first), so
    # embeddings, look-ups and writes are batched; at most GEMINI_CONCURRENCY of the batch's
    # Gemini calls are in flight at a time (threads of the analysis process).
    PROCESSING_BATCH = env.int("PROCESSING_BATCH", 16, validate=validate.Range(min=1, max=500))
    SLA_CHECK_INTERVAL_SECONDS = env.float("SLA_CHECK_INTERVAL_SECONDS", 60.0, validate=_POSITIVE)
    OUTBOUND_REDELIVER_GRACE_SECONDS = env.float(
        "OUTBOUND_REDELIVER_GRACE_SECONDS", 300.0, validate=_POSITIVE
    )
    # Processed and rejected inbox rows older than this are deleted: zero or less would delete
    # every one of them.
    INBOX_RETENTION = timedelta(days=env.int("INBOX_RETENTION_DAYS", 90, validate=_POSITIVE))
    # Finished follow-up deliveries to JIRA, Slack and Blob older than this are deleted, as above.
    OUTBOUND_RETENTION = timedelta(days=env.int("OUTBOUND_RETENTION_DAYS", 90, validate=_POSITIVE))
    # Records of LLM calls (analysis.LlmCall) older than this are deleted, as above.
    LLM_CALL_RETENTION = timedelta(days=env.int("LLM_CALL_RETENTION_DAYS", 90, validate=_POSITIVE))

    # Analysis: Gemini when a key is set, rule-based otherwise (and whenever Gemini fails).
    GEMINI_API_KEY = env.str("GEMINI_API_KEY", "")
    # Blank, the SDK refused every call before sending it, and each RCA fell back to the rules
    # as an "unreadable response".
    GEMINI_MODEL = env.str("GEMINI_MODEL", "gemini-2.5-flash", validate=validate.Regexp(r"^\S+$"))
    GEMINI_BASE_URL = env.str("GEMINI_BASE_URL", "")
    GEMINI_API_VERSION = env.str("GEMINI_API_VERSION", "v1beta")
    # The client takes whole milliseconds, and reads 0 as no timeout: at least 1 ms.
    GEMINI_TIMEOUT_SECONDS = env.float(
        "GEMINI_TIMEOUT_SECONDS", 20.0, validate=validate.Range(min=0.001)
    )
    GEMINI_MAX_ATTEMPTS = env.int("GEMINI_MAX_ATTEMPTS", 3, validate=validate.Range(min=1, max=10))
    # The longest a 429's Retry-After or RetryInfo pauses a worker process's Gemini calls
    # (analysis/gemini.py `_Outage`): a daily quota asks for hours; one call then probes.
    GEMINI_RATE_LIMIT_MAX_PAUSE_SECONDS = env.float(
        "GEMINI_RATE_LIMIT_MAX_PAUSE_SECONDS", 300.0, validate=_POSITIVE
    )
    GEMINI_CONCURRENCY = env.int("GEMINI_CONCURRENCY", 16, validate=validate.Range(min=1, max=64))
    # Tickets whose RCA fell back to the rules during a Gemini outage are asked again once it
    # answers (analysis/outage_reruns.py): at most this many a minute (0: never), of those
    # whose RCA first fell back within the window.
    GEMINI_RERUN_BATCH = env.int("GEMINI_RERUN_BATCH", 20, validate=validate.Range(min=0))
    GEMINI_RERUN_WINDOW = timedelta(
        seconds=env.int("GEMINI_RERUN_WINDOW_SECONDS", 24 * 3600, validate=_POSITIVE)
    )
    # Gemini 2.5's thinking draws on max_output_tokens: the budget is added to the answer's own
    # allowance so that thinking cannot crowd the answer out ("off": no thinking config sent,
    # for a model without thinking).
    _thinking = env.str("GEMINI_THINKING_BUDGET", "1024").strip().lower()
    if _thinking != "off" and not (
        _thinking.isascii() and _thinking.isdigit() and int(_thinking) <= 24576
    ):
        raise ImproperlyConfigured(
            "GEMINI_THINKING_BUDGET: a whole number of tokens from 0 to 24576, or off"
        )
    GEMINI_THINKING_BUDGET = None if _thinking == "off" else int(_thinking)
    GEMINI_EMBEDDING_MODEL = env.str("GEMINI_EMBEDDING_MODEL", "gemini-embedding-001")
    EMBEDDING_BACKEND = env.str(
        "EMBEDDING_BACKEND", "auto", validate=validate.OneOf(["auto", "local", "gemini"])
    )
    if EMBEDDING_BACKEND == "gemini" and not GEMINI_API_KEY:
        raise ImproperlyConfigured("EMBEDDING_BACKEND=gemini needs GEMINI_API_KEY")
    SIMILARITY_FLOOR = env.float("SIMILARITY_FLOOR", 0.7, validate=validate.Range(min=0, max=1))
    RCA_CACHE_SECONDS = env.int("RCA_CACHE_SECONDS", 24 * 3600)
    # Enrichment: fetch the error text the alert does not carry.
    DATABRICKS_HOST = env.str("DATABRICKS_HOST", "")
    DATABRICKS_TOKEN = env.str("DATABRICKS_TOKEN", "")
    # The id of DATABRICKS_HOST's workspace, which a log analysis, the enrichment and a repair
    # compare with a ticket's (tickets.databricks_workspace): an Azure host's name carries it.
    DATABRICKS_WORKSPACE_ID = env.str("DATABRICKS_WORKSPACE_ID", "")
    AZURE_TENANT_ID = env.str("AZURE_TENANT_ID", "")
    AZURE_CLIENT_ID = env.str("AZURE_CLIENT_ID", "")
    AZURE_CLIENT_SECRET = env.str("AZURE_CLIENT_SECRET", "")
    AZURE_SUBSCRIPTION_ID = env.str("AZURE_SUBSCRIPTION_ID", "")
    AZURE_MANAGEMENT_URL = env.str(
        "AZURE_MANAGEMENT_URL", "https://management.azure.com", validate=_is_http_url
    )
    # Entra ID for ADF reruns: another cloud's login host (https), and, for a private one that
    # Microsoft's instance discovery does not know, that check turned off.
    AZURE_AUTHORITY_HOST = env.str("AZURE_AUTHORITY_HOST", "")
    AZURE_DISABLE_INSTANCE_DISCOVERY = env.bool("AZURE_DISABLE_INSTANCE_DISCOVERY", False)
    ENRICHMENT_TIMEOUT_SECONDS = env.float("ENRICHMENT_TIMEOUT_SECONDS", 10.0, validate=_POSITIVE)
    # A Databricks run whose read met a throttle, a 5xx, a timeout, no connection: read again
    # after this many seconds, doubled at each further try, at most DATABRICKS_REFETCH_TRIES
    # times (0: never).
    DATABRICKS_REFETCH_DELAY_SECONDS = env.float(
        "DATABRICKS_REFETCH_DELAY_SECONDS", 60.0, validate=validate.Range(min=0)
    )
    DATABRICKS_REFETCH_TRIES = env.int(
        "DATABRICKS_REFETCH_TRIES", 6, validate=validate.Range(min=0)
    )
    # Log-analysis jobs: limits per job (decompressed text), where files wait, recovery.
    LOG_ANALYSIS_MAX_BYTES = env.int(
        "LOG_ANALYSIS_MAX_BYTES", 100 * 1024 * 1024, validate=_POSITIVE
    )
    LOG_ANALYSIS_MAX_LINES = env.int("LOG_ANALYSIS_MAX_LINES", 5_000_000, validate=_POSITIVE)
    LOG_ANALYSIS_MAX_LINE_CHARS = env.int(
        "LOG_ANALYSIS_MAX_LINE_CHARS", 64 * 1024, validate=_POSITIVE
    )
    LOG_ANALYSIS_MAX_FILES = env.int("LOG_ANALYSIS_MAX_FILES", 20, validate=_POSITIVE)
    LOG_ANALYSIS_DIR = env.path("LOG_ANALYSIS_DIR", VAR_DIR / "log-analyses")
    LOG_ANALYSIS_STALE_SECONDS = env.int("LOG_ANALYSIS_STALE_SECONDS", 300, validate=_POSITIVE)
    LOG_ANALYSIS_MAX_ATTEMPTS = env.int("LOG_ANALYSIS_MAX_ATTEMPTS", 3, validate=_POSITIVE)
    # Server-sent event streams one web process holds open at once (each holds a thread).
    LOG_ANALYSIS_EVENT_STREAMS = env.int("LOG_ANALYSIS_EVENT_STREAMS", 4, validate=_POSITIVE)
    LOG_ANALYSIS_PROMPT_TOKENS = env.int(
        "LOG_ANALYSIS_PROMPT_TOKENS", 8000, validate=validate.Range(min=1000)
    )
    # Hosts (besides a ticket's own Airflow log host) that {"url": ...} may fetch from.
    LOG_ANALYSIS_URL_HOSTS: list[str] = env.list("LOG_ANALYSIS_URL_HOSTS", [])
    LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS = env.float(
        "LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS", 30.0, validate=_POSITIVE
    )

    # Fan-out targets; each is skipped (and says so) while it is not configured.
    # Links in JIRA and Slack. Unset: the address `make run` serves (RCA_HOST, RCA_PORT), so a
    # service moved to another port does not link to 8000.
    PUBLIC_BASE_URL = env.str(
        "PUBLIC_BASE_URL",
        local_services.served_base_url(env.str("RCA_HOST", ""), env.str("RCA_PORT", "")),
    ).rstrip("/")
    OUTBOUND_TIMEOUT_SECONDS = env.float("OUTBOUND_TIMEOUT_SECONDS", 10.0, validate=_POSITIVE)
    OUTBOUND_MAX_ATTEMPTS = env.int("OUTBOUND_MAX_ATTEMPTS", 8, validate=validate.Range(min=1))
    # Zero or less would make every retry of a failing target due at once (fanout.backoff_seconds).
    OUTBOUND_BACKOFF_SECONDS = env.float("OUTBOUND_BACKOFF_SECONDS", 2.0, validate=_POSITIVE)
    OUTBOUND_BACKOFF_MAX_SECONDS = env.float(
        "OUTBOUND_BACKOFF_MAX_SECONDS", 300.0, validate=_POSITIVE
    )
    # The niceness a worker consuming only targets' queues runs at (rca_project/celery.py).
    OUTBOUND_WORKER_NICE = env.int(
        "OUTBOUND_WORKER_NICE", 10, validate=validate.Range(min=0, max=19)
    )
    CIRCUIT_FAILURE_THRESHOLD = env.int(
        "CIRCUIT_FAILURE_THRESHOLD", 5, validate=validate.Range(min=1)
    )
    CIRCUIT_OPEN_SECONDS = env.float("CIRCUIT_OPEN_SECONDS", 30.0, validate=_POSITIVE)
    JIRA_URL = env.str("JIRA_URL", "")
    JIRA_USER = env.str("JIRA_USER", "")
    # Jira Cloud's search API differs; unset: Cloud when the host ends with .atlassian.net.
    JIRA_CLOUD = env.bool("JIRA_CLOUD", None)
    JIRA_API_TOKEN = env.str("JIRA_API_TOKEN", "")
    JIRA_DEFAULT_PROJECT = env.str("JIRA_DEFAULT_PROJECT", "OPS")
    # The issue type of the issues made (a Jira Service Management project has no Task).
    JIRA_ISSUE_TYPE = env.str("JIRA_ISSUE_TYPE", "Task", validate=validate.Length(min=1))
    JIRA_WEBHOOK_SECRET = env.str("JIRA_WEBHOOK_SECRET", "")
    JIRA_ISSUE_FIELDS = _jira_issue_fields(env.str("JIRA_ISSUE_FIELDS", ""))
    # The site's own resolutions that say nothing was fixed, beside JIRA's (targets/jira.py).
    JIRA_NOT_FIXED_RESOLUTIONS: list[str] = env.list("JIRA_NOT_FIXED_RESOLUTIONS", [])
    SLACK_BOT_TOKEN = env.str("SLACK_BOT_TOKEN", "")
    SLACK_SIGNING_SECRET = env.str("SLACK_SIGNING_SECRET", "")
    SLACK_BASE_URL = env.str("SLACK_BASE_URL", "")
    SLACK_DEFAULT_CHANNEL = env.str("SLACK_DEFAULT_CHANNEL", "#data-platform-alerts")
    # Pacing (integrations/pacing.py); a rate of 0 turns it off (a negative one is refused).
    # Slack: about one message per second per channel, short bursts tolerated. Jira Cloud
    # publishes no fixed number (a per-second token bucket per tenant and endpoint): a delivery
    # is 1-3 requests.
    SLACK_CHANNEL_POSTS_PER_SECOND = env.float(
        "SLACK_CHANNEL_POSTS_PER_SECOND", 1.0, validate=_NOT_NEGATIVE
    )
    SLACK_CHANNEL_BURST = env.int("SLACK_CHANNEL_BURST", 5, validate=validate.Range(min=1))
    # Edits (chat.update, chat.delete) are Tier 3: 50+ a minute per workspace.
    SLACK_EDITS_PER_SECOND = env.float("SLACK_EDITS_PER_SECOND", 0.8, validate=_NOT_NEGATIVE)
    SLACK_EDITS_BURST = env.int("SLACK_EDITS_BURST", 5, validate=validate.Range(min=1))
    JIRA_DELIVERIES_PER_SECOND = env.float(
        "JIRA_DELIVERIES_PER_SECOND", 10.0, validate=_NOT_NEGATIVE
    )
    JIRA_BURST = env.int("JIRA_BURST", 20, validate=validate.Range(min=1))
    AZURE_STORAGE_CONNECTION_STRING = env.str("AZURE_STORAGE_CONNECTION_STRING", "")
    AZURE_STORAGE_CONTAINER = env.str("AZURE_STORAGE_CONTAINER", "rca-evidence")

    # Remediation (integrations/remediation.py): actions, approvals, batches after an incident.
    AIRFLOW_API_URL = env.str("AIRFLOW_API_URL", "", validate=_is_http_url)
    AIRFLOW_API_TOKEN = env.str("AIRFLOW_API_TOKEN", "")
    AIRFLOW_USERNAME = env.str("AIRFLOW_USERNAME", "")
    AIRFLOW_PASSWORD = env.str("AIRFLOW_PASSWORD", "")
    # The deployment AIRFLOW_API_URL serves, as the webhooks name it (integrations/parsers/
    # airflow.py); empty: the API URL's host and port. Clears are refused for another one's task.
    AIRFLOW_DEPLOYMENT = env.str("AIRFLOW_DEPLOYMENT", "")
    PLAYBOOK_URL = env.str("PLAYBOOK_URL", "", validate=_is_http_url)
    PLAYBOOK_SECRET = env.str("PLAYBOOK_SECRET", "")
    REMEDIATION_APPROVAL_SECONDS = env.int("REMEDIATION_APPROVAL_SECONDS", 3600, validate=_POSITIVE)
    REMEDIATION_WATCH_SECONDS = env.int("REMEDIATION_WATCH_SECONDS", 4 * 3600, validate=_POSITIVE)
    REMEDIATION_POLL_SECONDS = env.float("REMEDIATION_POLL_SECONDS", 60.0, validate=_POSITIVE)
    REMEDIATION_BATCH_SIZE = env.int("REMEDIATION_BATCH_SIZE", 5, validate=validate.Range(min=1))

    # API and dashboard.
    API_ANON_RATE = env.str("API_ANON_RATE", "60/min", validate=_is_throttle_rate)
    API_USER_RATE = env.str("API_USER_RATE", "1200/min", validate=_is_throttle_rate)
    API_LOGIN_RATE = env.str("API_LOGIN_RATE", "10/min", validate=_is_throttle_rate)
    JWT_ACCESS_SECONDS = env.int("JWT_ACCESS_SECONDS", 15 * 60, validate=_POSITIVE)
    JWT_REFRESH_SECONDS = env.int("JWT_REFRESH_SECONDS", 24 * 3600, validate=_POSITIVE)
    SELF_REGISTRATION = env.bool("SELF_REGISTRATION", False)
    # Postings of the self-registration form per client address (tickets/registration.py).
    SELF_REGISTRATION_RATE = env.str(
        "SELF_REGISTRATION_RATE", "10/hour", validate=_is_throttle_rate
    )
    # Session sign-in (dashboard and admin) and the API's token exchange: after this many
    # failed attempts for one username inside the window, that username is locked until the
    # window passes. An address with four times as many failures is refused only for the
    # usernames that already failed from it (see tickets/login_throttle.py).
    LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", 5, validate=validate.Range(min=1))
    LOGIN_LOCKOUT_SECONDS = env.int(
        "LOGIN_LOCKOUT_SECONDS", 15 * 60, validate=validate.Range(min=1)
    )
    API_STATS_CACHE_SECONDS = env.int("API_STATS_CACHE_SECONDS", 30)
    # The stats count whole days from the rollup (tickets/rollup.py); false counts every ticket
    # of the period instead (same answer, slower: for comparison). Beat folds the rollup's
    # pending changes every TICKET_STATS_FOLD_SECONDS; the answer is exact either way, the fold
    # keeps the pending changes few.
    STATS_ROLLUP = env.bool("STATS_ROLLUP", True)
    TICKET_STATS_FOLD_SECONDS = env.float("TICKET_STATS_FOLD_SECONDS", 60.0, validate=_POSITIVE)
    # Where browsers open the live-update websocket; empty: the page's own host.
    WEBSOCKET_URL = env.str("WEBSOCKET_URL", "")

    # Namespaces in the shared Redis: our own keys, the Celery queue, the Channels groups.
    REDIS_KEY_PREFIX = env.str("REDIS_KEY_PREFIX", "rca")
    CACHES = {"default": _cache_config(CACHE_URL or REDIS_URL, f"{REDIS_KEY_PREFIX}:cache")}
    CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", "celery")

    CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", False)
    CELERY_VISIBILITY_TIMEOUT = env.int("CELERY_VISIBILITY_TIMEOUT", 3600, validate=_POSITIVE)
    # The default is not parsed by environs, so give it as the number a set value becomes.
    LOG_LEVEL = env.log_level("LOG_LEVEL", logging.INFO)
    LOG_FORMAT = env.str("LOG_FORMAT", "json", validate=validate.OneOf(["json", "plain"]))
    METRICS_TOKEN = env.str("METRICS_TOKEN", "")
except EnvError as exc:
    raise ImproperlyConfigured(str(exc)) from exc

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt",
    "rest_framework_simplejwt.token_blacklist",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "channels",
    "tickets",
    "integrations",
    "analysis",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Django's session, CSRF, authentication and messages middleware, passed by for the failure
    # webhooks (rca_project/middleware.py says why).
    "rca_project.middleware.SessionMiddleware",
    "rca_project.middleware.ApiWithoutSlashMiddleware",
    # Django's, with the probes exempt from the Host check (see the class).
    "rca_project.middleware.CommonMiddleware",
    "rca_project.middleware.CsrfViewMiddleware",
    "rca_project.middleware.AuthenticationMiddleware",
    "rca_project.middleware.MessageMiddleware",
    "rca_project.middleware.NulRefusedInAdminMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "rca_project.urls"
WSGI_APPLICATION = "rca_project.wsgi.application"
ASGI_APPLICATION = "rca_project.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
if TLS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = True
    SECURE_REDIRECT_EXEMPT = [r"^healthz/?$", r"^readyz/?$", r"^metrics/?$"]
    SECURE_HSTS_SECONDS = HSTS_SECONDS
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

REST_FRAMEWORK: dict[str, Any] = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "tickets.api.authentication.CheckedJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["tickets.api.permissions.IsViewer"],
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "tickets.filtersets.StrictOrderingFilter",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "tickets.api.parsers.DepthCheckedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "tickets.api.throttles.ClientAnonRateThrottle",
        "tickets.api.throttles.ClientUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": API_ANON_RATE,
        "user": API_USER_RATE,
        "login": API_LOGIN_RATE,
    },
    "EXCEPTION_HANDLER": "tickets.api.errors.json_exception_handler",
}

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=JWT_ACCESS_SECONDS),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=JWT_REFRESH_SECONDS),
    "SIGNING_KEY": SECRET_KEY,
    # A refresh token is good for one refresh: it answers a new one and is revoked, so a stolen
    # token stops working once either holder uses it, and `token/revoke/` (log out) ends it.
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # Tokens carry a digest of the password hash: a changed password ends them all at once.
    "CHECK_REVOKE_TOKEN": True,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "RCA service API",
    "DESCRIPTION": "Tickets, their root-cause analysis, audit trail, stats and traces.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    **SCHEMA_SETTINGS,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# A websocket consumer waits for its events in a blocking BZPOPMIN of
# RedisChannelLayer.brpop_timeout (5 s) seconds. redis-py 8 gives every socket read a 5 s
# timeout by default, so an idle consumer's read timed out just before Redis answered "nothing
# yet" and daphne logged a redis TimeoutError and closed the websocket. Reads wait longer than
# the blocking pop, and a dead connection is still noticed.
CHANNEL_LAYER_SOCKET_TIMEOUT = RedisChannelLayer.brpop_timeout + 10
CHANNEL_LAYERS: dict[str, dict[str, Any]] = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            "hosts": [{"address": REDIS_URL, "socket_timeout": CHANNEL_LAYER_SOCKET_TIMEOUT}],
            "prefix": f"{REDIS_KEY_PREFIX}:asgi",
        },
    }
}

CELERY_BROKER_URL = local_services.kombu_url(REDIS_URL)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
# Celery's Django fix-up closes the database connections around every task unless told to keep
# them for this many tasks; rca_project.celery closes them by Django's rules instead (errored
# and unusable, or older than CONN_MAX_AGE), so this is only a backstop.
CELERY_DB_REUSE_MAX = 1000
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": CELERY_VISIBILITY_TIMEOUT,
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
# Some publishing happens on commit inside a request (an API re-analysis, a log upload), and
# the inbox relay publishes in batches: fail fast when the broker is down instead of holding
# either (the relay puts back in the inbox what it could not publish and tries again).
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# How long a 503 (PostgreSQL or Redis unreachable) asks the client or sender to wait, in seconds.
RETRY_AFTER_SECONDS = 30

# Each outbound target's deliveries on a queue of its own (integrations/targets/__init__.py).
CELERY_TASK_ROUTES = ("integrations.targets.route_outbound",)
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BEAT_SCHEDULE = {
    "mark-sla-breaches": {
        "task": "tickets.tasks.mark_sla_breaches",
        "schedule": SLA_CHECK_INTERVAL_SECONDS,
    },
    "redeliver-unfinished-deliveries": {
        "task": "integrations.tasks.redeliver_unfinished_deliveries",
        "schedule": REDELIVER_INTERVAL_SECONDS,
    },
    "fold-ticket-stats": {
        "task": "tickets.tasks.fold_ticket_stats",
        "schedule": TICKET_STATS_FOLD_SECONDS,
    },
    "fold-inbox-stats": {
        "task": "integrations.tasks.fold_inbox_stats",
        "schedule": TICKET_STATS_FOLD_SECONDS,
    },
    "apply-retention": {"task": "integrations.tasks.apply_retention", "schedule": 3600.0},
    "apply-outbound-retention": {
        "task": "integrations.tasks.apply_outbound_retention",
        "schedule": 3600.0,
    },
    "apply-llm-call-retention": {
        "task": "analysis.tasks.apply_llm_call_retention",
        "schedule": 3600.0,
    },
    "forget-expired-api-tokens": {
        "task": "tickets.tasks.forget_expired_api_tokens",
        "schedule": 3600.0,
    },
    "worker-heartbeat": {"task": "integrations.tasks.heartbeat", "schedule": 30.0},
    "recover-stale-log-analyses": {
        "task": "analysis.tasks.recover_stale_log_analyses",
        "schedule": 60.0,
    },
    "rerun-rca-after-gemini-outage": {
        "task": "analysis.tasks.rerun_rca_after_outage",
        "schedule": 60.0,
    },
    "refetch-databricks-errors": {
        "task": "analysis.tasks.refetch_databricks_errors",
        "schedule": 30.0,
    },
    "expire-remediation-approvals": {
        "task": "integrations.tasks.expire_remediation_approvals",
        "schedule": 60.0,
    },
}

# One JSON object per line, the tracking id on every one (webhook -> worker -> outbound call).
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "tracking": {"()": "rca_project.observability.TrackingIdFilter"},
        "not_ready": {"()": "rca_project.health.NotReadyIsNotAnError"},
        # Query-string tokens, credentials in messages and our own secrets never reach a line.
        "redact": {"()": "rca_project.log_redaction.RedactSecretsFilter"},
    },
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(tracking_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(tracking_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["tracking", "redact"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "embedded_postgres": {"level": "WARNING"},
        "drain3": {"level": "WARNING"},
        "django.request": {"filters": ["not_ready"]},
    },
}
