"""The one normalized event every webhook parser produces.

Nothing after a parser knows which source an event came from: dedup, correlation,
suppression, ticket creation and analysis all work on `FailureEvent`.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from analysis.redaction import redact
from tickets.timestamps import utc_text
from tickets.vocabulary import Severity, Source

# Severity is re-exported for the parsers, which speak of a failure's severity hint.
__all__ = ["EventKind", "FailureEvent", "ParseError", "Severity", "Source"]

# How a resolve key names a part of a job: `<job key>/task:<task key>`.
TASK_PART = "/task:"

# A Resource Health or Service Health event's details key: when the health event happened
# (ISO 8601, UTC), which orders the steps of one resource's health, or the updates of one
# Service Health incident (Azure does not deliver them in order).
HEALTH_EVENT_AT = "health_event_at"

# A Service Health alert's details key: true when it tells of a notice, not an outage (a
# planned maintenance, an action required, a billing update: the parser's `_is_notice`): its
# ticket is Low and pages nobody unless SERVICE_HEALTH_NOTICES_PAGE says so
# (integrations/fanout.py `_locked_unpaged`), until an update makes it an outage
# (tickets/services.py `_escalate_notice`).
SERVICE_HEALTH_NOTICE = "service_health_notice"

# An ADF alert's Resolved (common schema): the occurrence key its Fired had when Fireds were
# keyed by their alert id, before they were keyed by the run's failure they report.
FIRED_BY_ALERT_ID = "fired_by_alert_id"

# The columns an event is stored in: Ticket.run_id and Ticket.resolve_key, Occurrence.key,
# Ticket.pipeline and Ticket.logic_app_run_id.
RUN_KEY_LIMIT = 600
OCCURRENCE_KEY_LIMIT = 700
PIPELINE_LIMIT = 500
LOGIC_APP_RUN_ID_LIMIT = 200


class EventKind(enum.StrEnum):
    FAILURE = "failure"
    # The source says the failure is over (Azure "Resolved"/"Deactivated", a Databricks
    # success for the same job): close the loop on the matching ticket.
    RESOLVED = "resolved"
    # A valid notification that is neither (a Databricks run start, a duration warning
    # below the failure bar...): stored, answered, nothing else.
    IGNORED = "ignored"


class ParseError(ValueError):
    """The body is JSON but not a payload this parser accepts; the message names the problem.
    It is answered to the sender, stored with the refused delivery and logged, and may quote
    the sender's fields: it is redacted here, once for every parser."""

    def __init__(self, reason: str) -> None:
        super().__init__(redact(reason))


@dataclass(frozen=True)
class FailureEvent:
    """A failure (or its resolution) as reported by one source.

    Keys, from the narrowest to the broadest:
    - `occurrence_key`: one physical failure instance. The same delivery sent twice has
      the same key (a duplicate); an Airflow retry of the same task has a new one (a recurrence).
    - `run_key`: one ticket per run key, decided by a database uniqueness constraint
      (stored as the ticket's `run_id`). Source-scoped, e.g. `airflow:dag/task/run`.
    - `resolve_key`: what a later recovery of the same thing names to end this failure: the
      ADF factory and pipeline, the Databricks job (`<job>/task:<task>` for a task), the
      Airflow task, the Azure alert. A recovery ends the failures with its own key and those
      whose key is `<its key>/task:...` (a job's success covers its tasks), nothing else.
    - `recovers_occurrence`: a recovery that names the failure instance it ends (an Azure
      alert's Resolved gives its Fired's time, hence its occurrence key) also ends the ticket
      that instance was counted on, when it was correlated into another alert's ticket.
    - `part_of`: a unit's failure (below) names the occurrence key its whole run's own failure
      has or will have (a Databricks task's: its job run's `jobs.on_failure`). The two are
      serialized on it, and the one that lands second is one more occurrence of the first's
      ticket: one run, one page, in whichever order the source sends them. (A unit's run key
      is its whole run's and `:<unit>`.)

    `deployment` names where the pipeline lives (its ADF factory, its Databricks workspace) when
    the source says: same-named pipelines of a dev and a prod factory fail separately. `unit`
    names the part of the pipeline that failed when the source reports parts on their own (a
    Databricks job's task): the same error in two tasks is two failures, each ended by its own
    task's success.

    `subject` names what one rule of the source watches several of, when the event says which
    one this is (an Azure alert's target resource ids and the values of its dimensions that
    name a host, computer, node, server, machine, VM, device or resource; not a pod, container
    or instance, replaced at every rollout): kept verbatim in the
    fingerprint, whose message masking would make `vm-prod-07` and `vm-prod-08` one failure.

    `correlation_text` stands for the error message in the fingerprint when the message is one
    report of a state that changes while the failure lasts (a Resource Health event's title,
    statuses and time: each step of one outage comes as an alert of its own); empty, the
    message is what is compared.
    """

    source: Source
    processing_mode: str  # "adf", "databricks", "airflow", "azure-monitor": the ticket id prefix
    kind: EventKind
    pipeline: str
    run_key: str
    occurrence_key: str
    resolve_key: str = ""
    recovers_occurrence: str = ""
    part_of: str = ""
    deployment: str = ""
    unit: str = ""
    subject: str = ""
    correlation_text: str = ""
    error_message: str = ""
    severity_hint: Severity | None = None
    occurred_at: datetime | None = None
    resource: dict[str, Any] = field(default_factory=dict)
    links: dict[str, str] = field(default_factory=dict)
    logic_app_run_id: str = ""
    # Source facts worth keeping that have no column: error code, activity, try number...
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Every field fits its column, whatever the sender's ids (Airflow allows 250 characters
        for each of a DAG, task and run id, and a key joins them): a long key keeps its prefix
        and ends with a hash of the whole, so distinct keys stay distinct and a redelivery maps
        to the same key; a long pipeline name or Logic App run id is cut."""
        bounded = {
            "run_key": bounded_key(self.run_key, RUN_KEY_LIMIT),
            "resolve_key": bounded_key(self.resolve_key, RUN_KEY_LIMIT),
            "occurrence_key": bounded_key(self.occurrence_key, OCCURRENCE_KEY_LIMIT),
            "recovers_occurrence": bounded_key(self.recovers_occurrence, OCCURRENCE_KEY_LIMIT),
            "part_of": bounded_key(self.part_of, OCCURRENCE_KEY_LIMIT),
            "pipeline": self.pipeline[:PIPELINE_LIMIT],
            "logic_app_run_id": self.logic_app_run_id[:LOGIC_APP_RUN_ID_LIMIT],
        }
        for name, value in bounded.items():
            if value != getattr(self, name):
                object.__setattr__(self, name, value)  # frozen: set once, while it is built

    def summary(self) -> dict[str, Any]:
        """A JSON-safe form, kept on the inbox row and used as evidence."""
        return {
            "source": self.source,
            "processing_mode": self.processing_mode,
            "kind": str(self.kind),
            "pipeline": self.pipeline,
            "run_key": self.run_key,
            "occurrence_key": self.occurrence_key,
            "resolve_key": self.resolve_key,
            "recovers_occurrence": self.recovers_occurrence,
            "part_of": self.part_of,
            "deployment": self.deployment,
            "unit": self.unit,
            "subject": self.subject,
            "correlation_text": self.correlation_text,
            "error_message": self.error_message,
            "severity_hint": str(self.severity_hint) if self.severity_hint else None,
            "occurred_at": utc_text(self.occurred_at) if self.occurred_at else None,
            "resource": self.resource,
            "links": self.links,
            "logic_app_run_id": self.logic_app_run_id,
            "details": self.details,
        }


def bounded_key(key: str, limit: int) -> str:
    """`key` if it fits in `limit` characters, else its prefix, `#` and the SHA-256 of the whole
    (so a prefix match on the key's start, such as a job's `/task:` parts, still holds)."""
    if len(key) <= limit:
        return key
    digest = hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()
    return f"{key[: limit - len(digest) - 1]}#{digest}"
