"""A local stand-in for the Slack Web API, for tests that run the real `slack_sdk.WebClient`.

    with FakeSlack() as fake:
        client = WebClient(token=fake.token, base_url=fake.base_url)   # ".../api/"
        fake.messages[(channel_id, ts)]   # {"text", "blocks", "thread_ts", "replies", "history"}
        fake.channels["alerts"]           # channel name -> id ("#alerts" and the id both work)
        fake.fail(200, fake.error_body(200, "channel_not_found"))   # any Slack error, once
        fake.throttle(30)                 # HTTP 429 {"ok": false, "error": "ratelimited"}
        fake.requests                     # every request seen: method, path, query, headers, body

Answers `POST /api/chat.postMessage`, `/api/chat.update` and `/api/auth.test` like Slack does:
HTTP 200 with `{"ok": true, ...}`, or HTTP 200 with `{"ok": false, "error": "..."}` for
`not_authed`, `invalid_auth`, `channel_not_found` (unknown channel; chat.update wants an id),
`not_in_channel`, `message_not_found`, `cant_update_message`, `no_text`, `invalid_blocks`,
`msg_too_long` and `thread_not_found`... A rate limit is HTTP 429 with Retry-After.
Bodies may be JSON (what slack_sdk sends) or form-encoded.
"""

from __future__ import annotations

import itertools
import json
import threading
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.http import FakeHttpService, RecordedRequest, Reply

MAX_TEXT = 40_000
MAX_BLOCKS = 50
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
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._clock = itertools.count(1)
        self._state_lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"{self.url}/api/"

    def thread(self, channel_id: str, ts: str) -> list[dict[str, Any]]:
        """The replies under a message, oldest first."""
        parent = self.messages[(channel_id, ts)]
        return [self.messages[(channel_id, reply)] for reply in parent["replies"]]

    def api_requests(self, method: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == f"/api/{method}"]

    # -- FakeHttpService -------------------------------------------------------------------------
    def error_body(self, status: int, message: str) -> Any:
        if status == 429:
            return slack_error("ratelimited")
        return slack_error(message)

    def route(self, request: RecordedRequest) -> Reply:
        method = request.path.removeprefix("/api/")
        if not request.path.startswith("/api/") or method not in self._METHODS:
            return 404, slack_error("unknown_method"), {}
        if request.method != "POST":
            return 200, slack_error("invalid_request_data"), {}
        auth = self._auth_error(request)
        if auth:
            return 200, slack_error(auth), {}
        args = _arguments(request)
        return self._METHODS[method](self, args)

    # -- methods -------------------------------------------------------------------------------
    def _auth_test(self, args: dict[str, Any]) -> Reply:
        body = {
            "ok": True,
            "url": "https://fake-workspace.slack.com/",
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
        text, blocks = args.get("text") or "", args.get("blocks")
        error = _content_error(text, blocks)
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
                "user": "U0RCABOT01",
                "bot_id": "B0RCABOT01",
                "text": text,
                "blocks": blocks or [],
                "ts": ts,
                "thread_ts": thread_ts,
                "replies": [],
                "history": [],
            }
            self.messages[(channel_id, ts)] = message
            if thread_ts:
                parent["replies"].append(ts)
        return 200, {"ok": True, "channel": channel_id, "ts": ts, "message": _public(message)}, {}

    def _update(self, args: dict[str, Any]) -> Reply:
        channel_id, error = self._channel(args.get("channel"), allow_name=False)
        if error:
            return 200, slack_error(error), {}
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
            if message["bot_id"] != "B0RCABOT01":
                return 200, slack_error("cant_update_message"), {}
            message["history"].append({"text": message["text"], "blocks": message["blocks"]})
            if text is not None:
                message["text"] = text
            if blocks is not None:
                message["blocks"] = blocks
            message["edited"] = {"user": "U0RCABOT01", "ts": self._next_ts()}
        body = {
            "ok": True,
            "channel": channel_id,
            "ts": ts,
            "text": message["text"],
            "message": _public(message),
        }
        return 200, body, {}

    _METHODS = {
        "auth.test": _auth_test,
        "chat.postMessage": _post_message,
        "chat.update": _update,
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

    def _next_ts(self) -> str:
        n = next(self._clock)
        return f"{1712345678 + n}.{n * 100:06d}"


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


def _public(message: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in message.items() if k not in ("replies", "history", "thread_ts")}
    if message["thread_ts"]:
        shown["thread_ts"] = message["thread_ts"]
    if message["replies"]:
        shown["reply_count"] = len(message["replies"])
    return shown
