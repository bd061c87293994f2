"""JIRA: one issue per ticket, kept in step with it (transitions and comments).

The transport wraps the `jira` library (REST API v2, basic auth with an API token). Exactly one
issue per ticket although JIRA's issue create takes no idempotency key: each issue is tagged
with the label `rca-<ticket id>`, each create request sent is counted first, a retry looks for
a tagged issue before creating one, and a reconcile delivery removes what a late request
created twice (see integrations/fanout.py).

Error and RCA text are untrusted: in JIRA they sit in {noformat} blocks.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import logging
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache

from integrations.models import OutboundDelivery, OutboundStatus
from integrations.pacing import Pace
from integrations.targets.base import (
    DEFAULT_TIMEOUT,
    INCIDENT_CHANGE_WORDS,
    RECOVERED_BEFORE_PAGING,
    Action,
    Change,
    FollowUp,
    IncidentChange,
    IncidentPage,
    NotSent,
    Target,
    TransportError,
    Waiting,
    changed_member,
    count_send,
    earlier_sends,
    fix_to_tell,
    fresh_ticket,
    header,
    incident_after_paging,
    incident_of,
    incident_page,
    incident_url,
    is_transient_status,
    last_time,
    left_unpaged,
    member_links,
    naming_destination,
    page_on_its_way,
    parse_retry_after,
    reconcile_later,
    reconciled,
    recovered_before_paging,
    source_links,
    ticket_url,
    told_with_its_success,
    via_words,
    wait_for,
    wait_for_incident,
)
from tickets import incidents, jira_status, lifecycle
from tickets.lifecycle import Actor
from tickets.models import ActorKind, AuditLog, Incident, IncidentEvent, Ticket
from tickets.vocabulary import Priority, Status

logger = logging.getLogger(__name__)

CREATE, SYNC, RECONCILE = "jira_create", "jira_sync", "jira_reconcile"
INCIDENT_CREATE, INCIDENT_SYNC, INCIDENT_LINK, INCIDENT_COMMENT = (
    "jira_inc_create",
    "jira_inc_sync",
    "jira_inc_link",
    "jira_inc_comment",
)
# JIRA refuses a description or a comment over 32,767 characters (a 400), counted as Java
# counts them: UTF-16 code units, two for a character beyond the BMP (an emoji). So are ours
# (`jira_length`).
DESCRIPTION_LIMIT = 30000
# What a comment shows of each untrusted text it quotes (a note, a fix) at most.
COMMENT_TEXT_LIMIT = 10000
# How a failed create call's recorded error starts (the transport's wording).
CREATE_CALL = "JIRA create issue"
JIRA_PRIORITY: dict[str, str] = {
    Priority.P1: "Highest",
    Priority.P2: "High",
    Priority.P3: "Medium",
    Priority.P4: "Low",
}
LIFECYCLE_CHANGES = {"acknowledge", "start_progress", "resolve", "reopen", "regressed"}
# Remediation outcomes, commented on the issue (the status follows the lifecycle's own changes).
REMEDIATION_CHANGES = {"remediation_failed", "remediation_succeeded"}
# Analysed again after its issue was created (a fresh RCA, its error fetched at last).
ANALYSED = "analysed"
# The audit entry of a ticket's issue, and its detail naming the analysis (`analysed_at`) the
# issue was created telling.
LINKED = "jira issue linked"
TELLS_ANALYSIS = "analysed_at"
# The audit entry of a ticket whose issue was deleted in JIRA (`jira:issue_deleted`), and the
# timeline entry of an incident's (integrations/syncback.py): its `issue` detail, the key.
DELETED = "jira issue deleted"
INCIDENT_DELETED = "jira_deleted"


def deleted_issue(ticket_id: str) -> str:
    """The key of the ticket's issue deleted in JIRA, or '' (none was)."""
    details = (
        AuditLog.objects.filter(ticket_id=ticket_id, action=DELETED)
        .order_by("-id")
        .values_list("details", flat=True)
        .first()
    )
    return str((details or {}).get("issue") or "")


def incident_deleted_issue(incident_id: str) -> str:
    """The key of the incident's issue deleted in JIRA, or '' (none was)."""
    details = (
        IncidentEvent.objects.filter(incident_id=incident_id, kind=INCIDENT_DELETED)
        .order_by("-id")
        .values_list("details", flat=True)
        .first()
    )
    return str((details or {}).get("issue") or "")


def _not_sent_to_deleted(key: str) -> NotSent:
    return NotSent(f"not sent: its JIRA issue {key} was deleted in JIRA")


def _graver_priority(wanted: str, current: str) -> bool:
    """`wanted` is graver than `current` (JIRA's names, as JIRA_PRIORITY gives them); a
    priority of another scheme, set by people, is never overridden."""
    ranks = list(JIRA_PRIORITY.values())
    if not current:
        return True
    return current in ranks and ranks.index(wanted) < ranks.index(current)


# --- transport ----------------------------------------------------------------------------------


def _jql_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


# More issues than this under one ticket's label would not be duplicates from retries.
MAX_LABELLED_ISSUES = 50
DUPLICATE_LABEL = "rca-duplicate"


def _created_order(issue: Any) -> tuple[dt.datetime, int]:
    """Creation time, then the numeric id (JIRA allocates ids in increasing order)."""
    raw = getattr(issue, "raw", None) or {}
    created = str((raw.get("fields") or {}).get("created") or "")
    try:
        when = dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        when = dt.datetime.min.replace(tzinfo=dt.UTC)
    issue_id = str(raw.get("id") or getattr(issue, "id", "") or "")
    return when, int(issue_id) if issue_id.isdigit() else 0


# How long a transition made here waits for its webhook (JIRA sends it within seconds).
OWN_TRANSITION_SECONDS = 3600
# Who the service is in JIRA (`/myself`): webhooks name the account, often without its e-mail.
OWN_ACCOUNT_KEY = "jira-own-account"


# What to do when the issue's workflow names its statuses otherwise than the status map.
MAP_THE_WORKFLOW = "map the workflow's statuses to the ticket's in admin (JIRA status mappings)"


# Resolutions that say an issue was closed without a fix: JIRA's own (Jira Cloud's and Jira
# Server/Data Center's defaults, Jira Service Management's Declined), those sites often add
# (Rejected, Obsolete, ...) and German ones (Abgelehnt: Declined); a site's others are added
# with JIRA_NOT_FIXED_RESOLUTIONS.
NOT_FIXED_RESOLUTIONS = frozenset(
    {
        "won't do",
        "won't fix",
        "duplicate",
        "cannot reproduce",
        "incomplete",
        "declined",
        "rejected",
        "obsolete",
        "invalid",
        "not a bug",
        "works as designed",
        "works as intended",
        "abandoned",
        "cancelled",
        "canceled",
        "withdrawn",
        "abgelehnt",
        "duplikat",
        "obsolet",
        "wird nicht erledigt",
        "wird nicht behoben",
        "nicht reproduzierbar",
        "unvollständig",
    }
)
# The resolutions that say so plainly, preferred when the service resolves an issue.
FIXED_RESOLUTIONS = ("done", "fixed")


def _resolution_name(resolution: str) -> str:
    return resolution.strip().lower().replace("\u2019", "'")


def fixed_by(resolution: str) -> bool:
    """Whether a JIRA resolution says the issue was fixed: any but NOT_FIXED_RESOLUTIONS and
    JIRA_NOT_FIXED_RESOLUTIONS, compared ignoring case, a typographic apostrophe read as a
    plain one ("Won\u2019t Do"); none set, as in a workflow without the field, counts as
    fixed. A comment left with a resolution that says nothing was fixed ("duplicate of
    OPS-12") is no fix: kept as one, it would be offered for the next failure like it."""
    name = _resolution_name(resolution)
    site_names: list[str] = settings.JIRA_NOT_FIXED_RESOLUTIONS
    site = {_resolution_name(other) for other in site_names}
    return name not in NOT_FIXED_RESOLUTIONS and name not in site


def _resolution_for(transition: Mapping[str, Any]) -> dict[str, Any]:
    """The `fields` to send with a transition. When its screen shows Resolution (as listed
    with `expand=transitions.fields`), JIRA refuses the move without one ("Field Resolution
    is required."): it is set to Done or Fixed, else to the first resolution offered that
    says the issue was fixed, else to the first offered. A transition whose screen does not
    show it is sent none (JIRA refuses a field its screen does not show)."""
    screen = transition.get("fields")
    resolution = screen.get("resolution") if isinstance(screen, dict) else None
    if not isinstance(resolution, dict):
        return {}
    names = [
        str(value.get("name", ""))
        for value in resolution.get("allowedValues") or []
        if isinstance(value, dict) and value.get("name")
    ]
    if not names:
        return {}
    preferred = [n for n in names if n.strip().lower() in FIXED_RESOLUTIONS]
    fixed = [n for n in names if fixed_by(n)]
    return {"resolution": {"name": (preferred or fixed or names)[0]}}


def _own_transition_key(issue_key: str, status: str) -> str:
    # Hashed: a status name holds spaces, which some cache backends refuse in a key.
    digest = hashlib.sha256(f"{issue_key}\n{status.strip().lower()}".encode()).hexdigest()
    return f"jira-own-transition:{digest[:32]}"


def own_account_ids() -> frozenset[str] | None:
    """The ids a webhook names the service's own JIRA account by: JIRA_USER, and what
    `/myself` answered (account id, name, key) when the service moved an issue; None while
    that is not known (`/myself` not asked yet, or it failed)."""
    try:
        known = cache.get(OWN_ACCOUNT_KEY)
    except Exception:
        logger.warning("could not read the JIRA account's ids", exc_info=True)
        known = None
    if known is None:
        return None
    return frozenset(i for i in [settings.JIRA_USER, *known] if i)


def expect_own_transition(issue_key: str, status: str) -> None:
    """Note that the issue is being moved to `status` from here, before the call that moves
    it (its webhook can land before the call returns). Each note is kept for an hour from
    the latest move."""
    name = _own_transition_key(issue_key, status)
    try:
        cache.add(name, 0, OWN_TRANSITION_SECONDS)
        cache.incr(name)
        cache.touch(name, OWN_TRANSITION_SECONDS)
    except Exception:  # the cache (Redis) is down: the echo is not recognised (see syncback)
        logger.warning("could not note the JIRA transition of %s", issue_key, exc_info=True)


def took_own_transition(issue_key: str, status: str) -> bool:
    """Whether a status change by the service's account that JIRA reports is the echo of one
    made here (each counts once): applied, it would undo any change made here since
    (acknowledged, then resolved: the 'In Progress' echo arriving after the resolve would
    reopen the ticket). The caller checks who made the change."""
    name = _own_transition_key(issue_key, status)
    try:
        if cache.decr(name) >= 0:
            return True
        cache.incr(name)  # none was left: back to zero
        return False
    except ValueError:  # nothing noted
        return False
    except Exception:
        logger.warning("could not read the JIRA transitions of %s", issue_key, exc_info=True)
        return False


class JiraTransport:
    """JIRA through the `jira` library (REST API v2, basic auth with an API token)."""

    name = "jira"

    def __init__(
        self,
        server: str,
        user: str,
        api_token: str,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        cloud: bool | None = None,
    ) -> None:
        """`cloud`: Jira Cloud has retired `/rest/api/2/search` for `/rest/api/2/search/jql`.
        None guesses from the host (`*.atlassian.net`)."""
        from jira import JIRA

        self.server = server.rstrip("/")
        self.timeout = timeout
        if cloud is None:
            cloud = (urlsplit(self.server).hostname or "").endswith(".atlassian.net")
        self.cloud = cloud
        try:
            self._client = JIRA(
                server=self.server,
                basic_auth=(user, api_token),
                get_server_info=False,
                max_retries=0,
                timeout=timeout,
            )
        except Exception as exc:  # a bad URL and the like: a configuration error
            raise TransportError(f"JIRA client setup failed: {exc}", permanent=True) from exc
        if cloud:
            # Without get_server_info the client does not know; this selects the /search/jql API.
            self._client.deploymentType = "Cloud"

    @classmethod
    def from_settings(cls) -> JiraTransport | None:
        from django.conf import settings

        server = settings.JIRA_URL
        user = settings.JIRA_USER
        token = settings.JIRA_API_TOKEN
        if not (server and user and token):
            return None
        return cls(
            server,
            user,
            token,
            timeout=settings.OUTBOUND_TIMEOUT_SECONDS,
            cloud=settings.JIRA_CLOUD,
        )

    # -- operations ----------------------------------------------------------------------------
    def find_issue_by_label(self, label: str) -> str | None:
        jql = f"labels = {_jql_string(label)} ORDER BY created ASC"
        with _jira_errors("search by label"):
            issues = self._client.search_issues(jql, maxResults=1, fields=["status"])
        return issues[0].key if issues else None

    def issues_with_label(self, label: str) -> list[str]:
        """Keys of the issues carrying `label`, the oldest first."""
        jql = f"labels = {_jql_string(label)} ORDER BY created ASC"
        with _jira_errors("search by label"):
            issues = self._client.search_issues(
                jql, maxResults=MAX_LABELLED_ISSUES, fields=["created"]
            )
        return [issue.key for issue in sorted(issues, key=_created_order)]

    def delete_issue_if_untouched(self, key: str) -> Literal["deleted", "gone", "touched"]:
        """Delete the issue unless someone worked on it (moved it out of its first status or
        commented): "touched" leaves it as it is. Read just before deleting, so that what is
        checked is as fresh as it can be. "gone": it no longer exists."""
        try:
            with _jira_errors(f"read {key}"):
                issue = self._client.issue(key, fields="status,comment")
            fields = issue.raw.get("fields") or {}
            category = ((fields.get("status") or {}).get("statusCategory") or {}).get("key")
            comments = (fields.get("comment") or {}).get("total") or 0
            if category not in (None, "new") or comments:
                return "touched"
            with _jira_errors(f"delete {key}"):
                issue.delete()
        except TransportError as exc:
            if exc.status == 404:
                return "gone"
            raise
        return "deleted"

    def mark_duplicate(self, key: str, *, label: str, duplicate_of: str, note: str) -> bool:
        """Take `label` off the issue, label it `rca-duplicate` and comment which issue it
        duplicates; False when it no longer exists."""
        try:
            with _jira_errors(f"read {key}"):
                issue = self._client.issue(key, fields="labels")
            with _jira_errors(f"relabel {key}"):
                issue.update(
                    update={"labels": [{"remove": label}, {"add": DUPLICATE_LABEL}]},
                )
            self.add_comment(key, note)
        except TransportError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def create_issue(
        self,
        *,
        project: str,
        summary: str,
        description: str,
        priority: str,
        labels: list[str],
        issue_type: str = "Task",
        extra_fields: Mapping[str, Any] | None = None,
    ) -> str:
        """`extra_fields` (the project's JIRA_ISSUE_FIELDS) come first: never over the fields
        set here."""
        fields = {
            **(extra_fields or {}),
            "project": {"key": project},
            "summary": summary,
            "description": description,
            "issuetype": {"name": issue_type},
            "priority": {"name": priority},
            "labels": list(labels),
        }
        with _jira_errors("create issue"):
            try:
                issue = self._client.create_issue(fields=fields, prefetch=False)
            except Exception as exc:
                if not _refuses_priority(exc):
                    raise
                # Refused, so nothing was created: made with the project's default priority.
                _log_priority_refused(project, priority, exc)
                del fields["priority"]
                issue = self._client.create_issue(fields=fields, prefetch=False)
        return issue.key

    def issue_key_and_labels(self, issue_id: str) -> tuple[str, tuple[str, ...]] | None:
        """The key and labels of the issue with this numeric id; None when JIRA has none (it
        was deleted, or the service's account may not see it)."""
        try:
            with _jira_errors(f"read issue {issue_id}"):
                issue = self._client.issue(issue_id, fields="labels")
        except TransportError as exc:
            if exc.status == 404:
                return None
            raise
        labels = getattr(issue.fields, "labels", None) or ()
        return issue.key, tuple(str(label) for label in labels)

    def current_status(self, key: str) -> str:
        with _jira_errors(f"read {key}"):
            issue = self._client.issue(key, fields="status")
        return issue.fields.status.name

    def transition_to(self, key: str, target_status: str, *alternatives: str) -> bool:
        """Move the issue to the status named `target_status`, or, when its workflow offers no
        transition there from where the issue is, to the first of `alternatives` it offers one
        to (statuses that mean the same here: from Resolved, a classic workflow leads to
        Reopened, not Open). False when it is in any of them already, also when the move is
        refused because it got there meanwhile (another delivery of the ticket, e.g. its
        resolution and the remediation's success, moved it first)."""
        names = [target_status, *alternatives]
        wanted = [name.strip().lower() for name in names]
        if self.current_status(key).strip().lower() in wanted:
            return False
        with _jira_errors(f"list transitions of {key}"):
            # With the fields of each one's screen: one that shows Resolution needs it set.
            transitions = self._client.transitions(key, expand="transitions.fields")
        leading = {str(t.get("to", {}).get("name", "")).lower(): t for t in reversed(transitions)}
        match = next((leading[name] for name in wanted if name in leading), None)
        if match is None:
            available = ", ".join(
                f"{t.get('name')} -> {t.get('to', {}).get('name')}" for t in transitions
            )
            targets = " or ".join(repr(name) for name in names)
            raise TransportError(
                f"JIRA {key}: no transition leads to {targets} (available: {available});"
                f" {MAP_THE_WORKFLOW}, then retry this delivery",
                permanent=True,
            )
        self._remember_own_account()
        expect_own_transition(key, str(match["to"]["name"]))
        try:
            with _jira_errors(f"transition {key} to {target_status}"):
                self._client.transition_issue(key, str(match["id"]), fields=_resolution_for(match))
        except TransportError as exc:
            if not exc.permanent:  # a timeout may still have moved it
                raise
            took_own_transition(key, str(match["to"]["name"]))  # refused: no echo will come
            if self.current_status(key).strip().lower() in wanted:
                return False
            raise
        return True

    def _remember_own_account(self) -> None:
        """Ask JIRA who the service is, once a day, before it moves or comments on an issue,
        so its echoes are recognised by the account id webhooks carry (best effort: JIRA_USER
        is checked anyway)."""
        try:
            if cache.get(OWN_ACCOUNT_KEY) is not None:
                return
            me = self._client.myself()
            ids = [str(me.get(field) or "") for field in ("accountId", "name", "key")]
            cache.set(OWN_ACCOUNT_KEY, [i for i in ids if i], 24 * 3600)
        except Exception:
            logger.warning("could not learn the JIRA account's ids", exc_info=True)

    def update_issue(
        self,
        key: str,
        *,
        summary: str,
        description: str,
        priority: str = "",
        pushed: str = "",
    ) -> None:
        """`priority`: ours now; `pushed`: ours when we last set the issue's (blank: never).
        The issue is raised to `priority` only when ours got graver since (`pushed`) and
        the issue's own is milder: a priority people set in JIRA is otherwise kept (one
        they lowered is not raised again until ours gets graver), and none is lowered."""
        with _jira_errors(f"update {key}"):
            issue = self._client.issue(key, fields="summary,priority")
            fields: dict[str, Any] = {"summary": summary, "description": description}
            current = getattr(getattr(issue.fields, "priority", None), "name", "") or ""
            if (
                priority
                and _graver_priority(priority, pushed)
                and _graver_priority(priority, current)
            ):
                fields["priority"] = {"name": priority}
            try:
                issue.update(fields=fields)
            except Exception as exc:
                if "priority" not in fields or not _refuses_priority(exc):
                    raise
                _log_priority_refused(key, priority, exc)
                del fields["priority"]
                issue.update(fields=fields)

    def add_comment(self, key: str, body: str) -> None:
        self._remember_own_account()  # its webhook may name the account by its id alone
        with _jira_errors(f"comment on {key}"):
            self._client.add_comment(key, body)


def _refuses_priority(exc: BaseException) -> bool:
    """JIRA's 400 naming the `priority` field: a name its priority scheme lacks (a Jira
    Server/Data Center site set up before 7.6 keeps Blocker, Critical, Major, Minor, Trivial),
    or a project whose screens leave Priority off. Any other field refused is still an error."""
    from jira.exceptions import JIRAError

    if not isinstance(exc, JIRAError) or exc.status_code != 400 or exc.response is None:
        return False
    try:
        errors = exc.response.json().get("errors")
    except (ValueError, AttributeError):
        return False
    return isinstance(errors, dict) and "priority" in errors


def _log_priority_refused(where: str, priority: str, exc: BaseException) -> None:
    logger.warning(
        "JIRA refused priority %r (%s) for %s: sent without one, the project's default applies",
        priority,
        getattr(exc, "text", "") or exc,
        where,
    )


@contextlib.contextmanager
def _jira_errors(what: str) -> Iterator[None]:
    """Turns what the `jira` library and `requests` raise into TransportError."""
    try:
        yield
    except TransportError:
        raise
    except Exception as exc:
        mapped = _map_jira_error(what, exc)
        if mapped is None:
            raise
        raise mapped from exc


def _map_jira_error(what: str, exc: BaseException) -> TransportError | None:
    import requests
    from jira.exceptions import JIRAError

    if isinstance(exc, JIRAError):
        status = exc.status_code
        headers = exc.response.headers if exc.response is not None else None
        message = f"JIRA {what} failed"
        message += f" ({status})" if status else ""
        message += f": {exc.text}" if exc.text else ""
        if status is None:  # raised by the client itself (no usable answer): our mistake
            return TransportError(message, permanent=True)
        return TransportError(
            message,
            permanent=not is_transient_status(status),
            retry_after=parse_retry_after(header(headers, "Retry-After")),
            status=status,
        )
    if isinstance(exc, requests.Timeout):
        return TransportError(f"JIRA {what} timed out: {exc}", permanent=False)
    if isinstance(exc, requests.ConnectionError):
        return TransportError(f"JIRA {what}: connection failed: {exc}", permanent=False)
    if isinstance(exc, ValueError):  # includes requests' JSONDecodeError: a garbled answer
        return TransportError(f"JIRA {what}: unreadable answer: {exc}", permanent=False)
    if isinstance(exc, requests.RequestException):  # invalid URL, schema, headers...
        return TransportError(f"JIRA {what}: {exc}", permanent=True)
    return None


# --- messages -----------------------------------------------------------------------------------


def jira_url(key: str) -> str:
    return f"{settings.JIRA_URL.rstrip('/')}/browse/{key}" if settings.JIRA_URL else ""


_NOFORMAT_TAG = re.compile(r"\{(noformat)", re.IGNORECASE)


def jira_length(text: str) -> int:
    """The length JIRA's limits count: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _cut(text: str, limit: int) -> str:
    """The longest start of `text` within `limit` UTF-16 code units (no character split)."""
    if jira_length(text) <= limit:
        return text
    kept = text.encode("utf-16-le")[: limit * 2]
    return kept.decode("utf-16-le", errors="ignore")


def _noformat(text: str, limit: int | None = None) -> str:
    """Untrusted text shown exactly as it is: nothing inside {noformat} is markup (a backslash,
    `*`, `[`, `{` stay literal) but the tag that ends it, which is broken up. Beyond `limit`
    characters (escaped) the text is cut inside the block, which stays closed, and a line
    after it says so."""
    escaped = _NOFORMAT_TAG.sub(r"{ \1", text)
    if limit is None or jira_length(escaped) <= limit:
        return "{noformat}\n" + escaped + "\n{noformat}"
    block = "{noformat}\n" + _cut(escaped, limit) + "\n{noformat}"
    return f"{block}\n_(cut: the first {limit:,} of {jira_length(escaped):,} characters shown)_"


def _numbered(items: list[str]) -> str:
    """RCA recommendations, numbered in one {noformat} block: quoted values (a Windows path,
    a glob, a JSON path) keep their backslashes, asterisks and brackets, which wiki markup
    has no reliable escape for (two backslashes make a line break)."""
    return _noformat("\n".join(f"{n}. {item}" for n, item in enumerate(items, 1)))


def jira_summary(ticket: Ticket) -> str:
    """On one line: JIRA refuses a summary holding a line break (a 400), and a sender may
    name its pipeline over several."""
    parts = " ".join(ticket.failed_parts.split())
    instances = f" ({parts})" if parts else ""
    tail = f": {ticket.error_type} ({ticket.pk})"
    # Five task keys may fill the summary: its error class and ticket id stay, the parts' words
    # cut short with "…)" (and a title past 150 characters is cut there). The title: an Azure
    # alert's names the resource it is about, not only its rule ("vm-cpu-high on vm-web-03").
    head = f"[{ticket.severity}] {' '.join(ticket.title.split())}"[:150]
    room = 250 - len(head) - len(tail)
    if len(instances) > room:
        instances = f"{instances[: room - 2]}…)" if room > 2 else ""
    return f"{head}{instances}{tail}"[:250]


# Room kept for the line saying a block was cut.
_CUT_LINE = 80


def jira_description(ticket: Ticket) -> str:
    """Within DESCRIPTION_LIMIT: the error text, the largest part, is cut to what fits; if the
    rest alone is too long, the whole is cut (any {noformat} block open there closed)."""
    recommendations = _numbered(ticket.recommendations) if ticket.recommendations else ""
    headline = last_time(ticket)
    head = [
        *(["h3. Seen before", _noformat(headline)] if headline else []),
        f"h3. Root cause ({ticket.get_rca_source_display()})",
        _noformat(ticket.rca_result or "Analysis in progress."),
        "h3. Recommendations",
        recommendations or "(none yet)",
        "h3. Failure",
        f"*Pipeline:* {_noformat_inline(ticket.pipeline)}",
        f"*Source:* {ticket.source} · *Run:* {_noformat_inline(ticket.run_id)}",
        f"*Severity / priority:* {ticket.severity} / {ticket.priority} · "
        f"*Team:* {_noformat_inline(ticket.finops_team)} · "
        f"*Owner:* {_noformat_inline(ticket.finops_owner) or 'none named'}",
        f"*Culprit:* {_noformat_inline(ticket.culprit) or 'none named'}",
        *_source_links_line(ticket),
    ]
    tail = f"[Ticket {ticket.pk}|{ticket_url(ticket)}]"
    rest = jira_length("\n".join([*head, _noformat(""), tail]))
    error = _noformat(ticket.error_message, max(0, DESCRIPTION_LIMIT - rest - _CUT_LINE))
    return _fit("\n".join([*head, error, tail]), DESCRIPTION_LIMIT)


def _fit(text: str, limit: int) -> str:
    """`text` cut to `limit` characters (`jira_length`), saying so; a {noformat} block the cut
    leaves open is closed."""
    if jira_length(text) <= limit:
        return text
    note = "\n{noformat}\n_(cut: the rest is in the RCA service)_"
    kept = _cut(text, limit - len(note))
    if kept.count("{noformat}") % 2 == 0:
        note = note.removeprefix("\n{noformat}")
    return kept + note


# Characters that end or break a wiki link `[text|url]` (or open a macro) and have no escape
# there; a URL with one is left to the ticket's page.
_BREAKS_WIKI_LINK = re.compile(r"[\[\]|{}]")
# What the links take of the description at most (Azure's may be 8 KiB each).
LINKS_LIMIT = 3000


def _source_links_line(ticket: Ticket) -> list[str]:
    """`*Links:* [Run|url] · [Log|url]`: the failure in its own tool (`base.source_links`:
    http(s) only), within LINKS_LIMIT; a link that does not fit, or whose URL wiki markup cannot
    hold, is counted and left to the ticket's page."""
    links = source_links(ticket)
    if not links:
        return []
    shown: list[str] = []
    budget = LINKS_LIMIT
    for label, url in links:
        link = f"[{_noformat_inline(label)}|{url}]"
        if not _BREAKS_WIKI_LINK.search(url) and len(link) + 3 <= budget:
            shown.append(link)
            budget -= len(link) + 3
    left_out = len(links) - len(shown)
    if left_out:
        more = " more" if shown else ""
        shown.append(f"{left_out}{more} on [the ticket|{ticket_url(ticket)}]")
    return [f"*Links:* {' · '.join(shown)}"]


# What makes links, mentions (`[~user]`), images (`!url!`), macros (`{html}`) and tables in
# JIRA's wiki markup. `-`, `_`, `*`, `+`, `^`, `~` only style words they wrap, and are kept:
# run ids, hostnames and pipeline names must stay as they are, to be copied and searched.
_JIRA_MARKUP = str.maketrans(dict.fromkeys("{}[]|!", " "))


def _noformat_inline(text: str) -> str:
    """One line of untrusted text that cannot make markup beyond styling words."""
    return " ".join(str(text).translate(_JIRA_MARKUP).split())[:500]


# What a change commented on the issue says, after who made it.
_COMMENT_WORDS = {
    lifecycle.JOBS_FAILED_TOGETHER: (
        "counted a Databricks job's failure and that of the job its Run Job task ran as one"
    ),
    "acknowledge": "acknowledged the ticket",
    "start_progress": "took the ticket (in progress)",
    "resolve": "resolved the ticket",
    "reopen": "reopened the ticket",
    "regressed": "reported the failure again: the ticket is open again",
    lifecycle.ESCALATED: "reported an update that makes this notice an outage",
    "remediation_failed": "reported that the remediation failed",
    "remediation_succeeded": "reported that the remediation succeeded",
}


# Where people act: a comment names the place (the service's own changes need none; JIRA is
# named on a member's own issue, for a change made on its incident's issue).
_PEOPLES_PLACES = {"slack", "api", "dashboard", "admin", "jira"}


def jira_comment(action: str, actor_name: str, note: str = "", via: str = "", fix: str = "") -> str:
    words = _COMMENT_WORDS.get(action, f"set the ticket to {action.replace('_', ' ')}")
    place = f" via {via_words(via)}" if via in _PEOPLES_PLACES else ""
    comment = f"{_noformat_inline(actor_name)} {words}{place} in the RCA service."
    if note:
        comment = f"{comment}\n{_noformat(note, COMMENT_TEXT_LIMIT)}"
    if fix:
        comment = f"{comment}\n*What fixed it:*\n{_noformat(fix, COMMENT_TEXT_LIMIT)}"
    return comment


# --- actions ------------------------------------------------------------------------------------


def _jira_label(ticket_id: str) -> str:
    return f"rca-{ticket_id}"


def issue_fields_for(project: str) -> dict[str, Any]:
    """The fields JIRA_ISSUE_FIELDS adds to an issue created in `project`: its "*" entry, with
    the project's own entry over it (a project may require a field, e.g. Team, of its own)."""
    configured = settings.JIRA_ISSUE_FIELDS
    return {**configured.get("*", {}), **configured.get(project, {})}


def _jira_create(jira: JiraTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    ticket = fresh_ticket(row)
    if ticket.itsm_ticket_id:
        return None
    if ticket.incident_id:  # it joined an incident before paging: the incident's issue covers it
        return None
    deleted = deleted_issue(ticket.pk)
    if deleted:  # people deleted its issue (a member's, detached since): not made again
        raise _not_sent_to_deleted(deleted)
    label = _jira_label(ticket.pk)
    earlier = earlier_sends(row, CREATE_CALL)
    if earlier == 0 and recovered_before_paging(ticket):
        # Over at its source while its page waited (its incident grace delay): nobody is
        # paged. An issue an earlier attempt may have created is looked for and kept instead.
        raise NotSent(RECOVERED_BEFORE_PAGING)
    # Look first: a retry after a lost response must not open a second issue.
    found = jira.issues_with_label(label)
    linked: dict[str, Any] = {}
    if found:
        key = found[0]  # nothing is linked yet: keep the oldest
        _remove_jira_duplicates(jira, ticket, keep=key, found=found)
    else:
        count_send(row)
        project = ticket.jira_project or settings.JIRA_DEFAULT_PROJECT
        with naming_destination(ticket.jira_project, project, "JIRA_DEFAULT_PROJECT"):
            key = jira.create_issue(
                project=project,
                summary=jira_summary(ticket),
                description=jira_description(ticket),
                priority=JIRA_PRIORITY[ticket.priority],
                labels=[label, "rca-service", f"rca-{ticket.error_type.lower()}"],
                issue_type=settings.JIRA_ISSUE_TYPE,
                extra_fields=issue_fields_for(project),
            )
        if ticket.analysed_at is not None:
            linked[TELLS_ANALYSIS] = ticket.analysed_at.isoformat()
    # Changed before the issue existed (with no JIRA status mapped to its status, that
    # change's own delivery, waiting for this one, says so).
    if ticket.status != "open" and jira_status.jira_statuses_for(ticket.status):
        _jira_transition(jira, key, ticket)
    Ticket.objects.filter(pk=ticket.pk).update(itsm_ticket_id=key)
    ticket.itsm_ticket_id = key
    lifecycle.write_audit(ticket, Actor.system("jira"), LINKED, details={"key": key, **linked})
    lifecycle.announce(ticket.pk, "jira_linked", Actor.system("jira"))
    # It joined an incident while its own issue was being created: point the issue there.
    follow_ups = incident_after_paging(ticket.pk, INCIDENT_LINK)
    if earlier is None or earlier > len(found):  # an earlier request may still land
        follow_ups.append(reconcile_later(RECONCILE))
    return follow_ups or None


def _created_with_current_rca(ticket: Ticket) -> bool:
    """The ticket's issue was created (not adopted from an earlier attempt) from the analysis
    the ticket has now: a re-analysis made before the create read the ticket is told already."""
    linked = (
        AuditLog.objects.filter(ticket=ticket, action=LINKED)
        .order_by("-created_at")
        .values_list("details", flat=True)
        .first()
    ) or {}
    told = linked.get(TELLS_ANALYSIS)
    if linked.get("key") != ticket.itsm_ticket_id or not told or ticket.analysed_at is None:
        return False
    return dt.datetime.fromisoformat(told) >= ticket.analysed_at


def _jira_reconcile(jira: JiraTransport, row: OutboundDelivery) -> None:
    ticket = fresh_ticket(row)
    if ticket.itsm_ticket_id:
        _remove_jira_duplicates(jira, ticket, keep=ticket.itsm_ticket_id)


def _remove_jira_duplicates(
    jira: JiraTransport, ticket: Ticket, *, keep: str, found: list[str] | None = None
) -> None:
    """Every issue but `keep` that carries the ticket's label was created twice by a retried
    request: delete it.

    Deleted rather than closed: the extra is our own copy of the same issue, seconds old, and
    a closed copy would still show in JIRA's searches, boards and reports, and (carrying the
    ticket's label) still map to the ticket in JIRA's webhooks. Two exceptions, where the issue
    is marked instead (our label taken off so that nothing maps it to the ticket any more,
    labelled `rca-duplicate`, a comment naming the kept issue): someone already worked on it
    (moved its status or commented; a person's work is never deleted), or JIRA refuses the
    delete (the account lacks the "Delete Issues" permission, 403). Nothing is removed unless
    the issue kept is itself among those found.
    """
    label = _jira_label(ticket.pk)
    keys = found if found is not None else jira.issues_with_label(label)
    extras = [key for key in keys if key != keep]
    if not extras:
        return
    if keep not in keys:
        logger.warning("%s: %s not among %s; nothing removed", ticket.pk, keep, keys)
        return
    note = (
        f"Duplicate of {keep}: created twice for RCA ticket {ticket.pk} by a retried request. "
        f"Follow {keep}; this issue is no longer linked to the ticket."
    )
    removed: dict[str, str] = {}
    for key in extras:
        try:
            outcome: str = jira.delete_issue_if_untouched(key)
        except TransportError as exc:
            if exc.status != 403:
                raise
            outcome = "touched"
        if outcome == "touched":
            gone = not jira.mark_duplicate(key, label=label, duplicate_of=keep, note=note)
            outcome = "gone" if gone else "marked duplicate"
        removed[key] = outcome
    logger.warning("%s: duplicate JIRA issues removed, %s kept: %s", ticket.pk, keep, removed)
    lifecycle.write_audit(
        ticket,
        Actor.system("jira"),
        "jira duplicates removed",
        details={"kept": keep, "removed": removed},
    )


def _mapped_statuses(key: str, status: str) -> list[str]:
    """The JIRA statuses the map gives a ticket status. None mapped (a map edited in admin
    that lost its Done row) is a dead letter saying so, to retry once one is: the issue left
    where it is, silently, would show the ticket in a status it has left."""
    targets = jira_status.jira_statuses_for(status)
    if not targets:
        raise TransportError(
            f"JIRA {key}: no JIRA status is mapped to {status}; map one in admin (JIRA status"
            " mappings), then retry this delivery",
            permanent=True,
        )
    return targets


def _jira_transition(jira: JiraTransport, key: str, ticket: Ticket) -> None:
    """Move the issue to the JIRA status the admin-editable map gives the ticket's status."""
    jira.transition_to(key, *_mapped_statuses(key, ticket.status))


def _jira_sync(jira: JiraTransport, row: OutboundDelivery) -> None:
    ticket = fresh_ticket(row)
    change = row.payload
    if not ticket.itsm_ticket_id:
        if ticket.incident_id:
            return  # no issue of its own (the incident's covers it): nothing to update
        if left_unpaged(ticket.pk, CREATE):
            return
        if change["action"] == lifecycle.REROUTED and not page_on_its_way(ticket.pk, CREATE):
            return  # the issue, once made, names the team and owner the ticket has then
        deleted = deleted_issue(ticket.pk)
        if deleted:  # people deleted it: not made again, and nothing waits for it
            raise _not_sent_to_deleted(deleted)
        wait_for(ticket, CREATE, "JIRA issue")
    key = ticket.itsm_ticket_id
    if reconciled(ticket, RECONCILE):  # late requests may land later still
        _remove_jira_duplicates(jira, ticket, keep=key)
    if change["action"] == lifecycle.REROUTED:  # the description names the team and owner
        jira.update_issue(key, summary=jira_summary(ticket), description=jira_description(ticket))
        return
    if change["action"] == lifecycle.JOBS_FAILED_TOGETHER:  # the summary names both jobs
        jira.update_issue(key, summary=jira_summary(ticket), description=jira_description(ticket))
        jira.add_comment(key, jira_comment(change["action"], change["actor"], change["note"]))
        return
    if change["action"] == lifecycle.ESCALATED:  # a Service Health notice, an outage now
        jira.update_issue(
            key,
            summary=jira_summary(ticket),
            description=jira_description(ticket),
            priority=JIRA_PRIORITY[ticket.priority],
        )
        jira.add_comment(key, jira_comment(change["action"], change["actor"], change["note"]))
        return
    if change["action"] == ANALYSED:  # the issue tells the RCA as it is now; the priority stays
        if not _created_with_current_rca(ticket):
            jira.update_issue(
                key, summary=jira_summary(ticket), description=jira_description(ticket)
            )
        return
    _jira_transition(jira, key, ticket)
    jira.add_comment(
        key,
        jira_comment(
            change["action"],
            change["actor"],
            change["note"],
            change.get("via", ""),
            fix_to_tell(change),  # none from a remediation, nor in a delivery queued before
        ),
    )


# --- incidents ----------------------------------------------------------------------------------


def incident_summary(incident: Incident, page: IncidentPage) -> str:
    summary = f"[{incident.severity}] {_noformat_inline(page.title)}: {page.counts} ({incident.pk})"
    return summary[:250]


def incident_description(incident: Incident, page: IncidentPage) -> str:
    """Within JIRA's size limit for any number of members: the first members inline, the
    rest counted."""
    members = "\n".join(
        f"* {ticket_id}: {_noformat_inline(title)}" for ticket_id, title in page.inline_members
    )
    if page.more_members:
        members += f"\n* ... and {page.more_members} more members"
    places = ", ".join(_noformat_inline(p) for p in page.places[:50]) or "-"
    text = "\n".join(
        [
            f"h3. Shared cause ({page.cause_source})",
            _noformat(page.cause),
            "h3. Recommendations",
            _numbered(incident.recommendations) if incident.recommendations else "(none yet)",
            "h3. Incident",
            f"*Culprit:* {_noformat_inline(page.culprit)}",
            f"*Status:* {_noformat_inline(page.status)} · *Members:* {page.member_count} · "
            f"*Pipelines:* {len(page.pipelines)} · *First seen:* {page.first_seen}",
            f"*Factories/workspaces/DAGs:* {places}",
            "h3. Members",
            members,
            f"[Incident {incident.pk}|{incident_url(incident)}]",
        ]
    )
    return _fit(text, DESCRIPTION_LIMIT)


def _incident_label(incident: Incident) -> str:
    return f"rca-{incident.pk}"


def _jira_incident_create(jira: JiraTransport, row: OutboundDelivery) -> list[FollowUp] | None:
    incident = incident_of(row)
    if incident.itsm_ticket_id:
        return None
    page = incident_page(incident)
    label = _incident_label(incident)
    priority = JIRA_PRIORITY.get(incident.priority, "Medium")
    found = jira.find_issue_by_label(label)  # a retry after a lost answer adopts it
    if found:
        key = found
    else:
        count_send(row)
        routed = _lead_project(incident)
        project = routed or settings.JIRA_DEFAULT_PROJECT
        with naming_destination(routed, project, "JIRA_DEFAULT_PROJECT"):
            key = jira.create_issue(
                project=project,
                summary=incident_summary(incident, page),
                description=incident_description(incident, page),
                priority=priority,
                labels=[label, "rca-service", "rca-incident"],
                issue_type=settings.JIRA_ISSUE_TYPE,
                extra_fields=issue_fields_for(project),
            )
    # The priority it was created with; an issue adopted was created by an earlier attempt
    # with a priority not known here (a milder one, if the incident was raised since): none is
    # remembered, so its next update raises it when it is milder than the incident's.
    Incident.objects.filter(pk=incident.pk).update(
        itsm_ticket_id=key, jira_priority="" if found else priority
    )
    incidents.record_event(
        incident.pk, "jira_created", actor=Actor.system("jira"), details={"key": key}
    )
    # Members that paged before the incident formed: a comment on their issue points here.
    return member_links(incident, INCIDENT_LINK, "itsm_ticket_id") or None


def _lead_project(incident: Incident) -> str:
    """The JIRA project the incident's first ticket is routed to; empty: the default's."""
    if not incident.lead_ticket_id:
        return ""
    return (
        Ticket.objects.filter(pk=incident.lead_ticket_id)
        .values_list("jira_project", flat=True)
        .first()
        or ""
    )


def _jira_incident_link(jira: JiraTransport, row: OutboundDelivery) -> None:
    """A member that paged on its own: a comment on its issue points to the incident's (once
    per member: the delivery is keyed by it, see base.member_links)."""
    incident = incident_of(row)
    ticket = fresh_ticket(row)
    if not ticket.itsm_ticket_id:
        return  # it never opened an issue of its own, or it was deleted in JIRA
    if not incident.itsm_ticket_id:
        deleted = incident_deleted_issue(incident.pk)
        if deleted:
            raise _not_sent_to_deleted(deleted)
        wait_for_incident(incident, INCIDENT_CREATE, "incident's JIRA issue")
    jira.add_comment(
        ticket.itsm_ticket_id,
        f"Part of incident {incident.pk} ({_noformat_inline(incident.culprit)}): "
        f"followed in {incident.itsm_ticket_id}.",
    )


def _jira_incident_sync(jira: JiraTransport, row: OutboundDelivery) -> None:
    """The issue shows the incident as it is now (coalesced: one per INCIDENT_UPDATE_SECONDS)."""
    incident = incident_of(row)
    if not incident.itsm_ticket_id:
        first = OutboundDelivery.objects.filter(
            ticket_id=row.ticket_id, action=INCIDENT_CREATE
        ).first()
        if first is not None and first.status == OutboundStatus.PENDING:
            raise Waiting("waiting for the incident's JIRA issue")
        return
    page = incident_page(incident)
    priority = JIRA_PRIORITY.get(incident.priority, "Medium")
    jira.update_issue(
        incident.itsm_ticket_id,
        summary=incident_summary(incident, page),
        description=incident_description(incident, page),
        priority=priority,
        pushed=incident.jira_priority,
    )
    if priority != incident.jira_priority:
        # Remembered once the issue has it or one at least as grave (people's): the next
        # update raises the issue only if the incident gets graver again.
        Incident.objects.filter(pk=incident.pk).update(jira_priority=priority)
    wanted = _mapped_statuses(
        incident.itsm_ticket_id, Status.RESOLVED if incident.recovered_at else incident.status
    )
    jira.transition_to(incident.itsm_ticket_id, *wanted)


def jira_incident_comment(change: Mapping[str, Any]) -> str:
    """The comment telling about an incident's status change (an `IncidentChange`'s payload):
    what happened, by whom, via where."""
    action = str(change.get("action", ""))
    if action == "regressed":
        failed = _noformat_inline(changed_member(change))
        line = (
            f"The outage is back: {failed} ({_noformat_inline(str(change.get('ticket_id', '')))}) "
            f"failed again (reported by {_noformat_inline(str(change.get('actor', '')))}); "
            "the incident is open again in the RCA service."
        )
        note = str(change.get("note") or "")
        return f"{line}\n{_noformat(note, COMMENT_TEXT_LIMIT)}" if note else line
    if action == "recovered":
        return "Every member recovered at its source: the incident is resolved in the RCA service."
    if action in ("member_resolved", "member_detached"):
        return _member_over_comment(change)
    if action == "member_reopened":
        member = _noformat_inline(changed_member(change))
        line = (
            f"{_noformat_inline(str(change.get('actor', '')))} reopened {member} "
            f"({_noformat_inline(str(change.get('ticket_id', '')))}) via "
            f"{via_words(str(change.get('via', '')))}: the incident is open again in the RCA "
            "service."
        )
        note = str(change.get("note") or "")
        return f"{line}\n{_noformat(note, COMMENT_TEXT_LIMIT)}" if note else line
    words = INCIDENT_CHANGE_WORDS.get(action, f"set the incident to {action.replace('_', ' ')}")
    comment = (
        f"{_noformat_inline(str(change.get('actor', '')))} {words} via "
        f"{via_words(str(change.get('via', '')))} in the RCA service."
    )
    note, fix = str(change.get("note") or ""), fix_to_tell(change)
    if note:
        comment = f"{comment}\n{_noformat(note, COMMENT_TEXT_LIMIT)}"
    if fix:
        comment = f"{comment}\n*What fixed it:*\n{_noformat(fix, COMMENT_TEXT_LIMIT)}"
    return comment


def _member_over_comment(change: Mapping[str, Any]) -> str:
    """`member_resolved` / `member_detached`: no member is left open, so the incident resolved."""
    member = (
        f"{_noformat_inline(changed_member(change))} "
        f"({_noformat_inline(str(change.get('ticket_id', '')))})"
    )
    who = _noformat_inline(str(change.get("actor", "")))
    via = via_words(str(change.get("via", "")))
    if change.get("action") == "member_detached":
        return (
            f"{who} detached {member} via {via}: every member left is resolved or recovered, "
            "so the incident is resolved in the RCA service."
        )
    if change.get("actor_kind") == ActorKind.SOURCE:
        return (
            f"{member}, the last open member, recovered at its source (reported by {who}): "
            "the incident is resolved in the RCA service."
        )
    comment = (
        f"{who} resolved {member}, the last open member, via {via}: the incident is resolved "
        "in the RCA service."
    )
    note, fix = str(change.get("note") or ""), fix_to_tell(change)
    if note:
        comment = f"{comment}\n{_noformat(note, COMMENT_TEXT_LIMIT)}"
    if fix:
        comment = f"{comment}\n*What fixed it:*\n{_noformat(fix, COMMENT_TEXT_LIMIT)}"
    return comment


def _jira_incident_comment(jira: JiraTransport, row: OutboundDelivery) -> None:
    """A comment on the incident's issue for a change of its status made outside JIRA (one per
    change: the delivery is keyed by its timeline entry)."""
    incident = incident_of(row)
    if not incident.itsm_ticket_id:
        deleted = incident_deleted_issue(incident.pk)
        if deleted:
            raise _not_sent_to_deleted(deleted)
        wait_for_incident(incident, INCIDENT_CREATE, "incident's JIRA issue")
    jira.add_comment(incident.itsm_ticket_id, jira_incident_comment(row.payload))


def _incident_status(change: IncidentChange) -> tuple[str, dict[str, Any]] | None:
    """A status change of the incident is commented on its issue, unless JIRA made it (its
    own issue shows it: never echoed back). A member reopened or resolved on its own issue
    is told on the incident's: that issue does not show it."""
    if change.actor.kind == ActorKind.JIRA and change.action not in MEMBER_CHANGES:
        return None
    return INCIDENT_COMMENT, change.as_payload()


# Incident status changes made on a member: told on the incident's issue whoever made them.
MEMBER_CHANGES = ("member_reopened", "member_resolved", "member_detached")


def _follow(change: Change) -> tuple[str, dict[str, Any]] | None:
    """Lifecycle changes reach the issue, unless JIRA made them on it (one made on the
    incident's issue, `through_incident`, did not move the member's own); a new RCA and a
    re-route (the team and owner) its description; a Service Health notice made an outage
    (`lifecycle.ESCALATED`) its summary and priority (raised, never lowered: `update_issue`)."""
    made_on_this_issue = change.actor.kind == ActorKind.JIRA and not change.through_incident
    if told_with_its_success(change):
        return None  # its `remediation_succeeded` moves the issue and comments, once
    if change.action in LIFECYCLE_CHANGES and not made_on_this_issue:
        return SYNC, change.as_payload()
    if change.action in REMEDIATION_CHANGES or change.action in (
        ANALYSED,
        lifecycle.REROUTED,
        lifecycle.JOBS_FAILED_TOGETHER,
        lifecycle.ESCALATED,
    ):
        return SYNC, change.as_payload()
    return None


TARGET = Target(
    name="jira",
    label="JIRA",
    connect=JiraTransport.from_settings,
    settings=("JIRA_URL", "JIRA_USER", "JIRA_API_TOKEN", "OUTBOUND_TIMEOUT_SECONDS"),
    not_configured="JIRA is not configured (set JIRA_URL, JIRA_USER, JIRA_API_TOKEN)",
    # An incident's issue goes ahead of the single issues waiting (integrations/pacing.py).
    pace=Pace(
        "JIRA_DELIVERIES_PER_SECOND",
        "JIRA_BURST",
        urgent=lambda row: row.action == INCIDENT_CREATE,
    ),
    actions={
        CREATE: Action(_jira_create, "Create the JIRA issue"),
        SYNC: Action(_jira_sync, "Transition/comment the JIRA issue", in_order={}),
        RECONCILE: Action(_jira_reconcile, "Remove duplicate JIRA issues", not_before=True),
        INCIDENT_CREATE: Action(_jira_incident_create, "Create the incident's JIRA issue"),
        INCIDENT_SYNC: Action(
            _jira_incident_sync, "Update the incident's JIRA issue", not_before=True
        ),
        INCIDENT_LINK: Action(_jira_incident_link, "Link a member's issue to its incident"),
        INCIDENT_COMMENT: Action(
            _jira_incident_comment,
            "Comment a change of the incident on its JIRA issue",
            # Its deliveries ride on the incident's lead (`fanout.schedule_incident_status`).
            in_order={},
        ),
    },
    initial=(CREATE,),
    follow=_follow,
    incident_initial=(INCIDENT_CREATE,),
    incident_update=INCIDENT_SYNC,
    incident_link=INCIDENT_LINK,
    incident_status=_incident_status,
)
