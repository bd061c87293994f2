"""Summaries that carry no class but still say where to look (a task whose heartbeats stopped,
a task Airflow failed from outside, SIGTERM, an inner activity, an exit code), and exit codes
whose meaning is well known.
"""

from __future__ import annotations

import re

from analysis import signals
from analysis.classifier import classify_error
from analysis.rules.base import Context, Finding, rule
from analysis.rules.extract import clean_value, grab, quoted
from analysis.signals import any_of

# The operator wrapper's error holds only the exit code; the task log holds the program's own.
_ANALYSE_THE_LOG = (
    "Analyse the run's log (the button on the ticket's page, or POST /api/v1/log-analyses/ with "
    '{"ticket_id": "<ticket id>"}): with AIRFLOW_API_URL set it reads the failed try\'s task '
    "log, where the program wrote its error, and explains that error."
)
_OPERATOR_EXIT = re.compile(any_of(*signals.OPERATOR_EXIT_CODE), re.IGNORECASE)
# What ran, by the operator's wording.
_OPERATOR_PROGRAMS = (
    ("bash", "the bash command BashOperator ran"),
    ("cannot execute", "the spark-submit command SparkSubmitOperator ran"),
    ("ssh", "the remote command SSHOperator ran"),
)
# Exit codes with a well-known meaning: what it says, what to do first, and whether a retry
# usually passes.
_EXIT_MEANINGS: dict[str, tuple[str, str, bool | None]] = {
    "137": (
        "128 + 9: it was killed with SIGKILL, most often by the out-of-memory killer of its "
        "machine or container, OOMKilled on Kubernetes",
        "Check the memory of the worker, pod or remote host at that time (the pod's events for "
        "OOMKilled, the kernel log for an out-of-memory kill) and give the program more memory "
        "or make it use less (smaller batches, fewer tasks per worker).",
        None,
    ),
    "143": (
        "128 + 15: it was stopped with SIGTERM by something outside it: its container or pod "
        "shutting down (evicted, scaled down, redeployed), a resource manager such as YARN "
        "killing its container over a limit, or a kill sent to it",
        "Find what stopped it at that time: the pod's or container's events (eviction, "
        "scale-down, redeploy), the resource manager's log (YARN: a container killed over its "
        "memory), or whoever sent the kill; then rerun.",
        None,
    ),
    "124": (
        "the code `timeout` exits with when the command it runs passes its time limit: the "
        "command ran longer than the limit set for it",
        "Find why it ran longer than usual (more data, a slow or hung dependency) and make it "
        "faster, or raise the limit the command's `timeout` sets.",
        None,
    ),
    "127": (
        "the shell found no such command: it is not installed where the program ran, not on "
        "that user's PATH, or misspelt",
        "Install the command on every worker (or in the image) the task can run on, or call it "
        "by its full path; check the PATH of the user the task runs as.",
        False,
    ),
    "126": (
        "the shell found the command but could not execute it: it lacks the execute permission "
        "or is not a program this system can run",
        "Make the script executable (chmod +x, with a #! line naming its interpreter) or run it "
        "through its interpreter (bash script.sh); check the file's owner and mount options "
        "(noexec).",
        False,
    ),
}


@rule(
    "task_heartbeat_lost",
    "Unknown ResourceExhaustion TimeoutError",
    # Airflow 2's scheduler ("Detected zombie job: {...}", "Detected <TaskInstance ...> as
    # zombie", "Failing (1) jobs without heartbeat after ..."), Airflow 3's ("Detected a task
    # instance without a heartbeat", "Task did not emit heartbeat within time limit (300
    # seconds) and will be terminated"), and the message Airflow 2.6+ hands the failure
    # callback of such a task: only its ids, "{'DAG Id': ..., 'Task Id': ..., 'Run Id': ...}".
    r"\bzombie\b|\bwithout (?:a )?heartbeat\b|did not emit heartbeat"
    r"|\{'DAG Id': '[^']{1,250}', 'Task Id': ",
    example=(
        "[2024-05-02, 02:00:00 UTC] {scheduler_job_runner.py:1670} ERROR - Detected zombie job: "
        "{'full_filepath': '/opt/airflow/dags/etl.py', 'msg': 'Detected <TaskInstance: "
        "etl.transform ...> as zombie'}"
    ),
)
def task_heartbeat_lost(m: re.Match[str], ctx: Context) -> Finding:
    # The message says the task's process stopped heart-beating, not why: the usual reasons are
    # named as such, the worker's own logs tell which.
    task = grab(ctx.text, r"'Task Id': '([^']{1,250})'", r"<TaskInstance: ([\w.-]{1,250})")
    host = grab(ctx.text, r"'Hostname': '([^']{1,250})'")
    limit = grab(ctx.text, r"heartbeat within time limit \((\d+ seconds)\)")
    cause = "the process of the task" + (f" {quoted(task)}" if task else "")
    cause += f" on {quoted(host)}" if host else ""
    cause += " stopped sending heartbeats"
    cause += f" for over {limit}" if limit else ""
    cause += (
        ", so Airflow failed it as a zombie (a heartbeat timeout): the process was killed or "
        "hung, most often its worker or pod was killed for memory (OOM), restarted or evicted"
    )
    where = f" {quoted(host)}" if host else ""
    return Finding(
        cause,
        (
            f"Read the logs and events of the worker or pod{where} around that time for an OOM "
            "kill (OOMKilled, exit code 137, 'Killed'), an eviction or a restart.",
            "Check the worker's memory and CPU then: give the task more memory, run fewer tasks "
            "per worker, or move heavy work off the worker.",
            "If the process hung (a call without a timeout), add timeouts; raise the heartbeat "
            "limit (Airflow 2: scheduler_zombie_task_threshold, Airflow 3: "
            "task_instance_heartbeat_timeout) only if heartbeats are legitimately late.",
            "Give the task retries so a lost worker does not fail the run, then clear it.",
        ),
        0.5,
    )


@rule(
    "sigterm",
    "Unknown",
    r"sigterm|received signal 15|signals\.sigterm",
    example=(
        "[2024-05-02, 03:15:00 UTC] {local_task_job_runner.py:115} ERROR - "
        "Received SIGTERM. Terminating subprocesses.\n[2024-05-02, 03:15:00 UTC] "
        "{taskinstance.py:2484} ERROR - Received SIGTERM. Terminating "
        "subprocesses."
    ),
)
def sigterm(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
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


@rule(
    "airflow_external_task_failed",
    "Unknown",
    # ExternalTaskSensor's words (Airflow 2 and the standard provider) for the tasks, task group
    # or DAG it waits on having failed in the run it watches; deferred, it names none.
    r"\bexternal tasks? \[?([^\]\n]{1,200}?)\]? in dag '?([\w.-]{1,250})'? failed\b"
    r"|\bexternal task_group '([^'\n]{1,250})' in dag '?([\w.-]{1,250})'? failed\b"
    r"|\bthe external dag '?([\w.-]{1,250})'? failed\b"
    r"|\bexternal job has failed\b",
    example=(
        "airflow.providers.standard.exceptions.ExternalTaskFailedError: Some of the external "
        "tasks ['load_orders'] in DAG sales_daily failed."
    ),
)
def airflow_external_task_failed(m: re.Match[str], ctx: Context) -> Finding:
    tasks, tasks_dag, group, group_dag, dag = (clean_value(g or "") for g in m.groups())
    if tasks:
        names = tasks.replace("'", "")
        waited = f"{'the tasks' if ',' in names else 'the task'} {names} of the DAG {tasks_dag}"
        upstream = tasks_dag
    elif group:
        waited = f"the task group {quoted(group)} of the DAG {group_dag}"
        upstream = group_dag
    elif dag:
        waited = f"the DAG {dag}"
        upstream = dag
    else:
        waited, upstream = "the DAG or tasks it waits on", ""
    where = f"{upstream}'s" if upstream else "the upstream DAG's"
    return Finding(
        f"this is an ExternalTaskSensor: {waited} failed in the run it waits for, so it failed "
        "too. The cause is that failure, not this task",
        (
            f"Find why {where} run failed (its own failure ticket, or its task logs in "
            "Airflow) and fix that first.",
            "Once the upstream run has succeeded (cleared and rerun), clear this sensor so it "
            "checks again.",
            "If this DAG should go on without it, set the sensor's soft_fail=True (it is "
            "skipped instead) or narrow its failed_states.",
        ),
        0.55,
        transient=False,
    )


@rule(
    "inner_activity",
    "Unknown",
    r"inner activity failed|activity failed because an inner",
    example=(
        "Operation on target ForEach_Tables failed: Activity failed because an "
        "inner activity failed"
    ),
)
def inner_activity(m: re.Match[str], ctx: Context) -> Finding:
    return Finding(
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


@rule(
    "exit_code",
    "Unknown",
    r"non-zero exit (?:code|status)(?: \(?(\d+)\)?)?|exit(?:ed with)? code (\d+)"
    r"|return(?:ed)? code (\d+)",
    example="Exit code 1",
)
def exit_code(m: re.Match[str], ctx: Context) -> Finding:
    code = clean_value(next((g for g in m.groups() if g), "")) or grab(ctx.text, r"exit code (\d+)")
    suffix = f" {code}" if code else ""
    return Finding(
        f"a command or script exited with code{suffix or ' non-zero'}; its own error output "
        "holds the cause",
        (
            "Read the command's stderr in the task log just above this line.",
            "Run the same command with the same parameters on the worker to reproduce.",
            "Make the script print a clear error before exiting non-zero.",
        ),
        0.3,
    )


@rule(
    "operator_exit_code",
    "Unknown ResourceExhaustion TimeoutError ConfigurationError",
    any_of(*signals.OPERATOR_EXIT_CODE),
    example=(
        'Traceback (most recent call last):\n  File "/opt/airflow/operators/bash.py", line '
        "243, in execute\n    raise AirflowException(\nairflow.exceptions.AirflowException: Bash "
        "command failed. The command returned a non-zero exit code 2."
    ),
)
def operator_exit_code(m: re.Match[str], ctx: Context) -> Finding | None:
    # The operator's error carries the exit code only. When the text states the program's own
    # error too (a log read with it), that error names the cause: its rule explains it.
    rest = _OPERATOR_EXIT.sub(" ", ctx.text)
    if classify_error(rest, plain_words=False).error_type != "Unknown":
        return None
    code = next((g for g in m.groups() if g), "")
    wording = m.group(0).lower()
    program = next(name for start, name in _OPERATOR_PROGRAMS if wording.startswith(start))
    meaning, first_step, transient = _EXIT_MEANINGS.get(code, ("", "", None))
    cause = f"{program} exited with code {code}"
    cause += f" ({meaning})" if meaning else ""
    cause += (
        "; the operator's error holds only that exit code: the program's own error is in the "
        "task's log, in the output it logged before it"
    )
    recommendations = (
        *((first_step,) if first_step else ()),
        _ANALYSE_THE_LOG,
        "Or read the task's log in Airflow: the program's output is logged just above the exit "
        "code.",
        "Run the same command where the task ran (as its user, with its parameters) to "
        "reproduce the error.",
    )
    return Finding(cause, recommendations, 0.5 if meaning else 0.35, transient)


@rule(
    "airflow_failed_from_outside",
    "Unknown ResourceExhaustion",
    # The text the Airflow callback (integrations/airflow_callback/rca_callback.py) sends for a
    # failure that carries no exception, naming the task instance's state instead: Airflow 3
    # runs the failure callback of a task it failed from outside (its heartbeats stopped, its
    # executor reported it gone, it never left its queue) with no error. And what Airflow hands
    # such a callback of a task that never left its queue ("Task was requeued more than 2 times
    # and will be failed.").
    r"\btask failed without an exception \(state: ([\w-]{1,40})\)"
    r"|\btask was requeued more than (\d{1,6}) times\b"
    # Airflow 2 hands the failure callback the scheduler's or the task job's words instead, as
    # its `exception`: the executor reporting the task finished while its state still said
    # queued or running (2.6 and later, then the wording before), and a running task whose
    # state was set to failed from outside (the UI's "Mark as failed", the CLI, the REST API).
    r"|\breported that the task instance .{0,500}? finished with state failed, but the task "
    r"instance's state attribute is ([\w-]{1,40})"
    r"|\bexecutor reports task instance .{0,500}? finished \(failed\) although the task says "
    r"it'?s ([\w-]{1,40})"
    r"|\b(task marked as failed externally)\b",
    example=(
        "Task failed without an exception (state: running): Airflow reported the failure, but "
        "the task raised no error; it was stopped from outside or lost by its executor. See the "
        "scheduler and executor logs."
    ),
)
def airflow_failed_from_outside(m: re.Match[str], ctx: Context) -> Finding | None:
    # The text (the callback's, or the executor's report Airflow 2 hands it) names the task
    # instance's state when Airflow failed it: what the task was doing then.
    # The executor's report quoted with the log that says why (a pod evicted for memory): that
    # cause's rule explains it.
    if (m.group(3) or m.group(4)) and classify_error(ctx.text).error_type != "Unknown":
        return None
    state = (m.group(1) or m.group(3) or m.group(4) or "").lower()
    requeued = m.group(2)
    if m.group(5):
        return Finding(
            "the task's state was set to failed while it ran, from outside it: by hand in "
            "Airflow's UI (Mark as failed), with the CLI or through the REST API. Airflow "
            "stopped the task, which raised no error of its own",
            (
                "Check Airflow's audit log (Browse > Audit Logs) for who set the task failed, "
                "and when.",
                "If it was stopped on purpose (a run that was wrong, stuck or too costly), "
                "nothing failed: close this ticket.",
                "If nobody meant to, find the script or tool that sets task states through the "
                "REST API or the CLI, then clear the task to run it again.",
            ),
            0.6,
        )
    if requeued or state in ("queued", "scheduled"):
        why = (
            "no worker started it: it waited in its queue past [scheduler] task_queued_timeout "
            f"and was put back, more than {requeued} times, before Airflow failed it"
            if requeued
            else "Airflow failed it while it was still queued, with no error of its own: "
            "either no worker started it within [scheduler] task_queued_timeout, or its "
            "executor reported it failed before it ran (the worker could not start it)"
        )
        return Finding(
            f"the task never started: {why}",
            (
                "Check that workers are up and consume the task's queue (Celery: a worker "
                "started with -q for that queue; Kubernetes: the task's pod started, not Pending "
                "or failing to pull its image).",
                "Check the executor's and the workers' free slots at that time (parallelism, "
                "worker concurrency, pool slots, node resources): a task waits in its queue "
                "while none is free.",
                "Read the scheduler's log around that time for the task (stuck in queued, "
                "requeued, reported failed by the executor) and the worker's for why it did not "
                "start it (the DAG file failing to import there).",
                "Give the task retries, then clear it once workers can take it.",
            ),
            0.45,
        )
    if state == "running":
        return Finding(
            "the task was still running when Airflow failed it, with no error of its own: its "
            "process stopped sending heartbeats (a heartbeat timeout, which Airflow 2 calls a "
            "zombie) or its executor reported it gone. Most often its worker or pod was killed "
            "(for memory: out of memory), evicted or restarted, or the process hung",
            (
                "Read the logs and events of the worker or pod the task ran on around that "
                "time for an out-of-memory kill (OOMKilled, exit code 137, 'Killed'), an "
                "eviction or a restart.",
                "Check the worker's memory and CPU then: give the task more memory, run fewer "
                "tasks per worker, or move heavy work off the worker.",
                "If the process hung (a call without a timeout), add timeouts; raise "
                "[scheduler] task_instance_heartbeat_timeout only if heartbeats are "
                "legitimately late.",
                "Give the task retries so a lost worker does not fail the run, then clear it.",
            ),
            0.45,
        )
    shown = f" (state: {clean_value(state)})" if state else ""
    return Finding(
        f"the task raised no error of its own{shown}: Airflow failed it from outside. Its "
        "process was killed (most often by the out-of-memory killer), its worker or pod was "
        "lost, or its state was set to failed by hand or through the API",
        (
            "Read the scheduler's and the executor's logs around that time for the task: a "
            "heartbeat timeout, a task reported failed by the executor, or a state change.",
            "Read the logs and events of the worker or pod the task ran on for an "
            "out-of-memory kill (OOMKilled, exit code 137), an eviction or a restart.",
            "Check Airflow's audit log for someone marking the task failed.",
            "Give the task retries so a lost worker does not fail the run, then clear it.",
        ),
        0.35,
    )
