"""A local stand-in for the Slack Web API, for tests that run the real `slack_sdk.WebClient`.

    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.base_url)   # ".../api/"
        fake.messages[(channel_id, ts)]   # {"text", "blocks", "metadata", "thread_ts", "replies",
                                          #  "history"; "reply_broadcast": True for a reply
                                          #  also sent to the channel}; a deleted message is
                                          #  gone (a tombstone when it had replies, as in Slack)
        fake.channels["alerts"]           # channel name -> id ("#alerts" and the id both work)
        fake.scopes.discard("channels:history")    # the bot token lacks a scope: missing_scope
        fake.fail(200, fake.error_body(200, "channel_not_found"))   # any Slack error, once
        fake.throttle(30)                 # HTTP 429 {"ok": false, "error": "ratelimited"}
        fake.block_workspace("restricted_action")  # an admin's block: every method refused
        fake.stall(5, path_contains="chat.postMessage")  # held, then posted anyway (late)
        fake.requests                     # every request seen: method, path, query, headers, body
        fake.add_user("U0MARIA001", email="maria@example.com")   # for users.info
        fake.ephemeral                    # every chat.postEphemeral: {"channel", "user", "text",
                                          #  "thread_ts"}
        fake.response_url()               # a click's response_url, served here
        fake.responded                    # every answer posted to one: {"url", "text",
                                          #  "response_type", "replace_original"}
        fake.expire_response_urls()       # each answered 404 "expired_url" from now on

Answers `/api/chat.postMessage`, `/api/chat.update`, `/api/chat.delete`,
`/api/chat.postEphemeral`, `/api/chat.getPermalink`, `/api/conversations.history`,
`/api/conversations.replies`, `/api/users.info` and `/api/auth.test`
like Slack does: HTTP 200 with `{"ok": true, ...}`, or HTTP 200 with `{"ok": false, "error":
"..."}` for `not_authed`, `invalid_auth`, `missing_scope`, `channel_not_found` (unknown channel;
every method but chat.postMessage wants an id), `not_in_channel`, `message_not_found`,
`cant_update_message`, `cant_delete_message`, `no_text`, `invalid_blocks`,
`invalid_metadata_format`, `invalid_metadata_schema`, `msg_too_long`, `thread_not_found`,
`user_not_found` and `user_not_in_channel`, a workspace block (`restricted_action`,
`ekm_access_denied`, `team_access_not_granted`) for every method but auth.test, and in a
channel archived with `fake.archive(channel_id)` (its messages kept, as Slack keeps them)
`is_archived` for chat.postMessage and `is_inactive` for chat.update (Slack's chat.update
documents no `is_archived`: "the message cannot be edited within a frozen, archived or
deleted channel")... A click's `response_url`
(`/actions/<team>/<n>/<secret>`, as Slack's hooks.slack.com ones) takes a JSON message,
answered 200 `ok` as text, whatever channel the bot is in (it is the answer to that click),
or 404 `expired_url` once expired; the answer is recorded, not added to `messages`.
users.info leaves `profile.email` out without the `users:read.email` scope. A rate limit is
HTTP 429 with Retry-After. Arguments may come as JSON (what slack_sdk sends for
chat.postMessage and chat.update), a form body (its conversations.history,
conversations.replies and chat.delete) or the query string, by POST or GET.

Message timestamps are Slack's: "<unix seconds>.<6 digits>" from the clock, unique and
increasing per channel, so `oldest`/`latest` work as they do in Slack. Message metadata
(`{"event_type", "event_payload"}`) is kept and returned by conversations.history only with
`include_all_metadata`; history lists the channel's top-level messages newest first, pages with
`limit` (default 100, at most 999) and `cursor` (`response_metadata.next_cursor`, `has_more`).
conversations.replies (slack_sdk posts it as a form, as history) lists a thread, given
the ts of its parent or of any reply: the parent first (on the first page only), then the
replies oldest first within `oldest`/`latest`, paged with `limit` (default and at most 1000) and
`cursor`; metadata only with `include_all_metadata`; `thread_not_found` for an unknown ts; it
needs the same scopes as history.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.http import FakeHttpService, RecordedRequest, Reply

MAX_TEXT = 40_000
MAX_BLOCKS = 50
MAX_HISTORY_LIMIT = 999
MAX_REPLIES_LIMIT = 1000
BOT_USER, BOT_ID = "U0RCABOT01", "B0RCABOT01"
WORKSPACE_URL = "https://fake-workspace.slack.com/"
# The scope each method needs (history: channels:history for public, groups:history for private).
SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write",
    "users.info": "users:read",
}
BLOCK_TYPES = {
    "section",
    "header",
    "context",
    "divider",
    "actions",
    "image",
    "rich_text",
    "input",
    "file",
    "video",
}


def slack_error(error: str, **extra: Any) -> dict[str, Any]:
    return {"ok": False, "error": error, **extra}


class FakeSlack(FakeHttpService):
    def __init__(self, *, token: str = "xoxb-fake-bot-token") -> None:
        super().__init__()
        self.token = token
        self.revoked_tokens: set[str] = set()
        self.channels: dict[str, str] = {
            "data-platform-alerts": "C0ALERTS001",
            "alerts": "C0ALERTS002",
            "data-eng": "C0DATAENG01",
            "private-ops": "C0PRIVOPS01",
        }
        self.not_member: set[str] = {"C0PRIVOPS01"}  # channels the bot was not invited to
        self.archived: set[str] = set()  # `archive`: posts there are refused, edits too
        self.workspace_block = ""  # `block_workspace`: every method but auth.test refused so
        self.private: set[str] = {"C0PRIVOPS01"}
        self.scopes: set[str] = {
            "chat:write",
            "channels:history",
            "groups:history",
            "users:read",
            "users:read.email",
        }
        self.users: dict[str, dict[str, Any]] = {}  # Slack user id -> users.info "user" object
        self.ephemeral: list[dict[str, str]] = []
        self.responded: list[dict[str, Any]] = []
        self._response_urls = 0
        self._response_urls_expired = False
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.deleted: list[tuple[str, str]] = []  # (channel id, ts) of every chat.delete done
        self._last_micros = 0
        self._state_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def archive(self, channel_id: str) -> None:
        """The channel archived in Slack: posts there answer `is_archived`, edits of its
        messages `is_inactive`."""
        with self._state_lock:
            self.archived.add(channel_id)

    def block_workspace(self, error: str) -> None:
        """The workspace (or its Enterprise Grid org) blocks the bot, whatever the channel:
        every method but auth.test answers `error`, one of Slack's documented
        `restricted_action` ("a workspace preference prevents the authenticated user from
        posting"), `ekm_access_denied` ("administrators have suspended the ability to post a
        message") or `team_access_not_granted` ("the token used is not granted the specific
        workspace access required to complete this request"); '' lifts it."""
        with self._state_lock:
            self.workspace_block = error

    def thread(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        """The replies under a message, oldest first."""
        parent = self.messages[(channel_id, ts)]
        return [self.messages[(channel_id, reply)] for reply in parent["replies"]]

    def add_user(
        self,
        user_id: str,
        *,
        email: str = "",
        name: str = "",
        deleted: bool = False,
        email_confirmed: bool = True,
        team_id: str = "T0FAKE0001",
    ) -> None:
        """`team_id`: the user's own workspace (another than auth.test's: a Slack Connect
        channel's member of another organization)."""
        name = name or (email.split("@")[0] if email else user_id.lower())
        self.users[user_id] = {
            "id": user_id,
            "team_id": team_id,
            "name": name,
            "deleted": deleted,
            "real_name": name.title(),
            "is_bot": False,
            "is_email_confirmed": email_confirmed,
            "profile": {"real_name": name.title(), "display_name": name, "email": email},
        }

    def response_url(self) -> str:
        """A click's response_url, as Slack puts one in each interaction payload."""
        with self._state_lock:
            self._response_urls += 1
            number = self._response_urls
        return f"{self.url}/actions/T0FAKE0001/{number}/resp{number:06d}secret"

    def expire_response_urls(self) -> None:
        self._response_urls_expired = True

    def api_requests(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == f"/api/{method}"]

    def top_level(self, channel_id: str | None = None) -> list[dict[str, Any]]:
        """The channel's (or every channel's) messages that are not thread replies, oldest first."""
        with self._state_lock:
            found = [
                message
                for (channel, _), message in self.messages.items()
                if (channel_id is None or channel == channel_id) and not message["thread_ts"]
            ]
        return sorted(found, key=lambda m: Decimal(m["ts"]))

    # -- FakeHttpService -------------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> Any:
        if status == 429:
            return slack_error("ratelimited")
        return slack_error(message)

    def route(self, request: RecordedRequest) -> Reply:
        if request.path.startswith("/actions/"):
            return self._respond(request)
        method = request.path.removeprefix("/api/")
        if not request.path.startswith("/api/") or method not in self._METHODS:
            return 404, slack_error("unknown_method"), {}
        if request.method not in ("GET", "POST"):
            return 200, slack_error("invalid_request_data"), {}
        auth = self._auth_error(request)
        if auth:
            return 200, slack_error(auth), {}
        needed = SCOPES.get(method)
        if needed and needed not in self.scopes:
            return 200, self._missing_scope(needed), {}
        if self.workspace_block and method != "auth.test":
            return 200, slack_error(self.workspace_block), {}
        args = _arguments(request)
        return self._METHODS[method](self, args)

    # -- methods -------------------------------------------------------------------------------
    def _auth_test(self, args: dict[str, Any]) -> Reply:
        body = {
            "ok": True,
            "url": WORKSPACE_URL,
            "team": "Fake Workspace",
            "user": "rca-bot",
            "team_id": "T0FAKE0001",
            "user_id": "U0RCABOT01",
            "bot_id": "B0RCABOT01",
        }
        return 200, body, {}

    def _post_message(self, args: dict[str, Any]) -> Reply:
        channel_id, error = self._channel(args.get("channel"), allow_name=True)
        if error:
            return 200, slack_error(error), {}
        if channel_id in self.archived:
            return 200, slack_error("is_archived"), {}
        text, blocks = args.get("text") or "", args.get("blocks")
        error = _content_error(text, blocks)
        if error:
            return 200, slack_error(error), {}
        metadata, error = _metadata(args.get("metadata"))
        if error:
            return 200, slack_error(error), {}
        thread_ts = args.get("thread_ts") or None
        with self._state_lock:
            if thread_ts:
                parent = self.messages.get((channel_id, thread_ts))
                if parent is None:
                    return 200, slack_error("thread_not_found"), {}
                if parent["thread_ts"]:  # a reply to a reply goes to the same thread
                    thread_ts = parent["thread_ts"]
                    parent = self.messages[(channel_id, thread_ts)]
            ts = self._next_ts()
            message = {
                "type": "message",
                "user": BOT_USER,
                "bot_id": BOT_ID,
                "text": text,
                "blocks": blocks or [],
                "metadata": metadata,
                "ts": ts,
                "thread_ts": thread_ts,
                "replies": [],
                "history": [],
            }
            if thread_ts and args.get("reply_broadcast") in (True, "true", "1"):
                message["reply_broadcast"] = True  # shown in the channel too
            self.messages[(channel_id, ts)] = message
            if thread_ts:
                assert parent is not None  # found above, with the thread
                parent["replies"].append(ts)
        return 200, {"ok": True, "channel": channel_id, "ts": ts, "message": _public(message)}, {}

    def _update(self, args: dict[str, Any]) -> Reply:
        channel_id, error = self._channel(args.get("channel"), allow_name=False)
        if error:
            return 200, slack_error(error), {}
        if channel_id in self.archived:
            return 200, slack_error("is_inactive"), {}
        ts = str(args.get("ts") or "")
        text, blocks = args.get("text"), args.get("blocks")
        if text is None and blocks is None:
            return 200, slack_error("no_text"), {}
        error = _content_error(text or "", blocks, need_text=False)
        if error:
            return 200, slack_error(error), {}
        with self._state_lock:
            message = self.messages.get((channel_id, ts))
            if message is None:
                return 200, slack_error("message_not_found"), {}
            if message["bot_id"] != BOT_ID:
                return 200, slack_error("cant_update_message"), {}
            message["history"].append({"text": message["text"], "blocks": message["blocks"]})
            if text is not None:
                message["text"] = text
            if blocks is not None:
                message["blocks"] = blocks
            message["edited"] = {"user": BOT_USER, "ts": self._next_ts()}
        body = {
            "ok": True,
            "channel": channel_id,
            "ts": ts,
            "text": message["text"],
            "message": _public(message),
        }
        return 200, body, {}

    def _delete(self, args: dict[str, Any]) -> Reply:
        channel_id, error = self._channel(args.get("channel"), allow_name=False)
        if error:
            return 200, slack_error(error), {}
        ts = str(args.get("ts") or "")
        with self._state_lock:
            message = self.messages.get((channel_id, ts))
            if message is None or message.get("subtype") == "tombstone":
                return 200, slack_error("message_not_found"), {}
            if message["bot_id"] != BOT_ID:
                return 200, slack_error("cant_delete_message"), {}
            if message["replies"]:  # the thread stays, under a tombstone
                message.update(
                    subtype="tombstone",
                    text="This message was deleted.",
                    blocks=[],
                    metadata=None,
                    user="USLACKBOT",
                    bot_id=None,
                )
            else:
                del self.messages[(channel_id, ts)]
            if message["thread_ts"]:
                parent = self.messages.get((channel_id, message["thread_ts"]))
                if parent and ts in parent["replies"]:
                    parent["replies"].remove(ts)
            self.deleted.append((channel_id, ts))
        return 200, {"ok": True, "channel": channel_id, "ts": ts}, {}

    def _history(self, args: dict[str, Any]) -> Reply:
        channel_id, error = self._channel(args.get("channel"), allow_name=False)
        if error:
            return 200, slack_error(error), {}
        needed = "groups:history" if channel_id in self.private else "channels:history"
        if needed not in self.scopes:
            return 200, self._missing_scope(needed), {}
        try:
            oldest = Decimal(str(args.get("oldest") or "0"))
            latest = Decimal(str(args["latest"])) if args.get("latest") else None
            limit = int(args.get("limit") or 100)
        except (InvalidOperation, ValueError):
            return 200, slack_error("invalid_arguments"), {}
        if limit <= 0:
            limit = 100
        limit = min(limit, MAX_HISTORY_LIMIT)
        inclusive = _flag(args.get("inclusive"))
        with_metadata = _flag(args.get("include_all_metadata"))
        cursor = str(args.get("cursor") or "")
        before: Decimal | None = None
        if cursor:
            try:
                decoded = base64.b64decode(cursor).decode()
                assert decoded.startswith("next_ts:")
                before = Decimal(decoded.removeprefix("next_ts:")) / 1_000_000
            except (ValueError, AssertionError, InvalidOperation):
                return 200, slack_error("invalid_cursor"), {}

        def wanted(ts: Decimal) -> bool:
            if ts < oldest or (ts == oldest and not inclusive):
                return False
            if latest is not None and (ts > latest or (ts == latest and not inclusive)):
                return False
            return before is None or ts <= before

        messages = [m for m in self.top_level(channel_id) if wanted(Decimal(m["ts"]))]
        messages.reverse()  # newest first
        page, rest = messages[:limit], messages[limit:]
        body: dict[str, Any] = {
            "ok": True,
            "messages": [_public(m, with_metadata=with_metadata) for m in page],
            "has_more": bool(rest),
            "pin_count": 0,
            "channel_actions_ts": None,
            "channel_actions_count": 0,
        }
        if rest:
            next_ts = rest[0]["ts"].replace(".", "")
            cursor = base64.b64encode(f"next_ts:{next_ts}".encode()).decode()
            body["response_metadata"] = {"next_cursor": cursor}
        return 200, body, {}

    def _replies(self, args: dict[str, Any]) -> Reply:
        channel_id, error = self._channel(args.get("channel"), allow_name=False)
        if error:
            return 200, slack_error(error), {}
        needed = "groups:history" if channel_id in self.private else "channels:history"
        if needed not in self.scopes:
            return 200, self._missing_scope(needed), {}
        ts = str(args.get("ts") or "")
        if not ts:
            return 200, slack_error("invalid_arguments"), {}
        try:
            oldest = Decimal(str(args.get("oldest") or "0"))
            latest = Decimal(str(args["latest"])) if args.get("latest") else None
            limit = int(args.get("limit") or MAX_REPLIES_LIMIT)
            offset = int(base64.b64decode(str(args.get("cursor") or "")).decode() or 0)
        except (InvalidOperation, ValueError):
            return 200, slack_error("invalid_arguments"), {}
        limit = min(limit, MAX_REPLIES_LIMIT) if limit > 0 else MAX_REPLIES_LIMIT
        inclusive = _flag(args.get("inclusive"))
        with_metadata = _flag(args.get("include_all_metadata"))
        with self._state_lock:
            message = self.messages.get((channel_id, ts))
            if message is None:
                return 200, slack_error("thread_not_found"), {}
            parent = self.messages[(channel_id, message["thread_ts"] or ts)]
            replies = [self.messages[(channel_id, reply)] for reply in parent["replies"]]

        def wanted(reply_ts: Decimal) -> bool:
            if reply_ts < oldest or (reply_ts == oldest and not inclusive):
                return False
            return latest is None or reply_ts < latest or (reply_ts == latest and inclusive)

        listed = [parent] + [r for r in replies if wanted(Decimal(r["ts"]))]
        page, rest = listed[offset : offset + limit], listed[offset + limit :]
        body: dict[str, Any] = {
            "ok": True,
            "messages": [_public(m, with_metadata=with_metadata) for m in page],
            "has_more": bool(rest),
        }
        if rest:
            cursor = base64.b64encode(str(offset + limit).encode()).decode()
            body["response_metadata"] = {"next_cursor": cursor}
        return 200, body, {}

    def _post_ephemeral(self, args: dict[str, Any]) -> Reply:
        channel_id, error = self._channel(args.get("channel"), allow_name=True)
        if error:
            return 200, slack_error(error), {}
        user = str(args.get("user") or "")
        if user not in self.users:
            return 200, slack_error("user_not_in_channel"), {}
        text, blocks = args.get("text") or "", args.get("blocks")
        error = _content_error(text, blocks)
        if error:
            return 200, slack_error(error), {}
        with self._state_lock:
            self.ephemeral.append(
                {
                    "channel": channel_id,
                    "user": user,
                    "text": text,
                    "thread_ts": str(args.get("thread_ts") or ""),
                }
            )
            ts = self._next_ts()
        return 200, {"ok": True, "message_ts": ts}, {}

    def _respond(self, request: RecordedRequest) -> Reply:
        """A message posted to a click's response_url (no token: the URL is the credential)."""
        if request.method != "POST" or not isinstance(request.body, dict):
            return 400, b"invalid_payload", {}
        if self._response_urls_expired:
            return 404, b"expired_url", {}
        body = request.body
        with self._state_lock:
            self.responded.append(
                {
                    "url": f"{self.url}{request.path}",
                    "text": body.get("text") or "",
                    "response_type": body.get("response_type"),
                    "replace_original": body.get("replace_original"),
                }
            )
        return 200, b"ok", {}

    def _permalink(self, args: dict[str, Any]) -> Reply:
        """As Slack: the workspace's URL, `/archives/<channel id>/p<ts without its dot>`, and
        for a thread reply `?thread_ts=<parent>&cid=<channel id>`. No scope is needed; a
        channel given by name is `channel_not_found`, as in Slack."""
        channel_id, error = self._channel(args.get("channel"), allow_name=False)
        if error and error != "not_in_channel":
            return 200, slack_error(error), {}
        ts = str(args.get("message_ts") or "")
        with self._state_lock:
            message = self.messages.get((channel_id, ts))
            if message is None:
                return 200, slack_error("message_not_found"), {}
            thread_ts = message["thread_ts"]
        permalink = f"{WORKSPACE_URL}archives/{channel_id}/p{ts.replace('.', '')}"
        if thread_ts:
            permalink += f"?thread_ts={thread_ts}&cid={channel_id}"
        return 200, {"ok": True, "channel": channel_id, "permalink": permalink}, {}

    def _users_info(self, args: dict[str, Any]) -> Reply:
        found = self.users.get(str(args.get("user") or ""))
        if found is None:
            return 200, slack_error("user_not_found"), {}
        user = json.loads(json.dumps(found))
        if "users:read.email" not in self.scopes:
            user["profile"].pop("email", None)
        if not user["profile"].get("email"):
            user["profile"].pop("email", None)
        return 200, {"ok": True, "user": user}, {}

    _METHODS = {
        "auth.test": _auth_test,
        "chat.postMessage": _post_message,
        "chat.update": _update,
        "chat.delete": _delete,
        "chat.getPermalink": _permalink,
        "conversations.history": _history,
        "conversations.replies": _replies,
        "chat.postEphemeral": _post_ephemeral,
        "users.info": _users_info,
    }

    # -- internals -----------------------------------------------------------------------------
    def _auth_error(self, request: RecordedRequest) -> str | None:
        header = request.header("Authorization") or ""
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        if not token and isinstance(request.body, str):
            token = (parse_qs(request.body).get("token") or [""])[0]
        if not token:
            return "not_authed"
        if token in self.revoked_tokens:
            return "token_revoked"
        if token != self.token:
            return "invalid_auth"
        return None

    def _channel(self, channel: Any, *, allow_name: bool) -> tuple[str, str | None]:
        channel = str(channel or "").strip()
        if not channel:
            return "", "channel_not_found"
        ids = set(self.channels.values())
        if channel in ids:
            channel_id = channel
        elif allow_name and channel.lstrip("#") in self.channels:
            channel_id = self.channels[channel.lstrip("#")]
        else:
            return "", "channel_not_found"
        if channel_id in self.not_member:
            return channel_id, "not_in_channel"
        return channel_id, None

    def _missing_scope(self, needed: str) -> dict[str, Any]:
        return slack_error("missing_scope", needed=needed, provided=",".join(sorted(self.scopes)))

    def _next_ts(self) -> str:
        """From the clock, unique and increasing (call it holding the state lock)."""
        micros = max(time.time_ns() // 1000, self._last_micros + 1)
        self._last_micros = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _arguments(request: RecordedRequest) -> dict[str, Any]:
    if isinstance(request.body, dict):
        return dict(request.body)
    if isinstance(request.body, str):  # application/x-www-form-urlencoded
        args: dict[str, Any] = {k: v[0] for k, v in parse_qs(request.body).items()}
        if isinstance(args.get("blocks"), str):
            try:
                args["blocks"] = json.loads(args["blocks"])
            except ValueError:
                args["blocks"] = "invalid"
        return args
    return {k: v[0] for k, v in request.query.items()}


def _flag(value: Any) -> bool:
    return str(value).lower() in ("1", "true")


def _metadata(value: Any) -> tuple[dict[str, Any] | None, str | None]:
    """Slack's message metadata: {"event_type": str, "event_payload": object}, as JSON or a
    JSON string (form bodies)."""
    if value in (None, ""):
        return None, None
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return None, "invalid_metadata_format"
    if not isinstance(value, dict):
        return None, "invalid_metadata_format"
    event_type, payload = value.get("event_type"), value.get("event_payload")
    if not isinstance(event_type, str) or not event_type or not isinstance(payload, dict):
        return None, "invalid_metadata_schema"
    return {"event_type": event_type, "event_payload": payload}, None


def _content_error(text: str, blocks: Any, *, need_text: bool = True) -> str | None:
    if blocks is not None:
        if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
            return "invalid_blocks"
        for block in blocks:
            if not isinstance(block, dict) or block.get("type") not in BLOCK_TYPES:
                return "invalid_blocks"
    if need_text and not text and not blocks:
        return "no_text"
    if len(text) > MAX_TEXT:
        return "msg_too_long"
    return None


def _public(message: dict[str, Any], *, with_metadata: bool = False) -> dict[str, Any]:
    hidden = ("replies", "history", "thread_ts", "metadata", "reply_broadcast")
    shown = {k: v for k, v in message.items() if k not in hidden and v is not None}
    if message["thread_ts"]:
        shown["thread_ts"] = message["thread_ts"]
    if message["replies"]:
        shown["thread_ts"] = message["ts"]
        shown["reply_count"] = len(message["replies"])
    if with_metadata and message.get("metadata"):
        shown["metadata"] = message["metadata"]
    return shown
