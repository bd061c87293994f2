"""Rule-based root-cause analysis, used when the LLM analysis is unavailable.

Sub-rules recognise concrete causes in the error text (an expired client secret, an executor
OOM, a missing Python module, ...) and name what they extracted (module, host, column, code).
When none matches, a per-class template is used. Extracted values come from untrusted text:
they are reduced to a plain-text character set and capped in length. No Django import.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from analysis.classifier import scan_window

MAX_VALUE_CHARS = 80
MAX_CONFIDENCE = 0.8
TEMPLATE_CONFIDENCE = 0.45
UNKNOWN_CONFIDENCE = 0.2


@dataclass(frozen=True)
class RuleRca:
    root_cause: str
    recommendations: list[str]
    confidence: float


@dataclass(frozen=True)
class _Context:
    text: str
    source: str
    pipeline: str
    activity: str
    error_code: str
    failure_type: str
    operator: str


@dataclass(frozen=True)
class _Finding:
    cause: str
    recommendations: tuple[str, ...]
    confidence: float


_Builder = Callable[[re.Match[str], _Context], _Finding]


@dataclass(frozen=True)
class _SubRule:
    name: str
    classes: frozenset[str]
    pattern: re.Pattern[str]
    build: _Builder


# --------------------------------------------------------------------------- untrusted values

# Letters, digits and the punctuation of identifiers, paths, hosts and codes. Everything else
# (angle brackets, backticks, asterisks, pipes, braces, control characters) is dropped so a
# value cannot carry HTML, Slack mrkdwn or JIRA markup into a ticket.
_UNSAFE = re.compile(r"[^\w .:/@#=,()$%+\-']")
_SPACES = re.compile(r"\s+")
_WORD = re.compile(r"\w")


def clean_value(value: object, limit: int = MAX_VALUE_CHARS) -> str:
    """Plain-text, length-capped form of a value taken from untrusted input."""
    text = _UNSAFE.sub("", _SPACES.sub(" ", str(value))).strip(" .,:;")
    if not _WORD.search(text):
        return ""
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def _q(value: str) -> str:
    return f"'{value}'" if value else ""


def _grab(text: str, *patterns: str) -> str:
    """First capture group of the first pattern that matches, cleaned; "" if none matches."""
    for pattern in patterns:
        match = re.search(pattern, text, re.IGNORECASE)
        if match:
            value = next((g for g in match.groups() if g), "")
            cleaned = clean_value(value)
            if cleaned:
                return cleaned
    return ""


_HOST_PATTERNS = (
    r'could not translate host ?name "([^"\s]+)"',
    r"unknownhostexception: ([\w.-]+)",
    r'connection to server at "([^"\s]+)"',
    r"connect to \w+ server on '([^'\s]+)'",
    r"host='([^'\s]+)'",
    r"server: '([^'\s]+)'",
    r"failed to connect to ([\w-]+(?:\.[\w-]+)+)",
    r"(?:sftp|ftp|http) server '([^'\s]+)'",
    r"https?://([\w-]+(?:\.[\w-]+)+)",
)


def _host(text: str) -> str:
    return _grab(text, *_HOST_PATTERNS)


_DURATION = re.compile(
    r"(?:after|of|in|exceeds?|exceeded|timeout=|timeout:?)\s*\[?'?"
    r"(\d+(?:\.\d+)?)\s*(ms|milliseconds?|s|secs?|seconds?|mins?|minutes?|h|hours?)?'?\b"
    r"(?!\.\d)",
    re.IGNORECASE,
)
# ADF timeouts are timespans next to the word ("exceeded the timeout '0.02:00:00'"); a bare
# hh:mm:ss elsewhere is usually a log timestamp.
_TIMESPAN = re.compile(r"time ?out[^'\n]{0,30}'((?:\d+\.)?\d{1,2}:\d{2}:\d{2})'", re.IGNORECASE)
_UNITS = {"ms": "ms", "millisecond": "ms", "milliseconds": "ms", "h": "hours", "hour": "hours"}


def _duration(text: str) -> str:
    """A timeout duration named in the message ("300 seconds", "0.02:00:00"), or ""."""
    span = _TIMESPAN.search(text)
    if span:
        return clean_value(span.group(1))
    for match in _DURATION.finditer(text):
        amount, unit = match.group(1), (match.group(2) or "").lower()
        if not unit and not match.group(0).lower().startswith("timeout"):
            continue
        if unit in ("s", "sec", "secs", "second", "seconds", ""):
            unit = "seconds"
        elif unit.startswith("min"):
            unit = "minutes"
        else:
            unit = _UNITS.get(unit, unit)
        return clean_value(f"{amount} {unit}")
    return ""


_EXCEPTION_LINE = re.compile(
    r"^\s*([A-Za-z_][\w.]*(?:Error|Exception|Exit|Timeout|Interrupt)):[ \t]*(.*)$", re.MULTILINE
)


def _last_exception(text: str) -> tuple[str, str]:
    """The last "SomeError: detail" line of a traceback (the one that ended the task)."""
    last = deque(_EXCEPTION_LINE.finditer(text), maxlen=1)
    if not last:
        return "", ""
    return clean_value(last[0].group(1).rsplit(".", 1)[-1]), clean_value(last[0].group(2))


def _platform(source: str) -> str:
    src = source.lower()
    for key in ("databricks", "airflow", "adf"):
        if key in src:
            return key
    if "data factory" in src or "datafactory" in src or "azure" in src:
        return "adf"
    return ""


# --------------------------------------------------------------------------- sub-rules

_SUB_RULES: list[_SubRule] = []


def _rule(
    name: str, classes: str, pattern: str, flags: int = re.IGNORECASE
) -> Callable[[_Builder], _Builder]:
    """Register a sub-rule for the given classes; rules are tried in registration order."""

    def register(build: _Builder) -> _Builder:
        _SUB_RULES.append(
            _SubRule(name, frozenset(classes.split()), re.compile(pattern, flags), build)
        )
        return build

    return register


# ---- AuthenticationError

_AADSTS_MEANING = {
    "7000215": "an invalid client secret was presented (often the secret ID instead of its value)",
    "7000222": "the client secret has expired",
    "50012": "the client credentials were rejected",
    "70002": "the client credentials could not be validated",
    "700016": "the application (client) ID was not found in the tenant",
    "90002": "the tenant was not found",
    "50034": "the user account does not exist in the tenant",
    "50126": "the user name or password is wrong",
    "50053": "the account is locked after too many failed sign-ins",
    "50057": "the account is disabled",
    "50076": "multi-factor authentication is required for this sign-in",
    "50079": "multi-factor authentication enrolment is required",
    "700024": "the client assertion is outside its valid time range",
    "7000112": "the application is disabled",
    "65001": "admin or user consent has not been granted for the application",
}
_SECRET_CODES = ("7000215", "7000222", "50012", "70002")


@_rule(
    "aad_client_secret",
    "AuthenticationError ConfigurationError",
    r"AADSTS(7000215|7000222|50012|70002)\b|invalid client secret"
    r"|client secret keys .{0,80}expired",
)
def _aad_secret(m: re.Match[str], ctx: _Context) -> _Finding:
    codes = re.findall(r"AADSTS(\d+)", ctx.text)
    code = next((c for c in codes if c in _SECRET_CODES), codes[0] if codes else "")
    app = _grab(ctx.text, r"app '([0-9a-f-]{36})'", r"client[_ ]id[=: ']+([0-9a-f-]{36})")
    expired = code == "7000222" or "expired" in ctx.text.lower()
    state = "expired" if expired else "invalid or expired"
    cause = f"the service principal's client secret is {state}"
    if code:
        cause += f" (AADSTS{code}: {_AADSTS_MEANING.get(code, 'credential rejected')})"
    target = f" for app registration {app}" if app else ""
    return _Finding(
        cause,
        (
            f"Create a new client secret{target} in Microsoft Entra ID "
            "(copy the secret value, not the secret ID).",
            "Rotate the secret in Key Vault and update the linked service or secret scope "
            "that references it.",
            "Test the connection of the linked service, then rerun the failed run.",
            "Alert on secret expiry ahead of time, or switch to a managed identity to avoid "
            "expiring secrets.",
        ),
        0.75,
    )


@_rule("aad_other", "AuthenticationError ConfigurationError", r"AADSTS(\d{5,7})")
def _aad_other(m: re.Match[str], ctx: _Context) -> _Finding:
    code = clean_value(m.group(1))
    meaning = _AADSTS_MEANING.get(code, "Microsoft Entra ID rejected the sign-in")
    return _Finding(
        f"Microsoft Entra ID sign-in failed with AADSTS{code}: {meaning}",
        (
            f"Look up AADSTS{code} in the Entra ID sign-in logs for the exact failing request.",
            "Check the tenant ID, client ID and credential configured in the linked service or "
            "connection.",
            "Verify the app registration or managed identity is enabled and has consent for the "
            "target resource.",
            "Rerun the failed run after correcting the identity configuration.",
        ),
        0.65,
    )


@_rule(
    "db_login_failed",
    "AuthenticationError DatabaseError",
    r"login failed for user '([^']*)'|password authentication failed for user \"([^\"]*)\""
    r"|access denied for user '([^']*)'|incorrect username or password|ORA-01017"
    r"|invalid (?:username|user name)(?: or |/)password",
)
def _db_login(m: re.Match[str], ctx: _Context) -> _Finding:
    user = clean_value(next((g for g in m.groups() if g), ""))
    server = _grab(
        ctx.text, r"server: '([^'\s]+)'", r"failed to connect to db: ([\w.-]+)"
    ) or _host(ctx.text)
    who = f"user {_q(user)}" if user else "the configured user"
    where = f" on {server}" if server else ""
    token_user = "token-identified principal" in ctx.text.lower()
    cause = f"the database rejected the credentials of {who}{where}"
    recs = [
        f"Verify the password for {who} in Key Vault or the connection and update the linked "
        "service or Airflow connection if it was rotated.",
        "Check whether the login is disabled, locked or has an expired password on the server.",
        "Confirm the login is mapped to a user in the target database with the needed grants.",
        "Test the connection, then rerun the failed run.",
    ]
    if token_user:
        recs[0] = (
            "Create a contained database user for the service principal or managed identity "
            "(CREATE USER ... FROM EXTERNAL PROVIDER) and grant it the needed roles."
        )
    return _Finding(cause, tuple(recs), 0.75)


@_rule(
    "token_expired",
    "AuthenticationError",
    r"token (?:has )?expired|expiredtoken|invalid access token|token is (?:invalid|expired)"
    r"|jwt token is invalid",
)
def _token(m: re.Match[str], ctx: _Context) -> _Finding:
    platform = _platform(ctx.source)
    databricks_pat = "databricks" in ctx.text.lower() or ctx.error_code == "3200"
    if databricks_pat or (platform == "adf" and "403" in ctx.text):
        what = "the Databricks access token used by the linked service is expired or invalid"
        first = "Generate a new Databricks token (or use managed identity authentication) and "
        first += "update the Databricks linked service."
    else:
        what = "the access token presented to the service is expired or invalid"
        first = "Refresh or regenerate the token and update the connection that stores it."
    return _Finding(
        what,
        (
            first,
            "Store the token in Key Vault or a secret backend and reference it instead of "
            "embedding it.",
            "Check the token lifetime policy and rotate before expiry (or use short-lived "
            "tokens obtained at run time).",
            "Rerun the failed run once the new token is in place.",
        ),
        0.7,
    )


@_rule(
    "missing_credentials",
    "AuthenticationError ConfigurationError",
    r"nocredentialserror|unable to locate credentials|defaultazurecredential failed"
    r"|credentialunavailable|environmentcredential authentication unavailable",
)
def _no_creds(m: re.Match[str], ctx: _Context) -> _Finding:
    return _Finding(
        "no credentials were available to the SDK in the runtime environment",
        (
            "Configure the identity the task should use (instance profile / IAM role, managed "
            "identity, or service principal environment variables) on the worker or cluster.",
            "For Airflow, set the connection (aws_default, azure_default, ...) the hook uses.",
            "Verify from the runtime (same worker or cluster) that the identity can obtain a "
            "token.",
            "Rerun the failed run after the credentials are in place.",
        ),
        0.7,
    )


@_rule(
    "http_401",
    "AuthenticationError",
    r"(?:status|error|code|http)\W{0,4}401\b|\b401 (?:client error|unauthorized)|\(401\)"
    r"|\bunauthorized\b|\bunauthenticated\b",
)
def _http401(m: re.Match[str], ctx: _Context) -> _Finding:
    host = _grab(ctx.text, r"https?://([\w-]+(?:\.[\w-]+)+)")
    target = f"the API at {host}" if host else "the called service"
    return _Finding(
        f"{target} rejected the request as unauthenticated (HTTP 401)",
        (
            "Check that the API key or token in the connection is present, valid and not "
            "expired or revoked.",
            "Verify the authentication scheme and header the API expects (Bearer token, API "
            "key header, basic auth).",
            "Rotate the credential in the secret store and update the connection, then rerun.",
        ),
        0.6,
    )


@_rule(
    "permission_denied",
    "AuthenticationError",
    r"authorizationpermissionmismatch|does not have (.{1,80}?) (?:permission|privilege)s?"
    r"|permission[_ ]denied|access[_ ]?denied|not authorized|forbidden|\b403\b"
    r"|insufficient privileges",
)
def _permission(m: re.Match[str], ctx: _Context) -> _Finding:
    text = ctx.text
    lowered = text.lower()
    missing = clean_value(m.group(1)) if m.group(1) else ""
    securable = re.search(
        r"\bon (job|table|schema|catalog|cluster|volume|notebook) [`'\"]?([\w.@/-]+)", text, re.I
    )
    if securable:
        resource = f"{securable.group(1).lower()} {clean_value(securable.group(2))}"
    else:
        resource = _grab(text, r"https?://([\w-]+(?:\.[\w-]+)+)")
    operation = _grab(text, r"calling the (\w+) operation")
    identity = _grab(text, r"user:? '?([\w.@-]+@[\w.-]+)", r"principal '?([\w.@-]+)")
    parts = ["the identity running the pipeline"]
    if identity:
        parts = [f"identity {identity}"]
    cause = f"{parts[0]} lacks permission"
    if missing:
        cause += f" ({missing})"
    if resource:
        cause += f" on {resource}"
    if operation:
        cause += f" for the {operation} operation"
    recs = []
    if (
        "dfs.core.windows.net" in lowered
        or "blob.core.windows.net" in lowered
        or ("authorizationpermissionmismatch" in lowered)
    ):
        recs.append(
            "Grant the identity a data-plane role on the storage account or container (e.g. "
            "Storage Blob Data Contributor) or the needed ACLs on the path."
        )
        recs.append(
            "If the storage firewall is enabled, allow the integration runtime or cluster "
            "subnet (a 403 is also returned for blocked networks)."
        )
    elif "s3" in lowered or "botocore" in lowered or "aws" in lowered:
        recs.append(
            "Add the missing S3 action (e.g. s3:GetObject, s3:ListBucket) for the bucket and "
            "prefix to the IAM role or bucket policy."
        )
        recs.append("Check for explicit denies in bucket policies, SCPs and KMS key policies.")
    else:
        recs.append(
            "Grant the missing permission (or role) to the identity on the resource named in "
            "the error."
        )
        recs.append(
            "Confirm which identity the run actually uses (owner, service principal, "
            "managed identity) and that it is the intended one."
        )
    recs.append("Rerun the failed run after the grant has propagated (RBAC can take minutes).")
    return _Finding(cause, tuple(recs), 0.65)


# ---- NetworkError


@_rule(
    "dns_failure",
    "NetworkError DatabaseError ConfigurationError",
    r"could not translate host ?name|name or service not known|temporary failure in name "
    r"resolution|unknownhostexception|no such host is known|getaddrinfo|nodename nor servname"
    r"|remote name could not be resolved|could not resolve host|hostnotfound",
)
def _dns(m: re.Match[str], ctx: _Context) -> _Finding:
    host = _host(ctx.text)
    target = f"host {host}" if host else "the target host name"
    transient = "temporary failure" in ctx.text.lower()
    cause = f"DNS resolution failed for {target}"
    if transient:
        cause += " (temporary resolver failure)"
    return _Finding(
        cause,
        (
            f"Check that {target} is spelled correctly in the connection and still exists.",
            "Resolve the name from the runtime itself (nslookup on the integration runtime, "
            "worker or cluster), not from a laptop.",
            "For private endpoints, verify the private DNS zone is linked to the runtime's "
            "virtual network.",
            "If the failure is transient, add a retry with backoff to the task or activity.",
        ),
        0.75,
    )


@_rule(
    "tls_failure",
    "NetworkError ConfigurationError DatabaseError",
    r"pkix path building failed|unable to find valid certification path|certificate[_ ]verify"
    r"[_ ]failed|ssl ?handshake|self[- ]signed certificate|certificate has expired"
    r"|wrong_version_number|remote certificate is invalid",
)
def _tls(m: re.Match[str], ctx: _Context) -> _Finding:
    host = _host(ctx.text)
    target = f" to {host}" if host else ""
    lowered = ctx.text.lower()
    if "expired" in lowered:
        detail = "the server certificate has expired"
    elif "self" in lowered and "signed" in lowered:
        detail = "the server presents a self-signed certificate"
    elif "wrong_version_number" in lowered:
        detail = "the endpoint does not speak TLS on that port (wrong port or proxy)"
    else:
        detail = "the client does not trust the server certificate chain"
    first = (
        "Check the port and protocol in the connection (https on an http port, or a proxy "
        "answering in plain text)."
        if "wrong_version_number" in lowered
        else "Add the issuing CA (root and intermediates) to the runtime's trust store "
        "(JVM cacerts, certifi bundle or OS store) on the worker or cluster."
    )
    return _Finding(
        f"the TLS handshake{target} failed: {detail}",
        (
            first,
            "Check the server certificate's expiry and that its name matches the host used in "
            "the connection.",
            "If a TLS-inspecting proxy sits in between, trust its CA or bypass it for this "
            "endpoint.",
            "Do not disable certificate validation; rerun once the trust chain is fixed.",
        ),
        0.7,
    )


@_rule(
    "connection_refused",
    "NetworkError DatabaseError",
    r"connection refused|econnrefused|errno 111\b",
)
def _refused(m: re.Match[str], ctx: _Context) -> _Finding:
    host = _host(ctx.text)
    port = _grab(ctx.text, r"port (\d{2,5})", r":(\d{2,5})\b")
    target = host + (f":{port}" if port else "") if host else "the target service"
    return _Finding(
        f"the connection to {target} was refused: nothing accepted connections on that port",
        (
            f"Check that the service behind {target} is running and listening on that port.",
            "Verify host and port in the connection configuration (a wrong port also gives "
            "'connection refused').",
            "Check firewalls, security groups and Kubernetes service endpoints between the "
            "runtime and the service.",
            "Add a retry with backoff if the service restarts regularly.",
        ),
        0.65,
    )


@_rule(
    "firewall_blocked",
    "NetworkError DatabaseError",
    r"client with ip address '([\d.]+)' is not allowed|sqlerrornumber=47073"
    r"|deny public network access",
)
def _firewall(m: re.Match[str], ctx: _Context) -> _Finding:
    ip = clean_value(m.group(1)) if m.group(1) else ""
    host = _host(ctx.text)
    who = f"client IP {ip}" if ip else "the integration runtime's network"
    return _Finding(
        f"the server firewall{' of ' + host if host else ''} blocks {who}",
        (
            f"Add {who} (or the runtime's outbound range) to the server firewall rules.",
            "Prefer a private endpoint or managed virtual network so the runtime does not need "
            "public access.",
            "If public access was disabled on purpose, route the pipeline through a runtime "
            "inside the allowed network.",
            "Test the connection of the linked service, then rerun.",
        ),
        0.7,
    )


@_rule(
    "connection_reset",
    "NetworkError",
    r"connection reset|econnreset|broken pipe|forcibly closed by the remote host"
    r"|remote end closed connection|connection aborted|underlying connection was closed",
)
def _reset(m: re.Match[str], ctx: _Context) -> _Finding:
    host = _host(ctx.text)
    target = f" by {host}" if host else " by the remote side"
    return _Finding(
        f"an established connection was closed{target} mid-transfer",
        (
            "Retry the run: resets are usually transient (idle timeouts, load balancer or "
            "server restarts).",
            "Add a retry policy with backoff to the task or activity.",
            "Check proxies, NAT gateways or load balancers for idle-connection timeouts shorter "
            "than the transfer.",
            "If it repeats at the same point, check the remote service's logs for a crash or "
            "a size limit.",
        ),
        0.6,
    )


@_rule(
    "self_hosted_ir",
    "NetworkError ExternalServiceError",
    r"integration runtime .{0,80}(?:failed to connect|offline|network|not online|unavailable)",
)
def _shir(m: re.Match[str], ctx: _Context) -> _Finding:
    ir = _grab(ctx.text, r"integration runtime '([^']+)'")
    name = (
        f"self-hosted integration runtime {_q(ir)}" if ir else "the self-hosted integration runtime"
    )
    return _Finding(
        f"{name} could not reach the Data Factory cloud service",
        (
            "Check the integration runtime node's status and its Configuration Manager "
            "diagnostics (network test) on the machine itself.",
            "Allow outbound HTTPS (443) from the node to the Data Factory endpoints "
            "(*.frontend.clouddatahub.net, *.servicebus.windows.net) through firewall and proxy.",
            "Check the proxy settings of the integration runtime service after network changes.",
            "Restart the integration runtime service, then rerun.",
        ),
        0.7,
    )


@_rule(
    "driver_unreachable",
    "NetworkError ResourceExhaustion",
    r"failed to reach the driver|driver_unreachable|driver (?:is )?(?:unresponsive|not responding)",
)
def _driver_unreachable(m: re.Match[str], ctx: _Context) -> _Finding:
    return _Finding(
        "the job could not reach the Spark driver (the driver was unresponsive or crashed)",
        (
            "Check the driver logs and metrics at that time for out-of-memory, long GC pauses "
            "or a restart.",
            "Avoid heavy work on the driver (collect, toPandas, many concurrent notebooks on "
            "one cluster); use a larger driver node if needed.",
            "Retry the run: transient network loss between the control plane and the cluster "
            "also shows up this way.",
        ),
        0.6,
    )


@_rule(
    "host_unreachable",
    "NetworkError",
    r"no route to host|network is unreachable|host is unreachable",
)
def _unreachable(m: re.Match[str], ctx: _Context) -> _Finding:
    host = _host(ctx.text)
    port = _grab(ctx.text, r"port (\d{2,5})")
    target = (host + (f":{port}" if port else "")) if host else "the target"
    return _Finding(
        f"host {target} is unreachable from the runtime (no network route)",
        (
            f"Check routing, VPN or peering between the runtime and {target}.",
            "Check network security groups and firewalls for a rule that rejects the traffic.",
            "Verify the host's address has not changed (DNS pointing to a retired IP).",
            "Rerun once connectivity is restored.",
        ),
        0.65,
    )


@_rule(
    "request_send_failed",
    "NetworkError ExternalServiceError",
    r"error occurred while sending the request|unable to connect to the remote server"
    r"|connected party did not properly respond|connected host has failed to respond",
)
def _send_failed(m: re.Match[str], ctx: _Context) -> _Finding:
    host = _host(ctx.text)
    peer = _grab(ctx.text, r"failed to respond ([\d.]+:\d+)")
    target = host or peer
    target_text = f" to {target}" if target else ""
    return _Finding(
        f"the request{target_text} could not be sent: the connection failed or the remote "
        "side did not answer",
        (
            f"Check network reachability{target_text} from the integration runtime or worker "
            "(firewall, private endpoint, proxy).",
            "If a self-hosted integration runtime is used, check its network and proxy "
            "configuration.",
            "Retry the run: Azure-side interruptions of this kind are usually transient.",
            "Add a retry policy to the activity.",
        ),
        0.6,
    )


# ---- DatabaseError


@_rule(
    "deadlock",
    "DatabaseError",
    r"deadlock|could not serialize access|serialization failure",
)
def _deadlock(m: re.Match[str], ctx: _Context) -> _Finding:
    code = _grab(ctx.text, r"sqlerrornumber=(\d+)", r"ERROR (\d{4})", r"(40P01|40001)")
    code_text = f" (error {code})" if code else ""
    return _Finding(
        f"the transaction was chosen as a deadlock victim{code_text}: another session held "
        "locks this write needed",
        (
            "Rerun the failed run: a deadlock victim can be retried safely if the step is "
            "idempotent.",
            "Add an automatic retry for deadlock errors to the activity or task.",
            "Avoid concurrent writers to the same table (serialise the pipelines, or partition "
            "the writes).",
            "Keep transactions short and access tables in the same order; index the columns "
            "used in the write's filters.",
        ),
        0.75,
    )


@_rule(
    "lock_timeout",
    "DatabaseError TimeoutError",
    r"lock wait timeout|lock request time ?out|could not obtain lock|resource busy and acquire",
)
def _lock_timeout(m: re.Match[str], ctx: _Context) -> _Finding:
    return _Finding(
        "the statement waited too long for a lock held by another session",
        (
            "Find the blocking session at the time of failure (e.g. sys.dm_exec_requests, "
            "pg_locks, SHOW ENGINE INNODB STATUS).",
            "Reschedule the pipeline away from the conflicting job or serialise them.",
            "Keep transactions short and commit in smaller batches.",
            "Rerun the failed run once the blocker is gone.",
        ),
        0.7,
    )


@_rule(
    "too_many_connections",
    "DatabaseError ResourceExhaustion",
    r"too many (?:connections|clients)|remaining connection slots|max_user_connections"
    r"|queuepool limit",
)
def _too_many_conn(m: re.Match[str], ctx: _Context) -> _Finding:
    role = _grab(ctx.text, r'for role "([^"]+)"', r"for user '([^']+)'")
    scope = f" for role {_q(role)}" if role else ""
    return _Finding(
        f"the database connection limit{scope} was reached",
        (
            "Reduce the number of parallel tasks or activities opening connections at once "
            "(pool or concurrency limits).",
            "Put a connection pooler (e.g. PgBouncer) in front of the database or size the "
            "client pool correctly.",
            "Look for leaked or idle connections and close them; set idle timeouts.",
            "If the load is legitimate, raise the server's or role's connection limit.",
        ),
        0.7,
    )


@_rule(
    "missing_db_object",
    "DatabaseError DataError ConfigurationError",
    r"invalid object name '([^']+)'|relation \"([^\"]+)\" does not exist"
    r"|object '([^']+)' does not exist|table or view not found:? `?([\w.`]+)"
    r"|table or view `?([\w.`]+)`? cannot be found|ORA-00942|cannot find the object \"([^\"]+)\""
    r"|not found: table ([\w.:-]+)",
)
def _missing_object(m: re.Match[str], ctx: _Context) -> _Finding:
    name = clean_value(next((g for g in m.groups() if g), "").replace("`", ""))
    obj = f"table or view {_q(name)}" if name else "a referenced table or view"
    maybe_auth = "not authorized" in ctx.text.lower() or "permission" in ctx.text.lower()
    cause = f"{obj} does not exist"
    cause += " or the connecting user cannot see it" if maybe_auth or not name else ""
    return _Finding(
        cause,
        (
            f"Check that {obj} exists in the database and schema the connection points to "
            "(name, case and quoting).",
            "Check whether an upstream job that creates or renames it failed or changed.",
            "Verify the connecting user has access (e.g. USAGE on the schema, SELECT on the "
            "object).",
            "Rerun the failed run after the object is in place.",
        ),
        0.7,
    )


@_rule(
    "db_unreachable",
    "DatabaseError NetworkError",
    r"cannot connect to sql database|sqlfailedtoconnect|could not open a connection to sql server"
    r"|server was not found or was not accessible|can't connect to \w+ server"
    r"|could not connect to server|connection to server at .{0,120}failed"
    r"|lost connection to mysql|tns:no listener|cannot connect to server",
)
def _db_unreachable(m: re.Match[str], ctx: _Context) -> _Finding:
    server = _grab(
        ctx.text, r"server: '([^'\s]+)'", r"sql database: '([^'\s]+)'", r"on server '([^'\s]+)'"
    ) or _host(ctx.text)
    db = _grab(ctx.text, r"(?<!sql )database: '([^'\s(]+)", r"database '([^'\s]+)' on server")
    target = (f"database server {server}" if server else "the database server") + (
        f" (database {db})" if db else ""
    )
    return _Finding(
        f"the pipeline could not connect to {target}",
        (
            f"Check that {target} is online and accepting connections (paused, failed over or "
            "restarting?).",
            "Verify the server name, port and instance in the linked service or connection.",
            "Check that firewalls or network rules allow the integration runtime, worker or "
            "cluster to reach the database port.",
            "Add a retry with backoff for transient connection failures, then rerun.",
        ),
        0.65,
    )


@_rule(
    "db_unavailable",
    "DatabaseError ExternalServiceError",
    r"is not currently available|database system is (?:in recovery|starting up|shutting down)"
    r"|database is locked|snapshot too old",
)
def _db_unavailable(m: re.Match[str], ctx: _Context) -> _Finding:
    code = _grab(ctx.text, r"sqlerrornumber=(\d+)", r"(ORA-\d{5})")
    lowered = ctx.text.lower()
    if "snapshot too old" in lowered:
        cause = "a long-running query outlived the database's undo retention (snapshot too old)"
    elif "database is locked" in lowered:
        cause = "the database file was locked by another writer"
    else:
        cause = "the database was temporarily unavailable (failover, restart or recovery)"
    if code:
        cause += f" ({code})"
    return _Finding(
        cause,
        (
            "Rerun the failed run once the database reports healthy.",
            "Add a retry with backoff for transient availability errors.",
            "Check the database's activity log or service health for a failover, scaling "
            "operation or maintenance at that time.",
            "Schedule heavy pipelines outside maintenance windows.",
        ),
        0.6,
    )


@_rule(
    "db_connection_closed",
    "DatabaseError NetworkError",
    r"connection is closed|sqlconnectionisclosed|server closed the connection unexpectedly"
    r"|connection was closed by sql",
)
def _db_closed(m: re.Match[str], ctx: _Context) -> _Finding:
    return _Finding(
        "the database connection was closed while the pipeline was still using it",
        (
            "Check the database logs at that time for restarts, failovers or sessions killed "
            "by an administrator or resource governor.",
            "Check idle or session timeouts on the server, proxies and load balancers in between.",
            "Reduce concurrent writers if the server drops connections under load.",
            "Add a retry for transient connection loss, then rerun.",
        ),
        0.6,
    )


@_rule("oracle_error", "DatabaseError", r"\b(ORA-\d{5})\b")
def _oracle(m: re.Match[str], ctx: _Context) -> _Finding:
    code = clean_value(m.group(1))
    detail = _grab(ctx.text, rf"{code}:\s*([^\n]+)")
    return _Finding(
        f"Oracle returned {code}" + (f": {detail}" if detail else ""),
        (
            f"Look up {code} in the Oracle error reference for its exact cause.",
            "Check the connect descriptor (TNS alias, service name) and the user's grants.",
            "Reproduce the failing statement with the same user from a SQL client.",
            "Rerun the failed run after the fix.",
        ),
        0.6,
    )


# ---- ResourceExhaustion


@_rule(
    "spark_executor_oom",
    "ResourceExhaustion",
    r"container killed by yarn for exceeding memory limits|executorlostfailure|memoryoverhead"
    r"|lost executor|executor heartbeat timed out|exit (?:code|status):? ?143",
)
def _executor_oom(m: re.Match[str], ctx: _Context) -> _Finding:
    used = _grab(ctx.text, r"(\d+(?:\.\d+)? [GM]B of \d+(?:\.\d+)? [GM]B) physical memory used")
    executor = _grab(ctx.text, r"executor (\d+)")
    cause = "Spark executors ran out of memory and were killed"
    if executor:
        cause += f" (executor {executor}"
        cause += f", {used})" if used else ")"
    return _Finding(
        cause,
        (
            "Give executors more memory: larger or memory-optimised worker nodes, or raise "
            "spark.executor.memory / spark.executor.memoryOverhead.",
            "Spread the data over more, smaller tasks (raise spark.sql.shuffle.partitions or "
            "repartition before wide operations).",
            "Look for skewed keys in joins or aggregations (one huge task) and salt or "
            "pre-aggregate them.",
            "Avoid caching large DataFrames you do not reuse; rerun after the change.",
        ),
        0.7,
    )


@_rule(
    "spark_driver_oom",
    "ResourceExhaustion",
    r"maxresultsize|driver has stopped unexpectedly|driver is temporarily unavailable"
    r"|(?:executor driver|driver).{0,200}outofmemoryerror|outofmemoryerror.{0,200}driver",
)
def _driver_oom(m: re.Match[str], ctx: _Context) -> _Finding:
    lowered = ctx.text.lower()
    if "maxresultsize" in lowered:
        size = _grab(ctx.text, r"bigger than spark\.driver\.maxresultsize \(?([\d.]+ ?\w+)")
        cause = "the results collected to the Spark driver exceeded spark.driver.maxResultSize"
        cause += f" ({size})" if size else ""
    else:
        cause = "the Spark driver ran out of memory and was restarted"
    return _Finding(
        cause,
        (
            "Avoid pulling large data to the driver (collect(), toPandas(), large broadcasts); "
            "write results to storage instead.",
            "Use a driver node with more memory, or raise spark.driver.memory / "
            "spark.driver.maxResultSize if the collect is intended.",
            "Check for many notebooks or jobs sharing the same driver (interactive clusters).",
            "Rerun the failed run after the change.",
        ),
        0.7,
    )


@_rule(
    "shuffle_fetch",
    "ResourceExhaustion",
    r"too large frame|fetchfailedexception|missing an output location for shuffle",
)
def _shuffle(m: re.Match[str], ctx: _Context) -> _Finding:
    too_large = "too large frame" in ctx.text.lower()
    cause = (
        "a Spark shuffle block exceeded the 2 GB frame limit (too few partitions or a skewed key)"
        if too_large
        else "Spark lost shuffle data, usually because the executor holding it died (memory)"
    )
    return _Finding(
        cause,
        (
            "Raise spark.sql.shuffle.partitions (or enable adaptive query execution) so shuffle "
            "blocks are smaller.",
            "Look for skewed join or group-by keys and salt or pre-aggregate them.",
            "Give executors more memory if they were lost during the shuffle.",
            "Rerun the failed run after the change.",
        ),
        0.65,
    )


@_rule(
    "jvm_oom",
    "ResourceExhaustion",
    r"java heap space|gc overhead limit exceeded|outofmemoryerror|out of memory",
)
def _jvm_oom(m: re.Match[str], ctx: _Context) -> _Finding:
    kind = _grab(ctx.text, r"outofmemoryerror: ([\w ]+)")
    cause = "the process ran out of memory"
    if kind:
        cause += f" (OutOfMemoryError: {kind})"
    platform = _platform(ctx.source)
    first = (
        "Use a larger or memory-optimised compute size (integration runtime core count, "
        "cluster node type, or worker memory)."
    )
    if platform == "adf":
        first = (
            "Use an integration runtime with more cores or a memory-optimised compute type for "
            "this data flow or copy."
        )
    return _Finding(
        cause,
        (
            first,
            "Process the data in smaller partitions or batches instead of all at once.",
            "Check whether input volume grew recently (compare with the last successful run).",
            "Rerun the failed run after the change.",
        ),
        0.65,
    )


@_rule(
    "python_memory",
    "ResourceExhaustion",
    r"memoryerror|unable to allocate ([\d.]+ ?[KMGT]i?B)|cannot allocate memory",
)
def _py_memory(m: re.Match[str], ctx: _Context) -> _Finding:
    size = clean_value(m.group(1)) if m.group(1) else ""
    cause = "the worker process could not allocate memory"
    cause += f" (tried to allocate {size})" if size else ""
    return _Finding(
        cause,
        (
            "Process the data in chunks (chunksize, iterators, or pushing work into the database "
            "or Spark) instead of loading it all into memory.",
            "Use leaner dtypes or select only the needed columns.",
            "Run the task on a worker or pod with more memory (queue or resource request).",
            "Rerun the failed run after the change.",
        ),
        0.7,
    )


@_rule(
    "killed_oom",
    "ResourceExhaustion",
    r"sigkill|signal 9\b|oomkilled|exit code:? ?137|return code -9\b|evicted|low on resource",
)
def _killed(m: re.Match[str], ctx: _Context) -> _Finding:
    pod = _grab(ctx.text, r"pod ([\w.-]+)")
    what = f"pod {pod}" if pod else "the task process"
    return _Finding(
        f"{what} was killed by the operating system or Kubernetes (SIGKILL / exit 137), "
        "almost always for exceeding its memory limit",
        (
            "Raise the memory limit of the worker, pod or container running the task.",
            "Reduce the task's memory use (chunked processing, fewer rows in memory).",
            "Lower worker concurrency so fewer tasks share the same machine's memory.",
            "Check the node's kernel or Kubernetes events (OOMKilled, Evicted) to confirm, then "
            "rerun.",
        ),
        0.65,
    )


@_rule(
    "disk_full",
    "ResourceExhaustion DatabaseError",
    r"no space left on device|disk ?full|out ?of ?disk|unable to extend (?:temp )?segment"
    r"|transaction log for database .{0,80} is full|could not extend file",
)
def _disk(m: re.Match[str], ctx: _Context) -> _Finding:
    path = _grab(
        ctx.text, r"no space left on device: '([^']+)'", r'could not write to file "([^"]+)"'
    )
    tablespace = _grab(ctx.text, r"in tablespace (\w+)")
    where = f" (writing {path})" if path else f" (tablespace {tablespace})" if tablespace else ""
    return _Finding(
        f"the disk or storage the task writes to is full{where}",
        (
            "Free space on the affected volume (temp files, old logs, spilled shuffle data).",
            "Give the worker, cluster or database more storage (larger disks or autoscaling "
            "local storage).",
            "Point temporary and spill directories to a larger volume.",
            "Add a disk-usage alert before it reaches 100%, then rerun.",
        ),
        0.75,
    )


@_rule(
    "quota",
    "ResourceExhaustion ExternalServiceError",
    r"quota|limitreached|cannot create more than (\d+)|exceeding approved"
    r"|run_limit_exceeded|max_concurrent_runs_exceeded",
)
def _quota(m: re.Match[str], ctx: _Context) -> _Finding:
    name = _grab(
        ctx.text,
        r"exceeding approved (\S+) (?:cores )?quota",
        r"azure error code: (\w+)",
        r"\b(\w+_LIMIT_EXCEEDED)\b",
        r"quota metric '([^']+)'",
    )
    limit = _grab(ctx.text, r"current limit: (\d+)", r"cannot create more than (\d+)")
    cause = "a subscription or workspace quota was reached"
    if name:
        cause += f" ({name}" + (f", limit {limit})" if limit else ")")
    return _Finding(
        cause,
        (
            "Request a quota increase for this resource type and region in the cloud portal.",
            "Meanwhile use a different VM family or region, or smaller clusters.",
            "Release unused resources (idle clusters, public IPs, stopped VMs) that count "
            "against the quota.",
            "Stagger concurrent pipelines so fewer clusters start at the same time, then rerun.",
        ),
        0.7,
    )


# ---- DataError


@_rule(
    "not_null_violation",
    "DataError DatabaseError",
    r"null value in column \"([^\"]+)\"|cannot insert the value null into column '([^']+)'"
    r"|column '([^']+)' cannot be null|notnullviolation|does not allow nulls",
)
def _not_null(m: re.Match[str], ctx: _Context) -> _Finding:
    column = clean_value(next((g for g in m.groups() if g), ""))
    table = _grab(ctx.text, r"table '([^']+)'", r'of relation "([^"]+)"')
    col = f"column {_q(column)}" if column else "a NOT NULL column"
    where = f" of {table}" if table else ""
    return _Finding(
        f"rows with NULL in {col}{where} were written into a NOT NULL column",
        (
            f"Find the source rows where {column or 'the column'} is null and fix them at the "
            "source or in the transformation (filter, default or COALESCE).",
            "Check whether an upstream change (new source, join, schema change) started "
            "producing nulls.",
            "Add a data-quality check on this column before the load.",
            "Redirect bad rows (fault tolerance or a quarantine table) if partial loads are "
            "acceptable, then rerun.",
        ),
        0.75,
    )


@_rule(
    "duplicate_key",
    "DataError DatabaseError",
    r"duplicate key|violation of (?:primary|unique) key|uniqueviolation|unique constraint",
)
def _dup(m: re.Match[str], ctx: _Context) -> _Finding:
    constraint = _grab(ctx.text, r"constraint '([^']+)'", r'constraint "([^"]+)"')
    value = _grab(ctx.text, r"duplicate key value is \(([^)]*)\)", r"Key \(([^)]*)\)")
    cause = "the load inserted a key that already exists"
    if constraint:
        cause += f" (constraint {constraint}"
        cause += f", key {value})" if value else ")"
    return _Finding(
        cause,
        (
            "Deduplicate the source data on the key before loading.",
            "Make the load idempotent (MERGE/upsert instead of INSERT) so reruns do not collide.",
            "Check whether a previous partial run already loaded these rows.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
    )


@_rule(
    "truncation",
    "DataError DatabaseError",
    r"would be truncated|value too long for type|data too long for column|invalid column length",
)
def _truncation(m: re.Match[str], ctx: _Context) -> _Finding:
    column = _grab(ctx.text, r"column '([^']+)'", r'column "([^"]+)"')
    table = _grab(ctx.text, r"in table '([^']+)'")
    target = f"column {_q(column)}" if column else "a target column"
    target += f" of {table}" if table else ""
    return _Finding(
        f"a value longer than {target} allows was loaded",
        (
            f"Widen {target} or truncate/validate the value in the transformation.",
            "Find the offending rows (longest values) in the source.",
            "Check whether the source schema changed (longer codes, new formats).",
            "Rerun the failed run after the fix.",
        ),
        0.7,
    )


@_rule(
    "schema_mismatch",
    "DataError",
    r"schema mismatch|mergeschema|incompatible types?|found: (\w+), required: (\w+)"
    r"|expected: (\w+), found: (\w+)|column cannot be converted",
)
def _schema(m: re.Match[str], ctx: _Context) -> _Finding:
    column = _grab(ctx.text, r"column '([^'\s]+)", r"column: \[([^\]]+)\]", r"column `([^`]+)`")
    found = _grab(ctx.text, r"found: (\w+)")
    expected = _grab(ctx.text, r"(?:required|expected): (\w+)")
    cause = "the data's schema no longer matches the target schema"
    if column:
        cause += f": column {_q(column)}"
        if found and expected:
            cause += f" is {found} but {expected} is expected"
    return _Finding(
        cause,
        (
            "Compare the source schema with the target (and the last successful run) to find "
            "the changed column.",
            "Align the types with an explicit cast in the transformation, or update the target "
            "schema if the change is intended.",
            "Enable schema evolution (e.g. Delta mergeSchema) only for intended changes.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
    )


@_rule(
    "bad_value",
    "DataError",
    r"invalid input syntax for (?:type )?(\w+)|cannot be cast to|invalid literal for (\w+)\(\)"
    r"|cannot be converted to|could not convert|conversion failed|converting .{0,40}failed"
    r"|does not match format|numberformatexception|cast_invalid_input|typeconversionfailure"
    r"|exception occurred when converting",
)
def _bad_value(m: re.Match[str], ctx: _Context) -> _Finding:
    value = _grab(
        ctx.text,
        r"invalid input syntax for (?:type )?\w+: \"([^\"]*)\"",
        r"the value '([^']*)'",
        r"with base \d+: '([^']*)'",
        r"converting value '([^']*)'",
        r"time data '([^']*)'",
        r'for input string: "([^"]*)"',
    )
    target = _grab(
        ctx.text,
        r"invalid input syntax for (?:type )?(\w+)",
        r"cannot be cast to \"?(\w+)",
        r"to type '?(\w+)",
        r"invalid literal for (\w+)\(\)",
    )
    column = _grab(ctx.text, r"column(?: name)? '([^']+)'", r"column ([\w]+):")
    cause = "a source value could not be converted to the target type"
    details = []
    if value:
        details.append(f"value {_q(value)}")
    if target:
        details.append(f"type {target}")
    if column:
        details.append(f"column {_q(column)}")
    if details:
        cause += " (" + ", ".join(details) + ")"
    return _Finding(
        cause,
        (
            "Find the offending rows in the source and fix or filter them.",
            "Make the conversion tolerant where appropriate (try_cast / TRY_CONVERT, explicit "
            "formats, locale-aware number parsing).",
            "Add a data-quality check for this column before the load.",
            "Redirect bad rows to a quarantine location if partial loads are acceptable, then "
            "rerun.",
        ),
        0.7,
    )


@_rule(
    "missing_column",
    "DataError CodeError",
    r"unresolved_column|cannot resolve '([^']+)' given input columns|column \"([^\"]+)\" does "
    r"not exist|invalid column name '([^']+)'|column '([^']+)' (?:specified .{0,40})?(?:does "
    r"not exist|cannot be found|not found)|name `([^`]+)` cannot be resolved",
)
def _missing_column(m: re.Match[str], ctx: _Context) -> _Finding:
    column = clean_value(next((g for g in m.groups() if g), ""))
    if not column:
        column = _grab(ctx.text, r"name `([^`]+)`")
    suggestion = _grab(ctx.text, r"did you mean one of the following\? \[([^\]]+)\]")
    col = f"column {_q(column)}" if column else "a referenced column"
    cause = f"{col} is not present in the input data"
    if suggestion:
        cause += f" (available: {suggestion})"
    return _Finding(
        cause,
        (
            f"Check whether the source renamed or dropped {col} (compare with the last "
            "successful run).",
            "Update the query, column mapping or transformation to the current column names.",
            "If the source is semi-structured, make the column optional or add it with a default.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
    )


@_rule(
    "missing_path",
    "DataError ConfigurationError",
    r"path does not exist:? ?([^\s;,]+)|((?:dbfs|abfss?|s3a?|wasbs?|gs|adl|hdfs):/[^\s;,]*) "
    r"(?:does not|doesn't) exist|blob is missing|blobnotfound|the specified blob does not exist"
    r"|no such file or directory:? ?'?([^'\s]*)|nosuchkey",
)
def _missing_path(m: re.Match[str], ctx: _Context) -> _Finding:
    path = clean_value(next((g for g in m.groups() if g), ""))
    if not path:
        path = _grab(ctx.text, r"blobprefix: ([^,\s]+)", r"path[: ]+'([^']+)'")
    target = f"path {_q(path)}" if path else "the input path"
    return _Finding(
        f"{target} does not exist when the pipeline read it",
        (
            "Check whether the upstream job that produces this data ran and succeeded for this "
            "date or partition.",
            "Verify the path parameters (dates, partition names, container, mount) the run "
            "resolved.",
            "If the data can legitimately be missing, add an existence check or a sensor before "
            "the read.",
            "Rerun once the data has arrived.",
        ),
        0.65,
    )


@_rule(
    "malformed_file",
    "DataError",
    r"malformed|more columns than|fewer columns than|error tokenizing|expected \d+ fields"
    r"|jsondecodeerror|unicodedecodeerror|codec can't decode|invalid byte sequence"
    r"|not a parquet file|corrupt",
)
def _malformed(m: re.Match[str], ctx: _Context) -> _Finding:
    file = _grab(ctx.text, r"source '([^']+)'", r"in file ([^\s,]+)", r"file '([^']+)'")
    row = _grab(ctx.text, r"row number (\d+)", r"line (\d+)")
    lowered = ctx.text.lower()
    if "json" in lowered:
        kind = "is not valid JSON (an empty body or an HTML error page is a common cause)"
        row = ""
    elif "decode" in lowered or "byte sequence" in lowered:
        kind = "has an unexpected character encoding"
    else:
        kind = "is malformed (wrong delimiter, quoting or column count)"
    where = f" {file}" if file else ""
    at = f" at row {row}" if row else ""
    noun = "response or file" if "json" in lowered else "file"
    return _Finding(
        f"the input {noun}{where} {kind}{at}",
        (
            "Inspect the file around the reported row and compare with a file that loaded "
            "successfully.",
            "Check the format settings (delimiter, quote and escape characters, encoding, "
            "header) against the file.",
            "Ask the producer to fix the export, or skip and log bad records if acceptable.",
            "Rerun the failed run after the fix.",
        ),
        0.65,
    )


# ---- ExternalServiceError


@_rule(
    "throttled",
    "ExternalServiceError ResourceExhaustion",
    r"\b429\b|too many requests|rate limit|rate exceeded|throttl|reduce your request rate"
    r"|slow ?down|too many calls",
)
def _throttled(m: re.Match[str], ctx: _Context) -> _Finding:
    lowered = ctx.text.lower()
    service = _grab(ctx.text, r"service: ([\w ]+?)[;,)]", r"https?://([\w-]+(?:\.[\w-]+)+)")
    if not service and ("s3" in lowered or "slow down" in lowered):
        service = "Amazon S3"
    retry = _grab(ctx.text, r"retry after (\d+ ?\w*)", r"retry-after:? ?(\d+)")
    cause = "the service " + (f"{service} " if service else "") + "throttled the pipeline "
    cause += "(HTTP 429 / rate limit)"
    if retry:
        cause += f"; it asked to retry after {retry}"
    recs = [
        "Retry with exponential backoff and jitter (activity or task retry policy).",
        "Reduce parallelism (ForEach batch count, task concurrency, Spark partitions writing "
        "at once).",
    ]
    if "s3" in lowered or service == "Amazon S3":
        recs.append("Spread objects over more key prefixes; S3 limits request rate per prefix.")
    else:
        recs.append("Ask the provider for a higher limit or spread the load over time.")
    recs.append("Schedule the pipeline away from other heavy users of the same API or account.")
    return _Finding(cause, tuple(recs), 0.7)


@_rule(
    "http_5xx",
    "ExternalServiceError",
    r"\b(50[0234])\b|service ?unavailable|bad gateway|gateway time-?out|internal ?server ?error"
    r"|server ?busy",
)
def _http5xx(m: re.Match[str], ctx: _Context) -> _Finding:
    status = _grab(ctx.text, r"\b(50[0234])\b") or clean_value(m.group(0))
    service = _grab(ctx.text, r"https?://([\w-]+(?:\.[\w-]+)+)", r"azure function '([^']+)'")
    target = f" {service}" if service else ""
    return _Finding(
        f"the external service{target} returned a server error ({status})",
        (
            "Check the provider's status page or service health for an incident at that time.",
            "Retry with exponential backoff; make the step idempotent so retries are safe.",
            "If it persists, capture the request id from the error and contact the provider.",
            "Consider a circuit breaker or fallback so one failing API does not fail the whole "
            "pipeline.",
        ),
        0.6,
    )


@_rule(
    "cloud_capacity",
    "ExternalServiceError ResourceExhaustion",
    r"allocationfailed|sufficient capacity|skunotavailable|zonalallocationfailed"
    r"|bootstrap failure|add_nodes_failed|cloud provider launch failure",
)
def _cloud(m: re.Match[str], ctx: _Context) -> _Finding:
    code = _grab(ctx.text, r"azure error code: (\w+)", r"code: ([A-Z_]{6,})")
    cause = "the cloud provider could not start the cluster's machines"
    cause += f" ({code})" if code else ""
    return _Finding(
        cause,
        (
            "Retry later: capacity and bootstrap failures are usually transient on the "
            "provider's side.",
            "Use another VM size or availability zone/region if the capacity shortage persists.",
            "Use instance pools or on-demand (not spot) nodes for critical jobs.",
            "Check the provider's service health for the region at that time.",
        ),
        0.6,
    )


@_rule(
    "service_not_ready",
    "ExternalServiceError",
    r"temporarily unavailable|not (?:fully )?initialized yet|(?:try|retry) (?:again )?later"
    r"|currently unavailable|outage",
)
def _not_ready(m: re.Match[str], ctx: _Context) -> _Finding:
    detail = _message_field(ctx.text)
    cause = "the called service was temporarily unavailable or not ready"
    if detail:
        cause += f" ({detail})"
    return _Finding(
        cause,
        (
            "Retry the run after a short wait; the service asked for a later retry.",
            "Add a retry policy with backoff to the activity or task so this heals itself.",
            "Check the service's status page or health for an incident at that time.",
            "If it happens at the same time every day, move the schedule away from the "
            "service's busy or maintenance window.",
        ),
        0.6,
    )


# ---- TimeoutError


@_rule(
    "airflow_task_timeout",
    "TimeoutError",
    r"airflowtasktimeout|timeout, pid|process timed out",
)
def _airflow_timeout(m: re.Match[str], ctx: _Context) -> _Finding:
    duration = _duration(ctx.text)
    broken_dag = "broken dag" in ctx.text.lower()
    if broken_dag:
        return _Finding(
            "parsing the DAG file took longer than the DAG import timeout",
            (
                "Move slow work (API calls, database queries, large imports) out of top-level "
                "DAG code into tasks.",
                "Raise core.dagbag_import_timeout only if parsing is legitimately slow.",
                "Check the scheduler or DAG processor logs for the slow import.",
            ),
            0.7,
        )
    cause = "the task ran longer than its execution_timeout"
    cause += f" ({duration})" if duration else ""
    return _Finding(
        cause,
        (
            "Compare the run time with previous runs to see whether the data volume or an "
            "upstream system got slower.",
            "Optimise the slow step (push work to the database or Spark, add indexes, "
            "incremental loads).",
            "Raise execution_timeout only if the longer duration is expected.",
            "Split the task into smaller tasks so each fits its timeout, then rerun.",
        ),
        0.7,
    )


@_rule("sensor_timeout", "TimeoutError", r"airflowsensortimeout|sensor has timed out")
def _sensor(m: re.Match[str], ctx: _Context) -> _Finding:
    duration = _duration(ctx.text)
    cause = "the sensor gave up waiting for its upstream condition"
    cause += f" after {duration}" if duration else ""
    return _Finding(
        cause,
        (
            "Check whether the upstream data, file or DAG the sensor waits for was delayed or "
            "failed.",
            "Adjust the sensor's timeout and poke_interval to the upstream's real schedule.",
            "Use mode='reschedule' or a deferrable sensor so waiting does not hold a worker slot.",
            "Rerun once the upstream condition is met.",
        ),
        0.7,
    )


@_rule(
    "query_timeout",
    "TimeoutError DatabaseError",
    r"statement timeout|query timeout|querycanceled|canceling statement|execution timeout expired"
    r"|timeout period elapsed|sqlbatchwritetimeout|statement or warehouse timeout",
)
def _query_timeout(m: re.Match[str], ctx: _Context) -> _Finding:
    duration = _duration(ctx.text)
    cause = "a database query exceeded its timeout"
    cause += f" ({duration})" if duration else ""
    return _Finding(
        cause,
        (
            "Find the slow statement and check its plan (missing indexes, stale statistics, "
            "full scans).",
            "Check for blocking sessions or heavy concurrent load on the database at that time.",
            "Load incrementally or in smaller batches so each statement finishes in time.",
            "Raise the query or command timeout in the source or linked service only if the "
            "duration is expected.",
        ),
        0.7,
    )


@_rule(
    "connect_timeout",
    "TimeoutError NetworkError DatabaseError",
    r"login timeout expired|connect(?:ion)? timed out|connecttimeout|open connection to "
    r"database timeout|sqlopenconnectiontimeout|connection timeout",
)
def _connect_timeout(m: re.Match[str], ctx: _Context) -> _Finding:
    host = _host(ctx.text)
    duration = _duration(ctx.text)
    target = f" to {host}" if host else ""
    cause = f"the connection{target} could not be established in time"
    cause += f" ({duration})" if duration else ""
    return _Finding(
        cause,
        (
            f"Check network reachability{target} from the runtime (firewall, private endpoint, "
            "routing); silent drops show up as timeouts.",
            "Check whether the server was overloaded, paused or failing over at that time.",
            "Raise the connect or login timeout in the connection string if the network is slow.",
            "Add a retry with backoff, then rerun.",
        ),
        0.65,
    )


@_rule(
    "read_timeout",
    "TimeoutError NetworkError ExternalServiceError",
    r"read timed out|readtimeout|sockettimeoutexception|futures timed out|rpctimeoutexception",
)
def _read_timeout(m: re.Match[str], ctx: _Context) -> _Finding:
    host = _host(ctx.text)
    duration = _duration(ctx.text)
    target = f" from {host}" if host else ""
    cause = f"no response arrived{target} within the read timeout"
    cause += f" ({duration})" if duration else ""
    return _Finding(
        cause,
        (
            "Check the remote service's latency and health at that time.",
            "Request smaller pages or batches so each call returns faster.",
            "Raise the client read timeout if the remote call is legitimately slow.",
            "Retry with backoff, then rerun.",
        ),
        0.65,
    )


@_rule(
    "broadcast_timeout",
    "TimeoutError",
    r"could not execute broadcast|broadcasttimeout|broadcast join timeout",
)
def _broadcast(m: re.Match[str], ctx: _Context) -> _Finding:
    duration = _duration(ctx.text)
    cause = "a Spark broadcast join did not finish within spark.sql.broadcastTimeout"
    cause += f" ({duration})" if duration else ""
    return _Finding(
        cause,
        (
            "Disable broadcasting for this join (spark.sql.autoBroadcastJoinThreshold=-1 or "
            "remove the broadcast hint) if the table is not small.",
            "Raise spark.sql.broadcastTimeout if the broadcast side is small but slow to compute.",
            "Cache or materialise the broadcast side before the join, then rerun.",
        ),
        0.7,
    )


@_rule(
    "activity_timeout",
    "TimeoutError",
    r"timed ?out|timeout expired|exceeded (?:the |its )?timeout|timeout",
)
def _generic_timeout(m: re.Match[str], ctx: _Context) -> _Finding:
    duration = _duration(ctx.text)
    cause = "the step did not finish within its configured timeout"
    cause += f" ({duration})" if duration else ""
    platform = _platform(ctx.source)
    where = {
        "adf": "the activity policy timeout",
        "databricks": "the job or task timeout_seconds",
        "airflow": "the task's execution_timeout",
    }.get(platform, "the step's timeout")
    return _Finding(
        cause,
        (
            "Compare the duration with previous successful runs to see what got slower "
            "(data volume, upstream latency, contention).",
            "Optimise or split the slow step so it finishes within the limit.",
            f"Raise {where} only if the longer duration is expected.",
            "Rerun the failed run.",
        ),
        0.6,
    )


# ---- ConfigurationError


@_rule(
    "module_not_found",
    "ConfigurationError CodeError",
    r"no module named '?([\w.]+)'?|modulenotfounderror",
)
def _module(m: re.Match[str], ctx: _Context) -> _Finding:
    module = clean_value(m.group(1)) if m.group(1) else ""
    if not module:
        module = _grab(ctx.text, r"no module named '?([\w.]+)")
    package = module.split(".")[0]
    name = f"Python module {_q(module)}" if module else "a required Python module"
    platform = _platform(ctx.source)
    if platform == "databricks":
        where = "on the cluster"
        install = (
            f"Install {_q(package) or 'the package'} as a cluster or job library (PyPI), or "
            "with %pip install at the top of the notebook, and restart the Python process."
        )
    elif platform == "airflow":
        where = "in the Airflow environment"
        install = (
            f"Add {_q(package) or 'the package'} to the Airflow image or requirements.txt for "
            "the scheduler and all workers, and redeploy."
        )
    else:
        where = "in the runtime environment"
        install = (
            f"Install {_q(package) or 'the package'} in the environment that runs the task "
            "(image, virtualenv or cluster libraries)."
        )
    return _Finding(
        f"{name} is not installed {where} (missing library)",
        (
            install,
            "Check the import name against the PyPI package name (they can differ) and pin a "
            "version known to work.",
            "Verify the code runs with the same environment it was tested in (runtime version, "
            "image tag).",
            "Rerun the failed run after the library is installed.",
        ),
        0.75,
    )


@_rule(
    "import_conflict",
    "ConfigurationError CodeError",
    r"cannot import name '([\w.]+)' from '([\w.]+)'",
)
def _import_conflict(m: re.Match[str], ctx: _Context) -> _Finding:
    name, module = clean_value(m.group(1)), clean_value(m.group(2))
    return _Finding(
        f"{_q(name)} no longer exists in the installed version of {_q(module)} "
        "(library version conflict)",
        (
            f"Pin {_q(module)} to a version that still provides {_q(name)}, or upgrade the code "
            "that imports it.",
            "Compare installed package versions with the last successful run (image or cluster "
            "runtime change).",
            "Use a lock file or constraints file so upgrades do not arrive unplanned.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
    )


@_rule(
    "missing_jar",
    "ConfigurationError",
    r"failed to find data source: ([\w.]+)|classnotfoundexception: ([\w$]+(?:\.[\w$]+)+)"
    r"|noclassdeffounderror: ([\w$]+(?:[./][\w$]+)+)",
)
def _jar(m: re.Match[str], ctx: _Context) -> _Finding:
    cls = clean_value(next((g for g in m.groups() if g), ""))
    return _Finding(
        f"the JVM class or data source {_q(cls)} is not on the classpath (missing JAR or Maven "
        "library)",
        (
            f"Attach the library that provides {_q(cls) or 'the class'} to the cluster or job "
            "(Maven coordinates or JAR).",
            "Check that the library is built for the cluster's Scala and Spark version.",
            "Restart the cluster after installing, then rerun.",
        ),
        0.7,
    )


@_rule(
    "library_install",
    "ConfigurationError",
    r"library installation (?:failed|attempted)|library_installation_error"
    r"|no matching distribution found for ([\w.=<>-]+)",
)
def _lib_install(m: re.Match[str], ctx: _Context) -> _Finding:
    package = (clean_value(m.group(1)) if m.group(1) else "") or _grab(
        ctx.text, r'package: "([^"]+)"', r"no matching distribution found for (\S+)"
    )
    target = f"library {_q(package)}" if package else "a cluster library"
    return _Finding(
        f"installing {target} on the cluster failed",
        (
            f"Check that {target} exists in that version on the package index and supports the "
            "cluster's Python version.",
            "Check that the cluster can reach the package index (egress, proxy, private mirror).",
            "Pin a working version in the job or cluster library settings, then restart and rerun.",
        ),
        0.7,
    )


@_rule(
    "airflow_variable",
    "ConfigurationError",
    r"variable (\S+) does not exist",
)
def _variable(m: re.Match[str], ctx: _Context) -> _Finding:
    name = clean_value(m.group(1).strip("'\""))
    return _Finding(
        f"Airflow Variable {_q(name)} is not defined in this environment",
        (
            f"Create the Variable {_q(name)} (Admin > Variables, CLI, or the secrets backend) "
            "in this environment.",
            "Promote Variables with the DAG code (e.g. a variables file in deployment) so "
            "environments stay in sync.",
            "Read it inside the task (templated or Variable.get in the callable), not at DAG "
            "parse time, and use default_var where a default is safe.",
        ),
        0.75,
    )


@_rule(
    "airflow_connection",
    "ConfigurationError",
    r"conn(?:ection)?_?id [`'\"]?([\w.-]+)[`'\"]? isn't defined|conn_id [`'\"]?([\w.-]+)"
    r"[`'\"]? is not defined|airflownotfoundexception",
)
def _connection(m: re.Match[str], ctx: _Context) -> _Finding:
    name = clean_value(next((g for g in m.groups() if g), ""))
    conn = f"connection {_q(name)}" if name else "the connection the task uses"
    return _Finding(
        f"Airflow {conn} is not defined in this environment",
        (
            f"Create {conn} (Admin > Connections, AIRFLOW_CONN_* variable or the secrets backend).",
            "Check the conn_id spelling in the DAG against the environment's connections.",
            "Keep connections in a secrets backend shared by all environments' deployments.",
            "Rerun the failed task once the connection exists.",
        ),
        0.75,
    )


@_rule(
    "keyvault_secret",
    "ConfigurationError AuthenticationError",
    r"secret with \(name/id\) ([\w-]+) was not found|secretname: ([\w-]+)"
    r"|secret does not exist with scope: ([\w-]+)|secretnotfound",
)
def _secret(m: re.Match[str], ctx: _Context) -> _Finding:
    name = clean_value(next((g for g in m.groups() if g), ""))
    vault = _grab(ctx.text, r"vaultbaseurl: https?://([\w.-]+)", r"scope: ([\w-]+)")
    key = _grab(ctx.text, r"and key: ([\w-]+)")
    secret = f"secret {_q(key or name)}" if (key or name) else "the referenced secret"
    where = f" in {vault}" if vault else ""
    return _Finding(
        f"{secret} was not found{where}",
        (
            f"Create or restore {secret}{where} (check soft-deleted secrets).",
            "Check the secret name and vault or scope referenced by the linked service or "
            "notebook for typos and environment mix-ups.",
            "Verify the pipeline's identity has get permission on secrets in that vault.",
            "Rerun the failed run after the secret exists.",
        ),
        0.75,
    )


@_rule(
    "widget_missing",
    "ConfigurationError",
    r"no input widget named (\w+)|inputwidgetnotdefined",
)
def _widget(m: re.Match[str], ctx: _Context) -> _Finding:
    name = clean_value(m.group(1)) if m.group(1) else ""
    param = f"parameter {_q(name)}" if name else "a notebook parameter"
    return _Finding(
        f"the notebook expects {param} but the run did not pass it",
        (
            f"Pass {param} from the caller (ADF baseParameters, job task parameters or "
            "dbutils.notebook.run arguments).",
            "Define the widget with a default (dbutils.widgets.text) if it is optional.",
            "Check the parameter name for typos and case differences, then rerun.",
        ),
        0.75,
    )


@_rule(
    "linked_service",
    "ConfigurationError",
    r"linked ?service '?([\w-]+)'? .{0,40}(?:not found|does not exist)|linkedservicenotfound"
    r"|could not load resource '([\w-]+)'",
)
def _linked_service(m: re.Match[str], ctx: _Context) -> _Finding:
    name = clean_value(next((g for g in m.groups() if g), ""))
    ls = f"linked service {_q(name)}" if name else "a referenced linked service"
    return _Finding(
        f"{ls} is missing from the factory",
        (
            f"Publish or create {ls} in this factory (it may exist only in the Git branch).",
            "Check the reference name in the dataset or activity for typos and environment "
            "parameters.",
            "Redeploy the factory's ARM template or release including the linked service, then "
            "rerun.",
        ),
        0.7,
    )


@_rule(
    "init_script",
    "ConfigurationError",
    r"init[_ ]script|init_script_failure",
)
def _init_script(m: re.Match[str], ctx: _Context) -> _Finding:
    script = _grab(ctx.text, r"init script ([^\s,]+) failed", r"init script ([^\s,]+)")
    target = f"init script {_q(script)}" if script else "a cluster init script"
    return _Finding(
        f"the cluster could not start because {target} failed",
        (
            f"Read the init script logs for {target} (cluster log delivery location).",
            "Run the script's commands on a test cluster to find the failing one (package "
            "repository, network access, changed paths).",
            "Check that the script file still exists at the configured path and is readable "
            "by the cluster.",
            "Restart the cluster after fixing the script, then rerun.",
        ),
        0.75,
    )


@_rule(
    "missing_env_var",
    "ConfigurationError CodeError",
    r"(?i:os\.environ)\[['\"](\w+)['\"]\]|KeyError: '([A-Z][A-Z0-9_]{2,})'"
    r"|(?i:environment variable) '?([A-Z][A-Z0-9_]{2,})",
    flags=0,
)
def _env(m: re.Match[str], ctx: _Context) -> _Finding:
    name = clean_value(next((g for g in m.groups() if g), ""))
    return _Finding(
        f"environment variable {_q(name)} is not set where the task runs",
        (
            f"Set {_q(name)} for the scheduler, workers or cluster (deployment manifest, "
            "cluster environment variables, secret reference).",
            "Read configuration with a clear error or default (os.environ.get) instead of "
            "failing at import.",
            "Check that all environments define the same variables, then rerun.",
        ),
        0.7,
    )


@_rule(
    "missing_storage",
    "ConfigurationError DataError",
    r"filesystem does not exist|container ?not ?found|container does not exist|nosuchbucket"
    r"|bucket does not exist|/mnt'? does not exist|mount point .{0,40}(?:does not exist|not found)",
)
def _storage(m: re.Match[str], ctx: _Context) -> _Finding:
    account = _grab(ctx.text, r"https?://([\w-]+\.(?:dfs|blob)\.core\.windows\.net)")
    bucket = _grab(ctx.text, r"bucket '?([\w.-]+)", r"mount[ ]?point '?([\w/.-]+)")
    target = account or bucket
    return _Finding(
        "the storage container, filesystem, bucket or mount the pipeline uses does not exist"
        + (f" ({target})" if target else ""),
        (
            "Check the container, bucket or filesystem name and the storage account in the "
            "configuration for typos and environment mix-ups.",
            "Create it, or recreate the mount (dbutils.fs.mount) if it was removed.",
            "Prefer direct abfss:// or s3:// paths with Unity Catalog external locations over "
            "mounts.",
            "Rerun the failed run after the fix.",
        ),
        0.7,
    )


@_rule(
    "connection_string",
    "ConfigurationError",
    r"connection string is invalid|invalid connection string|format of the initialization string",
)
def _conn_string(m: re.Match[str], ctx: _Context) -> _Finding:
    return _Finding(
        "the connection string configured in the linked service or connection is malformed",
        (
            "Copy the connection string again from the resource (portal or Key Vault) and "
            "update the linked service or connection.",
            "Check for missing keys, stray quotes or unescaped characters in values.",
            "If the string comes from Key Vault, check that the secret holds the full string.",
            "Test the connection, then rerun.",
        ),
        0.7,
    )


@_rule(
    "invalid_parameter",
    "ConfigurationError",
    r"invalid_parameter_value:? ?([^\n]*)|required property '([\w.]+)'"
    r"|missing required field: ([\w.]+)|invalid parameter",
)
def _parameter(m: re.Match[str], ctx: _Context) -> _Finding:
    detail = clean_value(next((g for g in m.groups() if g), "")) or _message_field(ctx.text)
    cause = "the pipeline or job was submitted with an invalid or missing setting"
    cause += f": {detail}" if detail else ""
    return _Finding(
        cause,
        (
            "Correct the setting named in the error in the activity, job or cluster definition.",
            "Compare the definition with the last successful run's (recent deployment or "
            "parameter change).",
            "Validate definitions before deployment (ADF validate, databricks bundle validate, "
            "DAG tests).",
            "Rerun after the fix.",
        ),
        0.65,
    )


# ---- CodeError


@_rule(
    "adf_expression",
    "CodeError ConfigurationError",
    r"the expression '([^']{1,200})' cannot be evaluated|unable to parse expression '([^']*)'"
    r"|invalidtemplate|was invoked with a parameter that is not valid",
)
def _adf_expression(m: re.Match[str], ctx: _Context) -> _Finding:
    expression = clean_value(next((g for g in m.groups() if g), ""))
    prop = _grab(ctx.text, r"property '([\w.]+)' doesn't exist")
    function = _grab(ctx.text, r"the function '(\w+)'")
    cause = "pipeline expression " + (f"{_q(expression)} " if expression else "")
    cause += "could not be evaluated"
    if prop:
        cause += f": property {_q(prop)} does not exist in the value it reads"
    elif function:
        cause += f": function {_q(function)} received a value it cannot handle"
    return _Finding(
        cause,
        (
            "Open the activity's input in the run monitor to see the actual values the "
            "expression received.",
            "Fix the expression (property path, function arguments) or guard it with "
            "coalesce() / contains() for optional values.",
            "Check whether an upstream activity's output shape changed (e.g. Lookup with or "
            "without firstRowOnly).",
            "Debug the pipeline with the same parameters, then rerun.",
        ),
        0.75,
    )


@_rule(
    "name_error",
    "CodeError ConfigurationError",
    r"nameerror: name '(\w+)' is not defined",
)
def _name_error(m: re.Match[str], ctx: _Context) -> _Finding:
    name = clean_value(m.group(1))
    file = _grab(
        ctx.text, r'file "([^"<]+\.py)", line \d+, in <module>', r"broken dag: \[([^\]]+)\]"
    )
    where = f" in {file}" if file else ""
    return _Finding(
        f"the code uses name {_q(name)}{where}, which is not defined or imported",
        (
            f"Import or define {_q(name)} (it may have been removed or moved in a library "
            "upgrade).",
            "Run the file locally or in CI against the same library versions (python -c "
            "'import ...', DAG integrity test).",
            "Deploy the fix and rerun.",
        ),
        0.75,
    )


@_rule(
    "unknown_function",
    "CodeError",
    r"cannot resolve function `?(\w+)|undefined function:? '?(\w+)|unresolved_routine",
)
def _unknown_function(m: re.Match[str], ctx: _Context) -> _Finding:
    name = clean_value(next((g for g in m.groups() if g), ""))
    fn = f"function {_q(name)}" if name else "a function"
    return _Finding(
        f"the query calls {fn}, which does not exist in this runtime",
        (
            f"Check the spelling of {fn} and whether it exists in the runtime version in use.",
            "If it is a UDF, register it (or the library providing it) before the query runs.",
            "Deploy the fix and rerun.",
        ),
        0.7,
    )


@_rule(
    "invalid_operator_args",
    "CodeError ConfigurationError",
    r"invalid arguments were passed to (\w+)",
)
def _operator_args(m: re.Match[str], ctx: _Context) -> _Finding:
    operator = clean_value(m.group(1))
    kwargs = _grab(ctx.text, r"\*\*kwargs: \{([^}]*)\}")
    cause = f"operator {operator} was given arguments it does not accept"
    if kwargs:
        cause += f" ({kwargs})"
    return _Finding(
        cause,
        (
            f"Remove or rename the unsupported arguments of {operator} (often removed in an "
            "Airflow or provider upgrade, e.g. provide_context).",
            "Check the operator's documentation for the installed provider version.",
            "Run a DAG import test in CI so argument errors are caught before deployment.",
        ),
        0.7,
    )


@_rule("key_error", "CodeError", r"keyerror: ([^\n]{1,80})")
def _key_error(m: re.Match[str], ctx: _Context) -> _Finding:
    key = clean_value(m.group(1))
    return _Finding(
        f"the code looked up key {key} in a dict or row that does not contain it",
        (
            f"Check the input that lacked {key} (API response, config, row) and whether its "
            "shape changed.",
            "Use .get() with a default or validate the input shape explicitly before use.",
            "Add a test with the failing input, then deploy and rerun.",
        ),
        0.65,
    )


@_rule(
    "none_error",
    "CodeError",
    r"'nonetype' object (?:has no attribute '(\w+)'|is not (?:subscriptable|iterable|callable))",
)
def _none(m: re.Match[str], ctx: _Context) -> _Finding:
    attr = clean_value(m.group(1)) if m.group(1) else ""
    suffix = f" (accessing {_q(attr)})" if attr else ""
    return _Finding(
        f"the code used a value that was None{suffix}; an earlier call returned nothing",
        (
            "Find where the value comes from (API field, query result, regex match) and handle "
            "the empty case.",
            "Validate inputs at the boundary and fail with a clear message.",
            "Add a test with the empty input, then deploy and rerun.",
        ),
        0.65,
    )


@_rule(
    "syntax_error",
    "CodeError",
    r"syntaxerror|parse_syntax_error|syntax error at or near|incorrect syntax near",
)
def _syntax(m: re.Match[str], ctx: _Context) -> _Finding:
    near = _grab(
        ctx.text,
        r"syntax error at or near [\"']?([^\"'\n]+)",
        r"incorrect syntax near (?:the keyword )?'([^']+)'",
    )
    file = _grab(ctx.text, r'file "([^"<]+)", line (\d+)')
    line = _grab(ctx.text, r'file "[^"<]+", line (\d+)', r"\(line (\d+)")
    lowered = ctx.text.lower()
    kind = (
        "SQL statement" if ("sql" in lowered or near) and "syntaxerror:" not in lowered else "code"
    )
    cause = f"the {kind} has a syntax error"
    if near:
        cause += f" near {_q(near)}"
    if file:
        cause += f" in {file}" + (f" line {line}" if line else "")
    return _Finding(
        cause,
        (
            "Fix the syntax at the reported position (check for parameters rendered into the "
            "text, e.g. empty values or quotes).",
            "Run a parse or lint step in CI (DAG import test, SQL parse) before deployment.",
            "Deploy the fix and rerun.",
        ),
        0.7,
    )


@_rule(
    "python_exception",
    "CodeError",
    r"\b(TypeError|AttributeError|IndexError|ZeroDivisionError|UnboundLocalError|AssertionError"
    r"|RecursionError|ValueError)\b",
)
def _py_exception(m: re.Match[str], ctx: _Context) -> _Finding:
    exc, detail = _last_exception(ctx.text)
    exc = exc or clean_value(m.group(1))
    frame = _grab(ctx.text, r'.*file "([^"<]+)", line \d+')
    cause = f"the task's code raised {exc}"
    if detail:
        cause += f": {detail}"
    if frame:
        cause += f" (last frame in {frame})"
    return _Finding(
        cause,
        (
            "Reproduce with the failing run's inputs and fix the code path named in the traceback.",
            "Check whether the input data or an upstream API changed shape.",
            "Add a unit test for this input, then deploy and rerun.",
        ),
        0.6,
    )


@_rule(
    "jvm_exception",
    "CodeError",
    r"\b(NullPointerException|ClassCastException|IllegalArgumentException|IllegalStateException"
    r"|IndexOutOfBoundsException|NoSuchMethodError|StackOverflowError)\b",
)
def _jvm(m: re.Match[str], ctx: _Context) -> _Finding:
    exc = clean_value(m.group(1))
    frame = _grab(ctx.text, r"at ((?!java\.|scala\.|org\.apache\.)[\w.$]+\([\w.]+:\d+\))")
    cause = f"the job's code threw {exc}"
    cause += f" at {frame}" if frame else ""
    hint = (
        "Check library versions on the cluster against the ones the code was compiled with."
        if exc == "NoSuchMethodError"
        else "Reproduce with the failing input and fix the code path in the stack trace."
    )
    return _Finding(
        cause,
        (
            hint,
            "Check for null or unexpected values in the input that the code does not handle.",
            "Add a test for this case, then deploy and rerun.",
        ),
        0.6,
    )


# ---- Unknown: no class, but some common summaries still say where to look.


@_rule("sigterm", "Unknown", r"sigterm|received signal 15|signals\.sigterm")
def _sigterm(m: re.Match[str], ctx: _Context) -> _Finding:
    return _Finding(
        "the task was stopped from outside (SIGTERM): marked failed or success externally, "
        "killed by a scheduler timeout, or its worker or pod was shut down",
        (
            "Check the scheduler and worker logs around that time for who stopped the task "
            "(manual state change, deployment, autoscaling, pod eviction).",
            "If workers are restarted by deployments or autoscaling, drain them gracefully.",
            "Check for zombie or heartbeat warnings that precede the SIGTERM.",
            "Rerun the task if the stop was not intended.",
        ),
        0.3,
    )


@_rule("inner_activity", "Unknown", r"inner activity failed|activity failed because an inner")
def _inner(m: re.Match[str], ctx: _Context) -> _Finding:
    return _Finding(
        "this is a container activity's summary (ForEach, Until, If or Execute Pipeline): an "
        "activity inside it failed and holds the real error",
        (
            "Open the run in the monitor and drill into the failed inner activity for its "
            "error message.",
            "Send the inner activity's error in the alert (e.g. via activity output) so it can "
            "be classified.",
            "Rerun from the failed activity once the inner error is fixed.",
        ),
        0.3,
    )


@_rule(
    "exit_code",
    "Unknown",
    r"non-zero exit (?:code|status)(?: \(?(\d+)\)?)?|exit(?:ed with)? code (\d+)"
    r"|return(?:ed)? code (\d+)",
)
def _exit_code(m: re.Match[str], ctx: _Context) -> _Finding:
    code = clean_value(next((g for g in m.groups() if g), "")) or _grab(
        ctx.text, r"exit code (\d+)"
    )
    suffix = f" {code}" if code else ""
    return _Finding(
        f"a command or script exited with code{suffix or ' non-zero'}; its own error output "
        "holds the cause",
        (
            "Read the command's stderr in the task log just above this line.",
            "Run the same command with the same parameters on the worker to reproduce.",
            "Make the script print a clear error before exiting non-zero.",
        ),
        0.3,
    )


# --------------------------------------------------------------------------- class templates

_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {
    "NetworkError": (
        "{subject} failed because a network connection to a dependency could not be made or "
        "was lost",
        (
            "Check connectivity from the runtime (integration runtime, worker or cluster) to "
            "the target host and port.",
            "Review recent firewall, DNS, proxy or private endpoint changes.",
            "Add a retry with backoff for transient network errors.",
            "Rerun the failed run.",
        ),
    ),
    "DatabaseError": (
        "{subject} failed on a database operation",
        (
            "Read the database error number or SQLSTATE in the message and look it up for the "
            "engine in use.",
            "Check the database's health, locks and recent schema changes at that time.",
            "Reproduce the failing statement with the same user from a SQL client.",
            "Rerun the failed run after the fix.",
        ),
    ),
    "ResourceExhaustion": (
        "{subject} ran out of a compute resource (memory, disk or quota)",
        (
            "Check memory, disk and quota metrics of the runtime at the failure time.",
            "Scale up the compute or reduce the data processed per task.",
            "Compare input volume with the last successful run.",
            "Rerun the failed run after the change.",
        ),
    ),
    "AuthenticationError": (
        "{subject} failed to authenticate or was not authorised",
        (
            "Check that the credential (secret, token, password) used by the connection is "
            "valid and not expired.",
            "Verify the identity has the permissions the operation needs.",
            "Test the connection, then rerun the failed run.",
        ),
    ),
    "DataError": (
        "{subject} failed on input data that does not match what the pipeline expects",
        (
            "Inspect the input of the failed run (schema, nulls, formats) against the last "
            "successful run.",
            "Fix the data at the source or make the transformation handle it.",
            "Add a data-quality check before the load.",
            "Rerun the failed run after the fix.",
        ),
    ),
    "ExternalServiceError": (
        "{subject} failed because an external service returned an error or was unavailable",
        (
            "Check the provider's status page for an incident at that time.",
            "Retry with exponential backoff; make the step idempotent.",
            "Contact the provider with the request id if it persists.",
        ),
    ),
    "TimeoutError": (
        "{subject} exceeded a time limit",
        (
            "Compare the duration with previous runs to find what got slower.",
            "Optimise or split the slow step.",
            "Raise the timeout only if the longer duration is expected.",
            "Rerun the failed run.",
        ),
    ),
    "ConfigurationError": (
        "{subject} is misconfigured (a setting, parameter, secret or dependency is missing or "
        "invalid)",
        (
            "Compare the configuration with the last successful run (recent deployment, "
            "parameter or environment change).",
            "Check the referenced names (connections, secrets, paths, libraries) exist in this "
            "environment.",
            "Validate the definition before deploying, then rerun.",
        ),
    ),
    "CodeError": (
        "{subject} failed on a bug in its code or pipeline expressions",
        (
            "Read the last exception in the traceback and fix the code path it names.",
            "Reproduce with the failing run's inputs in a test.",
            "Deploy the fix and rerun the failed run.",
        ),
    ),
    "Unknown": (
        "{subject} failed, and the error text does not identify the cause",
        (
            "Open the full run logs (driver, task or activity output) for the first error "
            "before this one.",
            "Check whether the failure repeats on rerun; a one-off points to a transient "
            "platform issue.",
            "Compare with the last successful run for changes in code, configuration or data.",
            "Attach what you find to this ticket so future failures can be classified.",
        ),
    ),
}


# --------------------------------------------------------------------------- assembly


def _subject(ctx: _Context) -> str:
    subject = f"Pipeline '{ctx.pipeline}'" if ctx.pipeline else "The pipeline"
    if ctx.activity:
        subject += f" (activity '{ctx.activity}')"
    elif ctx.operator:
        subject += f" (operator {ctx.operator})"
    return subject


def _code_suffix(ctx: _Context, cause: str) -> str:
    if ctx.error_code and ctx.error_code.lower() not in cause.lower():
        return f" (error code {ctx.error_code})"
    return ""


def _failure_type_note(ctx: _Context) -> tuple[str, str]:
    """A sentence and a recommendation for ADF's failure type, if one was given."""
    kind = ctx.failure_type.lower().replace(" ", "")
    if "systemerror" in kind or kind == "system":
        return (
            " Data Factory reports a system error, i.e. a platform-side failure.",
            "Data Factory reports a SystemError: retry the run; if it repeats, open a support "
            "case with the activity run id.",
        )
    if "usererror" in kind or "userconfiguration" in kind or kind == "user":
        return (
            " Data Factory reports a user error, so rerunning without a change will likely "
            "fail again.",
            "",
        )
    return "", ""


_JSON_MESSAGE = re.compile(
    r"[\"'](?:message|state_message|errormessage|error_message)[\"']\s*:\s*[\"']([^\"'\n]{4,})",
    re.IGNORECASE,
)
_LOG_PREFIX = re.compile(r"^\s*(?:\[[^\]]*\]\s*)?(?:\{[^}]*\}\s*)?(?:[A-Z]+\s+-\s+)?")
_ERRORISH = re.compile(r"error|exception|failed|failure|fatal", re.IGNORECASE)


def _message_field(text: str) -> str:
    match = _JSON_MESSAGE.search(text)
    return clean_value(match.group(1)) if match else ""


def _excerpt(text: str) -> str:
    """The most telling single line of an error text, for the template root cause."""
    field = _message_field(text)
    if field:
        return field
    exc, detail = _last_exception(text)
    if exc:
        return f"{exc}: {detail}" if detail else exc
    lines = [_LOG_PREFIX.sub("", line) for line in text.splitlines()]
    lines = [line for line in lines if len(clean_value(line)) > 3]
    errorish = [line for line in lines if _ERRORISH.search(line)]
    chosen = errorish[-1] if errorish else (lines[0] if lines else "")
    return clean_value(chosen)


def _best_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    # Alternatives that detect (e.g. "NotNullViolation") often come before the ones that
    # capture a name (column "x"), so prefer the first match that captured something.
    if not pattern.groups:
        return pattern.search(text)
    first = None
    for match in pattern.finditer(text):
        if any(match.groups()):
            return match
        first = first or match
    return first


def _finalise(recs: list[str], error_type: str) -> list[str]:
    unique = list(dict.fromkeys(r for r in recs if r))
    if len(unique) < 3:
        fallback = _TEMPLATES.get(error_type, _TEMPLATES["Unknown"])[1]
        unique.extend(r for r in fallback if r not in unique)
    return unique[:5]


def _detail(details: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = details.get(key)
        if isinstance(value, str | int) and not isinstance(value, bool) and str(value).strip():
            return clean_value(value)
    return ""


def build_rule_rca(
    error_type: str,
    message: str,
    *,
    pipeline: str = "",
    source: str = "",
    details: Mapping[str, Any] | None = None,
) -> RuleRca:
    details = details or {}
    error_type = error_type if error_type in _TEMPLATES else "Unknown"
    error_code = _detail(details, "error_code", "errorCode", "code")
    text = scan_window(message or "")
    if error_code and error_code.lower() not in text.lower():
        # Codes given only in the details (e.g. "DF-Executor-OutOfMemoryError") still count.
        text = f"{text}\n{error_code}"
    ctx = _Context(
        text=text,
        source=clean_value(source),
        pipeline=clean_value(pipeline),
        activity=_detail(details, "activity", "activity_name", "activityName"),
        error_code=error_code,
        failure_type=_detail(details, "failure_type", "failureType"),
        operator=_detail(details, "operator", "task_operator"),
    )
    type_note, type_rec = _failure_type_note(ctx)

    finding: _Finding | None = None
    if ctx.text.strip():
        for rule in _SUB_RULES:
            if error_type not in rule.classes:
                continue
            match = _best_match(rule.pattern, ctx.text)
            if match:
                finding = rule.build(match, ctx)
                break

    if finding is not None:
        cause = finding.cause[:1].upper() + finding.cause[1:]
        root_cause = f"{_subject(ctx)} failed: {cause}{_code_suffix(ctx, cause)}.{type_note}"
        recs = list(finding.recommendations)
        confidence = finding.confidence
    else:
        template, template_recs = _TEMPLATES[error_type]
        root_cause = template.format(subject=_subject(ctx))
        root_cause += _code_suffix(ctx, root_cause) + "."
        excerpt = _excerpt(ctx.text)
        if excerpt:
            root_cause += f" Last error: {clean_value(excerpt)}."
        root_cause += type_note
        recs = list(template_recs)
        confidence = UNKNOWN_CONFIDENCE if error_type == "Unknown" else TEMPLATE_CONFIDENCE
    if type_rec:
        recs.insert(0, type_rec)
    return RuleRca(
        root_cause=root_cause.strip(),
        recommendations=_finalise(recs, error_type),
        confidence=round(min(confidence, MAX_CONFIDENCE), 2),
    )
