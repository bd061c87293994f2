"""Airflow failure callback that reports task failures to the RCA service.

Drop this file into your DAGs folder (it needs only the standard library) and set, on the
workers and on the DAG processor (which runs a DAG's callbacks and those of tasks found dead):

    RCA_WEBHOOK_URL         e.g. https://rca.example.com/webhooks/airflow/
    RCA_WEBHOOK_TOKEN       the service's webhook token
    RCA_AIRFLOW_DEPLOYMENT  optional: this Airflow's name (e.g. prod); without it the service
                            tells deployments apart by their web server's host (base_url),
                            which needs it where base_url is left at its default, localhost
                            (the callback logs a warning then)

then use it on the tasks (in default_args) and, optionally, on the DAG itself:

    from rca_callback import on_failure_callback, on_retry_callback, on_success_callback
    DAG(..., default_args={"on_failure_callback": on_failure_callback,
                           "on_retry_callback": on_retry_callback,
                           "on_success_callback": on_success_callback},
        on_failure_callback=on_failure_callback, on_success_callback=on_success_callback)

Airflow runs `on_failure_callback` only for a task's last try; a try it retries runs
`on_retry_callback`, which reports it as `up_for_retry` (counted on the task's ticket, no
remediation proposed). `on_success_callback` is optional: it reports every success of the
tasks it is set on, and a task's success (after a clear, or in a later run) resolves that
task's open ticket.

On the DAG, the same callbacks report the run as a whole, as the task `DAG_RUN_TASK_ID`: a run
that failed for another reason than a task's failure (it timed out, its unfinished tasks
skipped; its tasks deadlocked), which no task callback reports, and the success of a later run,
which closes it. A run failed by a task is not reported again: that task's own callback reports
it, and the task instance Airflow passes a DAG's callback is just one of the run's (often not
the one that failed), whose state says nothing of the run.

These three are the callbacks it supports, on tasks and on the DAG. None is an
`sla_miss_callback`: Airflow 2 calls that with five arguments (dag, task_list,
blocking_task_list, slas, blocking_tis), and a callback called so logs that it sends nothing.
The service has no kind of event for an SLA miss: a late task may still be running, neither a
failure to analyse nor a task to clear.

The callback never raises: a failure to report must not change how Airflow handles the task.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import re
import threading
import time
import traceback
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

log = logging.getLogger(__name__)

MAX_EXCEPTION_CHARS = 60_000
# Of a longer error text, its head is kept beside its end: a chained traceback prints its first
# cause first (the service keeps a head of the same length, integrations/parsers/airflow.py).
EXCEPTION_HEAD_CHARS = 4_000
_ELIDED = "\n…\n"
# The callback cannot redact (standard library only): the service does, and it knows a secret
# by what is printed around it (`password=`, `postgresql://user:…@host`), so the head it is
# sent ends where a line ends and the end starts where one starts, not inside a secret whose
# rest the service could not tell from other text. The line break is looked for this far
# from the cut (then a space or a separator, `,` `;` `&`); a text with none that near is cut
# where it would have been.
CUT_SEARCH_CHARS = 2_000
_LINE_BREAK = re.compile(r"\n")
_WORD_BREAK = re.compile(r"[\s,;&]")
TIMEOUT_SECONDS = 10
ATTEMPTS = 3
# The longest a callback holds up its task (or the DAG processor, which runs a DAG's callbacks
# one after another within its dag_file_processor_timeout) for a report, all attempts and waits
# together: a service that takes the connection and never answers, or a resolver that does not
# answer (no socket timeout covers it), would otherwise hold it for as long as they do.
REPORT_SECONDS = 20
# Of a refusal's body (a 4xx), what the log shows, and how much of it is read to show that: a
# token the body quotes is left out of what was read, which reaches well past what is shown.
ANSWER_LOG_CHARS = 500
ANSWER_READ_BYTES = 65_536
# What the log of a misconfigured callback tells to set RCA_WEBHOOK_URL to.
EXAMPLE_URL = "webhook address, e.g. https://rca.example.com/webhooks/airflow/"


def _iso(value: Any) -> str | None:
    if value is None:
        return None
    return value.isoformat() if isinstance(value, datetime) else str(value)


def _exception_text(exception: Any) -> str:
    if exception is None:
        return ""
    if isinstance(exception, BaseException):
        # The three-argument form: Python before 3.10 (Airflow 2 runs on 3.8 and 3.9) has no
        # other, and a TypeError here would lose the report.
        formatted = traceback.format_exception(type(exception), exception, exception.__traceback__)
        text = "".join(formatted).strip()
    else:
        text = str(exception)
    if len(text) <= MAX_EXCEPTION_CHARS:
        return text
    # A traceback's own error is its last line; a chained one's first cause opens it.
    tail = MAX_EXCEPTION_CHARS - EXCEPTION_HEAD_CHARS - len(_ELIDED)
    head_end = _break_before(text, EXCEPTION_HEAD_CHARS)
    tail_start = _break_after(text, len(text) - tail)
    return f"{text[:head_end]}{_ELIDED}{text[tail_start:]}"


def _break_before(text: str, at: int) -> int:
    """Where the head cut at `at` ends instead: after the last line break (else space or
    separator) within CUT_SEARCH_CHARS before it; `at` when there is none."""
    window = text[max(0, at - CUT_SEARCH_CHARS) : at]
    for pattern in (_LINE_BREAK, _WORD_BREAK):
        found = [match.end() for match in pattern.finditer(window)]
        if found:
            return at - len(window) + found[-1]
    return at


def _break_after(text: str, at: int) -> int:
    """Where the end cut at `at` starts instead: after the first line break (else space or
    separator) within CUT_SEARCH_CHARS after it; `at` when there is none."""
    for pattern in (_LINE_BREAK, _WORD_BREAK):
        match = pattern.search(text, at, at + CUT_SEARCH_CHARS)
        if match:
            return match.end()
    return at


def _no_exception_text(ti: Any) -> str:
    """A failure reported with no exception: the task was killed from outside (its worker died,
    the executor lost it, it timed out in the queue) and Airflow runs its callback for it."""
    return (
        f"Task failed without an exception (state: {_state_name(ti)}): Airflow reported the "
        "failure, but the task raised no error; it was stopped from outside or lost by its "
        "executor. See the scheduler and executor logs."
    )


def _state_name(ti: Any) -> str:
    """The task instance's state as Airflow names it ("failed"); "failed" when it has none.
    Airflow 3's task runner holds it as the Task SDK's `TaskInstanceState`, a str enum whose
    str() is its member's name ("TaskInstanceState.FAILED"), so its value is read; Airflow 2's
    and a plain string are their own value."""
    state = getattr(ti, "state", None)
    return str(getattr(state, "value", state) or "failed")


def _web_server_url() -> str | None:
    """This Airflow's web server, as its configuration names it (Airflow 3: [api] base_url,
    Airflow 2: [webserver] base_url); None outside Airflow."""
    try:
        from airflow.configuration import conf
    except ImportError:
        return None
    for section in ("api", "webserver"):
        try:
            url = conf.get(section, "base_url", fallback="")
        except Exception:  # a configuration that cannot be read must not stop the report
            url = ""
        if url:
            return url
    return None


# The task a DAG-level callback reports its run as. Airflow's task ids are letters, digits,
# dashes, dots and underscores only, so no task of the DAG has it.
DAG_RUN_TASK_ID = "(dag run)"
# A DAG-level failure callback's reason when a task's failure failed the run.
TASK_FAILURE_REASON = "task_failure"
_RUN_FAILURE_TEXTS = {
    "timed_out": "the run took longer than the DAG's dagrun_timeout; Airflow skipped the tasks it "
    "had not finished",
    "all_tasks_deadlocked": "no task of the run could be scheduled (deadlocked: their upstream "
    "tasks or trigger rules can never be met)",
}


def dag_level(context: dict[str, Any]) -> bool:
    """Whether Airflow runs the callback for a DAG run rather than a task: Airflow 2 and 3 add
    the run's `reason` to a DAG callback's context (a task callback's has none)."""
    return "reason" in context


def build_failure_body(context: dict[str, Any]) -> dict[str, Any]:
    """The documented Airflow body, from an Airflow task context (a DAG's own callback's:
    `build_run_failure_body`)."""
    if dag_level(context):
        return build_run_failure_body(context)
    ti = context.get("task_instance") or context.get("ti")
    exception = context.get("exception")
    return {
        **_task_fields(context),
        "state": _state_name(ti),
        "exception": _exception_text(exception) or _no_exception_text(ti),
        # Airflow 2 hands the failure callback of a task it found dead its message as a str.
        "exception_type": type(exception).__name__
        if isinstance(exception, BaseException)
        else None,
    }


def build_success_body(context: dict[str, Any]) -> dict[str, Any]:
    """The body of a task instance that succeeded: it closes that task's failure (a DAG
    run's success closes the failure of an earlier run)."""
    fields = _run_fields(context) if dag_level(context) else _task_fields(context)
    return {**fields, "state": "success"}


def build_run_failure_body(context: dict[str, Any]) -> dict[str, Any]:
    """The body of a DAG run that failed, from a DAG-level callback's context. Its task
    instance (Airflow passes one of the run's, whichever, or none) is not what failed: the
    failure is the run's, and the state of that instance is not sent."""
    reason = str(context.get("reason") or "failed")
    fields = _run_fields(context)
    why = _RUN_FAILURE_TEXTS.get(reason, "see the DAG run in Airflow")
    return {
        **fields,
        "state": "failed",
        "exception": f"DAG run {fields['run_id']} failed ({reason}): {why}.",
        "exception_type": None,
    }


def _run_fields(context: dict[str, Any]) -> dict[str, Any]:
    ti = context.get("task_instance") or context.get("ti")
    dag = context.get("dag")
    dag_run = context.get("dag_run")
    logical_date = context.get("logical_date") or getattr(dag_run, "logical_date", None)
    web_server = _web_server_url()
    return {
        "dag_id": getattr(dag, "dag_id", None) or getattr(ti, "dag_id", None),
        "task_id": DAG_RUN_TASK_ID,
        "run_id": context.get("run_id") or getattr(dag_run, "run_id", None),
        "map_index": -1,
        "logical_date": _iso(logical_date),
        "operator": "DAG",
        "owner": getattr(dag, "owner", None),
        "end_date": _iso(getattr(dag_run, "end_date", None)),
        "deployment": _deployment(web_server or getattr(ti, "log_url", None)),
        "airflow_base_url": web_server,
    }


def _task_fields(context: dict[str, Any]) -> dict[str, Any]:
    ti = context.get("task_instance") or context.get("ti")
    dag_run = context.get("dag_run")
    task = getattr(ti, "task", None) or context.get("task")
    logical_date = context.get("logical_date") or context.get("execution_date")
    web_server = _web_server_url()
    return {
        "dag_id": getattr(ti, "dag_id", None),
        "task_id": getattr(ti, "task_id", None),
        "run_id": getattr(ti, "run_id", None) or getattr(dag_run, "run_id", None),
        "map_index": getattr(ti, "map_index", -1),
        "logical_date": _iso(logical_date),
        "try_number": _try_that_ran(ti),
        "max_tries": getattr(ti, "max_tries", None),
        "log_url": getattr(ti, "log_url", None),
        "operator": getattr(ti, "operator", None) or type(task).__name__,
        "owner": getattr(task, "owner", None),
        "hostname": getattr(ti, "hostname", None),
        "start_date": _iso(getattr(ti, "start_date", None)),
        "end_date": _iso(getattr(ti, "end_date", None)),
        "duration": getattr(ti, "duration", None),
        "deployment": _deployment(web_server or getattr(ti, "log_url", None)),
        "airflow_base_url": web_server,
    }


def _airflow_version() -> tuple[int, int] | None:
    """This Airflow's major and minor version; None outside Airflow or when unreadable."""
    try:
        import airflow

        match = re.match(r"(\d+)\.(\d+)", str(getattr(airflow, "__version__", "")))
    except Exception:  # whatever importing it does, the report goes on
        return None
    return (int(match[1]), int(match[2])) if match else None


def _try_that_ran(ti: Any) -> Any:
    """The try the callback reports. Airflow 2.0 to 2.9 count a task instance's tries in its
    private `_try_number`, and its `try_number` of an instance that is not running (the
    instance its failure, retry and success callbacks get) is `_try_number` + 1: the try it
    would run next. Airflow 2.10 and 3 give the try that ran as `try_number`."""
    reported = getattr(ti, "try_number", None)
    version = _airflow_version()
    if version is None or not (2, 0) <= version < (2, 10):
        return reported
    counted = getattr(ti, "_try_number", None)
    if isinstance(counted, int) and not isinstance(counted, bool):
        return counted
    state = getattr(ti, "state", None)
    running = str(getattr(state, "value", state) or "").lower() == "running"
    if (
        isinstance(reported, int)
        and not isinstance(reported, bool)
        and reported > 0
        and not running
    ):
        return reported - 1
    return reported


def _deployment(web_address: Any) -> str | None:
    """RCA_AIRFLOW_DEPLOYMENT. Without it the service keys this Airflow's tasks by the host of
    its web server (`web_address`: its base_url, else the task's log URL on it), which names no
    deployment when it is the default one, localhost: every Airflow left at that default would
    be one deployment, a task's success on dev closing the same task's ticket of prod, so the
    task's log says so."""
    named = os.environ.get("RCA_AIRFLOW_DEPLOYMENT") or None
    if named is None and isinstance(web_address, str) and _loopback(web_address):
        log.warning(
            "RCA_AIRFLOW_DEPLOYMENT is not set and this Airflow's web server is at %s: the RCA "
            "service cannot tell it from another Airflow at that address (base_url's default). "
            "Set RCA_AIRFLOW_DEPLOYMENT to this Airflow's name (e.g. prod), or base_url to its "
            "web server's real address.",
            urllib.parse.urlsplit(web_address).hostname,
        )
    return named


def _loopback(url: str) -> bool:
    try:
        host = urllib.parse.urlsplit(url).hostname or ""
    except ValueError:  # e.g. an unclosed IPv6 bracket: not a loopback address
        return False
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _unicode_text(value: Any) -> Any:
    """A string the service can take: bytes Python could not decode (a file name in another
    encoding) are lone surrogates, which no JSON receiver accepts; they are sent escaped."""
    if not isinstance(value, str):
        return value
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


class _RedirectRefused(urllib.request.HTTPRedirectHandler):
    """urllib follows a 301/302/303 to a POST with a GET and no body (the service answers it
    405) and would send the token to wherever the Location points: not followed, the 3xx is
    raised as an HTTPError (`post_failure` says where RCA_WEBHOOK_URL should point)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_RedirectRefused)
# What a refusal's status asks of whoever set the callback up.
_WHAT_TO_CHECK = {
    401: "; set RCA_WEBHOOK_TOKEN to the service's Airflow webhook token (its "
    "WEBHOOK_TOKEN_AIRFLOW, else its WEBHOOK_TOKEN)",
    404: "; RCA_WEBHOOK_URL names no webhook of the service: its Airflow webhook is "
    "https://<the service>/webhooks/airflow/",
}


def shown_url(url: str) -> str:
    """`url` as the callback's log may show it: RCA_WEBHOOK_URL can carry the webhook token
    (`?token=`, which the service takes in place of the header) or a user and password, and a
    task's log is read by everyone who can see the task. Scheme, host, port and path are kept;
    a query, a fragment and the user part are left out and said to be."""
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # an address urllib cannot read: nothing of it is shown
        return "(an address that cannot be read)"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    hidden = "?(query hidden)" if parts.query or parts.fragment else ""
    userinfo = "(user hidden)@" if "@" in parts.netloc else ""
    return f"{parts.scheme}://{userinfo}{netloc}{parts.path}{hidden}"


def post_failure(body: dict[str, Any], url: str, token: str) -> bool:
    """POST the body; retries connection errors and 5xx while REPORT_SECONDS last. True when
    the service accepted it."""
    deadline = time.monotonic() + REPORT_SECONDS
    sent = {key: _unicode_text(value) for key, value in body.items()}
    data = json.dumps(sent, default=str).encode()
    request = urllib.request.Request(
        url,
        data=data,
        method="POST",
        headers={"Content-Type": "application/json", "X-Webhook-Token": token},
    )
    for attempt in range(1, ATTEMPTS + 1):
        try:
            left = max(deadline - time.monotonic(), 0.1)
            with _OPENER.open(request, timeout=min(TIMEOUT_SECONDS, left)) as response:
                return 200 <= response.status < 300
        except urllib.error.HTTPError as exc:
            if 300 <= exc.code < 400:
                log.error(
                    "RCA_WEBHOOK_URL %s redirects (%s) to %s: set RCA_WEBHOOK_URL to the address"
                    " the service answers at; the report was not sent",
                    shown_url(url),
                    exc.code,
                    shown_url(exc.headers["Location"])
                    if exc.headers.get("Location")
                    else "(no Location)",
                )
                return False
            if exc.code < 500:
                log.error(
                    "RCA service refused the report: %s %s%s",
                    exc.code,
                    _answer(exc, url, token),
                    _WHAT_TO_CHECK.get(exc.code, ""),
                )
                return False
            log.warning("RCA service error %s (attempt %d)", exc.code, attempt)
        except (urllib.error.URLError, OSError) as exc:
            log.warning(
                "RCA service at %s unreachable: %s (attempt %d)",
                shown_url(url),
                _without(url, str(exc)),
                attempt,
            )
        wait = min(2**attempt, 10)
        # Not after the last attempt, nor past the deadline: the callback would wait for nothing.
        if attempt == ATTEMPTS or time.monotonic() + wait >= deadline:
            return False
        time.sleep(wait)
    return False


def on_failure_callback(context: dict[str, Any], *more: Any) -> None:
    if _not_a_context("on_failure_callback", context, more):
        return
    if dag_level(context) and context.get("reason") == TASK_FAILURE_REASON:
        log.info("the DAG run failed by a task's failure, which that task's callback reports")
        return
    _report("failure", build_failure_body, context)


def build_retry_body(context: dict[str, Any]) -> dict[str, Any]:
    """A try Airflow retries by itself. Airflow runs this callback only for such a try, so the
    body says so whatever state the instance it passes still shows."""
    return {**build_failure_body(context), "state": "up_for_retry"}


def on_retry_callback(context: dict[str, Any], *more: Any) -> None:
    if _not_a_context("on_retry_callback", context, more):
        return
    _report("retry", build_retry_body, context)


def on_success_callback(context: dict[str, Any], *more: Any) -> None:
    if _not_a_context("on_success_callback", context, more):
        return
    _report("success", build_success_body, context)


def _not_a_context(name: str, context: Any, more: tuple[Any, ...]) -> bool:
    """Whether Airflow called the callback with something else than one context: as a DAG's
    `sla_miss_callback`, which Airflow 2 calls with five arguments (dag, task_list,
    blocking_task_list, slas, blocking_tis). The service has no kind of event for an SLA miss
    (a late task may still be running: neither a failure to analyse nor a task to clear), so
    nothing is sent, and the log says so in place of the TypeError Airflow would log."""
    if not more and isinstance(context, Mapping):
        return False
    log.error(
        "%s was called with %d arguments, not with one context: it is a task's or a DAG's "
        "on_failure_callback, on_retry_callback or on_success_callback, not a DAG's "
        "sla_miss_callback (which Airflow 2 calls with five); SLA misses are not reported to "
        "the RCA service (nothing was sent)",
        name,
        1 + len(more),
    )
    return True


def _answer(exc: urllib.error.HTTPError, url: str, token: str) -> str:
    """The start of a refusal's body as the log may show it: its first ANSWER_LOG_CHARS
    characters, escaped (a body is one log line), without the token or RCA_WEBHOOK_URL's query
    and user part, which a proxy or a server echoing the request may quote."""
    try:
        raw = exc.read(ANSWER_READ_BYTES)
    except Exception:  # a body that cannot be read still leaves the status to log
        return "(no body could be read)"
    text = raw.decode("utf-8", "replace")
    if token:
        text = text.replace(token, "(token hidden)")
    text = _without(url, text)
    shown = repr(text[:ANSWER_LOG_CHARS])
    cut = len(text) > ANSWER_LOG_CHARS or len(raw) == ANSWER_READ_BYTES
    return f"{shown} (cut)" if cut else shown


def _report(
    what: str, build: Callable[[dict[str, Any]], dict[str, Any]], context: dict[str, Any]
) -> None:
    url = os.environ.get("RCA_WEBHOOK_URL", "")
    token = os.environ.get("RCA_WEBHOOK_TOKEN", "")
    if not url or not token:
        unset = " and ".join(
            name
            for name, value in (("RCA_WEBHOOK_URL", url), ("RCA_WEBHOOK_TOKEN", token))
            if not value
        )
        log.warning(
            "%s not set where this callback runs (the workers; the DAG processor for a DAG's "
            "callbacks and tasks found dead): set RCA_WEBHOOK_URL to the service's %s, "
            "RCA_WEBHOOK_TOKEN to its webhook token; %s not reported",
            unset,
            EXAMPLE_URL,
            what,
        )
        return
    if not _usable_url(url):
        # Not shown: without its scheme, urllib reads `user:password@host/…` as a scheme
        # `user` and a path, and the log would show the password.
        log.error(
            "RCA_WEBHOOK_URL is not an http:// or https:// address with a host: set it to the "
            "service's %s; %s not reported",
            EXAMPLE_URL,
            what,
        )
        return
    try:
        body = build(context)
    except Exception:
        log.exception("could not report the %s to the RCA service", what)
        return
    # Sent beside the callback, which waits REPORT_SECONDS at most: whatever the service or the
    # network does, the task goes on (a report still under way then may end later, or with the
    # process).
    sender = threading.Thread(
        target=_send, args=(what, body, url, token), name="rca-report", daemon=True
    )
    try:
        sender.start()
    except RuntimeError:  # no thread to be had (a process at its limit): sent from here
        _send(what, body, url, token)
        return
    sender.join(REPORT_SECONDS)
    if sender.is_alive():
        log.error(
            "the RCA service at %s did not take the %s report within %d s; not waited for",
            shown_url(url),
            what,
            REPORT_SECONDS,
        )


def _usable_url(url: str) -> bool:
    try:
        parts = urllib.parse.urlsplit(url.strip())
        return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def _send(what: str, body: dict[str, Any], url: str, token: str) -> None:
    try:
        post_failure(body, url, token)
    except Exception as exc:  # e.g. http.client.InvalidURL, quoting RCA_WEBHOOK_URL's path
        log.error(
            "could not report the %s to the RCA service at %s: %s: %s",
            what,
            shown_url(url),
            type(exc).__name__,
            _without(url, str(exc)),
        )


def _without(url: str, text: str) -> str:
    """`text` (an error's message, which may quote the address it failed on, or a part of it)
    with `url` shown as `shown_url` shows it, and its query and user part left out."""
    text = text.replace(url, shown_url(url))
    query = url.partition("?")[2]
    userinfo = url.partition("://")[2].partition("/")[0].rpartition("@")[0]
    for secret, shown in ((query, "(query hidden)"), (userinfo, "(user hidden)")):
        if secret:
            text = text.replace(secret, shown)
    return text
