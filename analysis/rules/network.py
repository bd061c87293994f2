"""Network failures: DNS, TLS, refused, reset or blocked connections, a Celery worker's lost
broker, unreachable hosts, file shares and runtimes.
"""

from __future__ import annotations

import re

from analysis import signals
from analysis.rules.base import Context, Finding, rule
from analysis.rules.extract import clean_value, find_host, grab, platform_of, quoted
from analysis.signals import any_of


@rule(
    "dns_failure",
    "NetworkError DatabaseError ConfigurationError",
    any_of(*signals.DNS_FAILURE, r"no such host is known"),
    example=(
        'could not translate host name "airflow-pgbouncer.airflow" to address: '
        "Name or service not known"
    ),
)
def dns_failure(m: re.Match[str], ctx: Context) -> Finding:
    host = find_host(ctx.text)
    target = f"host {host}" if host else "the target host name"
    transient = "temporary failure" in ctx.text.lower()
    cause = f"DNS resolution failed for {target}"
    if transient:
        cause += " (temporary resolver failure)"
    return Finding(
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


_NAME_MISMATCH = re.compile(
    r"expected dns identity of the remote endpoint was '([^']+)' but the remote endpoint "
    r"provided dns claim '([^']+)'|(?:hostname|name) mismatch|does(?:n't| not) match any of the "
    r"subject alternative names|certificate is not valid for",
    re.IGNORECASE,
)


def _certificate_name_mismatch(text: str) -> str | None:
    """When the message says the certificate was issued for another name: the names, as
    " (expected x, certificate names y)", or "" when it gives none; otherwise None."""
    match = _NAME_MISMATCH.search(text)
    if not match:
        return None
    if not match.group(1):
        return ""
    expected, claimed = clean_value(match.group(1)), clean_value(match.group(2))
    return f" (expected {expected}, certificate names {claimed})"


@rule(
    "tls_failure",
    "NetworkError ConfigurationError DatabaseError",
    any_of(*signals.TLS_FAILURE),
    example=("ssl.SSLError: [SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1123)"),
)
def tls_failure(m: re.Match[str], ctx: Context) -> Finding:
    host = find_host(ctx.text)
    target = f" to {host}" if host else ""
    lowered = ctx.text.lower()
    if "expired" in lowered:
        detail = "the server certificate has expired"
    elif "self" in lowered and "signed" in lowered:
        detail = "the server presents a self-signed certificate"
    elif "wrong_version_number" in lowered:
        detail = "the endpoint does not speak TLS on that port (wrong port or proxy)"
    elif (name := _certificate_name_mismatch(ctx.text)) is not None:
        detail = f"the certificate is not issued for the name the client expects{name}"
    elif "handshake_failure" in lowered or "fatal alert" in lowered:
        detail = (
            "the server ended the TLS handshake (handshake_failure: no TLS version or cipher "
            "suite both sides accept, or a client certificate the server requires)"
        )
    elif "revocation" in lowered:
        detail = (
            "the client could not verify the certificate chain (its revocation check could not "
            "reach the CRL or OCSP server)"
        )
    else:
        detail = "the client does not trust the server certificate chain"
    if "wrong_version_number" in lowered:
        first = (
            "Check the port and protocol in the connection (https on an http port, or a proxy "
            "answering in plain text)."
        )
    elif "handshake_failure" in lowered or "fatal alert" in lowered:
        first = (
            "Compare the TLS versions and cipher suites the client's runtime or driver offers "
            "with those the server accepts (update the driver or JVM, or enable TLS 1.2+), and "
            "whether the server requires a client certificate."
        )
    else:
        first = (
            "Add the issuing CA (root and intermediates) to the runtime's trust store "
            "(JVM cacerts, certifi bundle or OS store) on the worker or cluster."
        )
    return Finding(
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
        transient=False,
    )


@rule(
    "connection_refused",
    "NetworkError DatabaseError",
    any_of(*signals.CONNECTION_REFUSED),
    example=(
        "clickhouse_driver.errors.NetworkError: Code: 210. Connection refused (clickhouse:9000)"
    ),
)
def connection_refused(m: re.Match[str], ctx: Context) -> Finding:
    host = find_host(ctx.text)
    # Not a log timestamp's minutes or seconds ("14:22:47"), its UTC offset's minutes
    # ("+00:00", "-07:00") or a bare clock time's ("at 12:30").
    port = grab(
        ctx.text,
        r"port (\d{2,5})",
        r"(?<!\d\d:\d\d)(?<!\d[+-]\d\d)(?<![^\w.-]\d\d)(?<!^\d\d):(\d{2,5})\b(?!:\d)",
    )
    target = host + (f":{port}" if port else "") if host else "the target service"
    if not host and port:
        # The host is masked or unnamed ("Connection refused: /xx.xx.x.xx:9042"); the port
        # still says which service.
        target = f"the target service on port {port}"
    return Finding(
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


# Where the pipeline's code runs, per platform, for advice about its network.
_RUNTIME = {
    "adf": "the integration runtime",
    "databricks": "the Databricks cluster",
    "airflow": "the Airflow workers",
}


@rule(
    "firewall_blocked",
    "NetworkError DatabaseError",
    any_of(
        r"client with ip address '([\d.]+)' is not allowed",
        r"\bip(?: address)? '?([\d.]+|[0-9a-f]*:[0-9a-f:]+)'? is not allowed to access",
        r"sqlerrornumber=47073",
        *signals.FIREWALL_BLOCKED,
    ),
    example=(
        "Cannot open server 'sqlsrv-prod' requested by the login. Client with IP "
        "address '20.50.1.7' is not allowed to access the server. To enable "
        "access, use the Azure Management Portal or run sp_set_firewall_rule on "
        "the master database to create a firewall rule for this IP address or "
        "address range."
    ),
)
def firewall_blocked(m: re.Match[str], ctx: Context) -> Finding:
    ip = clean_value(next((g for g in m.groups() if g), ""))
    host = find_host(ctx.text)
    runtime = _RUNTIME.get(platform_of(ctx.source), "the runtime")
    who = f"client IP {ip}" if ip else f"the network of {runtime}"
    return Finding(
        f"the server firewall{' of ' + host if host else ''} blocks {who}",
        (
            f"Add {who} (or the outbound range of {runtime}) to the server firewall rules.",
            f"Prefer a private endpoint or a virtual network for {runtime} so it does not need "
            "public access.",
            "If public access was disabled on purpose, run the pipeline from inside the allowed "
            "network.",
            "Test the connection, then rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "proxy_refused",
    "NetworkError",
    any_of(*signals.PROXY_REFUSED),
    example="The remote server returned an error: (407) Proxy Authentication Required.",
)
def proxy_refused(m: re.Match[str], ctx: Context) -> Finding:
    runtime = _RUNTIME.get(platform_of(ctx.source), "the runtime")
    tunnel = "tunnel" in m.group().lower()
    answered = "refused the tunnel" if tunnel else "asks for credentials (HTTP 407)"
    return Finding(
        f"the outbound proxy between {runtime} and the target {answered}",
        (
            f"Give {runtime} the proxy's credentials (or an exemption for the target's host) in "
            "its proxy settings.",
            "Or bypass the proxy for the target (NO_PROXY, or a private endpoint).",
            "Test the connection through the proxy, then rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "connection_reset",
    "NetworkError",
    any_of(*signals.CONNECTION_RESET),
    example="ConnectionResetError: [Errno 104] Connection reset by peer",
)
def connection_reset(m: re.Match[str], ctx: Context) -> Finding:
    host = find_host(ctx.text)
    target = f" by {host}" if host else " by the remote side"
    return Finding(
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
        transient=True,
    )


@rule(
    "celery_broker_lost",
    "NetworkError ExternalServiceError",
    any_of(*signals.CELERY_BROKER_LOST),
    example=(
        "[2023-07-09 01:07:58,950: WARNING/MainProcess] consumer: Connection to broker lost. "
        "Trying to re-establish the connection..."
    ),
)
def celery_broker_lost(m: re.Match[str], ctx: Context) -> Finding:
    transport = grab(ctx.text, r"kombu/transport/(redis|pyamqp|amqp|sqs|librabbitmq)\b")
    broker = {"redis": "Redis", "sqs": "SQS"}.get(transport, "RabbitMQ" if transport else "")
    which = f"message broker ({broker})" if broker else "message broker"
    return Finding(
        f"the Celery worker lost its connection to the {which}: the broker restarted or "
        "was unreachable, or an idle connection was closed between them",
        (
            "Check the broker's availability, restarts and memory at that time, and the "
            "network path from the workers to it.",
            "Let a dead broker connection be noticed and reopened: for Redis, "
            "broker_transport_options socket_timeout and health_check_interval; for "
            "RabbitMQ, broker_heartbeat.",
            "Tasks in flight may be redelivered or left queued: check their state, then clear "
            "or rerun the failed ones.",
        ),
        0.6,
        transient=True,
    )


@rule(
    "network_share_unreachable",
    "NetworkError DataError",
    any_of(*signals.NETWORK_PATH_NOT_FOUND),
    example=(
        "ErrorCode=UserErrorFileNotFound,'Type=Microsoft.DataTransfer.Common.Shared."
        "HybridDeliveryException,Message=Cannot find the 'File System' folder. Folder path: "
        "'\\\\fs01\\exports\\daily'.,Source=Microsoft.DataTransfer.ClientLibrary,''Type="
        "System.IO.IOException,Message=The network path was not found.,Source=mscorlib,'"
    ),
)
def network_share_unreachable(m: re.Match[str], ctx: Context) -> Finding:
    # A UNC path (\\host\share\...): the host and share are named apart, since a quoted
    # path loses its backslashes.
    host = grab(ctx.text, r"\\\\([\w.-]{1,253})\\")
    share = grab(ctx.text, r"\\\\[\w.-]{1,253}\\([^\\'\"\s,]{1,100})")
    target = "the Windows file share"
    target += f" {quoted(share)}" if share else ""
    target += f" on host {quoted(host)}" if host else ""
    lowered = ctx.text.lower()
    on_ir = "integration runtime" in lowered or "microsoft.datatransfer" in lowered
    machine = "the self-hosted integration runtime node" if on_ir else "the machine that ran it"
    return Finding(
        f"{target} could not be reached from {machine}: the host is down or renamed, its name "
        "does not resolve there, or SMB (port 445) is blocked on the way",
        (
            f"From {machine}, open the share path as the account the job runs as (Test-Path or "
            "net use) to see whether the host answers.",
            "Check that the host name resolves there and that the share still exists under that "
            "name.",
            "Allow SMB (TCP 445) from that machine to the file server through Windows Firewall and "
            "any network firewall.",
            "Rerun once the share is reachable.",
        ),
        0.65,
    )


@rule(
    "self_hosted_ir",
    "NetworkError ExternalServiceError",
    r"integration runtime .{0,80}(?:failed to connect|offline|network|not online|unavailable)",
    example=(
        "ErrorCode=UserErrorFailedToConnectToSelfHostedIR,'Type=...,Message=Self-"
        "hosted integration runtime 'SHIR-01' is offline.,'"
    ),
)
def self_hosted_ir(m: re.Match[str], ctx: Context) -> Finding:
    ir = grab(ctx.text, r"integration runtime '([^']+)'")
    endpoint = grab(ctx.text, r"failed to connect to ([\w-]+(?:\.[\w-]+)+)")
    name = (
        f"self-hosted integration runtime {quoted(ir)}"
        if ir
        else "the self-hosted integration runtime"
    )
    return Finding(
        f"{name} could not reach the Data Factory cloud service"
        + (f" ({endpoint})" if endpoint else ""),
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


@rule(
    "driver_unreachable",
    "NetworkError ResourceExhaustion",
    r"failed to reach the driver|driver_?unreachable"
    r"|driver (?:is )?(?:unreachable|unresponsive|not responding)",
    example=("Run result unavailable: job failed with error message Failed to reach the driver"),
)
def driver_unreachable(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
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


@rule(
    "host_unreachable",
    "NetworkError",
    any_of(*signals.HOST_UNREACHABLE),
    example="OSError: [Errno 113] No route to host",
)
def host_unreachable(m: re.Match[str], ctx: Context) -> Finding:
    host = find_host(ctx.text)
    port = grab(ctx.text, r"port (\d{2,5})")
    target = (host + (f":{port}" if port else "")) if host else "the target"
    return Finding(
        f"host {target} is unreachable from the runtime (no network route)",
        (
            f"Check routing, VPN or peering between the runtime and {target}.",
            "Check network security groups and firewalls for a rule that rejects the traffic.",
            "Verify the host's address has not changed (DNS pointing to a retired IP).",
            "Rerun once connectivity is restored.",
        ),
        0.65,
    )


@rule(
    "request_send_failed",
    "NetworkError ExternalServiceError",
    r"error occurred while sending the request|unable to connect to the remote server"
    r"|connected party did not properly respond|connected host has failed to respond",
    example=(
        "OSError: [WinError 10060] A connection attempt failed because the "
        "connected party did not properly respond after a period of time"
    ),
)
def request_send_failed(m: re.Match[str], ctx: Context) -> Finding:
    host = find_host(ctx.text)
    peer = grab(ctx.text, r"failed to respond ([\d.]+:\d+)")
    target = host or peer
    target_text = f" to {target}" if target else ""
    platform = platform_of(ctx.source)
    runtime = _RUNTIME.get(platform, "the integration runtime or worker")
    proxy = (
        "If a self-hosted integration runtime is used, check its network and proxy configuration."
        if platform in ("adf", "")
        else f"Check the proxy and outbound network configuration of {runtime}."
    )
    return Finding(
        f"the request{target_text} could not be sent: the connection failed or the remote "
        "side did not answer",
        (
            f"Check network reachability{target_text} from {runtime} (firewall, private "
            "endpoint, proxy).",
            proxy,
            "Retry the run: interruptions of this kind are usually transient.",
            "Add a retry policy to the activity or task.",
        ),
        0.6,
        transient=True,
    )


@rule(
    "ftp_data_connection",
    "NetworkError ConfigurationError",
    any_of(*signals.FTP_DATA_CONNECTION),
    example=(
        "Failed to read data from ftp: The remote server returned an error: 227 Entering "
        "Passive Mode (*,*,*,*,*,*)."
    ),
)
def ftp_data_connection(m: re.Match[str], ctx: Context) -> Finding:
    passive = "passive" in m.group(0).lower() or m.group(0).strip().startswith("227")
    reply = "the passive-mode reply 227" if passive else "reply 425"
    host = find_host(ctx.text)
    server = f"the FTP server {quoted(host)}" if host else "the FTP server"
    return Finding(
        f"the client logged in to {server}, but the separate data connection for the transfer "
        f"could not be opened (after {reply}): the data ports the server hands out (passive "
        "mode, usually 1024-65535 or a range the server sets) are blocked by a firewall between "
        "the runtime and the server, or the server advertises an address the runtime cannot "
        "reach",
        (
            "Open the server's passive port range to the runtime's outbound IPs (self-hosted "
            "integration runtime or Azure IR addresses, Airflow workers) in the server's and "
            "your own firewall.",
            "Check the address in the 227 reply: a server behind NAT must advertise its public "
            "address for passive mode.",
            "Test a directory listing and a download from the runtime's host; a login that "
            "works while listings hang is this same data-port block.",
            "Rerun once the ports are open; retries through the same firewall fail the same way.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "ocsp_check_failed",
    "NetworkError DatabaseError ExternalServiceError",
    any_of(*signals.OCSP_CHECK_FAILED),
    example=(
        "snowflake.connector.errors.OperationalError: 254007: Response is unreliable. Its "
        "validity date is out of range"
    ),
)
def ocsp_check_failed(m: re.Match[str], ctx: Context) -> Finding:
    host = find_host(ctx.text)
    to = f" to {host}" if host else ""
    return Finding(
        f"the client could not check the server certificate's revocation by OCSP{to} (no or "
        "an out-of-date OCSP response), so it would not trust the TLS connection: the OCSP "
        "responder's reachability or the host's clock, not the credentials",
        (
            "Check that the host can reach the certificate authorities' OCSP responders (HTTP "
            "port 80 through the proxy or firewall, e.g. ocsp.digicert.com).",
            "Check the host's clock (NTP): a skewed clock makes a valid OCSP response look out "
            "of its validity range.",
            "Upgrade the driver (Snowflake connectors fail open on OCSP errors by default in "
            "recent versions); disable OCSP checks only as a last, temporary resort.",
            "Rerun once the OCSP check passes.",
        ),
        0.65,
        transient=None,
    )


@rule(
    "es_hadoop_no_nodes",
    "NetworkError",
    any_of(*signals.ES_HADOOP_NO_NODES),
    example="org.elasticsearch.hadoop.rest.EsHadoopNoNodesLeftException: Connection error (check "
    "network and/or proxy settings)- all nodes failed; tried [[es-data-1:9200]]",
)
def es_hadoop_no_nodes(m: re.Match[str], ctx: Context) -> Finding:
    """elasticsearch-hadoop (the Spark, Hive and MapReduce connector) reaching no node."""
    tried = grab(ctx.text, r"all nodes failed; tried \[\[([^\]\n]{1,300})\]\]")
    nodes = f" (it tried {clean_value(tried, 160)})" if tried else ""
    return Finding(
        f"The Elasticsearch connector (elasticsearch-hadoop) could not reach any Elasticsearch "
        f"node{nodes}: the nodes are down or the address or port (es.nodes, es.port) is wrong, "
        "a firewall or proxy blocks the workers, or the connector discovered the cluster's "
        "internal node addresses, which the workers cannot reach (a cloud or container cluster "
        "needs es.nodes.wan.only=true)",
        (
            "From a worker node, check the address answers (curl http://<node>:9200).",
            "Set es.nodes and es.port to an address the workers reach; for Elastic Cloud, "
            "Docker or Kubernetes clusters set es.nodes.wan.only=true (and es.net.ssl with "
            "credentials where required).",
            "Rerun the job once the workers can reach Elasticsearch.",
        ),
        0.7,
        transient=None,
    )


@rule(
    "cassandra_unreachable",
    "NetworkError DatabaseError",
    any_of(*signals.CASSANDRA_UNREACHABLE),
    example="java.io.IOException: Failed to open native connection to Cassandra at {10.0.3.7}:9042",
)
def cassandra_unreachable(m: re.Match[str], ctx: Context) -> Finding:
    """The Spark Cassandra connector reaching none of its contact points."""
    hosts = clean_value(m.group(1), 120)
    port = clean_value(m.group(2))
    return Finding(
        f"The Spark Cassandra connector could not open a connection to Cassandra at {hosts} "
        f"on port {port} (the CQL native port): the nodes are down or not listening there "
        "(rpc_address / native_transport_port), the address in spark.cassandra.connection.host "
        "is wrong, or a firewall blocks the port from the Spark workers",
        (
            f"From a worker, check the port answers (cqlsh {hosts} {port}, or nc -z).",
            "Set spark.cassandra.connection.host (and .port) to addresses the workers reach; "
            "check the nodes' rpc_address / broadcast_rpc_address advertise them.",
            "Rerun the job once the workers can reach the nodes.",
        ),
        0.7,
        transient=None,
    )


@rule(
    "kafka_broker_transport_failure",
    "NetworkError",
    any_of(*signals.KAFKA_BROKER_TRANSPORT_FAILURE),
    example="ERROR:  [pipeline_kafka] msg_stream <- events (PID 4522): failed to acquire "
    "metadata: Local: Broker transport failure",
)
def kafka_broker_transport_failure(m: re.Match[str], ctx: Context) -> Finding:
    """A librdkafka client that lost, or could not open, its connection to a Kafka broker."""
    return Finding(
        "The Kafka client (librdkafka) reported a broker transport failure: its TCP "
        "connection to the broker was refused, reset or never opened, so it could not fetch "
        "metadata or exchange messages. The usual causes are a wrong bootstrap.servers "
        "address or port, a broker that is down or restarting, a listener the client cannot "
        "reach (advertised.listeners naming an internal host), or a client speaking plaintext "
        "to a TLS/SASL listener",
        (
            "Check that the brokers in bootstrap.servers are up and that this host reaches "
            "them on that port (nc -vz <broker> <port>).",
            "Compare the broker's advertised.listeners with the address the client connects "
            "to, and security.protocol with the listener's (PLAINTEXT, SSL, SASL_SSL).",
            "Rerun once the broker answers; a restart of the broker passes on its own.",
        ),
        0.7,
        transient=True,
    )
