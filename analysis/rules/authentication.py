"""Authentication and authorisation failures: Entra ID (AADSTS) sign-ins, database logins, tokens
(expired, not refreshed, or with a signature that does not verify), missing credentials, HTTP 401
(a JDBC/ODBC driver's HTTP 401 or 403 too), linked service keys a store refused and denied
permissions.
"""

from __future__ import annotations

import re

from analysis import signals
from analysis.rules.base import Context, Finding, rule
from analysis.rules.data import AADSTS_MEANINGS, SECRET_CODES
from analysis.rules.extract import clean_value, find_host, grab, platform_of, quoted
from analysis.signals import any_of


@rule(
    "aad_client_secret",
    "AuthenticationError ConfigurationError",
    r"AADSTS(7000215|7000222|50012|70002)\b|invalid client secret"
    r"|client secret keys .{0,80}expired",
    example=(
        "AADSTS7000222: The provided client secret keys for app "
        "'11111111-2222-3333-4444-555555555555' are expired. Visit the Azure "
        "portal to create new keys for your app."
    ),
)
def aad_client_secret(m: re.Match[str], ctx: Context) -> Finding:
    codes = re.findall(r"AADSTS(\d+)", ctx.text)
    code = next((c for c in codes if c in SECRET_CODES), codes[0] if codes else "")
    app = grab(ctx.text, r"app '([0-9a-f-]{36})'", r"client[_ ]id[=: ']+([0-9a-f-]{36})")
    expired = code == "7000222" or "expired" in ctx.text.lower()
    state = "expired" if expired else "invalid or expired"
    cause = f"the service principal's client secret is {state}"
    if code:
        cause += f" (AADSTS{code}: {AADSTS_MEANINGS.get(code, 'credential rejected')})"
    target = f" for app registration {app}" if app else ""
    return Finding(
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
        transient=False,
    )


@rule(
    "aad_other",
    "AuthenticationError ConfigurationError",
    r"AADSTS(\d{5,7})",
    example=(
        "msal.exceptions.MsalServiceError: invalid_client: AADSTS700016: "
        "Application with identifier 'xyz' was not found in the directory "
        "'contoso'."
    ),
)
def aad_other(m: re.Match[str], ctx: Context) -> Finding:
    code = clean_value(m.group(1))
    meaning = AADSTS_MEANINGS.get(code, "Microsoft Entra ID rejected the sign-in")
    # What the sign-in named in its own sentence ("Tenant '2b06...' not found", "Application
    # with identifier 'xyz' was not found in the directory").
    subject = grab(ctx.text, rf"AADSTS{code}: [^'\n.]{{0,80}}'([^'\n]{{1,200}})'")
    named = f" ({quoted(subject)})" if subject else ""
    return Finding(
        f"Microsoft Entra ID sign-in failed with AADSTS{code}: {meaning}{named}",
        (
            f"Look up AADSTS{code} in the Entra ID sign-in logs for the exact failing request.",
            "Check the tenant ID, client ID and credential configured in the linked service or "
            "connection.",
            "Verify the app registration or managed identity is enabled and has consent for the "
            "target resource.",
            "Rerun the failed run after correcting the identity configuration.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "data_source_credentials",
    "AuthenticationError ConfigurationError",
    r"datasourcehasnocredential|data source credentials are not configured"
    r"|without explicit connection credentials|invalidconnectioncredentials"
    r"|the credentials provided for the [^\n]{1,100}? source are invalid",
    example=(
        '{"error":{"code":"DMTS_DatasourceHasNoCredentialError","pbi.error":{"code":'
        '"DMTS_DatasourceHasNoCredentialError","details":[{"code":"Server","detail":{"type":1,'
        '"value":"sql01.database.windows.net"}},{"code":"Database","detail":{"type":1,'
        '"value":"sales"}}]}}}'
    ),
)
def data_source_credentials(m: re.Match[str], ctx: Context) -> Finding:
    """A Power BI / Fabric semantic model (or a gateway connection) whose data source has no
    usable credentials: the refresh cannot sign in to its source."""
    detail = r'"code": ?"{}", ?"detail": ?\{{[^}}]{{0,40}}"value": ?"([^"\n]{{1,200}})"'
    server = grab(ctx.text, detail.format("Server"))
    database = grab(ctx.text, detail.format("Database"))
    kind = grab(
        ctx.text,
        r"credentials provided for the ([^\n]{1,100}?) source are invalid",
        detail.format("Microsoft.Data.Mashup.CredentialError.DataSourceKind"),
    )
    where = ", ".join(
        part
        for part in (
            f"server {quoted(server)}" if server else "",
            f"database {quoted(database)}" if database else "",
            f"source {quoted(kind)}" if kind else "",
        )
        if part
    )
    lowered = ctx.text.lower()
    if "explicit connection credentials" in lowered:
        what = (
            "the semantic model uses a default data connection without explicit connection "
            "credentials"
        )
    elif "invalidconnectioncredentials" in lowered or "are invalid" in lowered:
        what = "the credentials stored for the model's data source connection are invalid"
    else:
        what = "the model's data source has no credentials configured"
    return Finding(
        f"the semantic model refresh could not sign in to its data source: {what}"
        f"{f' ({where})' if where else ''}",
        (
            "Set or update the data source credentials in the semantic model's settings (or "
            "bind it to a cloud or gateway connection that has them).",
            "If a password or secret was rotated, update it in the connection or gateway.",
            "Rerun the refresh after the credentials are in place.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "db_login_failed",
    "AuthenticationError DatabaseError",
    r"login failed for user '([^']*)'|password authentication failed for user \"([^\"]*)\""
    r"|access denied for user '([^']*)'|incorrect username or password|ORA-01017"
    r"|invalid (?:username|user name)(?: or |/)password",
    example=("cx_Oracle.DatabaseError: ORA-01017: invalid username/password; logon denied"),
)
def db_login_failed(m: re.Match[str], ctx: Context) -> Finding:
    user = clean_value(next((g for g in m.groups() if g), ""))
    server = grab(
        ctx.text, r"server: '([^'\s]+)'", r"failed to connect to db: [*]*([\w.-]+?)(?::\d+)?\.?\s"
    ) or find_host(ctx.text)
    who = f"user {quoted(user)}" if user else "the configured user"
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
    return Finding(cause, tuple(recs), 0.75, transient=False)


@rule(
    "db_role_missing",
    "AuthenticationError DatabaseError",
    r"\b(role|user|login) [\"'`]([^\"'`\n]{1,80})[\"'`] does not exist",
    example='psycopg2.OperationalError: FATAL:  role "etl_loader" does not exist',
)
def db_role_missing(m: re.Match[str], ctx: Context) -> Finding:
    kind, name = m.group(1).lower(), clean_value(m.group(2))
    server = find_host(ctx.text)
    where = f" on {server}" if server else ""
    return Finding(
        f"the database{where} has no {kind} {quoted(name)}: the connection logs in as a {kind} "
        "that was never created, was dropped or is misspelt",
        (
            f"Check the login of the connection or linked service: is {quoted(name)} the "
            "intended user (a default or placeholder left in place)?",
            f"Create the {kind} on the server (CREATE ROLE ... LOGIN) with the needed grants, "
            "or point the connection at an existing one.",
            "Test the connection, then rerun the failed run.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "auth_token_rejected",
    "AuthenticationError ConfigurationError",
    any_of(*signals.AUTH_TOKEN_REJECTED),
    example="Invalid auth token: Signature verification failed",
)
def auth_token_rejected(m: re.Match[str], ctx: Context) -> Finding:
    lowered = ctx.text.lower()
    airflow = "airflow" in lowered or platform_of(ctx.source) == "airflow"
    if "expired" in lowered:
        cause = "the server rejected the auth token as expired"
        if airflow:
            cause += (
                ": the task's execution API token outlived its lifetime (a long wait before "
                "the task started, or clocks out of step between worker and API server)"
            )
        first = (
            "Check the clocks of the issuing and verifying hosts, and the token lifetime "
            "against how long tasks wait and run."
        )
    else:
        cause = "the server rejected the auth token: its signature does not verify"
        if airflow:
            cause += (
                " (Airflow's components sign and check execution API tokens with [api_auth] "
                "jwt_secret: the scheduler, workers and API server must share the same one)"
            )
        else:
            cause += " (the issuer and the verifier use different signing keys or secrets)"
        first = (
            "Give every component the same signing secret or key (for Airflow, one "
            "[api_auth] jwt_secret from a shared secret) and restart them."
        )
    return Finding(
        cause,
        (
            first,
            "Make sure a rotated secret reached every component before old tokens are used.",
            "Rerun the failed tasks once the token is accepted.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "token_expired",
    "AuthenticationError",
    r"token (?:has )?expired|expiredtoken|invalid access token|token is (?:invalid|expired)"
    r"|jwt token is invalid",
    example=("snowflake.connector.errors.ProgrammingError: 390144 (08004): JWT token is invalid."),
)
def token_expired(m: re.Match[str], ctx: Context) -> Finding:
    platform = platform_of(ctx.source)
    databricks_pat = "databricks" in ctx.text.lower() or ctx.error_code == "3200"
    if databricks_pat or (platform == "adf" and "403" in ctx.text):
        what = "the Databricks access token used by the linked service is expired or invalid"
        first = "Generate a new Databricks token (or use managed identity authentication) and "
        first += "update the Databricks linked service."
    else:
        what = "the access token presented to the service is expired or invalid"
        first = "Refresh or regenerate the token and update the connection that stores it."
    # What the service said, and its code when it gives one (Snowflake "390144 (08004): JWT
    # token is invalid", a REST body's "code" : "390144").
    stated = clean_value(m.group(0))
    code = grab(ctx.text, r"\b(\d{6}) \(\w{5}\)", r'"code"\s*:\s*"(\d{3,6})"')
    if stated:
        what += f' (the service says "{stated}"' + (f", code {code})" if code else ")")
    return Finding(
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
        transient=False,
    )


@rule(
    "ssh_private_key",
    "AuthenticationError ConfigurationError",
    r"not a valid (?:\w+ |\{\} )?private key|invalid (?:\w+ )?private key"
    r"|private key (?:file )?(?:is )?(?:invalid|not valid|could not be (?:read|loaded))"
    r"|from_private_key\b",
    example=(
        "paramiko.ssh_exception.SSHException: not a valid RSA private key file "
        "(raised in airflow/providers/ssh/hooks/ssh.py)"
    ),
)
def ssh_private_key(m: re.Match[str], ctx: Context) -> Finding:
    kind = grab(ctx.text, r"not a valid (\w+) private key")
    key = f"{kind} private key" if kind else "SSH private key"
    return Finding(
        f"the {key} given to the SSH/SFTP client could not be read (wrong key type or format, "
        "a truncated or mangled key, or a missing passphrase)",
        (
            "Check the private key stored in the connection or secret: the whole PEM block with "
            "its BEGIN/END lines and line breaks, and a key type the client supports (RSA, "
            "Ed25519, ECDSA).",
            "If the key is encrypted, provide its passphrase; convert OpenSSH-format keys with "
            "ssh-keygen -p -m PEM if the client library is older.",
            "Rerun the failed run after the key is fixed.",
        ),
        0.7,
        transient=False,
    )


# The credential types an Azure credential chain names ("EnvironmentCredential: ...").
_CREDENTIAL_TYPE = re.compile(r"\b([A-Z][A-Za-z]{2,40}Credential)\b")


@rule(
    "missing_credentials",
    "AuthenticationError ConfigurationError",
    any_of(*signals.MISSING_CREDENTIALS, r"environmentcredential authentication unavailable"),
    example="botocore.exceptions.NoCredentialsError: Unable to locate credentials",
)
def missing_credentials(m: re.Match[str], ctx: Context) -> Finding:
    cause = "no credentials were available to the SDK in the runtime environment"
    lowered = ctx.text.lower()
    recs: tuple[str, ...] = ()
    # A credential chain (DefaultAzureCredential) tried several kinds and none could give a
    # token: each is named, and none is blamed alone (off Azure, no managed identity exists).
    # One credential alone (ManagedIdentityCredential over its ImdsCredential) is no chain.
    chain = grab(ctx.text, r"\b(DefaultAzureCredential|ChainedTokenCredential)\b")
    tried = list(
        dict.fromkeys(
            name
            for name in _CREDENTIAL_TYPE.findall(ctx.text)
            if name not in ("DefaultAzureCredential", "ChainedTokenCredential")
        )
    )
    if re.search(r"gss initiate failed|kerberos tgt", lowered):
        # Hive, HDFS and Kafka clients over SASL/GSSAPI: the process holds no Kerberos ticket.
        cause = (
            "no Kerberos ticket (TGT) was available to the process, so its SASL/GSSAPI login "
            "to the service failed"
        )
        recs = (
            "Obtain a ticket where the task runs (kinit with the service keytab, or the "
            "client's keytab and principal settings) and renew it before it expires.",
            "Check that krb5.conf and the Hadoop/Hive security settings "
            "(hadoop.security.authentication) are present on the worker.",
        )
    elif (
        "multiple user assigned identities" in lowered or "has not been assigned to this" in lowered
    ):
        # Azure IMDS: the managed identity asked for is not the resource's, or several
        # user-assigned identities exist and none was named.
        cause = "the managed identity the code asked for is not assigned to this resource"
        if "multiple user assigned identities" in lowered:
            cause += (
                " (multiple user assigned identities exist: the clientId or resourceId of the "
                "one to use must be given)"
            )
    elif chain and len(tried) > 1:
        cause = (
            f"none of the credentials {chain} tried was available where the code runs "
            f"(tried: {', '.join(clean_value(name) for name in tried)})"
        )
        recs = (
            "Give the runtime one of the identities the chain tries: on Azure, a managed "
            "identity assigned to the resource; elsewhere, a service principal in "
            "AZURE_CLIENT_ID, AZURE_TENANT_ID and AZURE_CLIENT_SECRET (or a certificate).",
        )
    elif re.search(
        r"imds endpoint|connect to msi\b|metadata/identity/oauth2/token"
        r"|error performing token request",
        lowered,
    ):
        cause = (
            "no managed identity answered where the code runs: the identity endpoint "
            "(IMDS/MSI) gave no token"
        )
    return Finding(
        cause,
        (
            *recs,
            "Configure the identity the task should use (instance profile / IAM role, managed "
            "identity, or service principal environment variables) on the worker or cluster.",
            "For Airflow, set the connection (aws_default, azure_default, ...) the hook uses.",
            "Verify from the runtime (same worker or cluster) that the identity can obtain a "
            "token.",
            "Rerun the failed run after the credentials are in place.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "http_401",
    "AuthenticationError",
    r"(?:status|error|code|http)\W{0,4}401\b|\b401 (?:client error|unauthorized)|\(401\)"
    r"|\bunauthorized\b|\bunauthenticated\b",
    example=(
        "requests.exceptions.HTTPError: 401 Client Error: Unauthorized for url: "
        "https://api.hubapi.com/crm/v3/objects/contacts?limit=100"
    ),
)
def http_401(m: re.Match[str], ctx: Context) -> Finding:
    host = grab(ctx.text, r"https?://([\w-]+(?:\.[\w-]+)+)")
    target = f"the API at {host}" if host else "the called service"
    return Finding(
        f"{target} rejected the request as unauthenticated (HTTP 401)",
        (
            "Check that the API key or token in the connection is present, valid and not "
            "expired or revoked.",
            "Verify the authentication scheme and header the API expects (Bearer token, API "
            "key header, basic auth).",
            "Rotate the credential in the secret store and update the connection, then rerun.",
        ),
        0.6,
        transient=False,
    )


# The S3 IAM action each API operation needs (HeadObject is authorised by s3:GetObject).
_S3_ACTIONS = {
    "getobject": "s3:GetObject",
    "headobject": "s3:GetObject",
    "putobject": "s3:PutObject",
    "createmultipartupload": "s3:PutObject",
    "uploadpart": "s3:PutObject",
    "copyobject": "s3:GetObject on the source and s3:PutObject on the target",
    "deleteobject": "s3:DeleteObject",
    "deleteobjects": "s3:DeleteObject",
    "listobjects": "s3:ListBucket",
    "listobjectsv2": "s3:ListBucket",
    "headbucket": "s3:ListBucket",
}
_WRITE_OPERATION = re.compile(
    r"put|write|upload|create|delete|modify|insert|update|append|copy|rename|mkdir|merge|drop",
    re.IGNORECASE,
)
_WRITE_WORDS = re.compile(
    r"\b(?:write|writing|upload(?:ing)?|modify|insert(?:ing)?|create (?:table|file|directory))\b"
    r"|\bcannot (?:write|create|delete)\b",
    re.IGNORECASE,
)


def _is_write(operation: str, text: str) -> bool:
    """Whether the denied action changes something (a write) rather than reads it."""
    if operation:
        return bool(_WRITE_OPERATION.search(operation))
    return bool(_WRITE_WORDS.search(text))


@rule(
    "permission_denied",
    "AuthenticationError",
    any_of(
        *signals.PERMISSION_DENIED,
        r"does not have (.{1,80}?) (?:permission|privilege)s?",
        r"permission[_ ]denied",
        r"forbidden",
        r"\b403\b",
        r"insufficient privileges",
    ),
    example=(
        "PERMISSION_DENIED: User does not have READ FILES on External Location 'raw_landing'."
    ),
)
def permission_denied(m: re.Match[str], ctx: Context) -> Finding:
    text = ctx.text
    lowered = text.lower()
    missing = clean_value(m.group(1)) if m.group(1) else ""
    # SQL Server: "The SELECT permission was denied on the object 'Customers', database 'CRM'".
    missing = missing or grab(text, r"the (\w+) permission was denied")
    # Unity Catalog / Snowflake: "User does not have EXTERNAL USE SCHEMA on Schema 'x'".
    privilege = re.search(r"does not have ((?:[A-Z][A-Z_]* ){0,3}[A-Z][A-Z_]*) on \w", text)
    # Kubernetes RBAC: 'User "system:serviceaccount:ns:sa" cannot watch resource "pods"'.
    rbac = re.search(r"cannot (\w+) resource \\*[\"']?([\w.]+)", text, re.I)
    # Azure RBAC: "Action: 'Microsoft.KeyVault/vaults/secrets/getSecret/action'".
    action = grab(text, r"action: '(microsoft\.[\w./-]+)'")
    if not missing and action:
        missing = action + (", no RBAC role assignment" if "rbac" in lowered else "")
    elif not missing and privilege:
        missing = clean_value(privilege.group(1))
    elif not missing and rbac:
        missing = f"{clean_value(rbac.group(1))} {clean_value(rbac.group(2))}"
    securable = re.search(
        r"\bon (job|table|schema|catalog|cluster|volume|notebook|the object) [`'\"]?([\w.@/-]+)",
        text,
        re.I,
    )
    database = grab(text, r"database [`'\"]([\w.@-]+)")
    if securable:
        kind = "object" if securable.group(1).lower() == "the object" else securable.group(1)
        resource = f"{kind.lower()} {clean_value(securable.group(2))}"
        resource += f" in database {database}" if database else ""
    elif database and "access the database" in text.lower():
        resource = f"database {database} (the login has no user in it)"
    elif adls := re.search(r"account: '([\w-]+)'\.? filesystem: '([\w.-]+)'", text, re.I):
        # ADF's ADLS Gen2 errors: "Account: 'stlake'. FileSystem: 'raw'. Path: 'a/b'."
        path = grab(text, r"filesystem: '[\w.-]+'\.? path: '([^']+)'")
        resource = f"storage account {clean_value(adls.group(1))}, filesystem "
        resource += clean_value(adls.group(2)) + (f", path {path}" if path else "")
    else:
        resource = grab(text, r"https?://([\w-]+(?:\.[\w-]+)+)")
    operation = grab(text, r"calling the (\w+) operation")
    identity = grab(
        text,
        r"user:? '?([\w.@-]+@[\w.-]+)",
        r"principal '?([\w.@-]+)",
        r"principal [\"']([\w.@-]+)",  # SQL Server: The server principal "etl_svc" ...
        r"user \\*[\"']([\w.:@-]+:[\w.:@-]+)",  # a namespaced user, quoted or escaped
    )
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
    writes = _is_write(operation, text)
    if writes:
        cause += " (a write)" if operation else " to write"
    recs = []
    if (
        "dfs.core.windows.net" in lowered
        or "blob.core.windows.net" in lowered
        or ("authorizationpermissionmismatch" in lowered)
    ):
        role = (
            "Storage Blob Data Contributor, which allows writes"
            if writes
            else "Storage Blob Data Reader, or Contributor if the step also writes"
        )
        recs.append(
            f"Grant the identity a data-plane role on the storage account or container ({role}) "
            "or the needed ACLs on the path."
        )
        recs.append(
            "If the storage firewall is enabled, allow the integration runtime or cluster "
            "subnet (a 403 is also returned for blocked networks)."
        )
    elif "s3" in lowered or "botocore" in lowered or "aws" in lowered:
        action = _S3_ACTIONS.get(operation.lower(), "")
        if not action:
            action = "s3:PutObject" if writes else "s3:GetObject, s3:ListBucket"
        what = "write to" if writes else "read from"
        recs.append(
            f"Allow {action} on the bucket and prefix the step must {what}, in the IAM role or "
            "bucket policy."
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
    return Finding(cause, tuple(recs), 0.65, transient=False)


@rule(
    "oauth_refresh_failed",
    "AuthenticationError",
    any_of(*signals.OAUTH_REFRESH_FAILED),
    example=(
        "Error: Failed to resolve connection 'a7cdc747-c102-43c6-bed7-ccc099a03f97' referenced in "
        "activity run '31082f5d-0820-470d-b102-788b6bbcec8a'. ErrorCode: "
        "'DMTS_OAuthTokenRefreshFailedError'. ErrorMessage: 'null'."
    ),
)
def oauth_refresh_failed(m: re.Match[str], ctx: Context) -> Finding:
    connection = grab(
        ctx.text, r"resolve connection '([^'\n]{1,100})'", r"connection '([^'\n]{1,100})'"
    )
    which = f" {quoted(connection)}" if connection else ""
    return Finding(
        f"the OAuth token of the stored connection{which} could not be refreshed: the sign-in it "
        "was created with expired, its password changed, or its consent or access was revoked, "
        "so the service cannot act on its behalf",
        (
            "Open the connection in the workspace's connection settings and edit its credentials: "
            "sign in again with an account that still has access.",
            "Prefer a service principal or workspace identity over a personal OAuth sign-in for "
            "scheduled runs, so a user's password or session does not break them.",
            "Rerun the pipeline once the connection tests successfully.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "driver_http_auth_refused",
    "AuthenticationError",
    any_of(*signals.DRIVER_HTTP_AUTH_REFUSED),
    example=(
        "java.sql.SQLException: [Simba][SparkJDBCDriver](500593) Communication link failure. "
        "Failed to connect to server. Reason: HTTP Response code: 403, Error message: Unknown."
    ),
)
def driver_http_auth_refused(m: re.Match[str], ctx: Context) -> Finding:
    """A JDBC/ODBC driver speaking HTTP (Simba's Spark/Databricks drivers) whose server answered
    401 or 403: the "Communication link failure" it is worded as is the refusal, not the
    network."""
    status = grab(m.group(0), r"http response code: (\d{3})")
    meaning = (
        "401: the token or credentials were not accepted"
        if status == "401"
        else "403: the identity was recognised but is not allowed to use the endpoint"
    )
    driver = grab(ctx.text, r"\[simba\]\[(\w{1,60})\]")
    who = f"the {driver} driver" if driver else "the JDBC/ODBC driver"
    return Finding(
        f"the server refused {who}'s HTTP connection with status {meaning} (HTTP Response "
        f"code: {status}); the driver reports it as a communication link failure",
        (
            "Check the token or credentials the connection uses (a personal access token or "
            "service principal secret that is expired, revoked or for another workspace).",
            "Check that the identity may use the endpoint: workspace access, CAN USE on the SQL "
            "warehouse or cluster, and any IP access list that admits the caller.",
            "Check the HTTP path and host point at the endpoint the credentials belong to, then "
            "rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "slack_auth_refused",
    "AuthenticationError",
    any_of(*signals.SLACK_AUTH_REFUSED),
    example="slacker.Error: invalid_auth",
)
def slack_auth_refused(m: re.Match[str], ctx: Context) -> Finding:
    error = next((g for g in m.groups() if g), "").lower()
    reason = {
        "not_authed": "no token was sent",
        "token_revoked": "the token was revoked",
        "token_expired": "the token expired",
        "account_inactive": "the app or user it belongs to is deactivated",
    }.get(error, "the token is not valid for this workspace (wrong, rotated or mistyped)")
    return Finding(
        f"Slack refused the call for its token ({error}): {reason}",
        (
            "Put a current bot token (xoxb-...) of the app in the connection or secret the "
            "task reads, and check it belongs to the workspace posted to.",
            "If the app was reinstalled or its token rotated, update every place that holds "
            "the old token.",
            "Rerun the task once Slack's auth.test accepts the token.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "linked_service_key_rejected",
    "AuthenticationError",
    any_of(*signals.LINKED_SERVICE_KEY_REJECTED),
    example="Error code: DF-Executor-illegalArgument. Please make sure that the access key in "
    "your Linked Service is correct",
)
def linked_service_key_rejected(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "The store refused the account name or access key that the linked service gives: the "
        "key is wrong, was rotated, or is a read-only key where the activity writes",
        (
            "Check the account name and key in the linked service (or the Key Vault secret it "
            "reads) against the store's current keys.",
            "If the key was rotated, update the linked service or secret with the new one; use "
            "a read-write key where the activity writes.",
            "Test the linked service's connection, then rerun the pipeline.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "mysql_command_denied",
    "AuthenticationError DatabaseError",
    any_of(*signals.MYSQL_COMMAND_DENIED),
    example="java.sql.SQLSyntaxErrorException: INSERT command denied to user 'etl'@'10.1.2.3' "
    "for table 'orders'",
)
def mysql_command_denied(m: re.Match[str], ctx: Context) -> Finding:
    """A MySQL statement the connected account has no privilege for (errors 1142/1143)."""
    command = clean_value(m.group(1)).upper()
    user = clean_value(m.group(2))
    host = clean_value(m.group(3))
    column = clean_value(m.group(4) or "")
    table = clean_value(m.group(5) or "")
    account = f"'{user}'@'{host}'" if user else f"the anonymous account ''@'{host}'"
    on = f"column {quoted(column)} of table {quoted(table)}" if column else quoted(table)
    on = f" on {on}" if table else ""
    anonymous = (
        " The user name is empty: the server matched the connection to an anonymous account, "
        "so the configured user was not sent or does not exist for that host"
        if not user
        else ""
    )
    return Finding(
        f"MySQL refused the {command} statement{on} to {account}: the account logged in but "
        f"lacks the {command} privilege there (a missing grant on the table, column or "
        f"database).{anonymous}",
        (
            f"Grant the account {command} on the table (or the columns it reads), e.g. GRANT "
            f"{command} ON db.{table or 'table'} TO the account, or use an account that has it.",
            "Check the account MySQL matched (SELECT CURRENT_USER()): a host-specific or "
            "anonymous account may take precedence over the one intended.",
            "Rerun the sync or task once SHOW GRANTS lists the privilege.",
        ),
        0.75,
        transient=False,
    )
