"""The product's shared vocabulary: one enum for each word, declared once.

Pure Python (no Django import), so the parsers, the classifier and the rule RCA use the same
enums as the models, serializers, filters, the OpenAPI document and the templates. A member's
value is what the database stores; its label is what people read. Django fields take their
`choices` from `choices(Enum)`.
"""

from __future__ import annotations

import enum
from typing import Any


class Vocabulary(enum.StrEnum):
    """A string enum whose members may carry a label: `OPEN = "open", "Open"`."""

    _label: str

    def __new__(cls, value: str, label: str | None = None) -> Any:
        member = str.__new__(cls, value)
        member._value_ = value
        member._label = label or value
        return member

    @property
    def label(self) -> str:
        return self._label


def choices(vocabulary: type[Vocabulary]) -> list[tuple[str, str]]:
    """(value, label) pairs for a Django field or form."""
    return [(member.value, member.label) for member in vocabulary]


class ErrorClass(Vocabulary):
    """What kind of failure it is (the classifier decides; the rule RCA and Gemini answer in it)."""

    NETWORK = "NetworkError"
    DATABASE = "DatabaseError"
    RESOURCE_EXHAUSTION = "ResourceExhaustion"
    AUTHENTICATION = "AuthenticationError"
    DATA = "DataError"
    EXTERNAL_SERVICE = "ExternalServiceError"
    TIMEOUT = "TimeoutError"
    CONFIGURATION = "ConfigurationError"
    CODE = "CodeError"
    UNKNOWN = "Unknown"


class Severity(Vocabulary):
    CRITICAL = "Critical"
    HIGH = "High"
    MEDIUM = "Medium"
    LOW = "Low"


class Priority(Vocabulary):
    P1 = "P1"
    P2 = "P2"
    P3 = "P3"
    P4 = "P4"


class Source(Vocabulary):
    """Where a failure was reported: each has its webhook and its parser."""

    AZURE_MONITOR = "azure-monitor", "Azure Monitor"
    ADF = "adf", "Azure Data Factory"
    DATABRICKS = "databricks", "Databricks"
    AIRFLOW = "airflow", "Airflow"


class Status(Vocabulary):
    """A ticket's lifecycle state (tickets/lifecycle.py moves it)."""

    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    ACKNOWLEDGED = "acknowledged", "Acknowledged"
    RESOLVED = "resolved", "Resolved"


class SlaStatus(Vocabulary):
    PENDING = "Pending"
    MET = "Met"
    BREACHED = "Breached"


class Outcome(Vocabulary):
    """What recording one webhook delivery did (the webhook's answer and the inbox row)."""

    CREATED = "created", "Created"
    DUPLICATE = "duplicate", "Duplicate"
    CORRELATED = "correlated", "Correlated"
    REGRESSED = "regressed", "Regressed"  # a repeat of a resolved failure reopened its ticket
    SUPPRESSED = "suppressed", "Suppressed"
    RESOLVED = "resolved", "Resolved"
    IGNORED = "ignored", "Ignored"


# The `details` key under which an ADF failure that an Azure alert carried keeps its error
# alone, apart from the alert's account of itself that its ticket's message adds (the rule,
# the query, every dimension): its culprit is read from it and its rule RCA quotes it.
ADF_ALERT_ERROR = "adf_error"

# The facts of one try of a task (an Airflow task instance's) that a ticket's `details` keep of
# the latest failure counted on it, where its error and analysis stay the first one's.
TRY_DETAILS = ("try_number", "max_tries", "state", "hostname", "duration")

# The task under which the Airflow callback (rca_callback.py's DAG_RUN_TASK_ID) reports a DAG
# run's own failure (it timed out or deadlocked): no task instance has that id, so there is
# none to clear and no task log to read.
AIRFLOW_DAG_RUN_TASK = "(dag run)"

# The `details` key under which an Airflow ticket keeps the failed run with the latest logical
# date among those counted on it after the one that opened it, or since the one that last
# regressed it, that one included (`run_key`, `run_id`, `logical_date`): a success of an older
# run leaves it open (`tickets.services._newer_failed_run`).
NEWEST_FAILED_RUN = "newest_failed_run"
# The `details` keys under which the ticket of a mapped Airflow task (`.expand()`) keeps the map
# indexes of its instances counted on it since it opened or last regressed (sorted whole
# numbers), and of those of them whose success has not come yet: the ticket is recovered at its
# source when the last of these succeeds (`tickets.services._resolve`), and a clear clears them.
FAILED_MAP_INDEXES = "failed_map_indexes"
FAILING_MAP_INDEXES = "failing_map_indexes"
# The `details` keys under which the ticket of a Databricks task keeps the keys of the tasks
# counted on it (sorted), once a task of the same run failing alike was counted there too
# (`tickets.services.settle_fingerprint`), and of those whose success has not come yet: such a
# ticket is recovered at its source when the last of these succeeds (`tickets.services._resolve`).
FAILED_TASKS = "tasks_failed_alike"
FAILING_TASKS = "tasks_still_failing"
# The `details` key under which the ticket of a Databricks run whose first failed task is a Run
# Job task (`run_job_task`) keeps the job run that task triggered (of the latest such run counted
# on it), known from the task's output
# even when that run could not be read: {"run_key": "databricks:<workspace>:<run id>",
# "task_key": <the Run Job task>}. That run's failure and this one are one failure
# (`tickets.services.settle_fingerprint`).
TRIGGERED_JOB_RUN = "triggered_job_run"
# The `details` key under which a ticket that counts a Databricks job's failure and that of the
# job run its Run Job task triggered (the one folded into the other: `settle_fingerprint`)
# names both jobs: a list of {"job": <the job that ran the other>, "task": <its Run Job task>,
# "ran": <the job it ran>}.
JOBS_FAILED_TOGETHER = "jobs_failed_together"
# The `details` keys a count of a failure writes on the row (`record_recurrence`, and a fold:
# `tickets.services.settle_fingerprint`), which an analysis running meanwhile keeps as the row
# has them.
COUNTED_DETAILS = (
    *TRY_DETAILS,
    NEWEST_FAILED_RUN,
    FAILED_MAP_INDEXES,
    FAILING_MAP_INDEXES,
    FAILED_TASKS,
    FAILING_TASKS,
    TRIGGERED_JOB_RUN,
    JOBS_FAILED_TOGETHER,
)
