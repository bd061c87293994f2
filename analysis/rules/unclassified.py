"""Summaries that carry no class but still say where to look (SIGTERM, an inner activity, an exit
code).
"""

from __future__ import annotations

import re

from analysis.rules.base import Context, Finding, rule
from analysis.rules.extract import clean_value, grab


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
