"""The Airflow the service calls: Airflow 3's stable REST API (`/api/v2`) at AIRFLOW_API_URL,
through the official `apache-airflow-client` 3.x package, authenticated with AIRFLOW_API_TOKEN
(a JWT) or AIRFLOW_USERNAME / AIRFLOW_PASSWORD exchanged for one at `POST /auth/token`.

Shared by the remediation's clear (integrations/targets/airflow_clear.py) and the log analysis
(analysis/airflow_log.py), which may not import integrations: one way to reach Airflow, one
check that a ticket's task ran on the deployment AIRFLOW_API_URL serves.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

from django.conf import settings

from integrations.parsers.airflow import airflow_deployment
from rca_project.http_errors import connection_failure, never_connected
from rca_project.timed_read import DeadlineCuts, read_within, session_by, time_left

# The API's own paths: a common mistake is to give AIRFLOW_API_URL with one of them, where the
# client (and /auth/token) want the server's root.
API_PATHS = ("/api/v2", "/api/v1")
# /auth/token answers `{"access_token": "<a JWT>"}`: far less than this.
TOKEN_ANSWER_LIMIT = 64 * 1024


class AirflowApiError(Exception):
    """A call Airflow refused or that did not reach it. `status` is the HTTP status (None: no
    answer); `body` the start of Airflow's answer; `login`: the token request failed;
    `unsent`: the call never reached Airflow (`http_errors.never_connected`: nothing of it was
    sent)."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: str = "",
        login: bool = False,
        retry_after: str | None = None,
        unsent: bool = False,
    ) -> None:
        super().__init__(message)
        self.status, self.body, self.login, self.unsent = status, body, login, unsent
        self.retry_after = retry_after  # the answer's Retry-After header, as sent


# The longest part of Airflow's 404 `detail` kept in an error.
MISSING_DETAIL_LIMIT = 200


def _missing(body: str) -> str:
    """What a 404 says is missing (Airflow 3 answers `{"detail": "DAG d not found"}`, or
    "Dag Run id r not found in dag d"), as ': <detail>'; '' when it says nothing readable."""
    try:
        detail = json.loads(body).get("detail")
    except (ValueError, AttributeError):
        return ""
    if not isinstance(detail, str) or not detail.strip():
        return ""
    return f": {' '.join(detail.split())[:MISSING_DETAIL_LIMIT]}"


def api_root(url: str) -> str:
    """AIRFLOW_API_URL as the client wants it: the server's root, without a trailing slash or
    the `/api/v2` (or `/api/v1`) path it may have been given with."""
    root = url.strip().rstrip("/")
    for path in API_PATHS:
        if root.endswith(path):
            return root.removesuffix(path).rstrip("/")
    return root


def without_credentials(url: str) -> str:
    """`url` as a message may show it: without the user and password it may carry (a proxy's
    basic auth in AIRFLOW_API_URL). A refusal's message is kept where viewers read it (an
    outbound delivery's `last_error`, a remediation's reason)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # an unclosed IPv6 bracket: nothing of it is shown
        return "AIRFLOW_API_URL"
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))


def configured() -> bool:
    return bool(settings.AIRFLOW_API_URL) and bool(
        settings.AIRFLOW_API_TOKEN or (settings.AIRFLOW_USERNAME and settings.AIRFLOW_PASSWORD)
    )


def served_deployment() -> str:
    """The deployment AIRFLOW_API_URL serves, as the Airflow webhooks name one."""
    return settings.AIRFLOW_DEPLOYMENT or airflow_deployment(
        "", api_root(settings.AIRFLOW_API_URL), ""
    )


def other_deployment(entity: dict[str, Any]) -> str:
    """Why the task of a ticket's run entity cannot be reached from here ('' when it can): it
    ran on another Airflow than the one AIRFLOW_API_URL serves. A scheduled run's id is the
    same on every deployment: that run here is another one."""
    ran_on = str(entity.get("deployment") or "")
    served = served_deployment()
    if ran_on and ran_on != served:
        return (
            f"the task ran on Airflow '{ran_on}', and AIRFLOW_API_URL serves '{served}' "
            "(AIRFLOW_DEPLOYMENT names the deployment it serves)"
        )
    return ""


def _redirect_host(location: str, url: str) -> str:
    """The host a redirect points to (the URL's own for a relative one), for the message."""
    try:
        return urlsplit(location).hostname or urlsplit(url).hostname or "the same host"
    except ValueError:
        return "an invalid URL"


def redirect_target(location: str, url: str) -> str:
    """Where a redirect answered to `url` points, as a message may show it: resolved against
    `url`, without credentials, query or fragment (a sign-in page's `next=`, a token)."""
    if not location:
        return "nowhere (no Location)"
    try:
        parts = urlsplit(urljoin(url, location))
        netloc = parts.netloc.rpartition("@")[2]
    except ValueError:
        return "an invalid URL"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class AirflowApi:
    """One authenticated `airflow_client` ApiClient; `call` runs a client call with a token,
    fetching a fresh one once when a password is configured and the token was refused. With a
    `deadline` (time.monotonic()), each connection the client opens is shut down when it
    passes (`timed_read.DeadlineCuts`), so no answer, its headers included, is read past it;
    `close` when done."""

    def __init__(
        self,
        base_url: str,
        *,
        token: str = "",
        username: str = "",
        password: str = "",
        timeout: float,
        answer_redirects: bool = False,
        deadline: float | None = None,
    ) -> None:
        import airflow_client.client as airflow
        from urllib3 import Retry

        self.base_url = api_root(base_url)
        self._given_url = without_credentials(base_url)
        self._username, self._password = username, password
        self.timeout = timeout
        self._config = airflow.Configuration(host=self.base_url)
        # A caller that retries does so itself. No redirect is followed: with retries 0
        # urllib3 refuses one (MaxRetryError, no answer), or, with `answer_redirects`, hands
        # the caller the redirect as the answer, to name it.
        self._config.retries = Retry(total=0, redirect=False) if answer_redirects else 0
        self._config.access_token = token or None
        self.client = airflow.ApiClient(self._config)
        self._cuts = DeadlineCuts(deadline) if deadline is not None else None
        if self._cuts is not None:
            self._cuts.cut(self.client.rest_client.pool_manager)

    @classmethod
    def from_settings(
        cls, timeout: float, *, answer_redirects: bool = False, deadline: float | None = None
    ) -> AirflowApi | None:
        if not configured():
            return None
        return cls(
            settings.AIRFLOW_API_URL,
            token=settings.AIRFLOW_API_TOKEN,
            username=settings.AIRFLOW_USERNAME,
            password=settings.AIRFLOW_PASSWORD,
            timeout=timeout,
            answer_redirects=answer_redirects,
            deadline=deadline,
        )

    def close(self) -> None:
        """Let the connections go, and the deadline's watch of them."""
        if self._cuts is not None:
            self._cuts.cancel()
        self.client.rest_client.pool_manager.clear()

    def login(self, deadline: float | None = None) -> None:
        """A JWT for the username and password from `POST /auth/token`, asked and read by
        `deadline` (time.monotonic(); by default `timeout` seconds from now): the connection is
        shut down then (`timed_read.session_by`), so a server sending even its headers a byte
        at a time cannot hold it longer. No redirect is followed: requests sends a 307's or
        308's body again, password included, to whatever host the redirect names."""
        import requests
        from urllib3.exceptions import HTTPError

        if deadline is None:
            deadline = time.monotonic() + self.timeout
        url = f"{self.base_url}/auth/token"
        shown = without_credentials(url)
        try:
            with (
                session_by(deadline) as session,
                session.post(
                    url,
                    json={"username": self._username, "password": self._password},
                    timeout=min(self.timeout, time_left(deadline)),
                    allow_redirects=False,
                    stream=True,
                ) as response,
            ):
                status = response.status_code
                body = read_within(response.raw, deadline, TOKEN_ANSWER_LIMIT)
        except (requests.RequestException, HTTPError, OSError) as exc:  # OSError: TimeoutError
            why = connection_failure(exc, url) or type(exc).__name__
            raise AirflowApiError(f"Airflow token: {why}", login=True) from exc
        if response.is_redirect:
            raise AirflowApiError(
                f"Airflow token: {status} from {shown}, a redirect to "
                f"{_redirect_host(response.headers.get('Location', ''), url)}: not followed "
                "(the password is sent to AIRFLOW_API_URL only); AIRFLOW_API_URL must be the "
                "root URL the Airflow 3 API server answers at",
                status=status,
                login=True,
            )
        if status in (404, 405):
            raise AirflowApiError(
                f"Airflow token: {status} from {shown}: no Airflow 3 token endpoint there; "
                f"AIRFLOW_API_URL ({self._given_url}) must be the root URL of an Airflow 3 "
                "API server",
                status=status,
                login=True,
            )
        if status >= 300:
            raise AirflowApiError(f"Airflow token: {status}", status=status, login=True)
        try:
            token = json.loads(body or b"").get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not token:
            raise AirflowApiError(
                f"Airflow token: {shown} answered {status} without an access_token; "
                f"AIRFLOW_API_URL ({self._given_url}) must be the root URL of an Airflow 3 "
                "API server",
                status=status,
                login=True,
            )
        self._config.access_token = str(token)

    def call(self, what: str, call: Callable[[], Any], *, deadline: float | None = None) -> Any:
        """`call()` with a token (asked for by `deadline`, see `login`);
        AirflowApiError("<what>: <status> <reason>") when Airflow refuses it, and
        "<what>: <the failure in words>" (`http_errors.connection_failure`, else the
        exception's name) when it does not reach Airflow."""
        from airflow_client.client.exceptions import ApiException

        if not self._config.access_token:
            self.login(deadline)
        for attempt in (1, 2):
            try:
                return call()
            except ApiException as exc:
                status = exc.status
                if status == 401 and attempt == 1 and self._username:
                    self.login(deadline)  # the JWT expired: one fresh one
                    continue
                body = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else ""
                headers = exc.headers or {}
                body = body or str(exc.body or "")
                missing = _missing(body) if status in (404, 410) else ""
                raise AirflowApiError(
                    f"{what}: {status} {exc.reason or ''}".strip() + missing,
                    status=status,
                    body=body[:2000],
                    retry_after=headers.get("Retry-After"),
                ) from exc
            except AirflowApiError:
                raise
            except Exception as exc:  # urllib3's connection errors and timeouts
                why = connection_failure(exc, self.base_url) or type(exc).__name__
                raise AirflowApiError(f"{what}: {why}", unsent=never_connected(exc)) from exc
        raise AssertionError("unreachable")
