"""Summaries that carry no class but still say where to look (a task whose heartbeats stopped,
SIGTERM, an inner activity, an exit code).
"""

from __future__ import annotations

import re

from analysis.rules.base import Context, Finding, rule
from analysis.rules.extract import clean_value, grab, quoted


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
