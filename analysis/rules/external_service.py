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


@rule(
    "celery_command_failed",
    "ExternalServiceError",
    any_of(*signals.CELERY_COMMAND_FAILED),
    example="airflow.exceptions.AirflowException: Celery command failed on host: worker-3 with "
    "celery_task_id 0b6c2d1e-4f5a-4b7c-9d8e-1f2a3b4c5d6e (PID: 4242, Return Code: 256)",
)
def celery_command_failed(m: re.Match[str], ctx: Context) -> Finding:
    """A Celery worker's `airflow tasks run` for the task exited non-zero before the task
    reported an error of its own."""
    host = clean_value(m.group(1))
    code = m.group(2)
    status = ""
    if code:
        # os.system's wait status: the exit status is its high byte.
        value = int(code)
        status = f" with return code {code}" + (
            f" (exit status {value >> 8})" if value >= 256 and value % 256 == 0 else ""
        )
    return Finding(
        f"The Celery worker on host {quoted(host)} ran the task's `airflow tasks run` "
        f"command and it exited{status} before the task reported an error of its own: the "
        "task could not start or run on that worker (its DAG file failing to import there, a "
        "module, connection or variable missing on the worker, the process killed)",
        (
            f"Read the worker's log on {quoted(host)} for that celery_task_id: it shows why "
            "the command exited (an import error, a traceback, a kill).",
            "Check the worker has the same DAG files, packages and settings as the scheduler "
            "(image version, DAGs folder, environment variables).",
            "Clear the task once the worker can run it.",
        ),
        0.55,
        transient=None,
    )


@rule(
    "image_registry_unavailable",
    "ExternalServiceError",
    any_of(*signals.IMAGE_REGISTRY_UNAVAILABLE),
    example="failed to authorize: failed to fetch anonymous token: unexpected status from GET "
    "https://auth.docker.io/token?scope=repository:library/python:pull: 503 Service Unavailable",
)
def image_registry_unavailable(m: re.Match[str], ctx: Context) -> Finding:
    host = clean_value(m.group(1))
    where = f" {quoted(host)}" if host else ""
    return Finding(
        f"The container registry{where} answered {m.group(2)} (a server error) while "
        "Kubernetes pulled the pod's image, so the pod could not start (ErrImagePull): an "
        "outage or overload of the registry, not a wrong image name or credentials",
        (
            "Check the registry's status page; kubelet retries the pull on its own.",
            "Retry the task once the registry answers; give the task retries and a longer "
            "startup timeout to ride out short outages.",
            "For critical pipelines, mirror the image into a registry you run (or a pull-through "
            "cache) so a public registry outage does not stop pods from starting.",
        ),
        0.7,
        transient=True,
    )


@rule(
    "livy_request_failed",
    "ExternalServiceError",
    any_of(*signals.LIVY_REQUEST_FAILED),
    example='{"errorCode": "5000", "message": "Failed to send request to Livy due to '
    'exception=[Microsoft.Marlin.Common.Exception.LivyException].", "failureType": '
    '"UserError", "target": "Notebook1"}',
)
def livy_request_failed(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "The activity could not submit its notebook or Spark job to the Spark pool's Livy "
        "endpoint, so the job never started: the pool could not take a new session (no free "
        "vCores, its session limit reached, still starting or scaling) or Livy refused the "
        "request; this wrapper names no cause of its own",
        (
            "Open the activity run's output and the Spark pool's application list (Monitor > "
            "Apache Spark applications) at that time for the Livy error itself.",
            "Check the pool's free vCores and running sessions; stop idle sessions or raise the "
            "pool's size or the workspace's vCore quota.",
            "Check the pipeline's identity may submit to the pool (Synapse Compute Operator) and "
            "the job's settings fit the pool's node size.",
            "Rerun the activity once the pool can take the session.",
        ),
        0.5,
        transient=None,
    )


@rule(
    "synapse_spark_error_code",
    "ExternalServiceError ConfigurationError",
    any_of(*signals.SYNAPSE_STORAGE_OPERATION_FAILED, *signals.SYNAPSE_CLASS_NOT_FOUND),
    example="Spark_System_ABFS_OperationFailed: An operation with ADLS Gen2 has failed.",
)
def synapse_spark_error_code(m: re.Match[str], ctx: Context) -> Finding:
    """Synapse Spark's error classification codes, explained as Synapse's guide does."""
    if "abfs" in m.group(0).lower() or "adls" in m.group(0).lower():
        return Finding(
            "A read or write to ADLS Gen2 (abfss://) in the Spark job failed; Synapse reports "
            "this mostly when the identity running the job lacks the Storage Blob Data "
            "Contributor role on the storage account, or the path does not exist",
            (
                "Read the application's driver log (Monitor > Apache Spark applications > Logs) "
                "for the storage account, path and status code.",
                "Give the identity the job runs as (the workspace's managed identity for a "
                "pipeline, the user for a notebook) Storage Blob Data Contributor on that "
                "account, or fix the path.",
                "Rerun the job once it can reach the storage.",
            ),
            0.55,
            transient=False,
        )
    return Finding(
        "A class the job's code needs could not be found when it ran "
        "(NoClassDefFoundError): a JAR or package it depends on is not on the Spark pool's "
        "classpath (not in the workspace packages, the pool's packages or the job's reference "
        "files), or a dependency of another version is loaded",
        (
            "Read the driver log for the class's name and the JAR that should provide it.",
            "Add that JAR (and its dependencies) to the workspace packages for the pool, or to "
            "the job definition's reference files; build an assembly (fat) JAR for a batch job.",
            "Rerun the job once the pool has the dependency (package changes apply to new "
            "sessions).",
        ),
        0.55,
        transient=False,
    )


@rule(
    "hdfs_safe_mode",
    "ExternalServiceError ConfigurationError",
    any_of(*signals.HDFS_SAFE_MODE),
    example="org.apache.hadoop.ipc.RemoteException(org.apache.hadoop.hdfs.server.namenode."
    "SafeModeException): Cannot create file /tmp/out/part-0000. Name node is in safe mode.",
)
def hdfs_safe_mode(m: re.Match[str], ctx: Context) -> Finding:
    """An HDFS NameNode in safe mode, where the file system is read-only."""
    lowered = ctx.text.lower()
    if "turned on manually" in lowered:
        why = (
            "it was turned on manually (hdfs dfsadmin -safemode enter, by an operator or a "
            "maintenance script) and stays on until someone leaves it"
        )
        first = (
            "Ask the cluster's operators why safe mode was entered; once done, leave it with "
            "`hdfs dfsadmin -safemode leave`."
        )
        transient: bool | None = False
    elif "resources are low" in lowered:
        why = "the NameNode's own disk space ran low, so it entered safe mode to protect itself"
        first = "Free disk space on the NameNode's metadata volumes, then leave safe mode."
        transient = False
    else:
        wait = grab(ctx.text, r"turned off automatically in (\d{1,6} seconds?)")
        soon = f" (it was to leave it by itself in {wait})" if wait else ""
        why = (
            "the NameNode was starting or restarting and waits for its DataNodes to report "
            f"enough blocks before it allows writes{soon}; if DataNodes are missing it stays "
            "in safe mode"
        )
        first = (
            "Wait for the NameNode to leave safe mode (`hdfs dfsadmin -safemode get`); check "
            "the DataNodes are up if it does not."
        )
        transient = True
    return Finding(
        "The HDFS NameNode is in safe mode, where the file system is read-only, so the job "
        f"could not create or change files (its staging directory, a lease, its output): {why}",
        (
            first,
            "Have jobs that start right after a cluster start wait for HDFS to leave safe "
            "mode (`hdfs dfsadmin -safemode wait`).",
            "Rerun the job once the NameNode is out of safe mode.",
        ),
        0.7,
        transient=transient,
    )


@rule(
    "kafka_isr_below_minimum",
    "ExternalServiceError ConfigurationError",
    any_of(*signals.KAFKA_ISR_BELOW_MINIMUM),
    example="org.apache.kafka.common.errors.NotEnoughReplicasException: Messages are rejected "
    "since there are fewer in-sync replicas than required.",
)
def kafka_isr_below_minimum(m: re.Match[str], ctx: Context) -> Finding:
    """A Kafka produce refused for too few in-sync replicas of the partition."""
    counts = re.search(
        r"number of insync replicas for partition ([\w.-]{1,250}) is \[(\d{1,4})\], below "
        r"required minimum \[(\d{1,4})\]",
        ctx.text,
        re.IGNORECASE,
    )
    if counts:
        partition, in_sync, minimum = (clean_value(g) for g in counts.groups())
        state = (
            f"partition {quoted(partition)} had {in_sync} in-sync replica(s), below the "
            f"topic's min.insync.replicas of {minimum}"
        )
    else:
        state = (
            "the partition had fewer in-sync replicas than the topic's min.insync.replicas requires"
        )
    return Finding(
        f"The Kafka brokers refused the write because {state}, and the producer asks for "
        "acks=all: brokers holding replicas are down or lagging, or the topic's replication "
        "factor is no higher than min.insync.replicas (a single or two-broker cluster, an "
        "auto-created internal topic)",
        (
            "Check the brokers and the partition's ISR (kafka-topics --describe): bring down "
            "brokers back, or let lagging replicas catch up.",
            "Make the topic's replication factor exceed min.insync.replicas (or lower "
            "min.insync.replicas on a small cluster).",
            "The producer retries on its own; rerun the task once the ISR is back.",
        ),
        0.7,
        transient=True,
    )


@rule(
    "kafka_transaction_commit_failed",
    "ExternalServiceError ConfigurationError",
    any_of(*signals.KAFKA_TRANSACTION_COMMIT_FAILED),
    example="java.lang.IllegalStateException: Failed to commit KafkaCommittable{producerId=17, "
    "epoch=3, transactionalId=orders-sink-0-12}",
)
def kafka_transaction_commit_failed(m: re.Match[str], ctx: Context) -> Finding:
    """Flink's exactly-once Kafka sink failing to commit a prepared transaction."""
    txn = clean_value(m.group(1))
    return Finding(
        f"Flink's Kafka sink could not commit transaction {quoted(txn)}, which it had prepared "
        "for a checkpoint: the broker no longer holds it open, because it aborted it when "
        "transaction.timeout.ms ran out (the job was down or restoring longer than that "
        "timeout) or a newer producer with the same transactional id fenced it, or the broker "
        "does not support the transaction protocol the connector uses",
        (
            "Set the sink's transaction.timeout.ms above the longest checkpoint interval plus "
            "restart time (and within the broker's transaction.max.timeout.ms).",
            "Give each job a distinct transactional id prefix so jobs do not fence each other.",
            "Restart the job from its latest checkpoint; if the transaction is gone, its "
            "records were aborted and are replayed from the source.",
        ),
        0.6,
        transient=None,
    )


@rule(
    "livy_rpc_channel_closed",
    "ExternalServiceError ResourceExhaustion CodeError",
    any_of(*signals.LIVY_RPC_CHANNEL_CLOSED),
    example="Failed to invoke livy statement (Server error: (500) Internal Server Error): "
    '"java.lang.IllegalStateException: RPC channel is closed.',
)
def livy_rpc_channel_closed(m: re.Match[str], ctx: Context) -> Finding:
    """A Livy session whose RPC channel to its Spark driver has closed."""
    return Finding(
        "The Livy session's RPC channel to its Spark driver is closed: the driver behind the "
        "session has gone (it ran out of memory, for example after collecting a large result, "
        "was killed by the cluster manager, or the session timed out while idle), so Livy "
        "could not run the statement",
        (
            "Read the session's driver log (Livy's session log, the YARN or Spark UI) for why "
            "the driver stopped; an OutOfMemoryError there means the driver needs more memory "
            "(spark.driver.memory) or less data brought back to it.",
            "Raise the Livy session timeout (livy.server.session.timeout) if long pauses "
            "between statements end the session.",
            "Start a new session and rerun the statements; the old session cannot be reused.",
        ),
        0.7,
        transient=None,
    )
