"""Failures of a called service: throttling, HTTP 5xx, cloud provider errors, resources not
ready."""

from __future__ import annotations

import re

from analysis import signals
from analysis.rules.base import Context, Finding, rule
from analysis.rules.extract import clean_value, grab, message_field, quoted
from analysis.signals import any_of


@rule(
    "throttled",
    "ExternalServiceError ResourceExhaustion",
    any_of(r"\b429\b", *signals.THROTTLED),
    example=("hubspot.crm.contacts.exceptions.ApiException: (429)\nReason: Too Many Requests"),
)
def throttled(m: re.Match[str], ctx: Context) -> Finding:
    lowered = ctx.text.lower()
    service = grab(ctx.text, r"service: ([\w ]+?)[;,)]", r"https?://([\w-]+(?:\.[\w-]+)+)")
    if not service and ("s3" in lowered or "slow down" in lowered):
        service = "Amazon S3"
    retry = grab(ctx.text, r"retry after (\d+ ?\w*)", r"retry-after:? ?(\d+)")
    cause = "the service " + (f"{service} " if service else "") + "throttled the pipeline "
    # AWS answers some throttling with a 400 (DynamoDB, Kinesis): no 429 is claimed for those.
    cause += "(HTTP 429 / rate limit)" if re.search(r"\b429\b", ctx.text) else "(rate limit)"
    stated = grab(
        ctx.text,
        r"([\w ]{1,40}\bis over the (?:account|partition) limit)",
        r"(request rate is large)",
        r"\b(rate exceeded(?: for shard [\w-]+)?)",
        r"(provisioned throughput for the \w+ was exceeded)",
        # `\b`: a word is read from its start, not retried from each of its characters.
        r"\b(\w+ qps (?:limit )?(?:exceeded|reached))",
        r"\[(\w*(?:toomanyrequests|ratelimit|throttl)\w*)\]",
    )
    if stated:
        cause += f": {stated}"
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
    return Finding(cause, tuple(recs), 0.7, transient=True)


@rule(
    "no_storage_nodes",
    "ExternalServiceError ResourceExhaustion",
    any_of(*signals.NO_STORAGE_NODES),
    example=(
        "java.io.IOException: File /checkpoints/chk-1/part-0 could only be written to 0 of the 1 "
        "minReplication nodes. There are 0 datanode(s) running and 0 node(s) are excluded in "
        "this operation."
    ),
)
def no_storage_nodes(m: re.Match[str], ctx: Context) -> Finding:
    running = grab(ctx.text, r"there are (\d+) datanode\(s\) running")
    if "could only be" not in ctx.text.lower() and running != "0":
        # A read: no live datanode holds a copy of one of the file's blocks.
        block = grab(ctx.text, r"could not obtain (?:the last )?block:? ([\w.:-]+)")
        path = grab(ctx.text, r"\bfile=(\S+)")
        cause = "HDFS could not read " + (f"block {block}" if block else "a block")
        cause += f" of file {path}" if path else " of the file"
        cause += ": no live datanode holds a copy (datanodes down, or the block lost)"
        return Finding(
            cause,
            (
                "Check the datanodes' state in the namenode UI (hdfs dfsadmin -report) and "
                "restart the dead ones that hold the block.",
                "Run hdfs fsck on the file's path to see whether the block is missing or "
                "corrupt; if it is lost, restore or regenerate the file.",
                "Rerun the failed run once fsck reports the file healthy.",
            ),
            0.7,
            transient=False,
        )
    cause = "HDFS could not place the file's block on any datanode"
    if running == "0":
        cause += ": no datanode is running"
    elif running:
        cause += f": {running} datanode(s) are running but none could take the block (full "
        cause += "disks, excluded or unreachable datanodes)"
    return Finding(
        cause,
        (
            "Check the datanodes' state in the namenode UI (hdfs dfsadmin -report): live, dead, "
            "decommissioning.",
            "Start or restore the datanodes, and check their free disk space and that the client "
            "can reach their data port.",
            "Rerun the failed run once the datanodes report live.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "lambda_invoke_failed",
    "ExternalServiceError",
    any_of(*signals.LAMBDA_INVOKE_FAILED),
    example=(
        '{"error": "States.TaskFailed", "cause": "An attempt was made to invoke the Lambda '
        "function. Step Functions cannot determine whether Lambda successfully received the "
        'call and executed the function."}'
    ),
)
def lambda_invoke_failed(m: re.Match[str], ctx: Context) -> Finding:
    cause = (
        "the AWS Lambda invocation of a Step Functions task failed on Lambda's side (the service "
        "could not confirm or complete the invoke)"
    )
    if "sdkclientexception" in ctx.text.lower():
        # The caller's SDK failed to reach Lambda or read its answer: not Lambda's own error.
        cause = (
            "the AWS Lambda invocation failed before Lambda answered "
            "(Lambda.SdkClientException: the caller could not reach Lambda or read its answer)"
        )
    return Finding(
        cause,
        (
            "Add a Retry on Lambda.ServiceException, Lambda.AWSLambdaException, "
            "Lambda.SdkClientException and States.TaskFailed with backoff to the task state.",
            "Make the function idempotent so a retried invoke is safe.",
            "Check the AWS Health dashboard for a Lambda incident in the region at that time.",
        ),
        0.6,
        transient=True,
    )


@rule(
    "http_5xx",
    "ExternalServiceError",
    any_of(r"\b(50[0234])\b", *signals.HTTP_5XX, r"internal ?server ?error"),
    example="Status: 503 (The server is busy.)\nErrorCode: ServerBusy",
)
def http_5xx(m: re.Match[str], ctx: Context) -> Finding:
    status = grab(ctx.text, r"\b(50[0234])\b") or clean_value(m.group(0))
    service = grab(ctx.text, r"https?://([\w-]+(?:\.[\w-]+)+)", r"azure function '([^']+)'")
    target = f" {service}" if service else ""
    return Finding(
        f"the external service{target} returned a server error ({status})",
        (
            "Check the provider's status page or service health for an incident at that time.",
            "Retry with exponential backoff; make the step idempotent so retries are safe.",
            "If it persists, capture the request id from the error and contact the provider.",
            "Consider a circuit breaker or fallback so one failing API does not fail the whole "
            "pipeline.",
        ),
        0.6,
        transient=True,
    )


# Provider codes that name a limit, policy or registration of the account (deterministic).
_SETUP_CODE = re.compile(
    r"limit|quota|policy|disallowed|notregistered|registration|invalid|notfound|denied|forbidden",
    re.IGNORECASE,
)


@rule(
    "cloud_capacity",
    "ExternalServiceError ResourceExhaustion",
    r"allocationfailed|sufficient capacity|skunotavailable|zonalallocationfailed"
    r"|bootstrap failure|add_nodes_failed|cloud provider launch failure",
    example=(
        "ADD_NODES_FAILED: Unable to add 1 container to the cluster. Will "
        "attempt to retry: false. Reason: Unexpected startup failure. Internal "
        "error message: Timeout while placing nodes."
    ),
)
def cloud_capacity(m: re.Match[str], ctx: Context) -> Finding:
    code = grab(ctx.text, r"azure error code: (\w+)", r"code: ([A-Z_]{6,})")
    cause = "the cloud provider could not start the cluster's machines"
    cause += f" ({code})" if code else ""
    detail = grab(ctx.text, r"internal error message: ([^.\n]+)")
    cause += f": {detail[:1].lower()}{detail[1:]}" if detail else ""
    if _SETUP_CODE.search(code):
        # A limit, policy or registration of the account: it fails the same way until changed.
        return Finding(
            cause + ": a limit or policy of the subscription, not a capacity shortage",
            (
                f"Read the provider's message for {code}: it names the limit, policy or "
                "registration that blocked the launch.",
                "Raise the limit (Azure portal: Usage + quotas, or a quota request), or change "
                "the policy or registration that blocks it, for this region.",
                "Until then use a node type or region the subscription allows.",
                "Rerun after the change; retrying without it fails the same way.",
            ),
            0.65,
            transient=False,
        )
    return Finding(
        cause,
        (
            "Retry later: capacity and bootstrap failures are usually transient on the "
            "provider's side.",
            "Use another VM size or availability zone/region if the capacity shortage persists.",
            "Use instance pools or on-demand (not spot) nodes for critical jobs.",
            "Check the provider's service health for the region at that time.",
        ),
        0.6,
        transient=True,
    )


@rule(
    "service_not_ready",
    "ExternalServiceError",
    r"temporarily unavailable|not (?:fully )?initialized yet|(?:try|retry) (?:again )?later"
    r"|currently unavailable|outage",
    example=(
        "INTERNAL_ERROR: Unexpected error while launching cluster. Please try "
        "again later. If the problem persists, contact Databricks support."
    ),
)
def service_not_ready(m: re.Match[str], ctx: Context) -> Finding:
    detail = message_field(ctx.text)
    cause = "the called service was temporarily unavailable or not ready"
    if detail:
        cause += f" ({detail})"
    return Finding(
        cause,
        (
            "Retry the run after a short wait; the service asked for a later retry.",
            "Add a retry policy with backoff to the activity or task so this heals itself.",
            "Check the service's status page or health for an incident at that time.",
            "If it happens at the same time every day, move the schedule away from the "
            "service's busy or maintenance window.",
        ),
        0.6,
        transient=True,
    )


@rule(
    "snowflake_incident",
    "ExternalServiceError",
    any_of(*signals.SNOWFLAKE_INCIDENT),
    example=(
        "000603 (XX000): SQL execution internal error: Processing aborted due to error "
        "300002:2523236925; incident 4217519."
    ),
)
def snowflake_incident(m: re.Match[str], ctx: Context) -> Finding:
    code, incident = clean_value(m.group(1)), clean_value(m.group(2))
    return Finding(
        f"Snowflake failed internally while running the statement (error {code}, incident "
        f"{incident}): a fault on Snowflake's side, not in the SQL or the data it was given",
        (
            "Rerun the statement; most such incidents do not repeat.",
            f"If it fails again the same way, open a Snowflake support case quoting error "
            f"{code}, incident {incident} and the query id.",
            "Check Snowflake's status page for the account's region at the time of the failure.",
        ),
        0.65,
        transient=True,
    )


@rule(
    "spark_connect_session_gone",
    "ExternalServiceError TimeoutError DatabaseError",
    any_of(*signals.SPARK_CONNECT_SESSION_GONE),
    example=(
        "pyspark.errors.exceptions.connect.SparkConnectGrpcException: (org.apache.spark."
        "SparkSQLException) [INVALID_HANDLE.SESSION_CLOSED] The handle 8936cdaa is invalid. "
        "Session was closed. SQLSTATE: HY000"
    ),
)
def spark_connect_session_gone(m: re.Match[str], ctx: Context) -> Finding:
    state = clean_value(m.group(1)).upper()
    return Finding(
        f"the Spark Connect server no longer knows the client's session or operation "
        f"(INVALID_HANDLE.{state}): the cluster restarted or terminated, or the session was "
        "closed after being idle, while the client still held it",
        (
            "Create a new session (DatabricksSession.builder...getOrCreate() again, or "
            "reconnect the notebook/IDE) and rerun.",
            "Check the cluster's event log for a restart or auto-termination at that time, and "
            "raise the auto-termination period if long idle gaps are expected.",
            "For jobs, let each run open its own session instead of reusing one across runs.",
        ),
        0.65,
        transient=True,
    )


@rule(
    "msdtc_unavailable",
    "ExternalServiceError DatabaseError",
    any_of(*signals.MSDTC_UNAVAILABLE),
    example="Failed to execute query. Error: MSDTC on server 'SQLPROD01' is unavailable",
)
def msdtc_unavailable(m: re.Match[str], ctx: Context) -> Finding:
    server = clean_value(next((g for g in m.groups() if g), ""))
    where = f" on server {quoted(server)}" if server else ""
    return Finding(
        f"the Distributed Transaction Coordinator (MSDTC){where} did not answer, so the "
        "distributed query or transaction could not start: the coordinator service, not the "
        "query's SQL",
        (
            "Check that the Distributed Transaction Coordinator service is running on the "
            "server named in the error (and on linked servers the transaction spans); start or "
            "restart it.",
            "For an Azure Synapse dedicated SQL pool, pause and resume the pool; open a support "
            "case if it repeats.",
            "Check that MSDTC network access and its firewall ports are allowed between the "
            "servers taking part.",
            "Rerun once the coordinator answers.",
        ),
        0.65,
        transient=True,
    )
