"""Informational lines around an error (INFO-level log lines, "created/resumed/succeeded"
statements, "no ... found, creating one", negated failure words) do not decide the class, the
rule that explains the error or the error the RCA quotes; a message made only of them names no
cause. `informational_lines.jsonl` holds mixed inputs written in the platforms' own log formats
(Spark driver log4j, Airflow task logs, ADF activity output): each real error with the benign
lines that used to outvote it. Plain functions, no database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.classifier import (
    INFORMATIONAL_SPAN,
    classify_error,
    informational_lines,
    scan_window,
    without_informational_lines,
)
from analysis.specificity import explain_without_llm

CASES = [
    json.loads(line)
    for line in (Path(__file__).resolve().parent / "informational_lines.jsonl")
    .read_text()
    .splitlines()
    if line.strip()
]


@pytest.mark.parametrize("case", CASES, ids=[case["id"] for case in CASES])
def test_class_and_rule_follow_the_real_error(case: dict) -> None:
    error_type, rca = explain_without_llm(case["message"], source=case["platform"])
    assert (error_type, rca.rule) == (case["label"], case["rule"]), rca.root_cause
    if case["quotes"]:
        assert case["quotes"] in rca.root_cause
    for phrase in case["not_quoted"]:
        assert phrase not in rca.root_cause


@pytest.mark.parametrize(
    "case",
    [
        case
        for case in CASES
        if case["label"] == "Unknown" and not case["rule"] and not case["quotes"]
    ],
    ids=lambda case: case["id"],
)
def test_only_informational_lines_name_no_cause(case: dict) -> None:
    assert classify_error(case["message"]).signals == ()
    assert classify_error(case["message"], plain_words=False).error_type == "Unknown"
    assert scan_window(case["message"]) == ""
    _, rca = explain_without_llm(case["message"], source=case["platform"])
    assert rca.root_cause.startswith("The pipeline failed with an error that matches no known")
    assert "Its text states no failure, only what was done or found: “" in rca.root_cause


SPARK_INFO = "24/05/01 02:00:01 INFO SparkSession: No active Spark session found, creating one"


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        # Informational: what was done, at a line's start or end; going on after a miss.
        ("Created storage credential finance_cred\nLogin failed", "Login failed"),
        ("Capacity resumed.\nLogin failed", "Login failed"),
        ("Table staging.orders does not exist, creating it\nLogin failed", "Login failed"),
        ("Stage 3 completed successfully\nLogin failed", "Login failed"),
        (f"{SPARK_INFO}\nLogin failed", "Login failed"),
        # Negated failure words.
        ("[info     ] Finished with 0 errors, no warnings\nLogin failed", "Login failed"),
        (
            "[2024-05-01, 02:00:02 UTC] {subprocess.py:97} INFO - Command exited with return code 0"
            "\nLogin failed",
            "Login failed",
        ),
        (
            "[2024-05-01, 02:00:01 UTC] {subprocess.py:93} INFO - 02:00:01  Done. PASS=3 WARN=0 "
            "ERROR=0 SKIP=0 TOTAL=3\nLogin failed",
            "Login failed",
        ),
    ],
)
def test_informational_lines_are_left_out(text: str, kept: str) -> None:
    assert without_informational_lines(text) == kept
    assert informational_lines(text) == text.removesuffix(f"\n{kept}")


@pytest.mark.parametrize(
    "text",
    [
        # A done word in a condition or a requirement, or with a failure word.
        "Min and max executors are mandatory when dynamic allocation is started",
        "The capacity must be resumed",
        "Table created with 3 errors",
        "Created 0 of 4 partitions: the quota for the subscription is exceeded",
        "Command exited with return code 1",
        # INFO lines that state a failure, or an exit code (Airflow's own lines at INFO).
        "[2024-05-02, 06:00:00 UTC] {dagrun.py:823} INFO - Run scheduled__x of sales has timed-out",
        "[2024-05-01, 02:00:09 UTC] {local_task_job_runner.py:234} INFO - Task exited with "
        "return code -9",
        "[2021-12-09 19:37:51,949] {scheduler_job.py:407} INFO - Not executing <TaskInstance: a.b> "
        "since it requires 4 slots but there are 2 open slots in the pool my_pool.",
    ],
)
def test_lines_stating_a_failure_or_a_condition_are_kept(text: str) -> None:
    assert without_informational_lines(text) is text


AIRFLOW_INFO = "[2024-05-01, 02:00:09 UTC] {subprocess.py:93} INFO - "


@pytest.mark.parametrize(
    ("text", "error_type"),
    [
        # A program's error printed at INFO (a BashOperator's output) in words of a state gone
        # wrong, not in the failure words: the only line stating the failure.
        (f"{AIRFLOW_INFO}Disk full", "ResourceExhaustion"),
        (f"{AIRFLOW_INFO}Connection pool exhausted", "ResourceExhaustion"),
        (
            f"{AIRFLOW_INFO}[DIVIDE_BY_ZERO] Division by zero. Use `try_divide` to tolerate "
            "divisor being 0 and return NULL instead.",
            "DataError",
        ),
        (
            f"{AIRFLOW_INFO}The spark driver has stopped unexpectedly and is restarting. Your "
            "notebook will be automatically reattached.",
            "ResourceExhaustion",
        ),
    ],
)
def test_an_info_line_stating_a_failure_in_other_words_is_kept(text: str, error_type: str) -> None:
    assert without_informational_lines(text) is text
    assert classify_error(text).error_type == error_type


@pytest.mark.parametrize(
    "text",
    [
        "Driver was restarted",
        "The Spark driver was restarted.",
        "Driver restarted",
        "Executor 3 re-started",
        "SparkContext re-initialized",
        "Cluster was terminated",
    ],
)
def test_a_restart_or_a_termination_without_a_level_is_kept(text: str) -> None:
    """What was restarted (or re-started, re-initialized) stopped first: no work done but an
    event a failure is told by, as a termination is."""
    assert without_informational_lines(text) is text
    assert informational_lines(f"{text}\nLogin failed") == ""


def test_a_driver_restart_alone_names_its_class_and_no_done_work() -> None:
    """Databricks' "Driver was restarted" is what the driver_restart signal reads: left out as a
    thing done, the message named no class and its RCA said it stated no failure."""
    found = classify_error("Driver was restarted")
    assert (found.error_type, found.signals) == ("ResourceExhaustion", ("driver_restart",))
    _, rca = explain_without_llm("Driver was restarted", source="databricks")
    assert "states no failure" not in rca.root_cause
    assert classify_error("Job 41 failed\nDriver was restarted").error_type == "ResourceExhaustion"


def test_a_program_output_logged_at_info_is_kept_whole() -> None:
    """Airflow logs what a task's program prints at INFO from one logger: its error's lines
    without a failure word (a field, its types) are part of it."""
    block = "\n".join(
        f"[2021-02-12 20:51:25,132] {{pod_launcher.py:156}} INFO - {line}"
        for line in (
            'b"BigQuery error in query operation: Error processing job \'moz-fx-data-shared-\\n"',
            'b"prod:bqjob_r540c8667ffa81f70_1\': Invalid schema update. Field\\n"',
            "b'os_version has changed type from NUMERIC to STRING\\n'",
        )
    )
    other = "[2021-02-12 20:51:20,001] {taskinstance.py:1157} INFO - Dependencies all met for ti"
    assert without_informational_lines(f"{other}\n{block}") == block
    assert classify_error(f"{other}\n{block}").error_type == "DataError"


def test_a_value_an_informational_line_states_is_read_after_the_errors() -> None:
    """The rule explaining the error may name what an informational line states when the error
    does not (the host an INFO line says a request went to), never instead of it."""
    message = (
        "root: INFO: Sending 'GET' to url: https://api.partner.example.com/v1/orders\n"
        "root: ERROR: 503:Service Unavailable\n"
        "AirflowException: 503:Service Unavailable"
    )
    _, rca = explain_without_llm(message, source="airflow")
    assert rca.rule == "http_5xx"
    assert "api.partner.example.com" in rca.root_cause
    assert "Sending" not in rca.root_cause
    named = message.replace(
        "root: ERROR: 503", "root: ERROR: HTTP error from https://gw.example.net: 503"
    )
    _, rca = explain_without_llm(named, source="airflow")
    assert "gw.example.net" in rca.root_cause
    assert "api.partner.example.com" not in rca.root_cause


def test_a_huge_log_is_read_as_its_short_form_is() -> None:
    """Past twice INFORMATIONAL_SPAN only the ends are read for informational lines (the middle
    for its error lines): the class and the window still leave them out at both ends."""
    error = "java.io.FileNotFoundException: /dbfs/mnt/raw/sales/2024-05-01.csv (No such file)"
    progress = "\n".join(
        f"24/05/01 02:00:{n % 60:02d} INFO DAGScheduler: Submitted a stage of {chr(97 + n % 26)}"
        for n in range(3000)
    )
    short = f"{SPARK_INFO}\n{error}"
    huge = f"{SPARK_INFO}\n{progress}\n{SPARK_INFO}\n{progress}\n{error}"
    assert len(huge) > 2 * INFORMATIONAL_SPAN
    assert classify_error(huge).error_type == classify_error(short).error_type != "Unknown"
    assert "No active Spark session" not in scan_window(huge)
    assert error in scan_window(huge)
    only_progress = f"{SPARK_INFO}\n{progress}\n{progress}"
    assert len(only_progress) > 2 * INFORMATIONAL_SPAN
    assert scan_window(only_progress) == ""


@pytest.mark.parametrize("above", [False, True])
def test_a_failure_stated_without_an_error_word_between_huge_ends_is_read(above: bool) -> None:
    """Just past twice INFORMATIONAL_SPAN the middle is not read for informational lines: a
    line there that states a failure in words `_SALIENT` does not know is read all the same, as
    it is just below (where the whole message is)."""
    error = "Container exited with a non-zero exit code 137"
    done = "24/05/01 02:00:00 INFO DAGScheduler: Stage 3 completed successfully"
    total = 2 * INFORMATIONAL_SPAN + (200 if above else -200)
    padding = "\n".join([done] * ((total - len(error)) // 2 // (len(done) + 1)))
    huge = f"{padding}\n{error}\n{padding}"
    assert (len(huge) > 2 * INFORMATIONAL_SPAN) is above
    assert classify_error(huge).error_type == classify_error(error).error_type != "Unknown"
    assert error in scan_window(huge)


def test_the_informational_lines_of_a_huge_log_are_those_of_its_ends() -> None:
    """The rules read them after the error (`informational_lines`): of a huge log, those of the
    ends `scan_window` reads, not megabytes of progress lines."""
    progress = "\n".join(
        f"24/05/01 02:00:{n % 60:02d} INFO DAGScheduler: Submitted a stage of {chr(97 + n % 26)}"
        for n in range(20000)
    )
    huge = f"{SPARK_INFO}\n{progress}\njava.io.FileNotFoundException: /dbfs/raw.csv"
    around = informational_lines(huge)
    assert around.startswith(SPARK_INFO)
    assert len(huge) > 8 * INFORMATIONAL_SPAN
    assert len(around) <= 2 * INFORMATIONAL_SPAN


@pytest.mark.parametrize("above", [False, True])
def test_a_failure_stated_in_a_whole_word_between_huge_ends_is_read(above: bool) -> None:
    """A "Disk full" at INFO states a failure in a whole word (`full`), not a failure word: the
    middle of a message just past twice INFORMATIONAL_SPAN reads it too, as the whole message
    just below is read."""
    error = "24/05/01 02:00:01 INFO DiskMonitor: Disk full on /local_disk0"
    done = "24/05/01 02:00:00 INFO DAGScheduler: Stage 3 completed successfully"
    total = 2 * INFORMATIONAL_SPAN + (200 if above else -200)
    padding = "\n".join([done] * ((total - len(error)) // 2 // (len(done) + 1)))
    huge = f"{padding}\n{error}\n{padding}"
    assert (len(huge) > 2 * INFORMATIONAL_SPAN) is above
    assert classify_error(huge).error_type == classify_error(error).error_type != "Unknown"
    assert error in scan_window(huge)


def test_an_exception_a_task_logs_at_info_is_its_message_not_a_logger_name() -> None:
    """After Airflow's "INFO - " comes the message: the program's exception and the lines after
    it ("DETAIL: Key … already exists") are one run of its output with the traceback, kept
    with it, not runs of their own loggers ("psycopg2.errors.UniqueViolation:", "DETAIL:")."""
    head = "[2024-01-10, 10:00:02 UTC] {subprocess.py:93} INFO - "
    message = "\n".join(
        [
            head + "Traceback (most recent call last):",
            head + '  File "/opt/etl/load.py", line 10, in <module>',
            head + "psycopg2.errors.UniqueViolation: duplicate key value violates unique "
            'constraint "orders_pkey"',
            head + "DETAIL:  Key (order_id)=(1042) already exists.",
            "[2024-01-10, 10:00:02 UTC] {taskinstance.py:1937} ERROR - Task failed with exception",
        ]
    )
    assert informational_lines(message) == ""
    assert without_informational_lines(message) == message
