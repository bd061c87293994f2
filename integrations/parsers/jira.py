"""JIRA Cloud issue webhooks (`jira:issue_updated`, `comment_created`, ...)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NotRequired, TypedDict

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
    status_from: str = ""
    status_to: str = ""
    changelog_id: str = ""
    comment_id: str = ""
    comment_body: str = ""

    @property
    def dedup_key(self) -> str:
        """What makes a replay of this event recognisable."""
        if self.changelog_id:
            return f"jira:{self.issue_key}:changelog:{self.changelog_id}"
        if self.comment_id:
            return f"jira:{self.issue_key}:comment:{self.comment_id}:{self.webhook_event}"
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
    status_from: NotRequired[str]
    status_to: NotRequired[str]
    changelog_id: NotRequired[str]
    comment_id: NotRequired[str]
    comment_body: NotRequired[str]


def _people(user: Any) -> tuple[str, frozenset[str]]:
    if not isinstance(user, dict):
        return "", frozenset()
    ids = {text(user, key) for key in ("accountId", "name", "key", "emailAddress")}
    return text(user, "displayName") or text(user, "name"), frozenset(i for i in ids if i)


def parse_jira_event(payload: Any) -> JiraEvent:
    body = require_object(payload, "body")
    webhook_event = text(body, "webhookEvent", required=True)
    issue = require_object(body.get("issue"), "field 'issue'")
    key = text(issue, "key", required=True)
    fields = issue.get("fields") or {}
    raw_labels = fields.get("labels") if isinstance(fields, dict) else None
    labels = tuple(str(label) for label in raw_labels) if isinstance(raw_labels, list) else ()
    author, author_ids = _people(body.get("user"))
    event: _JiraEventFields = {
        "webhook_event": webhook_event,
        "issue_key": key,
        "labels": labels,
        "happened_at": parse_timestamp(body.get("timestamp"), "timestamp"),
        "author": author,
        "author_ids": author_ids,
    }
    changelog = body.get("changelog")
    if isinstance(changelog, dict):
        items = changelog.get("items")
        if not isinstance(items, list):
            raise ParseError("field 'changelog.items' must be a list")
        for item in items:
            if isinstance(item, dict) and str(item.get("field", "")).lower() == "status":
                event["status_from"] = text(item, "fromString")
                event["status_to"] = text(item, "toString")
                event["changelog_id"] = text(changelog, "id")
                break
    comment = body.get("comment")
    if isinstance(comment, dict):
        comment_author, comment_ids = _people(comment.get("author"))
        event["comment_id"] = text(comment, "id")
        event["comment_body"] = text(comment, "body")[:4000]
        event["author"] = comment_author or author
        event["author_ids"] = comment_ids or author_ids
    return JiraEvent(**event)
