"""No log line carries a secret: a filter on every handler that writes our logs.

Senders that cannot set headers put the webhook token in the query string (`?token=`), and a
request that fails is logged with its URL (Django's `django.request` passes the request along, the
JSON formatter prints it; gunicorn's error log names the URI of a request it could not handle).
Exception messages from client libraries echo connection strings and bearer tokens. So, whatever
the logger, the filter rewrites each record before it is formatted:

- the message (rendered with its arguments), the exception text, the stack and every extra
  attribute are run through `analysis.redaction.redact` (connection strings, passwords, bearer
  tokens, SAS signatures, keys);
- the values of secret-named query parameters (`token`, `sig`, `password`, `api_key`, ...) are
  replaced;
- the service's own secrets (webhook tokens, JIRA/Slack secrets, API keys and tokens, the
  Airflow password, the playbook secret, the secret key) are replaced wherever they appear,
  whatever the text around them.

It is installed on the root handler by `settings.LOGGING` and on gunicorn's access and error
log handlers by `install_on_server_loggers()` (called from `rca_project.wsgi`).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable
from typing import Any

from analysis.redaction import REDACTED, is_secret_key, redact

# `?name=value` / `&name=value` in a URL or a query string, and `'name': ['value']` in a QueryDict.
_QUERY_PARAM = re.compile(r"(?P<pre>[?&;](?P<name>[\w.\-\[\]]{1,64})=)(?P<value>[^&;#\s'\"<>]*)")
_EXTRA_NAMES = {"token", "code", "key", "access_token", "refresh_token", "id_token"}
# Attributes every LogRecord has; anything else was passed as `extra=`.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Settings that hold a credential of this service; their values are masked in every line.
SECRET_SETTINGS = (
    "WEBHOOK_TOKEN",
    "JIRA_WEBHOOK_SECRET",
    "JIRA_API_TOKEN",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "GEMINI_API_KEY",
    "DATABRICKS_TOKEN",
    "AZURE_CLIENT_SECRET",
    "AIRFLOW_API_TOKEN",
    "AIRFLOW_PASSWORD",
    "PLAYBOOK_SECRET",
    "METRICS_TOKEN",
    "SECRET_KEY",
)
_MIN_SECRET_LENGTH = 8  # shorter values would mask ordinary words


def _secret_param(name: str) -> bool:
    return name.lower() in _EXTRA_NAMES or is_secret_key(name)


def _mask_query(text: str) -> str:
    def repl(m: re.Match[str]) -> str:
        if m["value"] and m["value"] != REDACTED and _secret_param(m["name"]):
            return m["pre"] + REDACTED
        return m.group(0)

    return _QUERY_PARAM.sub(repl, text) if "=" in text else text


def known_secrets() -> list[str]:
    """The configured secrets of this service (none before Django's settings are loaded)."""
    from django.conf import settings

    if not settings.configured:
        return []
    values: list[str] = [str(getattr(settings, name, "") or "") for name in SECRET_SETTINGS]
    values += list(getattr(settings, "WEBHOOK_SOURCE_TOKENS", {}).values())
    # Longest first, so a secret that contains another is masked whole.
    return sorted({v for v in values if len(v) >= _MIN_SECRET_LENGTH}, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` without query-string secrets, recognisable credentials and the given values."""
    if not text:
        return text
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return redact(_mask_query(text))


class RedactSecretsFilter(logging.Filter):
    """Rewrites a record so that no formatter can print a secret from it."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            self._scrub(record)
        except Exception as exc:  # a record we cannot render is not written as it was
            record.msg, record.args = (
                f"log record withheld: it could not be redacted ({type(exc).__name__})",
                None,
            )
            record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True

    def _scrub(self, record: logging.LogRecord) -> None:
        try:
            secrets = known_secrets()
        except Exception:  # settings that cannot load must not silence the log line
            secrets = []
        message = record.getMessage()
        record.msg, record.args = scrub(message, secrets), None
        if record.exc_info and record.exc_info[0] is not None:
            text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
            record.exc_text, record.exc_info = scrub(text, secrets), None
        elif record.exc_text:
            record.exc_text = scrub(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info, secrets)
        for name, value in list(vars(record).items()):
            if name not in _STANDARD:
                setattr(record, name, _scrub_extra(value, secrets))


def _scrub_extra(value: Any, secrets: list[str]) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {k: _scrub_extra(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub_extra(v, secrets) for v in value]
    # A request, a socket, an exception: only its text form can reach a formatter.
    return scrub(str(value), secrets)


SERVER_LOGGERS = ("gunicorn.error", "gunicorn.access")


def install_on_server_loggers(names: Iterable[str] = SERVER_LOGGERS) -> None:
    """Add the filter to the handlers of the web server's own loggers (gunicorn configures them
    before our settings load, and they do not propagate to the root handler)."""
    for name in names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactSecretsFilter) for f in handler.filters):
                handler.addFilter(RedactSecretsFilter())
