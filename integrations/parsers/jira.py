"""JIRA issue and comment webhooks (`jira:issue_updated`, `comment_created`, ...), of Jira Cloud
and Jira Server/Data Center.

A comment made in JIRA arrives as `comment_created` (subscribed to "Comment: created") and as
`jira:issue_updated` with `issue_event_type_name` `issue_commented` (subscribed to "Issue:
updated"; Jira Cloud has announced it will stop putting the comment there). Both name the same
comment id, and are one event (`comment_kind`, `dedup_key`). Jira Server/Data Center's comment
events (and some of Jira Cloud's) carry no `issue`: only the comment's `self` URL names it, by
its numeric id (`.../rest/api/2/issue/10040/comment/10200`); its key is left for the caller to
find.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict

from analysis.redaction import redacted_head
from integrations.events import ParseError
from integrations.parsers.common import parse_timestamp, require_object, text


@dataclass(frozen=True)
class JiraEvent:
    webhook_event: str
    issue_key: str
    labels: tuple[str, ...]
    happened_at: datetime | None
    author: str  # display name, for the audit
    author_ids: frozenset[str]  # account id, name, email: to recognise our own changes
    # Jira Cloud names an app's account (Automation for Jira, an integration) `accountType`
    # "app": what it does or writes is no person's, so never what fixed a failure.
    by_app: bool = False
    status_from: str = ""
    status_to: str = ""
    changelog_id: str = ""
    comment_id: str = ""
    comment_body: str = ""
    # The comment event it is, whichever webhook event told it: `comment_created`,
    # `comment_updated`, `comment_deleted`, or "" (none, or a comment left with a transition).
    comment_kind: str = ""
    # The issue's numeric id, when the event names it by that alone (`issue_key` is "").
    issue_id: str = ""
    # The key the issue had before this change, when the change gave it a new one (moved to
    # another project: the changelog's `Key` item; `issue_key` is the new key).
    moved_from: str = ""
    # The resolution the change set (the changelog's `resolution` item: "Done", "Fixed",
    # "Won't Do", "Duplicate", ...), "" when it set none.
    resolution: str = ""

    @property
    def is_new_comment(self) -> bool:
        return bool(self.comment_id) and self.comment_kind == COMMENT_CREATED

    @property
    def dedup_key(self) -> str:
        """What makes a replay of this event recognisable: a comment's `comment_created` and
        its `issue_commented` are one event."""
        if self.changelog_id:
            return f"jira:{self.issue_key}:changelog:{self.changelog_id}"
        if self.comment_id:
            kind = self.comment_kind or self.webhook_event
            if kind in COMMENT_CHANGES:
                # Each edit is an event of its own; comment ids are unique in a JIRA site,
                # and Jira Server's comment events name no issue key.
                stamp = self.happened_at.isoformat() if self.happened_at else ""
                return f"jira:comment:{self.comment_id}:{kind}:{stamp}"
            return f"jira:{self.issue_key}:comment:{self.comment_id}:{kind}"
        stamp = self.happened_at.isoformat() if self.happened_at else ""
        return f"jira:{self.issue_key}:{self.webhook_event}:{stamp}"


class _JiraEventFields(TypedDict):
    """The keyword arguments of `JiraEvent`, gathered before it is built."""

    webhook_event: str
    issue_key: str
    labels: tuple[str, ...]
    happened_at: datetime | None
    author: str
    author_ids: frozenset[str]
    by_app: NotRequired[bool]
    status_from: NotRequired[str]
    status_to: NotRequired[str]
    changelog_id: NotRequired[str]
    comment_id: NotRequired[str]
    comment_body: NotRequired[str]
    comment_kind: NotRequired[str]
    issue_id: NotRequired[str]
    moved_from: NotRequired[str]
    resolution: NotRequired[str]


COMMENT_CREATED = "comment_created"
COMMENT_UPDATED = "comment_updated"
COMMENT_DELETED = "comment_deleted"
COMMENT_CHANGES = frozenset({COMMENT_UPDATED, COMMENT_DELETED})
COMMENT_EVENTS = frozenset({COMMENT_CREATED, *COMMENT_CHANGES})
# `issue_event_type_name` of a `jira:issue_updated` about a comment, and the comment event it is.
ISSUE_COMMENT_EVENTS = {
    "issue_commented": COMMENT_CREATED,
    "issue_comment_edited": COMMENT_UPDATED,
    "issue_comment_deleted": COMMENT_DELETED,
}
# A comment's REST URL names its issue by id: `<base>/rest/api/2/issue/<id>/comment/<id>`
# (a Jira Server/Data Center base may have a context path: `https://host/jira/rest/...`).
# Only the id is taken (JIRA is asked at JIRA_URL, never at the URL's host), and only an id
# JIRA could give (a Java long: at most 19 digits, and at most LONGEST_ISSUE_ID).
_COMMENT_URL_ISSUE_ID = re.compile(r"/rest/api/[^/]+/issue/(\d{1,19})/comment/")
LONGEST_ISSUE_ID = 2**63 - 1
# The characters of a comment read: as much as a fix given anywhere else keeps (the API's,
# admin's, dashboard's and Slack's 8,000), so a fix typed in JIRA is not cut shorter.
COMMENT_KEPT = 8000


APP_ACCOUNT_TYPE = "app"


def _is_app(user: Any) -> bool:
    return isinstance(user, dict) and str(user.get("accountType", "")).lower() == APP_ACCOUNT_TYPE


def _people(user: Any) -> tuple[str, frozenset[str]]:
    if not isinstance(user, dict):
        return "", frozenset()
    ids = {text(user, key) for key in ("accountId", "name", "key", "emailAddress")}
    return text(user, "displayName") or text(user, "name"), frozenset(i for i in ids if i)


def parse_jira_event(payload: Any) -> JiraEvent:
    body = require_object(payload, "body")
    webhook_event = text(body, "webhookEvent", required=True)
    comment = body.get("comment")
    issue_id = ""
    key = ""
    labels: tuple[str, ...] = ()
    if body.get("issue") is None and webhook_event in COMMENT_EVENTS:
        # Jira Server/Data Center's (and some of Cloud's): the comment's URL names the issue.
        issue_id = _issue_id_of(comment)
    else:
        key, labels = _key_and_labels(require_object(body.get("issue"), "field 'issue'"))
    author, author_ids = _people(body.get("user"))
    event: _JiraEventFields = {
        "webhook_event": webhook_event,
        "issue_key": key,
        "labels": labels,
        "happened_at": parse_timestamp(body.get("timestamp"), "timestamp"),
        "author": author,
        "author_ids": author_ids,
        "by_app": _is_app(body.get("user")),
        "issue_id": issue_id,
    }
    changelog = body.get("changelog")
    if isinstance(changelog, dict):
        items = changelog.get("items")
        if not isinstance(items, list):
            raise ParseError("field 'changelog.items' must be a list")
        for item in items:
            if not isinstance(item, dict):
                continue
            name = str(item.get("field", "")).lower()
            if name == "status" and "status_to" not in event:
                event["status_from"] = text(item, "fromString")
                event["status_to"] = text(item, "toString")
                event["changelog_id"] = text(changelog, "id")
            elif name == "key" and "moved_from" not in event:
                # Moved to another project (`issue_moved`): the issue's key before the move.
                event["moved_from"] = text(item, "fromString")
            elif name == "resolution" and "resolution" not in event:
                event["resolution"] = text(item, "toString")
    if isinstance(comment, dict):
        event["comment_kind"] = (
            webhook_event
            if webhook_event in COMMENT_EVENTS
            else ISSUE_COMMENT_EVENTS.get(text(body, "issue_event_type_name"), "")
        )
        comment_author, comment_ids = _people(comment.get("author"))
        event["comment_id"] = text(comment, "id")
        event["comment_body"] = redacted_head(text(comment, "body"), COMMENT_KEPT)
        event["author"] = comment_author or author
        event["author_ids"] = comment_ids or author_ids
        if comment_author or comment_ids:
            event["by_app"] = _is_app(comment.get("author"))
    return JiraEvent(**event)


def _key_and_labels(issue: dict[str, Any]) -> tuple[str, tuple[str, ...]]:
    key = text(issue, "key", required=True)
    fields = issue.get("fields") or {}
    raw_labels = fields.get("labels") if isinstance(fields, dict) else None
    labels = tuple(str(label) for label in raw_labels) if isinstance(raw_labels, list) else ()
    return key, labels


def _issue_id_of(comment: Any) -> str:
    """The id of the issue a comment event without `issue` is about, from the comment's URL."""
    where = text(require_object(comment, "field 'comment'"), "self")
    found = _COMMENT_URL_ISSUE_ID.search(where)
    if found is None or int(found.group(1)) > LONGEST_ISSUE_ID:
        raise ParseError(
            "field 'issue' is missing, and field 'comment.self' does not name the issue "
            "(…/rest/api/2/issue/<id>/comment/<id>, the issue's id a number of at most 19 "
            f"digits, at most {LONGEST_ISSUE_ID})"
        )
    return found.group(1)
