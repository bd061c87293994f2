"""Gemini root-cause analysis through `google-genai`, with a validated structured answer.

Every failure mode (timeout, HTTP error, quota, safety block, an answer that is not valid JSON
or does not fit the schema) ends in `LlmFailure`; the caller falls back to the rule-based RCA.
Retries are bounded and only for what a retry can fix; every attempt is reported to the caller
so it can be recorded (model, latency, tokens, outcome).
"""

from __future__ import annotations

import asyncio
import copy
import functools
import importlib
import json
import logging
import os
import random
import re
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict, TypeVar

import redis
from django.conf import settings
from pydantic import BaseModel, BeforeValidator, Field, ValidationError, field_validator

from analysis.models import LlmOutcome
from analysis.redaction import redact
from tickets.vocabulary import ErrorClass, Severity

logger = logging.getLogger(__name__)


def _storable(value: Any) -> Any:
    """Text as it is stored and shown: redacted (an answer may quote a secret the redaction of
    the prompt missed, or write one of its own; it goes to the ticket, Slack, JIRA and Blob),
    without NUL (PostgreSQL refuses it in text, and the whole batch's write with it) and
    surrounding blanks (all blanks is no answer)."""
    return redact(value.replace("\x00", "")).strip() if isinstance(value, str) else value


class RcaAnswer(BaseModel):
    """The structured answer the model must give; anything else is a failed call."""

    root_cause: Annotated[str, BeforeValidator(_storable)] = Field(min_length=10, max_length=4000)
    recommendations: list[str] = Field(min_length=1, max_length=8)
    error_class: ErrorClass
    severity: Severity
    confidence: float = Field(ge=0.0, le=1.0)
    similar_ticket_ids: list[str] = Field(default_factory=list, max_length=10)

    @field_validator("recommendations")
    @classmethod
    def _recommendations_are_actions(cls, value: list[str]) -> list[str]:
        cleaned = [text for text in map(_storable, value) if text]
        if not cleaned:
            raise ValueError("no recommendation")
        if any(len(item) > 800 for item in cleaned):
            raise ValueError("recommendation too long")
        return cleaned


class TokenUsage(TypedDict, total=False):
    """The token counts of a call, as `Attempt` takes them; empty when the API gave none."""

    prompt_tokens: int | None
    output_tokens: int | None
    total_tokens: int | None


@dataclass(frozen=True)
class Attempt:
    number: int
    outcome: str
    latency_ms: int
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    error: str = ""


class LlmFailure(Exception):
    def __init__(
        self,
        outcome: str,
        reason: str,
        *,
        retryable: bool,
        usage: TokenUsage | None = None,
        retry_after: float = 0.0,
    ) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.retryable = retryable
        self.usage: TokenUsage = usage or {}
        self.retry_after = retry_after  # seconds the API asked to wait before the next call


def _http_errors() -> tuple[tuple[type[Exception], ...], tuple[type[Exception], ...]]:
    """google-genai talks through httpx or its fork httpx2, whichever is installed. Their
    RequestError: a transport failure, and also redirects without end or an undecodable body."""
    timeouts: list[type[Exception]] = []
    requests: list[type[Exception]] = []
    for name in ("httpx", "httpx2"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        timeouts.append(module.TimeoutException)
        requests.append(module.RequestError)
    return tuple(timeouts), tuple(requests)


_HTTP_TIMEOUT_ERRORS, _REQUEST_ERRORS = _http_errors()
# `TimeoutError`: the whole call's deadline (`_within`) passed.
_TIMEOUT_ERRORS: tuple[type[Exception], ...] = (*_HTTP_TIMEOUT_ERRORS, TimeoutError)
_CONNECTION_ERRORS: tuple[type[Exception], ...] = (*_REQUEST_ERRORS, OSError)

MAX_RETRY_WAIT_SECONDS = 8.0

# A fence around the whole answer (```json ... ```), which some answers come wrapped in.
_OUTER_FENCE = re.compile(r"\A\s*```[\w-]*[ \t]*\r?\n(.*?)\r?\n[ \t]*```\s*\Z", re.DOTALL)


def unfenced(text: str) -> str:
    """The answer without one Markdown code fence around all of it; any other text as it is."""
    match = _OUTER_FENCE.match(text)
    return match.group(1) if match else text


_BLOCKING_FINISH_REASONS = {"SAFETY", "PROHIBITED_CONTENT", "BLOCKLIST", "SPII", "RECITATION"}


class _HttpOverrides(TypedDict, total=False):
    base_url: str


@functools.cache
def _client(api_key: str, base_url: str, api_version: str, timeout_ms: int):
    from google import genai
    from google.genai import types

    # Only what is set: the SDK's own default otherwise.
    overrides: _HttpOverrides = {"base_url": base_url} if base_url else {}
    options = types.HttpOptions(
        api_version=api_version,
        timeout=timeout_ms,
        retry_options=types.HttpRetryOptions(attempts=1),  # we retry ourselves, bounded
        **overrides,
    )
    return genai.Client(api_key=api_key, http_options=options)


_client_lock = threading.Lock()


def gemini_client():
    """The process's client for these settings. Under a lock: two threads building it at once
    would make two, and the one not kept closes its connections when it is collected, under a
    call that may still be using them."""
    with _client_lock:
        return _client(
            settings.GEMINI_API_KEY,
            settings.GEMINI_BASE_URL,
            settings.GEMINI_API_VERSION,
            int(settings.GEMINI_TIMEOUT_SECONDS * 1000),
        )


class _ThreadLoop:
    """A thread's event loop for its Gemini calls, closed when the thread ends (its
    thread-local is dropped then): left open, each ended thread's loop kept its selector and
    self-pipe, and the SDK's connection pool for it its sockets, for the process's life."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.pid = os.getpid()

    def __del__(self) -> None:
        if not self.loop.is_closed() and not self.loop.is_running():
            self.loop.close()


_thread_loops = threading.local()


_Result = TypeVar("_Result")


def _within(call: Coroutine[Any, Any, _Result], seconds: float) -> _Result:
    """The call's result, or TimeoutError once `seconds` have passed, whatever the phase it is
    in. httpx's timeouts are per phase (connect, each read, each write): an answer whose bytes
    each come within the read timeout holds its caller for as long as it takes to arrive. Run
    on the calling thread's own event loop, kept for the thread's life (and the SDK keeps one
    connection pool per loop), so its connections are reused from call to call; cancelled at
    the deadline, the request's connection is closed."""
    own: _ThreadLoop | None = getattr(_thread_loops, "own", None)
    if own is None or own.pid != os.getpid():  # a forked child starts its own
        own = _thread_loops.own = _ThreadLoop()
    return own.loop.run_until_complete(asyncio.wait_for(call, seconds))


def gemini_configured() -> bool:
    return bool(settings.GEMINI_API_KEY)


# What a Gemini that is down or unreachable answers, as opposed to one that answered badly.
_OUTAGE_OUTCOMES = {LlmOutcome.TIMEOUT, LlmOutcome.SERVER_ERROR, LlmOutcome.CONNECTION_ERROR}
# The failures a ticket's RCA is asked again for once Gemini answers (analysis/outage_reruns.py):
# those and a 429 (the quota), including a call not made during the pause (`_Outage`).
UNAVAILABLE_OUTCOMES = frozenset({*_OUTAGE_OUTCOMES, LlmOutcome.RATE_LIMITED})
# The failures `_Outage` counts as each attempt ends, not once its call has made them all.
_COUNTED_BY_ATTEMPT = UNAVAILABLE_OUTCOMES


class _Outage:
    """When this process asks Gemini nothing. After CIRCUIT_FAILURE_THRESHOLD attempts in a
    row (any of its calls') ended in an outage's failure, for CIRCUIT_OPEN_SECONDS: each call
    would hold its ticket's analysis, and the page that waits for it, for up to
    GEMINI_TIMEOUT_SECONDS times GEMINI_MAX_ATTEMPTS; a call in flight then makes no further
    retry (`_generate_rca`); then one call probes, and its success ends it. So too after
    CIRCUIT_FAILURE_THRESHOLD attempts in a row refused with a 429 that named no wait: each
    retry into the quota is refused again, and counted against it. After a 429 that said how
    long to wait, for that long, at most GEMINI_RATE_LIMIT_MAX_PAUSE_SECONDS (a daily quota
    asks for hours; then one call asks again): a call sooner is refused again.

    A pause is shared through Redis (`_share_pause`): the other processes take it on their next
    call instead of each finding the outage with attempts of their own; when it ends, the
    next call of each asks."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._failures = 0  # attempts in a row that ended in an outage's failure
        self._throttled = 0  # attempts in a row refused with a 429 that named no wait
        self._paused_by: LlmFailure | None = None
        self._open_until = 0.0
        self._row_pause = False  # the pause is a row's of failures, not a 429's wait
        self._probe_due = False  # a 429's wait was cut short: one call asks, the others wait
        self._shared = False  # the pause is in Redis: gone from it early, it was ended

    def refusal(self) -> LlmFailure | None:
        """The failure to answer with instead of a call, or None: a call may go ahead."""
        read, shared = _shared_pause()
        with self._lock:
            now = time.monotonic()
            if shared is not None and now + shared[1] > self._open_until:
                # Another process found the outage, or the spent quota: its pause is ours.
                self._paused_by, self._open_until, self._row_pause = (
                    shared[0],
                    now + shared[1],
                    shared[2],
                )
                self._shared = True
            elif (
                read
                and shared is None
                and self._shared
                and now < self._open_until - _SHARED_EXPIRY_SLACK_SECONDS
            ):
                # Gone from Redis before its time: an answer in another process ended it.
                self._failures, self._throttled, self._paused_by, self._open_until = 0, 0, None, 0.0
                self._shared = False
            paused_by = self._paused_by
            if paused_by is not None and now < self._open_until:
                # One of its own for each caller: an exception raised carries its traceback.
                return LlmFailure(paused_by.outcome, paused_by.reason, retryable=False)
            threshold = settings.CIRCUIT_FAILURE_THRESHOLD
            if self._failures >= threshold or self._throttled >= threshold or self._probe_due:
                # This call probes; the others wait for its answer.
                self._open_until = now + settings.CIRCUIT_OPEN_SECONDS
                self._row_pause = True
                self._shared = False  # this process's probe, not in Redis
            return None

    def paused_by_failures(self) -> bool:
        """Calls are paused now for a row of failed attempts (an outage's, or 429s that named
        no wait), not for a 429's wait, which its own call has waited out before a retry."""
        with self._lock:
            return (
                self._paused_by is not None
                and self._row_pause
                and time.monotonic() < self._open_until
            )

    def record(self, failure: LlmFailure | None) -> None:
        """One attempt's end: None for an answer."""
        if failure is None:
            _end_shared_pause()  # Gemini answers: no process waits any longer (a staff re-run's)
        with self._lock:
            now = time.monotonic()
            self._probe_due = False
            if failure is not None and failure.outcome == LlmOutcome.RATE_LIMITED:
                self._failures = 0  # Gemini answered: the calls in a row that failed end here
                if failure.retry_after > 0:
                    self._throttled = 0
                    cap = settings.GEMINI_RATE_LIMIT_MAX_PAUSE_SECONDS
                    wait = min(failure.retry_after, cap)
                    why = failure.reason
                    if failure.retry_after > cap:
                        why = f"{why}; paused for {cap:g}s, then one call asks again"
                        self._probe_due = True
                    if now + wait > self._open_until:
                        self._pause(failure, why, now + wait, row=False)
                    return
                self._throttled += 1
                if self._throttled >= settings.CIRCUIT_FAILURE_THRESHOLD:
                    why = f"the last {self._throttled} attempts were refused ({failure.reason})"
                    self._pause(failure, why, now + settings.CIRCUIT_OPEN_SECONDS, row=True)
                return
            self._throttled = 0
            if failure is None or failure.outcome not in _OUTAGE_OUTCOMES:
                self._failures, self._paused_by, self._open_until = 0, None, 0.0  # it answered
                self._shared = False
                return
            self._failures += 1
            if self._failures >= settings.CIRCUIT_FAILURE_THRESHOLD:
                why = f"the last {self._failures} attempts failed ({failure.reason})"
                self._pause(failure, why, now + settings.CIRCUIT_OPEN_SECONDS, row=True)

    def _pause(self, failure: LlmFailure, why: str, until: float, *, row: bool) -> None:
        self._paused_by = LlmFailure(failure.outcome, f"not asked: {why}", retryable=False)
        self._open_until = until
        self._row_pause = row
        self._shared = _share_pause(self._paused_by, until - time.monotonic(), row=row)


def shared_pause_key() -> str:
    return f"{settings.REDIS_KEY_PREFIX}:gemini:pause"


@functools.cache
def _redis(url: str) -> redis.Redis:
    # Short timeouts: a Redis that does not answer must not hold an analysis for long.
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def _share_pause(paused_by: LlmFailure, seconds: float, *, row: bool) -> bool:
    """Tell every worker process of the pause, so each does not find the outage (or the spent
    quota) again with calls of its own. Best effort: without Redis each process pauses alone.
    Whether it was shared."""
    value = {"outcome": paused_by.outcome, "reason": paused_by.reason, "row": row}
    try:
        _redis(settings.REDIS_URL).set(
            shared_pause_key(), json.dumps(value), px=max(1, int(seconds * 1000))
        )
    except redis.RedisError as exc:
        logger.warning("could not share Gemini's pause through Redis: %s", exc)
        return False
    return True


# A shared pause's key expires with the pause (its time left is read with it): gone sooner
# than this before the pause's end, it was ended.
_SHARED_EXPIRY_SLACK_SECONDS = 1.0


def _shared_pause() -> tuple[bool, tuple[LlmFailure, float, bool] | None]:
    """Whether Redis was read, and the pause another process shared: why, the seconds it has
    left, whether it is a row's."""
    try:
        with _redis(settings.REDIS_URL).pipeline(transaction=False) as pipe:
            pipe.get(shared_pause_key())
            pipe.pttl(shared_pause_key())
            raw, left_ms = pipe.execute()
        if raw is None or left_ms <= 0:
            return True, None
        value = json.loads(raw)
        paused_by = LlmFailure(value["outcome"], value["reason"], retryable=False)
        return True, (paused_by, left_ms / 1000, bool(value["row"]))
    except (redis.RedisError, ValueError, KeyError, TypeError) as exc:
        logger.warning("could not read Gemini's shared pause from Redis: %s", exc)
        return False, None


def _end_shared_pause() -> None:
    try:
        _redis(settings.REDIS_URL).delete(shared_pause_key())
    except redis.RedisError as exc:
        logger.warning("could not end Gemini's shared pause in Redis: %s", exc)


outage = _Outage()


def generate_rca(
    system_instruction: str,
    prompt: str,
    *,
    on_attempt: Callable[[Attempt], None],
    sleep: Callable[[float], None] = time.sleep,
    despite_outage: bool = False,
) -> RcaAnswer:
    """Ask Gemini for an RCA; raises LlmFailure after bounded retries, and at once, without a
    call, while Gemini is held to be down (`_Outage`) unless `despite_outage` (which also
    makes every retry whatever the outage)."""
    refusal = None if despite_outage else outage.refusal()
    if refusal is not None:
        raise refusal
    try:
        answer = _generate_rca(
            system_instruction,
            prompt,
            on_attempt=on_attempt,
            sleep=sleep,
            despite_outage=despite_outage,
        )
    except LlmFailure as failure:
        if failure.outcome not in _COUNTED_BY_ATTEMPT:
            outage.record(failure)
        raise
    outage.record(None)
    return answer


def _generate_rca(
    system_instruction: str,
    prompt: str,
    *,
    on_attempt: Callable[[Attempt], None],
    sleep: Callable[[float], None],
    despite_outage: bool,
) -> RcaAnswer:
    last: LlmFailure | None = None
    for number in range(1, settings.GEMINI_MAX_ATTEMPTS + 1):
        started = time.perf_counter()
        try:
            answer, usage = _call_once(system_instruction, prompt)
        except LlmFailure as failure:
            latency = _ms_since(started)
            on_attempt(
                Attempt(number, failure.outcome, latency, error=failure.reason, **failure.usage)
            )
            last = failure
            down = failure.outcome in _COUNTED_BY_ATTEMPT
            if down:
                # Counted as it happens, so the calls in flight together (a batch's) see the
                # outage or spent quota their first attempts found, instead of each retrying
                # into it.
                outage.record(failure)
            if not failure.retryable or number == settings.GEMINI_MAX_ATTEMPTS:
                break
            backoff = min(MAX_RETRY_WAIT_SECONDS, 0.5 * 2 ** (number - 1))
            sleep(max(backoff * (0.5 + random.random()), failure.retry_after))
            if down and not despite_outage and outage.paused_by_failures():
                break  # Gemini is held to be down, or its quota spent, now: no retry into it
            continue
        on_attempt(Attempt(number, LlmOutcome.OK, _ms_since(started), **usage))
        return answer
    assert last is not None
    raise last


def _ms_since(started: float) -> int:
    return int((time.perf_counter() - started) * 1000)


@functools.cache
def _rca_json_schema() -> dict[str, Any]:
    return RcaAnswer.model_json_schema()


def response_schema() -> dict[str, Any]:
    """`RcaAnswer`'s JSON schema, generated once per process. Given the model class, the SDK
    generates it again on every call (about 6 % of the analysis worker's CPU in a storm);
    given the schema, it starts from there and sends the same request. A copy each time:
    the SDK rewrites it in place."""
    return copy.deepcopy(_rca_json_schema())


# The tokens an answer may take (its JSON: root cause, recommendations, classification).
ANSWER_TOKENS = 2048


def _call_once(system_instruction: str, prompt: str) -> tuple[RcaAnswer, TokenUsage]:
    from google.genai import errors, types

    thinking = settings.GEMINI_THINKING_BUDGET
    thinking_config = None if thinking is None else types.ThinkingConfig(thinking_budget=thinking)
    config = types.GenerateContentConfig(
        system_instruction=system_instruction,
        response_mime_type="application/json",
        response_schema=response_schema(),
        temperature=0.2,
        # Gemini 2.5's thinking tokens count against this limit: without room of its own, a
        # model thinking at length leaves the answer cut (MAX_TOKENS) or empty.
        max_output_tokens=ANSWER_TOKENS + (thinking or 0),
        thinking_config=thinking_config,
        automatic_function_calling=types.AutomaticFunctionCallingConfig(disable=True),
    )
    try:
        response = _within(
            gemini_client().aio.models.generate_content(
                model=settings.GEMINI_MODEL, contents=prompt, config=config
            ),
            settings.GEMINI_TIMEOUT_SECONDS,
        )
    except errors.ClientError as exc:
        if exc.code == 429:
            wait = _retry_delay(exc)
            if wait > MAX_RETRY_WAIT_SECONDS:  # a retry sooner is refused again, and counted
                reason = f"quota exceeded (429), retry in {wait:g}s"
                raise LlmFailure(
                    LlmOutcome.RATE_LIMITED, reason, retryable=False, retry_after=wait
                ) from exc
            raise LlmFailure(
                LlmOutcome.RATE_LIMITED, "quota exceeded (429)", retryable=True, retry_after=wait
            ) from exc
        raise LlmFailure(
            LlmOutcome.CLIENT_ERROR, f"rejected ({exc.code}): {exc.message}", retryable=False
        ) from exc
    except errors.ServerError as exc:
        raise LlmFailure(
            LlmOutcome.SERVER_ERROR, f"server error ({exc.code})", retryable=True
        ) from exc
    except errors.APIError as exc:  # neither 4xx nor 5xx: a redirect, a proxy's answer
        raise LlmFailure(
            LlmOutcome.CLIENT_ERROR, f"unexpected HTTP status ({exc.code})", retryable=False
        ) from exc
    except _TIMEOUT_ERRORS as exc:
        timeout = settings.GEMINI_TIMEOUT_SECONDS
        raise LlmFailure(
            LlmOutcome.TIMEOUT, f"timed out after {timeout:g}s", retryable=True
        ) from exc
    except _CONNECTION_ERRORS as exc:
        raise LlmFailure(
            LlmOutcome.CONNECTION_ERROR,
            f"cannot reach Gemini: {type(exc).__name__}",
            retryable=True,
        ) from exc
    except (ValueError, ValidationError) as exc:  # an unparseable body from the API
        raise LlmFailure(LlmOutcome.INVALID_OUTPUT, "unreadable response", retryable=True) from exc

    usage = _usage(response)
    feedback = response.prompt_feedback
    if feedback is not None and feedback.block_reason:
        reason = f"prompt blocked ({_enum_name(feedback.block_reason)})"
        raise LlmFailure(LlmOutcome.BLOCKED, reason, retryable=False, usage=usage)
    candidate = (response.candidates or [None])[0]
    finish = _enum_name(getattr(candidate, "finish_reason", None))
    if finish in _BLOCKING_FINISH_REASONS:
        reason = f"answer blocked ({finish})"
        raise LlmFailure(LlmOutcome.BLOCKED, reason, retryable=False, usage=usage)
    text = response.text or ""
    try:
        answer = RcaAnswer.model_validate_json(unfenced(text))
    except (ValidationError, ValueError) as exc:
        if finish == "MAX_TOKENS":  # cut short, whatever the part that came says
            reason = "answer cut at the output token limit (MAX_TOKENS)"
        elif not text.strip():
            reason = f"empty answer (finish reason {finish or 'none'})"
        else:
            reason = f"answer does not fit the RCA schema: {_first_error(exc)}"
        raise LlmFailure(LlmOutcome.INVALID_OUTPUT, reason, retryable=True, usage=usage) from exc
    return answer, usage


def _enum_name(value: Any) -> str:
    """An API enum's name as Gemini sends it ("SAFETY"), not the SDK's ("BlockedReason.SAFETY")."""
    return str(value or "").rsplit(".", 1)[-1]


def _retry_delay(exc: Exception) -> float:
    """How long a 429 asks to wait: Gemini's RetryInfo (`"retryDelay": "37s"`), else a
    Retry-After header in seconds; 0 when it says nothing."""
    body = getattr(exc, "details", None)
    error = body.get("error") if isinstance(body, dict) else None
    details = error.get("details") if isinstance(error, dict) else None
    for detail in details if isinstance(details, list) else []:
        delay = detail.get("retryDelay") if isinstance(detail, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return max(0.0, float(delay[:-1]))
            except ValueError:
                pass
    headers = getattr(getattr(exc, "response", None), "headers", None) or {}
    try:
        return max(0.0, float(headers.get("retry-after", "")))
    except ValueError:
        return 0.0


def _usage(response) -> TokenUsage:
    meta = response.usage_metadata
    if meta is None:
        return {}
    return {
        "prompt_tokens": meta.prompt_token_count,
        # Thinking is billed as output.
        "output_tokens": _sum_known(meta.candidates_token_count, meta.thoughts_token_count),
        "total_tokens": meta.total_token_count,
    }


def _sum_known(*counts: int | None) -> int | None:
    known = [count for count in counts if count is not None]
    return sum(known) if known else None


def _first_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        where = ".".join(str(part) for part in error.get("loc", ())) or "answer"
        return f"{where}: {error.get('msg', 'invalid')}"[:200]
    return str(exc)[:200]
