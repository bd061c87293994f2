"""One class per outbound target (JIRA, Slack, Azure Blob), each wrapping the vendor's own client.

Every method either succeeds or raises `TransportError`, whose `permanent` flag tells the caller
whether retrying can help: authentication, validation and misconfiguration are permanent;
throttling (with `retry_after` when the target says how long to wait), 5xx answers, timeouts and
connection failures are transient. The vendor clients' own retries are switched off: retrying is
done at the task level (integrations/fanout.py), where it is recorded and bounded.

The classes never read Django settings; `from_settings()` does, lazily, and returns None when the
target is not configured.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.utils
import http.client
import re
from collections.abc import Iterator, Mapping
from typing import Any, Literal
from urllib.parse import urlsplit

DEFAULT_TIMEOUT = 10.0
DEFAULT_CONTAINER = "rca-evidence"

# HTTP statuses worth retrying; every other 4xx is a permanent refusal.
_TRANSIENT_STATUSES = {408, 409, 423, 425, 429}


class TransportError(Exception):
    """A failed call to an outbound target.

    permanent: retrying will not help (4xx auth/validation, misconfiguration).
    retry_after: seconds the target asked us to wait (429 Retry-After), when it said.
    status: the HTTP status, when there was an answer.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status

    def __repr__(self) -> str:
        kind = "permanent" if self.permanent else "transient"
        return (
            f"TransportError({str(self)!r}, {kind}, status={self.status}, "
            f"retry_after={self.retry_after})"
        )


def _is_transient_status(status: int | None) -> bool:
    return status is None or status >= 500 or status in _TRANSIENT_STATUSES


def _header(headers: Mapping[str, Any] | None, name: str) -> str | None:
    if not headers:
        return None
    lowered = name.lower()
    for key, value in headers.items():
        if str(key).lower() == lowered:
            if isinstance(value, list | tuple):
                value = value[0] if value else None
            return None if value is None else str(value)
    return None


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After is either delta-seconds or an HTTP date."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, (when - dt.datetime.now(dt.UTC)).total_seconds())


def _timeout(settings: Any) -> float:
    return float(getattr(settings, "OUTBOUND_TIMEOUT_SECONDS", DEFAULT_TIMEOUT) or DEFAULT_TIMEOUT)


# ---------------------------------------------------------------------------------------------
# JIRA
# ---------------------------------------------------------------------------------------------


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

        server = getattr(settings, "JIRA_URL", "")
        user = getattr(settings, "JIRA_USER", "")
        token = getattr(settings, "JIRA_API_TOKEN", "")
        if not (server and user and token):
            return None
        return cls(
            server,
            user,
            token,
            timeout=_timeout(settings),
            cloud=getattr(settings, "JIRA_CLOUD", None),
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
    ) -> str:
        fields = {
            "project": {"key": project},
            "summary": summary,
            "description": description,
            "issuetype": {"name": issue_type},
            "priority": {"name": priority},
            "labels": list(labels),
        }
        with _jira_errors("create issue"):
            issue = self._client.create_issue(fields=fields, prefetch=False)
        return issue.key

    def current_status(self, key: str) -> str:
        with _jira_errors(f"read {key}"):
            issue = self._client.issue(key, fields="status")
        return issue.fields.status.name

    def transition_to(self, key: str, target_status: str) -> bool:
        """Move the issue to the status named `target_status`; False when it is already there."""
        wanted = target_status.strip().lower()
        if self.current_status(key).strip().lower() == wanted:
            return False
        with _jira_errors(f"list transitions of {key}"):
            transitions = self._client.transitions(key)
        match = next(
            (t for t in transitions if str(t.get("to", {}).get("name", "")).lower() == wanted),
            None,
        )
        if match is None:
            available = ", ".join(
                f"{t.get('name')} -> {t.get('to', {}).get('name')}" for t in transitions
            )
            raise TransportError(
                f"JIRA {key}: no transition leads to {target_status!r} (available: {available})",
                permanent=True,
            )
        with _jira_errors(f"transition {key} to {target_status}"):
            self._client.transition_issue(key, str(match["id"]))
        return True

    def add_comment(self, key: str, body: str) -> None:
        with _jira_errors(f"comment on {key}"):
            self._client.add_comment(key, body)


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
            permanent=not _is_transient_status(status),
            retry_after=parse_retry_after(_header(headers, "Retry-After")),
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


# ---------------------------------------------------------------------------------------------
# Slack
# ---------------------------------------------------------------------------------------------

_SLACK_TRANSIENT_ERRORS = {
    "ratelimited",
    "rate_limited",
    "fatal_error",
    "internal_error",
    "service_unavailable",
    "request_timeout",
}


class SlackTransport:
    """Slack Web API through `slack_sdk.WebClient` (bot token)."""

    name = "slack"

    def __init__(
        self, token: str, *, base_url: str | None = None, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        from slack_sdk import WebClient

        kwargs: dict[str, Any] = {}
        if base_url:
            kwargs["base_url"] = base_url.rstrip("/") + "/"  # the client joins "<base>" + "chat..."
        self.timeout = timeout
        self._channel_ids: dict[str, str] = {}  # channel name -> id, learned from answers
        # retry_handlers=[]: no retries behind our back (the default retries connection errors).
        # slack_sdk annotates `timeout` as int but hands it to urllib, which takes a float.
        self._client = WebClient(token=token, timeout=timeout, retry_handlers=[], **kwargs)  # type: ignore[arg-type]

    @classmethod
    def from_settings(cls) -> SlackTransport | None:
        from django.conf import settings

        token = getattr(settings, "SLACK_BOT_TOKEN", "")
        if not token:
            return None
        base_url = getattr(settings, "SLACK_BASE_URL", "") or None
        return cls(token, base_url=base_url, timeout=_timeout(settings))

    def post_message(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[dict],
        metadata: dict[str, Any] | None = None,
    ) -> tuple[str, str]:
        """Post to a channel (name or id); returns the channel id and the message ts.
        `metadata`: Slack message metadata, {"event_type": str, "event_payload": {...}}."""
        extra = {"metadata": metadata} if metadata else {}
        response = self._call(
            "chat.postMessage",
            self._client.chat_postMessage,
            channel=channel,
            text=text,
            blocks=blocks,
            **extra,
        )
        self._channel_ids[channel.lstrip("#")] = response["channel"]
        return response["channel"], response["ts"]

    def channel_id(self, channel: str) -> str | None:
        """The id of a channel given by id or by name; None for a name this client has not
        posted to yet (resolving names would need conversations.list and channels:read)."""
        if _SLACK_CHANNEL_ID.fullmatch(channel):
            return channel
        return self._channel_ids.get(channel.lstrip("#"))

    def tagged_messages(
        self,
        channel_id: str,
        *,
        event_type: str,
        payload: Mapping[str, Any],
        oldest: float,
        page_size: int = 200,
        max_pages: int = 10,
    ) -> list[str]:
        """The ts of the channel's messages since `oldest` (unix time) whose metadata has
        `event_type` and an event_payload containing `payload`, the oldest first.

        Reads conversations.history with include_all_metadata (the bot token needs
        channels:history, or groups:history for a private channel)."""
        found: list[str] = []
        cursor: str | None = None
        for _ in range(max_pages):
            response = self._call(
                "conversations.history",
                self._client.conversations_history,
                channel=channel_id,
                oldest=f"{max(oldest, 0.0):.6f}",
                inclusive=True,
                limit=page_size,
                include_all_metadata=True,
                **({"cursor": cursor} if cursor else {}),
            )
            for message in response.get("messages") or []:
                metadata = message.get("metadata") or {}
                event_payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == event_type and all(
                    event_payload.get(k) == v for k, v in payload.items()
                ):
                    found.append(str(message["ts"]))
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or None
            if not (response.get("has_more") and cursor):
                break
        return sorted(set(found), key=_ts_order)

    def delete_message(self, channel_id: str, ts: str) -> bool:
        """Delete one of the bot's messages; False when it was already gone."""
        try:
            self._call("chat.delete", self._client.chat_delete, channel=channel_id, ts=ts)
        except TransportError as exc:
            if "message_not_found" in str(exc):
                return False
            raise
        return True

    def update_message(self, channel: str, ts: str, *, text: str, blocks: list[dict]) -> None:
        """Replace a message's text and blocks (Slack wants the channel id here)."""
        self._call(
            "chat.update",
            self._client.chat_update,
            channel=channel,
            ts=ts,
            text=text,
            blocks=blocks,
        )

    def reply_in_thread(self, channel: str, thread_ts: str, *, text: str) -> str:
        response = self._call(
            "chat.postMessage",
            self._client.chat_postMessage,
            channel=channel,
            thread_ts=thread_ts,
            text=text,
        )
        return response["ts"]

    def _call(self, method: str, func: Any, **kwargs: Any) -> Any:
        from slack_sdk.errors import SlackApiError, SlackClientError

        try:
            return func(**kwargs)
        except SlackApiError as exc:
            raise _map_slack_api_error(method, exc) from exc
        except (OSError, http.client.HTTPException) as exc:
            # urllib.error.URLError, TimeoutError (socket.timeout), ConnectionError, resets...
            raise TransportError(f"Slack {method}: network error: {exc}", permanent=False) from exc
        except SlackClientError as exc:  # client-side validation: our mistake
            raise TransportError(f"Slack {method}: {exc}", permanent=True) from exc
        except ValueError as exc:  # e.g. an unusable base URL
            raise TransportError(f"Slack {method}: {exc}", permanent=True) from exc


_SLACK_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]{6,}")


def _ts_order(ts: str) -> tuple[int, int]:
    """Slack ts ("1712345678.000100") in time order, without float rounding."""
    seconds, _, fraction = ts.partition(".")
    return int(seconds or 0), int((fraction + "000000")[:6])


def _map_slack_api_error(method: str, exc: Any) -> TransportError:
    response = exc.response
    status = getattr(response, "status_code", None)
    data = getattr(response, "data", None)
    error = data.get("error", "") if isinstance(data, dict) else ""
    headers = getattr(response, "headers", None)
    retry_after = parse_retry_after(_header(headers, "Retry-After"))
    transient = (
        status == 429
        or error in _SLACK_TRANSIENT_ERRORS
        or (status is not None and status >= 500)
        or (status is not None and status in _TRANSIENT_STATUSES)
    )
    detail = error or f"HTTP {status}"
    return TransportError(
        f"Slack {method} failed: {detail}",
        permanent=not transient,
        retry_after=retry_after,
        status=status,
    )


# ---------------------------------------------------------------------------------------------
# Azure Blob Storage
# ---------------------------------------------------------------------------------------------


class BlobTransport:
    """Evidence files in Azure Blob Storage through `azure-storage-blob`."""

    name = "blob"

    def __init__(
        self, connection_string: str, container: str, *, timeout: float = DEFAULT_TIMEOUT
    ) -> None:
        from azure.storage.blob import BlobServiceClient

        self.container = container
        self.timeout = timeout
        try:
            self._service = BlobServiceClient.from_connection_string(
                connection_string,
                retry_total=0,  # retries happen at the task level
                connection_timeout=timeout,
                read_timeout=timeout,
            )
        except ValueError as exc:
            message = f"invalid Azure Storage connection string: {exc}"
            raise TransportError(message, permanent=True) from exc
        self._container = self._service.get_container_client(container)

    @classmethod
    def from_settings(cls) -> BlobTransport | None:
        from django.conf import settings

        connection_string = getattr(settings, "AZURE_STORAGE_CONNECTION_STRING", "")
        if not connection_string:
            return None
        container = getattr(settings, "AZURE_STORAGE_CONTAINER", "") or DEFAULT_CONTAINER
        return cls(connection_string, container, timeout=_timeout(settings))

    @property
    def container_url(self) -> str:
        return self._container.url.rstrip("/")

    def upload_evidence(self, prefix: str, files: dict[str, tuple[bytes, str]]) -> str:
        """Upload each file to `<prefix>/<name>` (overwriting: safe to repeat), creating the
        container when it is missing; returns the folder's URL."""
        from azure.core.exceptions import ResourceNotFoundError

        folder = prefix.strip("/")
        for name, (content, content_type) in files.items():
            blob_name = f"{folder}/{name.lstrip('/')}"
            try:
                try:
                    self._upload(blob_name, content, content_type)
                except ResourceNotFoundError as exc:
                    if getattr(exc, "error_code", None) != "ContainerNotFound":
                        raise
                    self._create_container()
                    self._upload(blob_name, content, content_type)
            except Exception as exc:
                raise _map_azure_error(f"upload {blob_name}", exc) from exc
        return f"{self.container_url}/{folder}/"

    def sas_url(self, blob_name: str, *, minutes: int = 15) -> str:
        """A read-only link to one blob, valid for `minutes` (a 5-minute clock-skew allowance
        is added before the start)."""
        from azure.storage.blob import BlobSasPermissions, generate_blob_sas

        credential = self._service.credential
        account_key = getattr(credential, "account_key", None)
        account_name = self._service.account_name  # given with the key in a connection string
        if not account_key or not account_name:
            raise TransportError(
                "SAS links need the account key in the connection string", permanent=True
            )
        now = dt.datetime.now(dt.UTC)
        token = generate_blob_sas(
            account_name=account_name,
            container_name=self.container,
            blob_name=blob_name,
            account_key=account_key,
            permission=BlobSasPermissions(read=True),
            start=now - dt.timedelta(minutes=5),
            expiry=now + dt.timedelta(minutes=minutes),
        )
        return f"{self._container.get_blob_client(blob_name).url}?{token}"

    def _upload(self, blob_name: str, content: bytes, content_type: str) -> None:
        from azure.storage.blob import ContentSettings

        self._container.upload_blob(
            blob_name,
            content,
            overwrite=True,
            content_settings=ContentSettings(content_type=content_type),
        )

    def _create_container(self) -> None:
        from azure.core.exceptions import ResourceExistsError

        with contextlib.suppress(ResourceExistsError):  # created meanwhile by another worker
            self._container.create_container()


def _map_azure_error(what: str, exc: BaseException) -> TransportError:
    from azure.core.exceptions import (
        AzureError,
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, TransportError):
        return exc
    if isinstance(exc, ClientAuthenticationError):
        status = exc.status_code
        return TransportError(
            f"Azure Blob {what}: authentication failed: {exc.message}",
            permanent=True,
            status=status,
        )
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        # azure-core's response protocol leaves out `headers`, which every response type has.
        headers = exc.response.headers if exc.response is not None else None  # type: ignore[attr-defined]
        code = getattr(exc, "error_code", None)
        detail = f"{status} {code}" if code else f"{status}"
        return TransportError(
            f"Azure Blob {what} failed ({detail}): {exc.reason or exc.message}",
            permanent=not _is_transient_status(status),
            retry_after=parse_retry_after(_header(headers, "Retry-After")),
            status=status,
        )
    if isinstance(exc, ServiceRequestError | ServiceResponseError):
        return TransportError(f"Azure Blob {what}: network error: {exc}", permanent=False)
    if isinstance(exc, AzureError | OSError):
        return TransportError(f"Azure Blob {what}: {exc}", permanent=False)
    if isinstance(exc, ValueError | TypeError):
        return TransportError(f"Azure Blob {what}: {exc}", permanent=True)
    return TransportError(f"Azure Blob {what}: unexpected error: {exc!r}", permanent=False)
