"""Exhausted resources: executor, driver, JVM and Python memory, killed processes, full disks,
pods, application masters or Flink jobs no node, queue or task slot can take, workers that
lost contact, full producer send queues, a Fabric capacity's Spark compute in use, requests over
a pool's capacity, results over a service's size cap, ECS tasks no container instance has room
for, queries over a table's partition count limit and quotas.
"""

from __future__ import annotations

import re

from analysis import signals
from analysis.rules.base import Context, Finding, rule
from analysis.rules.extract import clean_value, grab, platform_of, quoted
from analysis.signals import any_of

# Executor exit codes that say it ran out of memory: 137 (SIGKILL, from the OOM killer or a
# container's memory limit), 143 (SIGTERM, as YARN stops a container over its memory limit)
# and 52 (Spark's exit on an OutOfMemoryError).
_MEMORY_EXIT_CODES = frozenset({"52", "137", "143"})
# What Spark's other exit codes mean (SparkExitCode, ExecutorExitCode).
_EXIT_CODE_MEANINGS = {
    "50": "Spark's code for an uncaught exception in the executor",
    "51": "Spark's code for an uncaught exception raised while handling another",
    "53": "Spark's code for an executor that could not create its local directories",
    "56": "Spark's code for an executor that could not send heartbeats to the driver",
}


def _executor_exit(executor: str, code: str) -> Finding:
    meaning = _EXIT_CODE_MEANINGS.get(code, "which is not an out-of-memory exit code")
    which = f"executor {executor}" if executor else "a Spark executor"
    return Finding(
        f"{which} exited with exit code {code} ({meaning}), not for running out of memory",
        (
            f"Read the stderr and log of {which} (Spark UI, Executors tab, or the YARN or "
            "Kubernetes container logs): the exception or message before it exited is the cause.",
            "Check the executor's environment: the container launch, local disks and the "
            "libraries on the cluster.",
            "Fix the cause and rerun; if it does not repeat, treat it as a node failure.",
        ),
        0.55,
    )


@rule(
    "spark_executor_oom",
    "ResourceExhaustion",
    r"container killed by yarn for exceeding memory limits|executorlostfailure|memoryoverhead"
    r"|lost executor|executor heartbeat timed out|exit (?:code|status):? ?143",
    example=(
        "Lost executor 7 on 10.139.64.12: Executor heartbeat timed out after "
        "162339 ms. Remote RPC client disassociated. Likely due to containers "
        "exceeding thresholds, or network issues."
    ),
)
def spark_executor_oom(m: re.Match[str], ctx: Context) -> Finding:
    # `\b`: a number is read from its first digit, not retried from each (quadratic on a
    # long run of digits).
    used = grab(ctx.text, r"\b(\d+(?:\.\d+)? [GM]B of \d+(?:\.\d+)? [GM]B) physical memory used")
    executor = grab(ctx.text, r"executor (\d+)")
    lowered = ctx.text.lower()
    heartbeat = grab(ctx.text, r"heartbeat timed out after (\d+ ?ms)")
    if heartbeat and not used and not re.search(r"memory|killed by|\b143\b", lowered):
        # Only the lost heartbeat is stated: say so rather than claim an out-of-memory kill.
        cause = (
            f"a Spark executor stopped answering: its heartbeat timed out after {heartbeat} "
            "(usually long garbage-collection pauses under memory pressure, or a network "
            "problem between executor and driver)"
        )
        return Finding(
            cause,
            (
                "Check the executor's GC time and memory in the Spark UI; give executors more "
                "memory or spread the data over more partitions.",
                "If memory is fine, check the network between executors and the driver, and "
                "raise spark.network.timeout / spark.executor.heartbeatInterval only as a "
                "stopgap.",
                "Rerun after the change.",
            ),
            0.6,
            transient=False,
        )
    # Spark on Kubernetes: "The executor with id 1 exited with exit code 137" (SIGKILL).
    code = grab(ctx.text, r"\bexit(?:ed with exit)? (?:code|status)[: ]+(\d+)")
    if code and code not in _MEMORY_EXIT_CODES:
        if not used and not re.search(r"memory|killed by|\boom", lowered):
            # The exit code is all the message says, and it is not an out-of-memory exit.
            return _executor_exit(executor, code)
        code = ""  # memory is stated otherwise; this code is not evidence of it
    cause = "Spark executors ran out of memory and were killed"
    stated = [f"executor {executor}" if executor else "", used, f"exit code {code}" if code else ""]
    if any(stated):
        cause += f" ({', '.join(part for part in stated if part)})"
    return Finding(
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
        transient=False,
    )


@rule(
    "spark_driver_oom",
    "ResourceExhaustion",
    r"maxresultsize|driver has stopped unexpectedly|driver is temporarily unavailable"
    r"|(?:executor driver|driver).{0,200}outofmemoryerror|outofmemoryerror.{0,200}driver",
    example=(
        "The driver could not be reached; the Spark driver has been restarted "
        "due to out of memory. Reason: The spark driver has stopped unexpectedly "
        "and is restarting."
    ),
)
def spark_driver_oom(m: re.Match[str], ctx: Context) -> Finding:
    lowered = ctx.text.lower()
    if "maxresultsize" in lowered:
        size = grab(ctx.text, r"bigger than spark\.driver\.maxresultsize \(?([\d.]+ ?\w+)")
        cause = "the results collected to the Spark driver exceeded spark.driver.maxResultSize"
        cause += f" ({size})" if size else ""
    else:
        cause = "the Spark driver ran out of memory and was restarted"
        kind = grab(ctx.text, r"outofmemoryerror: ([\w ]+)")
        cause += f" (OutOfMemoryError: {kind})" if kind else ""
    return Finding(
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
        transient=False,
    )


@rule(
    "shuffle_fetch",
    "ResourceExhaustion",
    r"too large frame|fetchfailedexception|missing an output location for shuffle",
    example=(
        "org.apache.spark.shuffle.FetchFailedException: Too large frame: "
        "2365315453\n\tat "
        "org.apache.spark.storage.ShuffleBlockFetcherIterator.throwFetchFailedExc"
        "eption(ShuffleBlockFetcherIterator.scala:554)"
    ),
)
def shuffle_fetch(m: re.Match[str], ctx: Context) -> Finding:
    too_large = "too large frame" in ctx.text.lower()
    cause = (
        "a Spark shuffle block exceeded the 2 GB frame limit (too few partitions or a skewed key)"
        if too_large
        else "Spark lost shuffle data, usually because the executor holding it died (memory)"
    )
    return Finding(
        cause,
        (
            "Raise spark.sql.shuffle.partitions (or enable adaptive query execution) so shuffle "
            "blocks are smaller.",
            "Look for skewed join or group-by keys and salt or pre-aggregate them.",
            "Give executors more memory if they were lost during the shuffle.",
            "Rerun the failed run after the change.",
        ),
        0.65,
        transient=False,
    )


# A Java heap exhaustion inside Spark (a Databricks notebook or job, even when ADF ran it).
_ON_SPARK = re.compile(r"databricks|notebook|spark|executor|cluster", re.IGNORECASE)


@rule(
    "jvm_oom",
    "ResourceExhaustion",
    r"java heap space|gc overhead limit exceeded|outofmemoryerror|out of memory",
    example="java.lang.OutOfMemoryError: GC overhead limit exceeded",
)
def jvm_oom(m: re.Match[str], ctx: Context) -> Finding:
    kind = grab(ctx.text, r"outofmemoryerror: ([\w ]+)")
    cause = "the process ran out of memory"
    if kind:
        cause += f" (OutOfMemoryError: {kind})"
    platform = platform_of(ctx.source)
    if platform == "databricks" or _ON_SPARK.search(ctx.text):
        first = (
            "Use a cluster with more memory per node (a memory-optimised node type), or raise "
            "spark.driver.memory or spark.executor.memory for the process that failed."
        )
    elif platform == "adf":
        first = (
            "Use an integration runtime with more cores or a memory-optimised compute type for "
            "this data flow or copy."
        )
    elif platform == "airflow":
        first = (
            "Give the task more memory: a larger worker, more memory in the pod's resources, "
            "or a queue served by bigger workers."
        )
    else:
        first = "Use a larger or memory-optimised compute size for the process that failed."
    return Finding(
        cause,
        (
            first,
            "Process the data in smaller partitions or batches instead of all at once.",
            "Check whether input volume grew recently (compare with the last successful run).",
            "Rerun the failed run after the change.",
        ),
        0.65,
        transient=False,
    )


@rule(
    "python_memory",
    "ResourceExhaustion",
    r"memoryerror|unable to allocate ([\d.]+ ?[KMGT]i?B)|cannot allocate memory",
    example="MemoryError",
)
def python_memory(m: re.Match[str], ctx: Context) -> Finding:
    size = clean_value(m.group(1)) if m.group(1) else ""
    cause = "the worker process could not allocate memory"
    cause += f" (tried to allocate {size})" if size else ""
    return Finding(
        cause,
        (
            "Process the data in chunks (chunksize, iterators, or pushing work into the database "
            "or Spark) instead of loading it all into memory.",
            "Use leaner dtypes or select only the needed columns.",
            "Run the task on a worker or pod with more memory (queue or resource request).",
            "Rerun the failed run after the change.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "killed_oom",
    "ResourceExhaustion",
    r"sigkill|signal 9\b|oomkilled|exit code:? ?137|return code -9\b|evicted|low on resource",
    example="Task exited with return code Negsignal.SIGKILL",
)
def killed_oom(m: re.Match[str], ctx: Context) -> Finding:
    pod = grab(ctx.text, r"pod ([\w.-]+)")
    what = f"pod {pod}" if pod else "the task process"
    # Kubernetes names the reason in the container status when it has one.
    reason = " (Kubernetes reports OOMKilled)" if "oomkilled" in ctx.text.lower() else ""
    # Another exit code the platform states (Dataproc: "exited with 143 code, which potentially
    # signifies a memory pressure"): named instead of the usual 137.
    code = grab(ctx.text, r"exited with (\d{3}) code", r"exit(?:ed with)? code:? ?(\d{3})\b")
    signal = f"SIGKILL / exit {code}" if code and code != "137" else "SIGKILL / exit 137"
    if re.search(r"memory pressure", ctx.text, re.IGNORECASE):
        reason += " (the platform reports memory pressure)"
    return Finding(
        f"{what} was killed by the operating system or Kubernetes ({signal}){reason}, "
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


@rule(
    "disk_full",
    "ResourceExhaustion DatabaseError",
    any_of(*signals.DISK_FULL),
    example=("The transaction log for database 'tempdb' is full due to 'ACTIVE_TRANSACTION'."),
)
def disk_full(m: re.Match[str], ctx: Context) -> Finding:
    path = grab(
        ctx.text,
        r"no space left on device: '([^']+)'",
        r'could not write to file "([^"]+)"',
        r"disk quota exceeded(?::| on| for)? '?(/[^'\s,;]+)",
    )
    tablespace = grab(ctx.text, r"in tablespace (\w+)")
    # The engine's own name for it (Redshift "Disk Full", code 1016), kept for searching.
    reported = grab(ctx.text, r"\b(disk ?full)\b(?:\s*details:)?")
    where = (
        f" (writing {path})"
        if path
        else f" (tablespace {tablespace})"
        if tablespace
        else f" (the error says “{reported}”)"
        if reported
        else ""
    )
    full = "the disk or storage the task writes to is full"
    filegroup = grab(
        ctx.text, r"because the '([^'\n]+)' filegroup is full", r"space in filegroup '([^'\n]+)'"
    )
    if filegroup or re.search(r"filegroup is full|space in filegroup", ctx.text, re.I):
        # SQL Server 1101/1105: the filegroup's data files are at their maximum size (or
        # autogrowth is off, or their disk is full), so the named object could not grow.
        obj = grab(ctx.text, r"allocate space for object '([^']+)'")
        database = grab(ctx.text, r"in database '([^']+)'", r"for database '([^']+)'")
        group = f"the {quoted(filegroup)} filegroup" if filegroup else "a filegroup"
        cause = f"{group} of database {quoted(database)}" if database else group
        cause += " is full: its data files reached their maximum size or their disk is full"
        if obj:
            cause += f", so object {quoted(obj)} could not get more space"
        return Finding(
            cause,
            (
                "Check the filegroup's files (sys.database_files): their size, max_size and "
                "autogrowth, and the free space on their disk.",
                "Add a file to the filegroup, enable or raise autogrowth, or free space (drop or "
                "archive unneeded data); on Azure SQL, raise the database's max size.",
                "Rerun the failed run once there is room.",
            ),
            0.75,
            transient=False,
        )
    if re.search(r"disk quota exceeded", ctx.text, re.I):
        full = "the disk quota of the user or volume the task writes to is used up"
    elif tablespace and not path:
        full = "the database tablespace has no room left for the segment it had to extend"
    return Finding(
        f"{full}{where}",
        (
            "Free space on the affected volume (temp files, old logs, spilled shuffle data).",
            "Give the worker, cluster or database more storage (larger disks or autoscaling "
            "local storage).",
            "Point temporary and spill directories to a larger volume.",
            "Add a disk-usage alert before it reaches 100%, then rerun.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "unschedulable",
    "ResourceExhaustion",
    any_of(*signals.UNSCHEDULABLE),
    example=(
        "Warning  FailedScheduling  default-scheduler  0/6 nodes are available: 4 Insufficient "
        "cpu, 2 Insufficient memory."
    ),
)
def unschedulable(m: re.Match[str], ctx: Context) -> Finding:
    text = ctx.text
    narrowing = (
        "Check node selectors, taints and affinities: they narrow the nodes that may take the pod."
    )
    if re.search(r"waiting for resources to be assigned for am", text, re.I):
        used = grab(text, r"queue's absolute used capacity = ([\d.]+ ?%)")
        cause = (
            "YARN could not start the application master: the queue had no free resources "
            "(the application was waiting for resources to be assigned"
            + (f"; queue used capacity = {used})" if used else ")")
        )
        first = (
            "Free capacity in the queue (stop idle sessions and finished applications) or "
            "submit to a queue or pool with room."
        )
    elif re.search(
        r"noresourceavailableexception|free slots|pooled slot|minimum required resources",
        text,
        re.I,
    ):
        # Flink: the job's parallelism needs more task slots than the TaskManagers offer.
        total = grab(text, r"total number of slots=(\d+)", r"registered slots: (\d+)")
        free = grab(text, r"available slots=(\d+)", r"free slots: (\d+)")
        cause = (
            "the Flink cluster had no free task slots for the job: its parallelism needs more "
            "slots (resources) than the TaskManagers offer"
        )
        if total or free:
            cause += f" (total slots {total or '?'}, available {free or '?'})"
        first = (
            "Lower the job's (or the operator's) parallelism, or add TaskManagers or raise "
            "taskmanager.numberOfTaskSlots so the slots cover it."
        )
        narrowing = (
            "Check that the TaskManagers registered with the JobManager (a TaskManager that "
            "cannot start or reach it offers no slots)."
        )
    else:
        nodes = grab(text, r"\b(\d+/\d+) nodes are available")
        short = sorted(
            {clean_value(x) for x in re.findall(r"insufficient ([\w./-]+)", text, re.I)} - {""}
        )
        cause = "no Kubernetes node could take the pod"
        if nodes:
            cause += f" ({nodes} nodes are available)"
        if short:
            cause += ": Insufficient " + ", ".join(short)
        # The scheduler's other reasons ("13 Too many pods, 1 node was unschedulable", "2
        # node(s) had untolerated taint", "didn't match Pod's node affinity/selector").
        listed = grab(text, r"nodes are available: ([^\n.]{1,400})")
        others = [
            clean_value(re.sub(r"^\d+ ", "", part.strip()))
            for part in listed.split(",")
            if part.strip() and not re.search(r"insufficient", part, re.I)
        ]
        others = [reason for reason in others if reason]
        if others:
            cause += ("; " if short else ": ") + ", ".join(others[:4])
        first = (
            "Lower the pod's requests (cpu, memory) or let the cluster autoscaler add nodes "
            "that fit them."
        )
    return Finding(
        cause,
        (
            first,
            "Check what else holds the capacity at that time (other jobs, stuck pods or "
            "sessions) and stagger the heavy ones.",
            narrowing,
            "Rerun once capacity is free.",
        ),
        0.7,
        transient=None,
    )


@rule(
    "worker_lost_contact",
    "ResourceExhaustion ExternalServiceError",
    any_of(*signals.WORKER_LOST_CONTACT),
    example=(
        "The job failed because a work item has failed 4 times. Root cause: The worker lost "
        "contact with the service."
    ),
)
def worker_lost_contact(m: re.Match[str], ctx: Context) -> Finding:
    attempts = grab(ctx.text, r"work item has failed (\d+) times")
    cause = (
        "the job's workers lost contact with the service while processing a work item (a "
        "worker VM that runs out of memory, is preempted or hangs stops answering)"
    )
    if attempts:
        cause += f"; the work item failed {attempts} times"
    return Finding(
        cause,
        (
            "Read the worker logs (and the VM's serial console) of the attempts for an out of "
            "memory kill or a preemption.",
            "Give the workers more memory (a larger machine type) or lower the per-worker "
            "parallelism and the size of the elements held in memory (large GroupByKey values).",
            "Check for a hot key or an oversized element that makes one work item far heavier.",
            "Rerun once the workers have room.",
        ),
        0.6,
        transient=None,
    )


@rule(
    "send_queue_full",
    "ResourceExhaustion",
    any_of(*signals.SEND_QUEUE_FULL),
    example=(
        "org.apache.pulsar.client.api.PulsarClientException$ProducerQueueIsFullError: "
        "Producer send queue is full"
    ),
)
def send_queue_full(m: re.Match[str], ctx: Context) -> Finding:
    if re.search(r"bufferexhausted", ctx.text, re.I):
        cause = (
            "the Kafka producer's send buffer (buffer.memory) was full for longer than "
            "max.block.ms: records were produced faster than the brokers accepted them"
        )
        setting = "buffer.memory or max.block.ms"
    elif re.search(r"local: queue full|_queue_full", ctx.text, re.I):
        topic = grab(ctx.text, r"\btopic '([^'\n]{1,200})'")
        cause = (
            'the Kafka producer\'s local queue is full (librdkafka "Local: Queue full")'
            + (f" while producing to topic {quoted(topic)}" if topic else "")
            + ": messages were produced faster than the brokers acknowledged them, or "
            "delivery reports were not served (poll() not called)"
        )
        setting = (
            "queue.buffering.max.messages or queue.buffering.max.kbytes (and call poll() or "
            "flush() so delivered messages leave the queue)"
        )
    else:
        cause = (
            "the producer's send queue is full (maxPendingMessages): messages were sent "
            "faster than the broker acknowledged them"
        )
        setting = "maxPendingMessages (or enable blockIfQueueFull)"
    return Finding(
        cause,
        (
            "Check the broker's health and latency at that time: a slow or unavailable broker "
            "lets the queue fill up.",
            f"Raise {setting}, or make the producer wait instead of failing when the queue is "
            "full.",
            "Lower the send rate or batch more, then rerun.",
        ),
        0.65,
        transient=True,
    )


@rule(
    "capacity_compute_exhausted",
    "ResourceExhaustion ExternalServiceError",
    any_of(*signals.CAPACITY_COMPUTE_IN_USE),
    example=(
        "Failed to create Livy session for executing notebook. Error: "
        "[TooManyRequestsForCapacity] This spark job can't be run because you have hit a spark "
        "compute or API rate limit. HTTP status code: 430."
    ),
)
def capacity_compute_exhausted(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "the Fabric capacity's Spark compute was fully in use, so the job was refused "
        "(TooManyRequestsForCapacity, HTTP 430): the running Spark sessions and jobs already "
        "hold what the capacity SKU allows",
        (
            "See the capacity's running Spark sessions in the Monitoring hub and stop idle "
            "notebook sessions that still hold cores.",
            "Spread scheduled notebooks and pipelines so fewer start at the same time, or lower "
            "their executors and node sizes.",
            "Use a larger capacity SKU if the load is expected.",
            "Rerun once cores are free: the same job passes when the capacity has room.",
        ),
        0.7,
        transient=True,
    )


@rule(
    "over_capacity_request",
    "ResourceExhaustion ConfigurationError",
    r"\bis above the max(?:imum)? threshold \(([^)]+)\)|when the compute has a capacity of"
    r"|requested (\d+ v?cores)\. however",
    example=(
        "Message: Job was submitted with resources=[24] when the compute has a capacity of=[12]"
    ),
)
def over_capacity_request(m: re.Match[str], ctx: Context) -> Finding:
    text = ctx.text
    asked = grab(
        text,
        r"resources=\[?(\d+)",
        r"requested (\d+ v?cores)",
        r"required executor memory \(([^)]+)\)",
    )
    limit = grab(
        text,
        r"capacity of=\[?(\d+)",
        r"has an? (\d+) core limit",
        r"above the max(?:imum)? threshold \(([^)]+)\)",
    )
    cause = "the job asked for more than the pool or cluster can ever grant"
    if asked or limit:
        cause += f" (requested {asked or 'more'}, limit {limit or 'lower'})"
    return Finding(
        cause,
        (
            "Request fewer cores or less executor and driver memory in the job or session "
            "settings, within the pool's or cluster's maximum.",
            "Or raise the limit: a larger pool or node size, or a higher vCore quota.",
            "Rerun after the change; the same request fails the same way.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "count_limit",
    "ResourceExhaustion",
    r"maximum number of (?!(?:[\w-]+ ){0,3}(?:retries|retry|tries|attempts?|redirects"
    r"|reconnects?)\b)([\w ]{1,60}?(?: per \w+)?) (?:\(\d+\) )?(?:exceeded|reached)\b"
    # Event Hubs: "Exceeded the maximum number of allowed receivers per partition in a
    # consumer group which is 5".
    r"|exceeded the maximum number of (?:allowed )?([\w ]{1,80}?),? which is (\d+)",
    example="ORA-00018: maximum number of sessions exceeded",
)
def count_limit(m: re.Match[str], ctx: Context) -> Finding:
    what = (m.group(1) or m.group(2)).strip()
    limit = f" ({m.group(3)})" if m.group(3) else ""
    return Finding(
        f"the maximum number of {what}{limit} the engine allows was exceeded",
        (
            f"Find what holds the {what} (other jobs, leaked sessions or temporary objects "
            "that are never released) and release or close them.",
            "Lower the pipeline's concurrency, or reuse one session instead of opening more.",
            "Ask the administrators to raise the limit if the load is expected, then rerun.",
        ),
        0.6,
        transient=None,
    )


@rule(
    "request_limit",
    "ResourceExhaustion DatabaseError",
    r"\bthe (request|session|worker) limit for the (database|elastic pool|server) is (\d+) and"
    r" has been reached",
    example=(
        "Resource ID : 1. The request limit for the database is 180 and has been reached. See "
        "'http://go.microsoft.com/fwlink/?LinkId=267637' for assistance."
    ),
)
def request_limit(m: re.Match[str], ctx: Context) -> Finding:
    kind, target, limit = m.group(1).lower(), m.group(2).lower(), m.group(3)
    code = grab(ctx.text, r"error number:? ?(\d{5})\b", r"\b(1092[89]|1093[36])\b")
    code_text = f" (error {code})" if code else ""
    return Finding(
        f"the {target}'s limit of {limit} concurrent {kind}s was reached{code_text}: its "
        "service tier allows no more at once, so the new one was refused",
        (
            f"See what held the {kind}s at that time (sys.dm_exec_requests, long or blocked "
            "queries, other pipelines on the same database).",
            "Lower the pipeline's parallelism (copy parallelism, ForEach batch count, pool size) "
            "or spread the load over time.",
            f"Or move the {target} to a service tier with a higher limit, then rerun.",
        ),
        0.7,
        transient=True,
    )


@rule(
    "quota",
    "ResourceExhaustion ExternalServiceError",
    r"quota|limitreached|cannot create more than (\d+)|exceeding approved"
    r"|run_limit_exceeded|max_concurrent_runs_exceeded"
    r"|exceed(?:s|ed)? (?:the )?maximum (?:number of )?concurrent",
    example=(
        "Code: QuotaExceeded. Message: Operation could not be completed as it "
        "results in exceeding approved LowPriorityCores quota."
    ),
)
def quota(m: re.Match[str], ctx: Context) -> Finding:
    name = grab(
        ctx.text,
        r"exceeding approved (\S+) (?:cores )?quota",
        r"azure error code: (\w+)",
        r"\b(\w+_LIMIT_EXCEEDED)\b",
        r"quota metric '([^']+)'",
    )
    limit = grab(ctx.text, r"current limit: (\d+)", r"cannot create more than (\d+)")
    concurrent = grab(ctx.text, r"maximum (?:number of )?(concurrent [\w ]{1,30}?) allowed")
    if concurrent:
        return Finding(
            f"the service's limit on {concurrent} for this user or account was reached",
            (
                f"Reduce the {concurrent} the pipelines run at once against this service "
                "(activity or task concurrency, ForEach batch count).",
                "Check for other jobs or sessions using the same user at that time, or give "
                "heavy pipelines their own user.",
                "Retry with backoff, or ask the provider to raise the limit, then rerun.",
            ),
            0.65,
            transient=True,
        )
    cause = "a subscription or workspace quota was reached"
    if name:
        cause += f" ({name}" + (f", limit {limit})" if limit else ")")
    return Finding(
        cause,
        (
            "Request a quota increase for this resource type and region in the cloud portal.",
            "Meanwhile use a different VM family or region, or smaller clusters.",
            "Release unused resources (idle clusters, public IPs, stopped VMs) that count "
            "against the quota.",
            "Stagger concurrent pipelines so fewer clusters start at the same time, then rerun.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "array_capacity",
    "ResourceExhaustion DataError",
    any_of(*signals.ARRAY_CAPACITY),
    example="pyarrow.lib.ArrowInvalid: offset overflow while concatenating arrays",
)
def array_capacity(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
        "Arrow could not hold a column in one array (offset overflow): a string, binary or "
        "list column over 2 GB in one chunk overflows the 32-bit offsets of its type",
        (
            "Cast the column to its large_ type (large_string, large_binary, large_list) "
            "before the concatenation or conversion.",
            "Or process the data in smaller batches or files (a smaller batch or row-group "
            "size, more partitions).",
            "Rerun the failed run after the change.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "named_limit_exceeded",
    "ResourceExhaustion ConfigurationError",
    any_of(*signals.NAMED_LIMIT_EXCEEDED),
    example=(
        "The template validation failed: 'The number of template actions limit exceeded: "
        "maximum '500' and actual '730'.'"
    ),
)
def named_limit_exceeded(m: re.Match[str], ctx: Context) -> Finding:
    what, limit, actual = (m.group(1) or "").strip(), m.group(2), m.group(3)
    subject = what or "items"
    return Finding(
        f"the request has {actual} {subject}, over the service's limit of {limit} per request",
        (
            f"Split the request so each part stays within {limit} {subject} (fewer activities "
            "per pipeline or template, child pipelines, smaller batches).",
            "Check whether a loop or generated definition multiplies them unexpectedly.",
            "Rerun with the smaller requests; the limit is fixed, so retrying as is fails the "
            "same way.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "yarn_container_memory",
    "ResourceExhaustion",
    any_of(*signals.YARN_CONTAINER_MEMORY),
    example=(
        "Container [pid=31573,containerID=container_e5077_1682817307182_87601_01_000001] is "
        "running 30707712B beyond the 'PHYSICAL' memory limit. Current usage: 1.5 GB of 1.5 GB "
        "physical memory used; 10.0 GB of 3.1 GB virtual memory used. Killing container."
    ),
)
def yarn_container_memory(m: re.Match[str], ctx: Context) -> Finding:
    kind = clean_value(next((g for g in m.groups() if g), "physical")).lower()
    container = grab(ctx.text, r"containerid=(container_\w{1,80})", r"\b(container_\w{1,80})")
    used = grab(ctx.text, rf"\b(\d+(?:\.\d+)? [GM]B of \d+(?:\.\d+)? [GM]B) {kind} memory used")
    which = f"YARN container {container}" if container else "a YARN container"
    usage = f" ({used} {kind} memory used)" if used else ""
    return Finding(
        f"{which} was killed for using more {kind} memory than its limit{usage}",
        (
            "Raise the container's memory: spark.executor.memoryOverhead / spark.driver."
            "memoryOverhead (or spark.yarn.am.memory for the application master), or the job's "
            "mapreduce.*.memory.mb.",
            "For virtual memory, raise yarn.nodemanager.vmem-pmem-ratio or turn off "
            "yarn.nodemanager.vmem-check-enabled.",
            "Reduce what each container holds: more, smaller partitions and no large "
            "collect() or broadcast to the driver.",
            "Rerun after the change.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "result_over_size_cap",
    "ResourceExhaustion",
    any_of(*signals.RESULT_OVER_SIZE_CAP),
    example=(
        "googleapi: Error 403: Response too large to return. Consider specifying a destination "
        "table in your job configuration., responseTooLarge"
    ),
)
def result_over_size_cap(m: re.Match[str], ctx: Context) -> Finding:
    """A result larger than the service hands back: BigQuery's query results without a
    destination table, an Airflow mapped task's upstream list over [core] max_map_length."""
    if m.group(1):
        return Finding(
            f"the upstream task returned {m.group(1)} items for a mapped task to expand over, "
            f"more than Airflow's [core] max_map_length ({m.group(2)})",
            (
                "Return fewer items (batch them, e.g. one mapped task per chunk of the list).",
                "Or raise [core] max_map_length (AIRFLOW__CORE__MAX_MAP_LENGTH) if the "
                "scheduler and database can take that many task instances.",
                "Rerun the upstream task after the change.",
            ),
            0.75,
            transient=False,
        )
    return Finding(
        "the query's result is larger than BigQuery returns without a destination table "
        "(responseTooLarge: BigQuery returns at most 10 GB of compressed results directly)",
        (
            "Write the result to a destination table in the job configuration (legacy SQL also "
            "needs allowLargeResults) and read it from there.",
            "Or return less: select fewer columns, filter or aggregate before returning rows.",
            "Rerun the query after the change; as is it fails the same way.",
        ),
        0.75,
        transient=False,
    )


@rule(
    "ecs_placement_no_resources",
    "ResourceExhaustion",
    any_of(*signals.ECS_PLACEMENT_NO_RESOURCES),
    example=(
        "airflow.providers.amazon.aws.exceptions.ECSOperatorError: {'tasks': [], 'failures': "
        "[{'arn': 'arn:aws:ecs:eu-west-1:123456789012:container-instance/abc', 'reason': "
        "'RESOURCE:CPU'}]}"
    ),
)
def ecs_placement_no_resources(m: re.Match[str], ctx: Context) -> Finding:
    resource = grab(
        ctx.text,
        r"reason[\"']: ?[\"']resource:([\w]{1,20})[\"']",
        r"has insufficient (cpu units|memory|gpus?) available",
    ).upper()
    what = {"CPU UNITS": "CPU", "GPUS": "GPU"}.get(resource, resource)
    cluster = grab(ctx.text, r"arn:aws:ecs:[\w-]{1,30}:[^:\s']{1,40}:cluster/([\w-]{1,255})")
    where = f"cluster {quoted(cluster)}" if cluster else "the ECS cluster"
    short = f"free {what}" if what else "free CPU or memory"
    reason = f" (failure reason RESOURCE:{what})" if what else ""
    return Finding(
        f"ECS could not place the task: no container instance in {where} had enough {short} "
        f"for the task definition's reservation{reason}",
        (
            f"Compare the task definition's reservation with the {short} of the "
            "cluster's container instances (other tasks hold what they reserved).",
            "Add capacity (scale the Auto Scaling group or capacity provider, or use Fargate), "
            "or lower the task's reservation.",
            "Limit how many of these tasks run at once (an Airflow pool or max_active_tasks), "
            "then rerun.",
        ),
        0.7,
        transient=True,
    )


@rule(
    "partition_count_limit",
    "ResourceExhaustion",
    any_of(*signals.PARTITION_COUNT_LIMIT),
    example=(
        "Too many partitions produced by query, allowed 4000, query produces at least 4272 "
        "partitions"
    ),
)
def partition_count_limit(m: re.Match[str], ctx: Context) -> Finding:
    limit = grab(ctx.text, r"\ballowed (\d{1,9}),? (?:query|job) produces")
    produced = grab(ctx.text, r"produces at least (\d{1,12}) partitions")
    model = grab(ctx.text, r"database error in model (\w{1,200})")
    who = f"dbt model {quoted(model)}" if model else "the query"
    counts = (
        f" (at least {produced}, over the limit of {limit})"
        if limit and produced
        else (f" (over the limit of {limit})" if limit else "")
    )
    return Finding(
        f"{who} writes more partitions in one job than the engine allows{counts}: the "
        "table's partitioning is too fine for the date range the job covers",
        (
            "Partition the table more coarsely (by month instead of day, or an integer range), "
            "or cluster on the column instead.",
            "Or write the range in several jobs that each touch fewer partitions (incremental "
            "runs, a bounded backfill window).",
            "Rerun after the change; the limit is fixed, so retrying as is fails the same way.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "state_store_out_of_memory",
    "ResourceExhaustion",
    any_of(*signals.STATE_STORE_OUT_OF_MEMORY),
    example="[CANNOT_LOAD_STATE_STORE.ROCKSDB_STORE_PROVIDER_OUT_OF_MEMORY] An error occurred "
    "during loading state. Could not load RocksDB state store with id StateStoreId[ "
    "operatorId=0, partitionId=17, storeName=default ] because of an out of memory exception.",
)
def state_store_out_of_memory(m: re.Match[str], ctx: Context) -> Finding:
    kind = "RocksDB" if m.group(1).lower() == "rocksdb" else "HDFS-backed"
    return Finding(
        f"The streaming query's {kind} state store did not fit in the executor's memory when "
        "it was loaded: the state (keys kept by aggregations, joins or deduplication) has "
        "grown past what the executors hold",
        (
            "Bound the state: add or tighten the watermark so old keys are dropped, or reduce "
            "the keys an aggregation or deduplication keeps.",
            "Give executors more memory (a larger worker type); spreading the state over more "
            "shuffle partitions needs a new checkpoint, which fixes their number.",
            "Restart the query from its checkpoint once it has the memory.",
        ),
        0.7,
        transient=False,
    )


@rule(
    "kryo_buffer_overflow",
    "ResourceExhaustion ConfigurationError",
    r"\bkryo(?: serialization failed: |exception: )buffer overflow\. available: (\d{1,12}), "
    r"required: (\d{1,12})",
    example="org.apache.spark.SparkException: Kryo serialization failed: Buffer overflow. "
    "Available: 0, required: 41. To avoid this, increase spark.kryoserializer.buffer.max value.",
)
def kryo_buffer_overflow(m: re.Match[str], ctx: Context) -> Finding:
    """Spark's Kryo serializer meeting an object larger than its largest buffer."""
    required = clean_value(m.group(2))
    return Finding(
        "Spark's Kryo serializer had to write an object larger than its buffer can grow to "
        f"(another {required} bytes were needed): spark.kryoserializer.buffer.max (64m by "
        "default) is below the largest record, task result or broadcast value the job "
        "serialises",
        (
            "Raise spark.kryoserializer.buffer.max (e.g. 512m; at most 2047m) in the job's or "
            "cluster's Spark configuration.",
            "Avoid very large single objects: collect or broadcast less, split large records.",
            "Rerun the job with the new setting (it applies to a new session).",
        ),
        0.7,
        transient=False,
    )


@rule(
    "spark_checkpoint_block_lost",
    "ResourceExhaustion CodeError",
    any_of(*signals.SPARK_CHECKPOINT_BLOCK_LOST),
    example="org.apache.spark.SparkException: Checkpoint block rdd_1208_8 not found! Either the "
    "executor that originally checkpointed this partition is no longer alive, or the original "
    "RDD is unpersisted.",
)
def spark_checkpoint_block_lost(m: re.Match[str], ctx: Context) -> Finding:
    """A locally checkpointed RDD block gone with the executor that held it."""
    block = clean_value(m.group(1))
    return Finding(
        f"Spark could not find the local checkpoint block {quoted(block)}: a local checkpoint "
        "keeps its blocks only on the executor that wrote them, and that executor is gone "
        "(lost to memory pressure, a spot or preemptible node taken back, autoscaling down or "
        "decommissioning), or the RDD was unpersisted before it was read",
        (
            "Find why the executor left (the Spark UI's Executors tab, the cluster's event "
            "log: out of memory, spot loss, scale-down) and give the job enough memory or "
            "on-demand workers.",
            "Use a reliable checkpoint (rdd.checkpoint() or DataFrame.checkpoint() with "
            "sc.setCheckpointDir on DBFS or cloud storage) instead of localCheckpoint() when "
            "executors can come and go.",
            "Do not unpersist the RDD before the stages that read its checkpoint have run.",
        ),
        0.7,
        transient=None,
    )
