"""The culprit of a failure: the dependency its error names (a database server, an integration
runtime, a Databricks cluster, a storage account, an API host...), normalized into one key.

Failures of different pipelines that name the same culprit are one outage (an incident, see
tickets/incidents.py), whatever job reported them. Pure: no Django. Runs at ingest on the
redacted message, so a key never carries a secret; it never raises on any input and is bounded
in time: only the first `SCAN_LIMIT` characters are read, and every pattern is linear (no
nested or overlapping quantifiers, every repeat bounded).

Keys are lower-case and carry no port, no scheme, no path beyond what identifies the dependency:
`sql-server:sql-prod-01.database.windows.net`, `storage:dlsprod` (container `raw` its detail),
`databricks-cluster:0825-053542-fuels59`, `azure-resource:/subscriptions/…/servers/x`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger(__name__)

# Culprits are named near the top of an error; a 1 MiB log tail needs no full scan.
SCAN_LIMIT = 64 * 1024
KEY_LIMIT = 300


class CulpritKind:
    SQL_SERVER = "sql-server"
    DATABASE_HOST = "database-host"
    INTEGRATION_RUNTIME = "integration-runtime"
    DATABRICKS_WORKSPACE = "databricks-workspace"
    DATABRICKS_CLUSTER = "databricks-cluster"
    DATABRICKS_POOL = "databricks-pool"
    STORAGE = "storage"
    KEY_VAULT = "key-vault"
    EVENT_HUBS = "eventhubs-namespace"
    KAFKA = "kafka"
    AIRFLOW_CONNECTION = "airflow-connection"
    AIRFLOW_POOL = "airflow-pool"
    CLOUD_QUOTA = "cloud-quota"
    API_HOST = "api-host"
    AZURE_RESOURCE = "azure-resource"
    # Not a dependency: what an incident of one Azure alert rule firing on several resources
    # at once is keyed on (tickets/incidents.py `rule_group_key`); no failure names it.
    ALERT_RULE = "alert-rule"
    # Not a dependency either: what the Service Health alerts of one Azure incident (its
    # tracking id) group on, one alert per subscription's rule (tickets/incidents.py
    # `rule_group_key`); no failure names it.
    SERVICE_HEALTH = "service-health"

    ALL = (
        SQL_SERVER,
        DATABASE_HOST,
        INTEGRATION_RUNTIME,
        DATABRICKS_WORKSPACE,
        DATABRICKS_CLUSTER,
        DATABRICKS_POOL,
        STORAGE,
        KEY_VAULT,
        EVENT_HUBS,
        KAFKA,
        AIRFLOW_CONNECTION,
        AIRFLOW_POOL,
        CLOUD_QUOTA,
        API_HOST,
        AZURE_RESOURCE,
        ALERT_RULE,
        SERVICE_HEALTH,
    )


# Each kind as people say it, before the culprit's key: "SQL server dw-prod".
KIND_WORDS = {
    CulpritKind.SQL_SERVER: "SQL server",
    CulpritKind.DATABASE_HOST: "database host",
    CulpritKind.INTEGRATION_RUNTIME: "integration runtime",
    CulpritKind.DATABRICKS_WORKSPACE: "Databricks workspace",
    CulpritKind.DATABRICKS_CLUSTER: "Databricks cluster",
    CulpritKind.DATABRICKS_POOL: "Databricks pool",
    CulpritKind.STORAGE: "storage",
    CulpritKind.KEY_VAULT: "key vault",
    CulpritKind.EVENT_HUBS: "Event Hubs namespace",
    CulpritKind.KAFKA: "Kafka",
    CulpritKind.AIRFLOW_CONNECTION: "Airflow connection",
    CulpritKind.AIRFLOW_POOL: "Airflow pool",
    CulpritKind.CLOUD_QUOTA: "cloud quota",
    CulpritKind.API_HOST: "API host",
    CulpritKind.AZURE_RESOURCE: "Azure resource",
    CulpritKind.ALERT_RULE: "Azure alert rule",
    CulpritKind.SERVICE_HEALTH: "Azure Service Health incident",
}


def readable_culprit(label: str) -> str:
    """A culprit's label (`kind:key`) as people say it, "SQL server dw-prod" (an alert rule by
    its name, the last part of its id: "Azure alert rule vm-cpu-high"); a label of no kind
    known here, as it is."""
    kind, _, key = label.partition(":")
    words = KIND_WORDS.get(kind)
    if kind == CulpritKind.ALERT_RULE:
        key = key.rstrip("/").rsplit("/", 1)[-1]
    return f"{words} {key}" if words and key else label


@dataclass(frozen=True)
class Culprit:
    kind: str
    key: str
    # What else the error names about it, for people (e.g. the database on a server).
    detail: str = ""

    @property
    def label(self) -> str:
        """`kind:key`, what a ticket stores and incidents group on."""
        return f"{self.kind}:{self.key}"[:KEY_LIMIT]

    @property
    def display(self) -> str:
        return f"{self.label} ({self.detail})" if self.detail else self.label


# --- patterns (linear: bounded character classes, no nested quantifiers) ------------------------

_HOST = r"[A-Za-z0-9][A-Za-z0-9.-]{0,250}"
_Q = "['\"`]"

_SQL_DATABASE_SERVER = re.compile(
    r"(?:SQL (?:Database|Server)|server)\s*[:=]?\s*" + _Q + r"(?:tcp:)?(" + _HOST + r")", re.I
)
_SQL_SERVER_CONNECTOR = re.compile(r"SQL Server\b", re.I)
_CONNECTION_STRING_SERVER = re.compile(
    r"\b(?:Server|Data Source|Host)\s*=\s*(?:tcp:)?(?![a-z]{2,8}://)(" + _HOST + r")", re.I
)
_DATABASE_NAME = re.compile(
    r"(?<!SQL )\b(?:Database|Initial Catalog)\s*[:=]\s*" + _Q + r"?([A-Za-z0-9_.-]{1,128})", re.I
)
# libpq 14+ "connection to server at \"h\"", and before it "Is the server running on host \"h\"".
_PG_SERVER = re.compile(
    r"(?:connection to server (?:at|on socket)|is the server running on host)\s+\"("
    + _HOST
    + r")\"",
    re.I,
)
_TRANSLATE_HOST = re.compile(r"could not translate host name \"(" + _HOST + r")\"", re.I)
_DB_CONNECT = re.compile(r"Failed to connect to DB:\s*(" + _HOST + r")", re.I)
_JDBC = re.compile(r"jdbc:[a-z]{2,20}://(" + _HOST + r")", re.I)

_INTEGRATION_RUNTIME = re.compile(
    r"integration ?runtime\s+(?:\(|" + _Q + r"|named\s+)" + _Q + r"?([A-Za-z0-9_.-]{1,128})", re.I
)
_DATABRICKS_POOL = re.compile(r"\b(\d{4}-\d{6}-[a-z0-9]{2,16}-pool-[a-z0-9]{4,32})\b", re.I)
_DATABRICKS_CLUSTER = re.compile(r"(?<![\w-])(\d{4}-\d{6}-[a-z0-9]{5,12})(?![\w-])", re.I)
_ABFS = re.compile(
    r"\b(?:abfss?|wasbs?)://([a-z0-9][a-z0-9-]{0,62})@([a-z0-9]{3,24})\.(?:dfs|blob)\.core\.windows\.net",
    re.I,
)
_STORAGE_SERVICES = tuple(
    f".{kind}.core.windows.net" for kind in ("blob", "dfs", "file", "queue", "table")
)
_CONTAINER_AFTER = re.compile(r"(?::\d{1,5})?/([a-z0-9$][a-z0-9-]{0,62})", re.I)
_S3 = re.compile(r"\bs3a?://([a-z0-9][a-z0-9.-]{1,62})", re.I)
# ADF's ADLS Gen2 and Blob errors name the account and container as fields, often with no URL:
# "ADLS Gen2 operation failed for: ... Account: 'dlsprod'. FileSystem: 'raw'. Path: '...'".
_ADF_STORAGE_ACCOUNT = re.compile(
    r"\b(?:ADLS Gen2|Blob) operation failed\b.{0,600}?\bAccount: '([a-z0-9]{3,24})'"
    r"(?:\.? ?(?:FileSystem|ContainerName): '([a-z0-9$][a-z0-9-]{0,62})')?",
    re.I | re.S,
)

# A host before a known suffix is found from the suffix backwards (str.find, then one bounded
# look behind it): a regex starting with the host would try every position of the text.
_LABEL_BEFORE = re.compile(r"([a-z0-9][a-z0-9-]{0,62})$", re.I)
_HOST_BEFORE = re.compile(r"([a-z0-9][a-z0-9.-]{0,200})$", re.I)
_MAX_SUFFIX_HITS = 50


def _names_before_suffix(
    text: str, suffixes: tuple[str, ...], *, dotted: bool = False
) -> list[tuple[str, int, int]]:
    """Every name (one DNS label, or a dotted host) written right before one of the suffixes
    (at most `_MAX_SUFFIX_HITS` of each), with where the name starts and where the suffix
    ends, in the order they are written."""
    lowered = text.lower()
    found: list[tuple[str, int, int]] = []
    for suffix in suffixes:
        start, hits = 0, 0
        while hits < _MAX_SUFFIX_HITS:
            at = lowered.find(suffix, start)
            if at < 0:
                break
            hits += 1
            start = at + 1
            end = at + len(suffix)
            if end < len(lowered) and (lowered[end].isalnum() or lowered[end] == "-"):
                continue  # part of a longer name
            window = lowered[max(0, at - 201) : at]
            match = (_HOST_BEFORE if dotted else _LABEL_BEFORE).search(window)
            name = match.group(1) if match else ""
            if name and ".." not in name and not name.endswith((".", "-")):
                stripped = name.lstrip(".-")
                found.append((stripped, at - len(stripped), end))
    return sorted(found, key=lambda hit: hit[1])


def _before_suffix(
    text: str, suffixes: tuple[str, ...], *, dotted: bool = False
) -> tuple[str, int] | None:
    """The first name (one DNS label, or a dotted host) written right before one of the
    suffixes, and where the suffix ends; None when there is none."""
    found = _names_before_suffix(text, suffixes, dotted=dotted)
    return (found[0][0], found[0][2]) if found else None


# A URL written for people to open, not one the failing call used: a run's page ("For more
# details please check the run page url: https://adb-….azuredatabricks.net/?o=…#job/…/run/…",
# in every error of ADF's Databricks activities), documentation ("Background on this error
# at:", "For more information, see"), a link in Markdown, the host a client is configured
# with ("Config: host=https://…"), a token's issuer ("iss=https://sts.windows.net/…") or the
# endpoint a job was submitted to ("Livy Endpoint=[https://…]"). It says where to look, not
# what failed: two notebooks failing for their own reasons in one workspace both carry the
# workspace's host so.
_POINTER_BEFORE = re.compile(
    r"(?:\bsee(?: also)?|\bcheck(?: the)?|\brun page(?: url| link)?|\bvisit|\brefer to|"
    r"\blearn more(?: at)?|\bbackground on this error at|\bfind packages at|"
    r"\benable [a-z]{1,30} at|\bdocumentation(?: at)?|\bconfig: host|\biss|\blivy endpoint|"
    r"\]\()[\s:=\[(`'\"]{0,4}$"
)
_POINTER_LOOK_BEHIND = 60
# What follows the host of a page for people: a fragment, which a browser keeps to itself
# and no API call sends, or Databricks' `?o=<workspace id>` page selector.
_PAGE_AFTER_HOST = re.compile(r"/?(?:#|\?o=)")


def _is_pointer(text: str, host_start: int, host_end: int) -> bool:
    """Whether the host written at `host_start` is in a URL that only points at where to look
    (`_POINTER_BEFORE`, `_PAGE_AFTER_HOST`)."""
    url_start = host_start
    for scheme in ("https://", "http://"):
        if text[max(0, host_start - len(scheme)) : host_start].lower() == scheme:
            url_start = host_start - len(scheme)
            break
    before = text[max(0, url_start - _POINTER_LOOK_BEHIND) : url_start].lower()
    return bool(_POINTER_BEFORE.search(before) or _PAGE_AFTER_HOST.match(text, host_end))


_KAFKA = re.compile(
    r"(?:bootstrap[._ ]servers?|kafka broker|broker)\s*[:=]?\s*"
    + _Q
    + r"?("
    + _HOST
    + r"):\d{2,5}",
    re.I,
)
_AIRFLOW_CONN = re.compile(
    r"\b(?:conn_id|connection id|connection)\s*[=:]?\s*" + _Q + r"([A-Za-z0-9_.-]{1,250})" + _Q,
    re.I,
)
_AIRFLOW_POOL = re.compile(r"\bpool\s+" + _Q + r"([A-Za-z0-9_.-]{1,256})" + _Q, re.I)
_QUOTA_CODE = re.compile(
    r"\b((?:[A-Z][A-Za-z]{1,40})?(?:QuotaExceeded|LimitReached|LimitExceeded|SkuNotAvailable|"
    r"AllocationFailed|ZonalAllocationFailed|InsufficientCapacity))\b"
)
_ARM_THROTTLING = re.compile(
    r"Subscription ([A-Za-z0-9-]{1,64}) was used to perform too many calls", re.I
)
# The quota's name, not a word standing for it: "has exceeded its quota" (a Snowflake resource
# monitor, each its own) and "Quota exceeded for quota metric '…'" (each metric its own) named
# `its-quota` and `for-quota`, one culprit for every monitor and every metric.
_QUOTA_WORDS = re.compile(
    r"\bexceed(?:ing|s|ed)? (?:the )?(?:approved )?"
    r"(?!(?:its|their|your|our|my|this|that|the|a|an|for|of) quota\b)"
    r"([A-Za-z][\w ]{0,60}? quota)\b",
    re.I,
)
_REGION = re.compile(
    r"\b(?:location|region)\b\s*[:=]?\s*['\"]?([a-z]{2,20}(?:-?[a-z]{2,12}){0,2}-?\d?)\b", re.I
)
_HTTP_HOST_ARG = re.compile(r"ConnectionPool\(host=" + _Q + r"(" + _HOST + r")" + _Q, re.I)
_URL_HOST = re.compile(r"\bhttps?://(" + _HOST + r")", re.I)
_CONNECT_TO_HOST = re.compile(
    r"(?:failed to connect to|could not connect to|unable to connect to|cannot reach|"
    r"could not resolve host:?|name or service not known for|connection refused by)\s+"
    + _Q
    + r"?("
    + _HOST
    + r")",
    re.I,
)
_AZURE_RESOURCE_ID = re.compile(
    r"(/subscriptions/[0-9a-f-]{36}/resourcegroups/[\w().-]{1,90}/providers/[\w.]{1,60}/[\w./()-]{1,400})",
    re.I,
)

# Hosts that are documentation, not a dependency.
_NOT_A_DEPENDENCY = (
    "learn.microsoft.com",
    "docs.microsoft.com",
    "go.microsoft.com",
    "aka.ms",
    "docs.databricks.com",
    "airflow.apache.org",
    "stackoverflow.com",
    "github.com",
    "www.w3.org",
    "schemas.microsoft.com",
    "localhost",
)
_SQL_CONTEXT = re.compile(
    r"SqlFailedToConnect|SQL (?:Database|Server)|\bsqlserver\b|\bmssql\b", re.I
)


def _host(raw: str) -> str:
    """Lower-case, without a port, a trailing dot or a `tcp:` prefix."""
    host = raw.strip().strip(".,;'\"`").lower()
    host = host.removeprefix("tcp:")
    host = host.split(",", 1)[0].split(":", 1)[0]
    return host.rstrip(".")[:253]


def _is_placeholder(host: str) -> bool:
    return not host or "redacted" in host or "*" in host or host.startswith(".") or ".." in host


# --- extractors, most specific first ------------------------------------------------------------


def _sql_server(text: str) -> Culprit | None:
    database = ""
    match = _DATABASE_NAME.search(text)
    if match:
        database = match.group(1).strip(".").lower()
    azure = _before_suffix(text, (".database.windows.net", ".database.azure.com"))
    if azure:
        return Culprit(CulpritKind.SQL_SERVER, f"{azure[0]}.database.windows.net", database)
    if _SQL_CONTEXT.search(text):
        for pattern in (_SQL_DATABASE_SERVER, _CONNECTION_STRING_SERVER):
            match = pattern.search(text)
            if match:
                host = _host(match.group(1))
                if _is_placeholder(host):
                    continue
                # ADF names an Azure SQL server by its short name ("Cannot connect to SQL
                # Database: 'sql-prod-01'"); its SQL Server connector ("Cannot connect to SQL
                # Server: 'onprem-sql01'", a server on premises or on a VM) names the server
                # as its linked service does: no Azure SQL server, and not named as one.
                if "." not in host and not _SQL_SERVER_CONNECTOR.match(match.group(0)):
                    host = f"{host}.database.windows.net"
                return Culprit(CulpritKind.SQL_SERVER, host, database)
    return None


def _database_host(text: str) -> Culprit | None:
    snowflake = _before_suffix(text, (".snowflakecomputing.com",), dotted=True)
    if snowflake and not _is_placeholder(snowflake[0]):
        return Culprit(CulpritKind.DATABASE_HOST, f"{snowflake[0]}.snowflakecomputing.com")
    for pattern in (_PG_SERVER, _TRANSLATE_HOST, _DB_CONNECT, _JDBC, _CONNECTION_STRING_SERVER):
        match = pattern.search(text)
        if match:
            host = _host(match.group(1))
            if not _is_placeholder(host) and "." in host:
                database = _DATABASE_NAME.search(text)
                detail = database.group(1).strip(".").lower() if database else ""
                return Culprit(CulpritKind.DATABASE_HOST, host, detail)
    return None


def _integration_runtime(text: str) -> Culprit | None:
    match = _INTEGRATION_RUNTIME.search(text)
    if match and match.group(1).lower() not in {
        "node",
        "is",
        "the",
        "was",
        "has",
        "self-hosted",
        "self",
        "managed",
    }:
        return Culprit(CulpritKind.INTEGRATION_RUNTIME, match.group(1).lower())
    return None


def _databricks(text: str) -> Culprit | None:
    pool = _DATABRICKS_POOL.search(text)
    if pool:
        return Culprit(CulpritKind.DATABRICKS_POOL, pool.group(1).lower())
    cluster = _DATABRICKS_CLUSTER.search(text)
    if cluster:
        return Culprit(CulpritKind.DATABRICKS_CLUSTER, cluster.group(1).lower())
    return _databricks_workspace_host(text)


_DATABRICKS_HOSTS = (".azuredatabricks.net", ".cloud.databricks.com", ".gcp.databricks.com")


# An Azure workspace's host embeds its workspace id (`adb-<id>.<n>.azuredatabricks.net`), the
# id Databricks' own notifications give: keyed by that id, an ADF or Airflow failure naming the
# host and the workspace's notifications are one culprit (the host kept as its detail).
_AZURE_WORKSPACE_HOST = re.compile(r"adb-(\d{1,20})\.\d{1,4}\.azuredatabricks\.net")


def _databricks_workspace_host(text: str, *, pointers: bool = False) -> Culprit | None:
    """The workspace whose host the error names. A host named only in a URL that points at
    where to look (a run's page: `_is_pointer`) says where the run was, not that the workspace
    failed, and names none unless `pointers` (the workspace of a cluster the platform
    terminated, `_behind_terminated_cluster`: there the fault is the platform's, and the link
    only says which workspace)."""
    for name, start, end in _names_before_suffix(text, _DATABRICKS_HOSTS, dotted=True):
        if _is_placeholder(name) or name == "adb-":
            continue
        if not pointers and (_is_pointer(text, start, end) or _answered_with_client_error(text)):
            continue
        suffix = next(s for s in _DATABRICKS_HOSTS if text.lower().startswith(s, end - len(s)))
        host = name + suffix
        azure = _AZURE_WORKSPACE_HOST.fullmatch(host)
        if azure:
            return Culprit(CulpritKind.DATABRICKS_WORKSPACE, azure.group(1), detail=host)
        return Culprit(CulpritKind.DATABRICKS_WORKSPACE, host)
    return None


# A termination reason's type as Databricks writes it: `CODE(TYPE)` or `CODE (TYPE)` in a run's
# state message, `type: TYPE` in the CLI's and Terraform's, `"type": "TYPE"` in the API's JSON
# (and a Python dict's `'type': 'TYPE'`), `type=<TerminationReasonType.TYPE: 'TYPE'>` in the
# SDK's repr.
_REASON_TYPE = r"(?:\(|\btype['\"]?\s{0,3}[:=]\s{0,3}[<'\"]?(?:TerminationReasonType\.)?)"


# A cluster Databricks terminated for a fault of the platform under it (the reason's type
# CLOUD_FAILURE or SERVICE_FAULT, or one of those reasons spelt out): the cluster is a victim,
# and each job run's job cluster has an id of its own, so 30 jobs losing their drivers in one
# workspace outage named 30 culprits and paged 30 times. What they share is the quota the
# launch hit (when the error names one) or else the workspace the clusters run in. A reason
# whose type says CLIENT_ERROR (an init script, a policy refusing the launch) is the user's
# own, whatever else its text says, and a customer's VNet (its NSG, its exhausted subnet) is
# their setup, not the platform: those clusters stay the culprits.
_PLATFORM_TERMINATION = re.compile(
    _REASON_TYPE + r"(?:CLOUD_FAILURE|SERVICE_FAULT)\b|"
    r"\b(?:DRIVER_UNREACHABLE|DRIVER_UNRESPONSIVE|COMMUNICATION_LOST|"
    r"CLOUD_PROVIDER_LAUNCH_FAILURE|CLOUD_PROVIDER_SHUTDOWN|"
    r"CLOUD_PROVIDER_RESOURCE_STOCKOUT|INSTANCE_UNREACHABLE|UNEXPECTED_LAUNCH_FAILURE|"
    r"CONTROL_PLANE_REQUEST_FAILURE|AZURE_RESOURCE_PROVIDER_THROTTLING|"
    r"AZURE_RESOURCE_MANAGER_THROTTLING|METASTORE_COMPONENT_UNHEALTHY|DBFS_COMPONENT_UNHEALTHY|"
    r"BOOTSTRAP_TIMEOUT|"
    r"cloud provider launch failure|driver is unreachable)\b",
    re.I,
)
_USER_TERMINATION = re.compile(_REASON_TYPE + r"CLIENT_ERROR\b", re.I)
_WORKSPACE_ID = re.compile(r"\d{1,20}")


def _behind_terminated_cluster(cluster: Culprit, text: str, resource: Mapping[str, Any]) -> Culprit:
    """What a cluster's failure is blamed on: the cluster itself, unless the platform under it
    terminated it (then the quota its launch hit, else, unless the reason's type is the user's
    CLIENT_ERROR, its workspace: the id the failure's notification gave, else the workspace host
    its error names)."""
    if not _PLATFORM_TERMINATION.search(text):
        return cluster
    quota = _cloud_quota(text)
    if quota is not None:
        return quota
    if _USER_TERMINATION.search(text):
        return cluster
    workspace_id = str(resource.get("workspace_id") or "")
    if _WORKSPACE_ID.fullmatch(workspace_id):
        return Culprit(CulpritKind.DATABRICKS_WORKSPACE, workspace_id)
    return _databricks_workspace_host(text, pointers=True) or cluster


# What says the storage itself was not there for the caller: unreachable, slow, throttled,
# refusing the caller's access, its key or container gone. Without it a path on a storage
# account or bucket is only where the data is: a file not in Parquet, a column of the wrong
# type, a table location not empty, a path with no file are each the data's or the job's own,
# and two of them on one account are two problems.
_STORAGE_UNREACHABLE = re.compile(
    r"\b(?:401|403|408|429|500|502|503|504)\b|not authori[sz]ed|unauthori[sz]ed|forbidden|"
    r"authori[sz]ation\w{0,20}(?:mismatch|failure|failed)|authentication|credential|"
    r"\bdenied\b|accessdenied|unable to access|cannot access|could not access|cannot be listed|"
    r"(?:could not|cannot|can't|unable to|failed to) connect|connection error|"
    r"endpointconnectionerror|"
    r"unknownhost|name or service not known|could not resolve|temporary failure in name|"
    r"timed? ?out|timeout|connection (?:reset|refused|closed|aborted|failed)|"
    r"socketexception|handshake|\bssl\b|throttl|serverbusy|service unavailable|"
    r"error occurred while sending the request|failure to initialize configuration|"
    r"invalid configuration value detected for fs\.azure|account ?key|"
    r"(?:filesystem|file system|container|bucket) (?:does not exist|not found)|"
    r"(?:container|filesystem|bucket)notfound|nosuchbucket|accountisdisabled|"
    r"accountrequireshttps",
    re.I,
)


def _storage(text: str) -> Culprit | None:
    # The storage account is the dependency (what goes down, what an Azure alert is about);
    # the container is its detail, so pipelines using different containers of it group.
    if not _STORAGE_UNREACHABLE.search(text):
        return None
    abfs = _ABFS.search(text)
    if abfs:
        return Culprit(CulpritKind.STORAGE, abfs.group(2).lower(), abfs.group(1).lower())
    url = _before_suffix(text, _STORAGE_SERVICES)
    if url and 3 <= len(url[0]) <= 24:
        account, end = url
        container = _CONTAINER_AFTER.match(text, end)
        return Culprit(
            CulpritKind.STORAGE, account, container.group(1).lower() if container else ""
        )
    fields = _ADF_STORAGE_ACCOUNT.search(text)
    if fields:
        return Culprit(
            CulpritKind.STORAGE, fields.group(1).lower(), (fields.group(2) or "").lower()
        )
    s3 = _S3.search(text)
    if s3:
        return Culprit(CulpritKind.STORAGE, f"s3:{s3.group(1).lower()}")
    return None


def _key_vault(text: str) -> Culprit | None:
    vault = _before_suffix(text, (".vault.azure.net",))
    return Culprit(CulpritKind.KEY_VAULT, f"{vault[0]}.vault.azure.net") if vault else None


def _event_hubs(text: str) -> Culprit | None:
    namespace = _before_suffix(text, (".servicebus.windows.net",))
    if namespace:
        return Culprit(CulpritKind.EVENT_HUBS, f"{namespace[0]}.servicebus.windows.net")
    kafka = _KAFKA.search(text)
    if kafka:
        host = _host(kafka.group(1))
        if not _is_placeholder(host):
            return Culprit(CulpritKind.KAFKA, host)
    return None


def _airflow(text: str) -> Culprit | None:
    conn = _AIRFLOW_CONN.search(text)
    if conn:
        return Culprit(CulpritKind.AIRFLOW_CONNECTION, conn.group(1).lower())
    pool = _AIRFLOW_POOL.search(text)
    if pool:
        return Culprit(CulpritKind.AIRFLOW_POOL, pool.group(1).lower())
    return None


def _cloud_quota(text: str) -> Culprit | None:
    throttled = _ARM_THROTTLING.search(text)
    if throttled:
        return Culprit(CulpritKind.CLOUD_QUOTA, f"arm-throttling/{throttled.group(1).lower()}")
    code = _QUOTA_CODE.search(text)
    words = None if code else _QUOTA_WORDS.search(text)
    if not (code or words):
        return None
    name = (code.group(1) if code else words.group(1) if words else "").lower().replace(" ", "-")
    region = _REGION.search(text)
    key = f"{name}/{region.group(1).lower()}" if region else name
    return Culprit(CulpritKind.CLOUD_QUOTA, key)


# An HTTP client error the host answered (400 Bad Request, 401, 403, 404, 409, 410...; not
# 408 or 429, which say it was too slow or too busy): the host worked and refused this
# request, its parameters or its caller's credential. A permission missing on one project, a
# node type a workspace does not offer and a job not found are each the caller's; the host
# that answered them (bigquery.googleapis.com, a workspace's API) is not their culprit.
_CLIENT_ERROR = r"4(?:0[0-79]|1\d|2[0-8]|31|51)"
_CLIENT_ERROR_ANSWER = re.compile(
    r"\b" + _CLIENT_ERROR + r"\b[ :]{1,3}(?:GET|POST|PUT|PATCH|DELETE|HEAD|Client Error|"
    r"Bad Request|Unauthorized|Forbidden|Not Found|Conflict|Gone)\b|"
    r"\b(?:HttpError|Error|status code:?|Status=|StatusCode=)\s{0,3}" + _CLIENT_ERROR + r"\b|"
    r"\"code\"\s{0,3}:\s{0,3}" + _CLIENT_ERROR + r"\b",
)
# Unless what it refused is a limit the host keeps for everyone who calls it.
_SHARED_LIMIT = re.compile(r"quota|rate limit|too many requests|throttl", re.I)


def _answered_with_client_error(text: str) -> bool:
    return bool(_CLIENT_ERROR_ANSWER.search(text)) and not _SHARED_LIMIT.search(text)


_OBJECT_STORE_HOST = re.compile(
    r"\.(?:blob|dfs|file|queue|table)\.core\.windows\.net$|(?:^|\.)s3[.-][a-z0-9.-]{0,40}"
    r"amazonaws\.com$|^s3\.amazonaws\.com$|^storage\.googleapis\.com$"
)


def _api_host(text: str) -> Culprit | None:
    for pattern in (_HTTP_HOST_ARG, _CONNECT_TO_HOST, _URL_HOST):
        for match in pattern.finditer(text):
            host = _host(match.group(1))
            if "." not in host or _is_placeholder(host):
                continue
            if any(host == doc or host.endswith("." + doc) for doc in _NOT_A_DEPENDENCY):
                continue
            if pattern is _URL_HOST and (
                _is_pointer(text, match.start(1), match.end(1)) or _answered_with_client_error(text)
            ):
                continue
            if _OBJECT_STORE_HOST.search(host) and not _STORAGE_UNREACHABLE.search(text):
                continue  # where the data is (`_storage`), not a service that failed
            return Culprit(CulpritKind.API_HOST, host)
    return None


_EXTRACTORS: tuple[Callable[[str], Culprit | None], ...] = (
    _sql_server,
    _key_vault,
    _event_hubs,
    _storage,
    _databricks,
    _integration_runtime,
    _airflow,
    _cloud_quota,
    _database_host,
    _api_host,
)


# --- Azure resource ids -------------------------------------------------------------------------

# Resource types whose id maps onto the key a failure's text would give, so that an Azure
# Monitor alert on the resource and the pipelines failing against it share a culprit.
_RESOURCE_TYPES: dict[str, Callable[[str, list[str]], Culprit]] = {
    "microsoft.sql/servers": lambda name, rest: Culprit(
        CulpritKind.SQL_SERVER,
        f"{name}.database.windows.net",
        rest[1] if len(rest) > 1 and rest[0] == "databases" else "",
    ),
    "microsoft.storage/storageaccounts": lambda name, rest: Culprit(CulpritKind.STORAGE, name),
    "microsoft.keyvault/vaults": lambda name, rest: Culprit(
        CulpritKind.KEY_VAULT, f"{name}.vault.azure.net"
    ),
    "microsoft.eventhub/namespaces": lambda name, rest: Culprit(
        CulpritKind.EVENT_HUBS, f"{name}.servicebus.windows.net"
    ),
}


def culprit_of_resource_id(resource_id: str) -> Culprit | None:
    """The culprit an Azure resource id names: a known type maps onto the key its failures
    give (a SQL server, a storage account...), any other resource is `azure-resource:<id>`."""
    # No Azure resource name ends with a period: one there ends the sentence the id was in.
    resource_id = (resource_id or "").strip().lower().rstrip("/.")[:1000]
    parts = resource_id.split("/")
    # /subscriptions/S/resourcegroups/G/providers/NS/TYPE/NAME[/SUB/NAME...]
    if len(parts) < 9 or parts[1] != "subscriptions" or parts[5] != "providers":
        return None
    namespace, kind, name, rest = parts[6], parts[7], parts[8], parts[9:]
    is_factory = namespace == "microsoft.datafactory" and kind == "factories"
    if is_factory and len(rest) >= 2 and rest[0] == "integrationruntimes":
        return Culprit(CulpritKind.INTEGRATION_RUNTIME, rest[1], name)
    mapper = _RESOURCE_TYPES.get(f"{namespace}/{kind}")
    if mapper and name:
        return mapper(name, rest)
    return Culprit(CulpritKind.AZURE_RESOURCE, resource_id[:KEY_LIMIT])


# A log search alert scoped to a Log Analytics workspace targets that workspace, which most
# log alert rules of a platform query: taking it as the culprit made one incident, paged once,
# of unrelated alerts (an API's errors, a VM's heartbeat, a slow pipeline) about a workspace
# that is not at fault. Such an alert is about the resource its rows name, when they name one:
# its `_ResourceId` dimension or a configuration item that is a resource id. A Prometheus
# alert targets the Azure Monitor workspace its rule group queries, which the clusters of a
# platform send their metrics to: it is read the same way.
_QUERIED_WORKSPACES = (
    ("microsoft.operationalinsights", "workspaces"),
    ("microsoft.monitor", "accounts"),
)
_ROW_RESOURCE_DIMENSIONS = ("_resourceid", "resourceid")


def is_queried_workspace(resource_id: str) -> bool:
    """Whether the resource id is a workspace alerts query (Log Analytics, Azure Monitor's
    for Prometheus): such an alert is about the resource its rows name, not the workspace."""
    parts = resource_id.strip().lower().rstrip("/").split("/")
    return len(parts) == 9 and tuple(parts[6:8]) in _QUERIED_WORKSPACES


def _resource_its_rows_name(resource: Mapping[str, Any]) -> Culprit | None:
    dimensions = resource.get("dimensions")
    named = [
        value
        for name, value in (dimensions.items() if isinstance(dimensions, Mapping) else ())
        if str(name).lower() in _ROW_RESOURCE_DIMENSIONS
    ]
    items = resource.get("configuration_items")
    for candidate in [*named, *(items if isinstance(items, list) else ())]:
        if isinstance(candidate, str) and not is_queried_workspace(candidate):
            culprit = culprit_of_resource_id(candidate)
            if culprit is not None:
                return culprit
    return None


def _target_culprit(resource_id: str, resource: Mapping[str, Any]) -> Culprit | None:
    if is_queried_workspace(resource_id):
        return _resource_its_rows_name(resource)
    return culprit_of_resource_id(resource_id)


# --- entry point --------------------------------------------------------------------------------


def extract_culprit(
    message: str, resource: Mapping[str, Any] | None = None, *, source: str = ""
) -> Culprit | None:
    """The dependency a (redacted) failure names, or None when it names none. Never raises.

    An Azure Monitor alert's culprit (`source` "azure-monitor") is its target resource (a log
    search alert on a Log Analytics workspace, a Prometheus alert on an Azure Monitor workspace:
    the resource its rows name, else none; an alert on several resources: the one culprit they
    all map onto, else none); any other failure's comes from its error text, the most
    specific kind first (a SQL server before the API host of its URL), save a Databricks
    cluster the platform terminated: its workspace may be the id `resource` gives. Callers
    pass how the event is processed, so an ADF failure that came in an alert is read as an ADF
    failure.
    """
    try:
        return _extract(message or "", resource or {}, source)
    except Exception:  # a culprit is a bonus: it must never fail an ingest
        logger.warning("culprit extraction failed", exc_info=True)
        return None


def _extract(message: str, resource: Mapping[str, Any], source: str) -> Culprit | None:
    if source == "azure-monitor":
        resource_id = resource.get("resource_id")
        several = resource.get("resource_ids")
        if isinstance(several, list) and len(several) > 1:
            # An alert on several resources is about each of them, not its first: it names
            # a culprit only when every target maps onto the same one (a SQL server and its
            # databases), else none.
            found = [_target_culprit(str(target), resource) for target in several]
            labels = {culprit.label if culprit else "" for culprit in found}
            return found[0] if len(labels) == 1 and found[0] is not None else None
        if isinstance(resource_id, str) and resource_id:
            return _target_culprit(resource_id, resource)
    text = message[:SCAN_LIMIT]
    for extractor in _EXTRACTORS:
        culprit = extractor(text)
        if culprit is not None and culprit.key:
            if culprit.kind == CulpritKind.DATABRICKS_CLUSTER:
                return _behind_terminated_cluster(culprit, text, resource)
            return culprit
    match = _AZURE_RESOURCE_ID.search(text)
    if match:
        return culprit_of_resource_id(match.group(1))
    return None
