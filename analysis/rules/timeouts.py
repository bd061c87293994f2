"""Time limits: Airflow DAG run, task and sensor timeouts, SLA misses and DAG files parsed
past their timeout, query, connect and read timeouts, broadcast timeouts, an HTTP call or a Kafka
metadata request that timed out, a Kafka consumer over its poll interval, work that stopped
making progress (an expired Flink checkpoint, a stuck job), a query the engine expired, a pool or
cluster that did not start in time.
"""

from __future__ import annotations

import re

from analysis import signals
from analysis.rules.base import Context, Finding, rule
from analysis.rules.extract import (
    clean_value,
    find_duration,
    find_host,
    grab,
    platform_of,
    quoted,
    setting_named,
)
from analysis.signals import any_of


@rule(
    "library_install_timeout",
    "TimeoutError ConfigurationError",
    r"library installation timed out|libraries that are not yet installed",
    example="Library installation timed out after 1800 seconds. Libraries that are not yet "
    "installed: jar: dbfs:/FileStore/jars/events-udf.jar",
)
def library_install_timeout(m: re.Match[str], ctx: Context) -> Finding:
    # The cluster's libraries, not the task's own work: no timeout of the job to raise.
    duration = find_duration(ctx.text)
    library = grab(ctx.text, r"not yet installed:\s*([^\n]{1,200}?)\.?(?:\n|$)")
    cause = "the cluster's libraries did not finish installing in time"
    cause += f" ({duration})" if duration else ""
    cause += f", so the task never started; still installing: {quoted(library)}" if library else ""
    return Finding(
        cause,
        (
            "Read the cluster's event log and Libraries tab for the library that stalled (a slow "
            "or unreachable package repository, Maven dependency resolution, a large file).",
            "Keep the library where the cluster reads it quickly (a workspace file, a volume or "
            "DBFS) or install it ahead (an init script, a container image, a cluster policy).",
            "For runs that must start on time, use a pool or a cluster that has it installed.",
            "Repair the run: a repository that was slow for a while usually installs on a retry.",
        ),
        0.65,
        transient=True,
    )


@rule(
    "dagrun_timeout",
    "TimeoutError",
    any_of(*signals.DAGRUN_TIMEOUT),
    example="DAG run scheduled__2025-12-10T00:00:00+00:00 failed (timed_out): the run took longer "
    "than the DAG's dagrun_timeout; Airflow skipped the tasks it had not finished.",
)
def dagrun_timeout(m: re.Match[str], ctx: Context) -> Finding:
    # The run as a whole, not a task: the DAG's dagrun_timeout, not a task's execution_timeout.
    run = grab(ctx.text, r"dag run (\S{1,250}) failed \(timed_out\)", r"\brun (\S{1,250}) of ")
    dag = grab(ctx.text, r"\bof ([\w.-]{1,250}) has timed-out")
    cause = "the DAG run" + (f" {run}" if run else "") + (f" of {quoted(dag)}" if dag else "")
    cause += (
        " took longer than the DAG's dagrun_timeout, so Airflow failed the run and skipped the "
        "tasks it had not finished"
    )
    return Finding(
        cause,
        (
            "Find what held the run up in its Grid view: a task that ran much longer than usual "
            "or hung, a sensor still waiting, or tasks that sat queued or scheduled.",
            "Tasks that waited to start point at too little parallelism: the pool's slots, the "
            "DAG's max_active_tasks and max_active_runs, the executor's parallelism or workers.",
            "Check the schedule against the run time: a run longer than the interval between "
            "runs makes the next runs wait behind it or overlap it.",
            "Give slow tasks an execution_timeout and sensors a timeout (mode='reschedule' or "
            "deferrable) so one task cannot hold the whole run; raise dagrun_timeout only if "
            "the longer run is expected.",
            "Clear the run's skipped and failed tasks once the cause is fixed.",
        ),
        0.7,
    )


@rule(
    "airflow_task_timeout",
    "TimeoutError",
    r"airflowtasktimeout|timeout, pid|process timed out",
    example="Broken DAG: [/path/to/dag.py] Timeout, PID: pid#",
)
def airflow_task_timeout(m: re.Match[str], ctx: Context) -> Finding:
    duration = find_duration(ctx.text)
    lowered = ctx.text.lower()
    # "Broken DAG: [x.py] Timeout", "DagBag import timeout for x.py after 30.0s", the DagBag's
    # "Failed to import: x.py" after "Process timed out": the DAG file's top-level code, not a
    # task, ran too long.
    if any(
        words in lowered for words in ("broken dag", "dagbag import timeout", "failed to import")
    ):
        dag_file = grab(
            ctx.text,
            r"broken dag: \[?([^\]\s]+)",
            r"dagbag import timeout for ([^\s,]+?\.py)",
            r"failed to import: ([^\s,]+?\.py)",
        )
        return Finding(
            "parsing the DAG file"
            + (f" {dag_file}" if dag_file else "")
            + " timed out: it took longer than the DAG import timeout (dagbag_import_timeout"
            + (f", {duration}" if duration else "")
            + ")",
            (
                "Move slow work (API calls, database queries, large imports) out of top-level "
                "DAG code into tasks.",
                "Raise core.dagbag_import_timeout only if parsing is legitimately slow.",
                "Check the scheduler or DAG processor logs for the slow import.",
            ),
            0.7,
        )
    cause = "the task ran longer than its execution_timeout"
    # "Task execution_timeout of 2:00:00 exceeded; terminating" (Airflow 2.x's task runner).
    duration = grab(ctx.text, r"execution_timeout of ([\d:.]{1,20}) exceeded") or duration
    if "pod launching failed" in ctx.text.lower():
        cause = "the task's pod did not start within the timeout (Pod Launching failed)"
    cause += f" ({duration})" if duration else ""
    return Finding(
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


@rule(
    "sensor_timeout",
    "TimeoutError",
    r"airflowsensortimeout|sensor has timed out",
    example=(
        "airflow.exceptions.AirflowSensorTimeout: Sensor has timed out; run "
        "duration of 3600.41 seconds exceeds the specified timeout of 3600.0."
    ),
)
def sensor_timeout(m: re.Match[str], ctx: Context) -> Finding:
    duration = find_duration(ctx.text)
    # The sensor's own `timeout` (how long it may wait in all), not its execution_timeout.
    cause = "the sensor gave up waiting for its upstream condition: its timeout ran out"
    cause += f" after {duration}" if duration else ""
    return Finding(
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


# Airflow's SLA miss report ("Here's a list of tasks that missed their SLAs:" then one
# "<task_id> on <logical date>" line per task, and "Blocking tasks:" the same way).
_SLA_TASK_LINE = re.compile(r"^(?:<pre><code>)?\s{0,8}([\w.-]{1,250}) on \d{4}-\d\d-\d\d", re.M)


def _sla_tasks(section: str) -> str:
    tasks = dict.fromkeys(_SLA_TASK_LINE.findall(section[:4000]))
    return ", ".join(quoted(clean_value(task)) for task in list(tasks)[:5])


@rule(
    "sla_miss",
    "TimeoutError",
    any_of(*signals.SLA_MISS),
    example=(
        "[airflow] SLA miss on DAG=daily_sales\nHere's a list of tasks that missed their SLAs:\n"
        "<pre><code>load_fact_sales on 2024-06-01T02:00:00+00:00\n<code></pre>"
    ),
)
def sla_miss(m: re.Match[str], ctx: Context) -> Finding:
    dag = grab(ctx.text, r"sla miss(?:ed)? (?:on|for) dag[= ]([\w.-]{1,250})")
    blocking_header = re.search(r"blocking tasks", ctx.text, re.IGNORECASE)
    split = blocking_header.start() if blocking_header else len(ctx.text)
    late = _sla_tasks(ctx.text[:split])
    blocking = _sla_tasks(ctx.text[split:])
    cause = "tasks" + (f" of DAG {quoted(dag)}" if dag else "")
    cause += " were not done by the time their SLA allows (an Airflow SLA miss)"
    cause += f": {late}" if late else ""
    cause += f"; still waiting on: {blocking}" if blocking else ""
    return Finding(
        cause,
        (
            "Check the run's timeline: whether the late tasks started late (upstream tasks, "
            "queued in a pool, a busy scheduler) or ran longer than usual.",
            "Look at the blocking tasks first: an SLA miss is a report that the run is late, the "
            "run itself may still succeed.",
            "Adjust the SLA if the schedule or data volume changed for good.",
        ),
        0.6,
    )


@rule(
    "query_timeout",
    "TimeoutError DatabaseError",
    r"statement timeout|query timeout|querycanceled|canceling statement|execution timeout expired"
    r"|timeout period elapsed|sqlbatchwritetimeout|statement or warehouse timeout",
    example=("psycopg2.errors.QueryCanceled: canceling statement due to statement timeout"),
)
def query_timeout(m: re.Match[str], ctx: Context) -> Finding:
    duration = find_duration(ctx.text)
    cause = "a database query exceeded its timeout"
    lowered = ctx.text.lower()
    if "statement timeout" in lowered or "statement_timeout" in lowered:
        cause = "a database query was cancelled by the statement timeout (statement_timeout)"
    elif "execution timeout expired" in lowered:
        cause = "a database command exceeded the command timeout (Execution Timeout Expired)"
    cause += f" ({duration})" if duration else ""
    return Finding(
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


@rule(
    "connect_timeout",
    "TimeoutError NetworkError DatabaseError",
    r"login timeout expired|connect(?:ion)? timed out|connecttimeout|open connection to "
    r"database timeout|sqlopenconnectiontimeout|connection timeout|connect timeout",
    example="TimeoutError: [Errno 110] Connection timed out",
)
def connect_timeout(m: re.Match[str], ctx: Context) -> Finding:
    host = find_host(ctx.text)
    duration = find_duration(ctx.text)
    target = f" to {host}" if host else ""
    cause = f"the connection{target} could not be established in time"
    cause += f" ({duration})" if duration else ""
    return Finding(
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


@rule(
    "read_timeout",
    "TimeoutError NetworkError ExternalServiceError",
    r"read timed out|readtimeout|sockettimeoutexception|futures timed out|rpctimeoutexception",
    example="httpx.ReadTimeout: The read operation timed out",
)
def read_timeout(m: re.Match[str], ctx: Context) -> Finding:
    host = find_host(ctx.text)
    duration = find_duration(ctx.text)
    target = f" from {host}" if host else ""
    cause = f"no response arrived{target} within the read timeout"
    cause += f" ({duration})" if duration else ""
    return Finding(
        cause,
        (
            "Check the remote service's latency and health at that time.",
            "Request smaller pages or batches so each call returns faster.",
            "Raise the client read timeout if the remote call is legitimately slow.",
            "Retry with backoff, then rerun.",
        ),
        0.65,
    )


@rule(
    "broadcast_timeout",
    "TimeoutError",
    r"could not execute broadcast|broadcasttimeout|broadcast join timeout",
    example=(
        "org.apache.spark.SparkException: Could not execute broadcast in 300 "
        "secs. You can increase the timeout for broadcasts via "
        "spark.sql.broadcastTimeout or disable broadcast join by setting "
        "spark.sql.autoBroadcastJoinThreshold to -1"
    ),
)
def broadcast_timeout(m: re.Match[str], ctx: Context) -> Finding:
    duration = find_duration(ctx.text)
    cause = "a Spark broadcast join did not finish within spark.sql.broadcastTimeout"
    cause += f" ({duration})" if duration else ""
    return Finding(
        cause,
        (
            "Disable broadcasting for this join (spark.sql.autoBroadcastJoinThreshold=-1 or "
            "remove the broadcast hint) if the table is not small.",
            "Raise spark.sql.broadcastTimeout if the broadcast side is small but slow to compute.",
            "Cache or materialise the broadcast side before the join, then rerun.",
        ),
        0.7,
    )


@rule(
    "http_call_timeout",
    "TimeoutError NetworkError",
    # ADF's Web activity (error 2108) names the endpoint, then says the call timed out.
    r"error calling the endpoint '([^']+)'(?=[\s\S]{0,600}?(?:timed out|timeout))",
    example=(
        "Error calling the endpoint 'https://api.partner.example.com/v2/export'. Response status "
        "code: 'NA - Unknown'. More details: Exception message: 'NA - Unknown "
        "[ClientSideException] The operation has timed out.'."
    ),
)
def http_call_timeout(m: re.Match[str], ctx: Context) -> Finding:
    endpoint = quoted(m.group(1)) if m.group(1) else "the endpoint"
    return Finding(
        f"the HTTP call to {endpoint} timed out before it answered",
        (
            "Check that the endpoint is up and answers in time (its status page, its logs for "
            "the request).",
            "Check the network path from the integration runtime to it (firewall, proxy, DNS).",
            "If the endpoint is slow by design, raise the activity's HTTP request timeout or "
            "call an asynchronous variant, then rerun.",
        ),
        0.65,
        transient=True,
    )


@rule(
    "kafka_poll_interval",
    "TimeoutError ConfigurationError",
    any_of(*signals.KAFKA_POLL_INTERVAL),
    example=(
        "org.apache.kafka.clients.consumer.CommitFailedException: Commit cannot be completed "
        "since the group has already rebalanced and assigned the partitions to another member. "
        "This means that the time between subsequent calls to poll() was longer than the "
        "configured max.poll.interval.ms, which typically implies that the poll loop is "
        "spending too much time message processing."
    ),
)
def kafka_poll_interval(m: re.Match[str], ctx: Context) -> Finding:
    group = grab(ctx.text, r"groupid=([\w.-]+)", r"for group ([\w.-]+)")
    which = f" of consumer group {quoted(group)}" if group else ""
    return Finding(
        f"the Kafka consumer{which} spent longer than max.poll.interval.ms processing one "
        "batch, so the group rebalanced its partitions to another member and refused its "
        "offset commit",
        (
            "Raise max.poll.interval.ms above the longest time one batch takes, or lower "
            "max.poll.records so each poll returns less work.",
            "Speed up the processing of a batch (slow calls or writes inside the poll loop).",
            "Make the processing idempotent: the records of the refused commit are delivered "
            "again after the rebalance.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "kafka_metadata_timeout",
    "TimeoutError ConfigurationError",
    r"topic ([\w.-]+) not present in metadata|failed to update metadata after",
    example=(
        "org.apache.kafka.common.errors.TimeoutException: Topic orders-events not present in "
        "metadata after 60000 ms."
    ),
)
def kafka_metadata_timeout(m: re.Match[str], ctx: Context) -> Finding:
    # The older client only says "Failed to update metadata"; its caller may name the topic.
    name = clean_value(m.group(1) or "") or grab(ctx.text, r"topic '([\w.-]+)'")
    topic = f"topic {quoted(name)}" if name else "the topic"
    duration = find_duration(ctx.text)
    waited = f" within {duration}" if duration else ""
    return Finding(
        f"Kafka gave no metadata for {topic}{waited}: the topic does not exist on that "
        "cluster, the client may not read it, or the brokers are unreachable",
        (
            f"Check that {topic} exists on the cluster the job connects to (bootstrap "
            "servers), and its name for typos and environment mix-ups.",
            "Check the client's ACLs for the topic and its credentials.",
            "Check that the brokers are reachable from the cluster (security groups, DNS), then "
            "rerun.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "no_progress",
    "TimeoutError",
    any_of(*signals.NO_PROGRESS),
    example=(
        "Checkpoint 17 of job 9ee5f488e87f39d44f7cd9e6da6ff1cd expired before completing.\n"
        "org.apache.flink.util.FlinkRuntimeException: Exceeded checkpoint tolerable failure "
        "threshold."
    ),
)
def no_progress(m: re.Match[str], ctx: Context) -> Finding:
    if "expired before completing" in m.group(0).lower():
        checkpoint = grab(ctx.text, r"checkpoint (\d+) of job")
        tolerable = "tolerable failure threshold" in ctx.text.lower()
        return Finding(
            "Flink checkpoint"
            + (f" {checkpoint}" if checkpoint else "")
            + " did not complete within the checkpoint timeout (execution.checkpointing.timeout)"
            + (
                ", and the job failed once more checkpoints failed than its tolerable failure "
                "threshold allows"
                if tolerable
                else ""
            ),
            (
                "Look for what slows the checkpoint: backpressure (a slow sink or operator), "
                "large state, or slow checkpoint storage.",
                "Raise the checkpoint timeout or "
                "execution.checkpointing.tolerable-failed-checkpoints if checkpoints are "
                "legitimately slow; consider unaligned checkpoints under backpressure.",
                "Restart the job from the last completed checkpoint once the cause is fixed.",
            ),
            0.65,
            transient=None,
        )
    quiet = grab(ctx.text, r"(?:in|for|during) the (?:last|past) (\d+ ?[a-z]{1,10})\b")
    return Finding(
        "the job made no progress"
        + (f" for {quiet}" if quiet else "")
        + " (no worker activity), so the service declared it stuck and failed it",
        (
            "Read the worker logs of that period: a worker that hangs (a deadlock, an "
            "external call without a timeout) or cannot start shows up there.",
            "Check that the workers can reach the services they call (network, permissions on "
            "the subnetwork, firewall).",
            "Add timeouts to external calls, then rerun.",
        ),
        0.6,
        transient=None,
    )


@rule(
    "dag_file_processor_timeout",
    "TimeoutError ResourceExhaustion",
    any_of(*signals.DAG_FILE_PROCESSOR_TIMEOUT),
    example=(
        "Processor for /airflow/airflow-dags/dags/my_dag.py with PID 27954 started at "
        "2020-10-29T02:21:04.630540+00:00 has timed out, killing it\nProcessor for "
        "/airflow/airflow-dags/dags/my_dag.py exited with return code -9"
    ),
)
def dag_file_processor_timeout(m: re.Match[str], ctx: Context) -> Finding:
    path = grab(m.group(0), r"processor for (\S+) with pid")
    file = quoted(clean_value(path)) if path else "a DAG file"
    return Finding(
        f"Airflow's DAG file processor took longer than dag_file_processor_timeout to parse "
        f"{file} and was killed (an exit code -9 that follows is that kill, not memory)",
        (
            "Keep the file's top-level code cheap: no database, API or Variable calls at "
            "import time; move them into tasks or templates.",
            "Split a file that generates many DAGs or tasks into smaller files.",
            "Raise dag_file_processor_timeout (and dagbag_import_timeout below it) only if "
            "parsing is legitimately slow, and check the scheduler's CPU.",
            "Until the file parses, its DAGs are not updated or scheduled: rerun once it does.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "activity_timeout",
    "TimeoutError",
    r"timed ?out|timeout expired|exceeded (?:the |its )?timeout|timeout",
    example="concurrent.futures._base.TimeoutError",
)
def activity_timeout(m: re.Match[str], ctx: Context) -> Finding:
    duration = find_duration(ctx.text)
    cause = "the step did not finish within its configured timeout"
    cause += f" ({duration})" if duration else ""
    platform = platform_of(ctx.source)
    where = {
        "adf": "the activity policy timeout",
        "databricks": "the job or task timeout_seconds",
        "airflow": "the task's execution_timeout",
    }.get(platform, "the step's timeout")
    setting = setting_named(ctx.text)
    if setting:
        cause += f"; the message names the setting to raise: {quoted(setting)}"
        where = f"{quoted(setting)} as the message suggests"
    return Finding(
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


@rule(
    "query_expired",
    "TimeoutError",
    any_of(*signals.QUERY_EXPIRED),
    example=(
        "Query execution has resulted in error (0x80DA0006): Query is expired. "
        "Kusto.Data.Exceptions.KustoDataStreamException"
    ),
)
def query_expired(m: re.Match[str], ctx: Context) -> Finding:
    code = grab(ctx.text, r"error \((0x[0-9a-f]{6,8})\)")
    stated = f", error {code}" if code else ""
    return Finding(
        "the query ran past its time limit and the engine expired it before it finished (Query "
        f"is expired{stated}): the query's timeout or its cost, not the data",
        (
            "Raise the query's timeout where the client sets it (Kusto: the servertimeout "
            "request property or the client's request timeout; the operator's or linked "
            "service's query timeout).",
            "Make the query cheaper: filter on time first, project only the columns needed, "
            "or split the time range into smaller queries.",
            "Rerun once the query fits its timeout; a retry of the same query expires again.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "compute_start_timed_out",
    "TimeoutError ExternalServiceError",
    any_of(*signals.COMPUTE_START_TIMED_OUT),
    example=(
        "Error code 1\nCLUSTER_CREATION_TIMED_OUT\nMessage\n[plugins.ws.SparkPool.71 "
        "WorkspaceType:<Synapse> CCID:<ccid>] Attempt=[1]/[3]Cluster was in terminal "
        "state=[Cancelled] before it reached 'Ready' state. Cluster job has WorkspaceName=[ws], "
        "SpecName=[SparkPool], and JobId=[<job-id>]."
    ),
)
def compute_start_timed_out(m: re.Match[str], ctx: Context) -> Finding:
    code = grab(
        ctx.text,
        r"\b([a-z]+_(?:creation|startup|start|launch|provisioning|acquisition)_timed_?out)\b",
    )
    pool = grab(ctx.text, r"specname=\[([\w.-]{1,100})\]")
    state = grab(ctx.text, r"terminal state=\[(\w{1,30})\]")
    what = f"Spark pool or cluster {quoted(pool)}" if pool else "the pool or cluster the job needs"
    stated = [code.upper()] if code else []
    if state:
        stated.append(f"it ended {state} before it reached the Ready state")
    how = f" ({': '.join(stated)})" if stated else ""
    return Finding(
        f"{what} did not become ready in time{how}: the job never got its compute",
        (
            f"Check {what} in the workspace: its node size and count, autoscale limits and the "
            "workspace's vCore quota, and whether other sessions hold its capacity.",
            "Look for a cancellation or failure of the cluster job in the monitoring hub "
            "(library installation or a capacity shortage in the region often cancel a start).",
            "Retry the run; if starts keep timing out, use a smaller pool or raise the quota.",
        ),
        0.65,
        transient=None,
    )


@rule(
    "tasks_stuck_in_queue",
    "TimeoutError",
    any_of(*signals.TASKS_STUCK_IN_QUEUE),
    example="[2023-09-15T02:00:00.000+0000] {scheduler_job_runner.py:1574} ERROR - Marked the "
    "following 12 task instances stuck in queued as failed.",
)
def tasks_stuck_in_queue(m: re.Match[str], ctx: Context) -> Finding:
    """Tasks Airflow queued and no worker started: failed by the scheduler past
    task_queued_timeout, or cleared by the Celery executor past task_adoption_timeout."""
    if m.group(1):
        count = clean_value(m.group(1))
        cause = (
            f"The scheduler failed {count} task instance(s) that stayed queued longer than "
            "[scheduler] task_queued_timeout: the executor took them but no worker started them "
            "(no worker consuming their queue, all worker slots busy, or a worker that could not "
            "start the task)"
        )
    else:
        wait = clean_value(m.group(2))
        cause = (
            "The Celery executor gave up on tasks it adopted from an earlier scheduler: they "
            f"were still pending in Celery after {wait} ([celery] task_adoption_timeout), so it "
            "took them never to have reached a worker (a broker that lost its messages, a "
            "scheduler restarted while they were queued) and cleared them"
        )
    return Finding(
        cause,
        (
            "Check that workers are up and consume the tasks' queues (Celery: a worker started "
            "with -q for that queue; Kubernetes: the pods started, not Pending).",
            "Check free slots at that time (parallelism, worker concurrency, pool slots): tasks "
            "wait in the queue while none is free; raise task_queued_timeout only if long waits "
            "are expected.",
            "Check the broker (Redis or RabbitMQ) kept its messages across restarts.",
            "Clear the failed tasks once workers can take them.",
        ),
        0.6,
        transient=True,
    )


@rule(
    "pod_pending_timeout",
    "TimeoutError ResourceExhaustion",
    r"\bpod did not leave 'pending' phase within specified timeout\b",
    example="airflow.providers.cncf.kubernetes.utils.pod_manager.PodLaunchTimeoutException: Pod "
    "did not leave 'Pending' phase within specified timeout",
)
def pod_pending_timeout(m: re.Match[str], ctx: Context) -> Finding:
    """A deferred KubernetesPodOperator whose trigger saw the pod still Pending at its startup
    timeout."""
    return Finding(
        "The task's pod was still Pending when the KubernetesPodOperator's startup timeout "
        "(startup_timeout_seconds) ran out, so its container never started: no node could "
        "take it (not enough CPU or memory, a node selector, affinity or taint no node "
        "matches, the autoscaler too slow), or its image or volumes were not ready (an image "
        "pull failing or slow, a volume or secret that could not be mounted)",
        (
            "Read the pod's events (kubectl describe pod, or the task log with "
            "log_events_on_failure=True) for FailedScheduling, image pull or mount errors.",
            "Fix what the events name: lower the pod's requests or add capacity, correct the "
            "node selector, tolerations or image, create the missing secret or volume.",
            "If nodes only take long to appear (autoscaling, large images), raise "
            "startup_timeout_seconds; then clear the task.",
        ),
        0.6,
        transient=None,
    )


@rule(
    "deferral_timed_out",
    "TimeoutError",
    r"\btrigger/execution timeout\b",
    example="airflow.exceptions.TaskDeferralError: Trigger/execution timeout",
)
def deferral_timed_out(m: re.Match[str], ctx: Context) -> Finding:
    """The scheduler failing a deferred task whose trigger had not fired by its timeout."""
    return Finding(
        "The task was deferred and its trigger had not fired when the deferral's timeout "
        "passed (the task's execution_timeout, or a sensor's timeout), so the scheduler "
        "failed it: the event the trigger waited for did not happen in time (a file, a run, "
        "a job still not done), or no triggerer ran the trigger (the triggerer down or "
        "overloaded)",
        (
            "Check the triggerer was running and healthy then (its heartbeat, its log for the "
            "trigger and any error it raised).",
            "Check whether what the task waited for happened; if it only came late, raise the "
            "task's execution_timeout or the sensor's timeout.",
            "Clear the task once the awaited event has happened.",
        ),
        0.6,
        transient=None,
    )


@rule(
    "mongo_server_selection_timeout",
    "TimeoutError NetworkError",
    any_of(*signals.MONGO_SERVER_SELECTION_TIMEOUT),
    example="com.mongodb.MongoTimeoutException: Timed out after 30000 ms while waiting for a "
    "server that matches WritableServerSelector. Client view of cluster state is "
    "{type=REPLICA_SET, servers=[{address=db-0:27017, type=UNKNOWN, state=CONNECTING, "
    "exception={com.mongodb.MongoSocketOpenException: Exception opening socket}}]",
)
def mongo_server_selection_timeout(m: re.Match[str], ctx: Context) -> Finding:
    """The MongoDB driver's server selection timing out, explained from the cluster view it
    prints with it."""
    wait = clean_value(m.group(1))
    unresolved = re.findall(r"unknownhostexception: ([\w.-]{1,120})", ctx.text, re.IGNORECASE)
    hosts = list(dict.fromkeys(clean_value(h) for h in unresolved if clean_value(h)))[:5]
    if hosts:
        names = ", ".join(quoted(h) for h in hosts)
        why = (
            f"the replica set's members {names} could not be resolved from the client "
            "(UnknownHostException): the set advertises member host names (container or "
            "internal DNS names) that the machine running the job cannot resolve, so no "
            "primary was reachable"
        )
        first = (
            "Make the members' host names resolvable from the job (DNS or hosts entries), or "
            "reconfigure the replica set with addresses clients can reach (rs.conf() "
            "members' host)."
        )
    else:
        why = (
            "none of the servers in the cluster view was usable for the operation: they were "
            "unreachable (network, firewall, TLS), or none had the role it needs (no primary "
            "for a write)"
        )
        first = (
            "Read the cluster view in the message (each server's type, state and exception) "
            "and fix what it shows: reachability, TLS, credentials, a replica set with no "
            "primary."
        )
    return Finding(
        f"The MongoDB driver waited {wait} ms for a server it could use and found none: {why}",
        (
            first,
            "If only the primary is needed, connect with directConnection=true or the right "
            "replicaSet name; check the URI lists reachable hosts.",
            "Rerun the job once the client can reach a suitable server.",
        ),
        0.7,
        transient=None,
    )
