"""The log filter on its own: whatever a record carries (arguments, an exception, extras, a
request), the line written holds no secret; the rest of the line is kept."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.test import RequestFactory

from rca_project.log_redaction import RedactSecretsFilter, install_on_server_loggers

SERVICE_TOKEN = "svc-webhook-token-0c8d5e7f1a"


def _json_handler(stream: io.StringIO) -> logging.Handler:
    from pythonjsonlogger.json import JsonFormatter

    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("%(levelname)s %(name)s %(message)s"))
    handler.addFilter(RedactSecretsFilter())
    return handler


@pytest.fixture
def logged(settings):
    settings.WEBHOOK_TOKEN = SERVICE_TOKEN
    stream = io.StringIO()
    logger = logging.getLogger("tests.log_redaction")
    logger.propagate = False
    # Its own level: a Celery worker started by an earlier test leaves the root at WARNING.
    logger.setLevel(logging.INFO)
    handler = _json_handler(stream)
    logger.addHandler(handler)
    yield logger, stream
    logger.removeHandler(handler)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


def test_message_arguments_exceptions_and_extras_are_scrubbed(logged):
    logger, stream = logged
    request = RequestFactory().post(f"/webhooks/adf/?token={SERVICE_TOKEN}&source=azure")
    logger.warning("Bad Request: %s", request.path, extra={"request": request, "status_code": 400})
    logger.info("calling https://acct.blob.core.windows.net/c/b?sv=2022&sig=SiGnAtUrE0123456789")
    try:
        raise ConnectionError("login failed for Server=db;Password=Hunter2Hunter2;")
    except ConnectionError:
        logger.exception("upload failed for %s", "ticket ADF-1")
    logger.info("the token %s appears in free text", SERVICE_TOKEN)

    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    text = stream.getvalue()
    for secret in (SERVICE_TOKEN, "SiGnAtUrE0123456789", "Hunter2Hunter2"):
        assert secret not in text
    assert lines[0]["message"] == "Bad Request: /webhooks/adf/"
    assert "source=azure" in lines[0]["request"] and "token=[REDACTED]" in lines[0]["request"]
    assert lines[0]["status_code"] == 400
    assert "sv=2022&sig=[REDACTED]" in lines[1]["message"]
    assert lines[2]["message"] == "upload failed for ticket ADF-1"
    assert (
        "ConnectionError: login failed for Server=db;Password=[REDACTED];" in lines[2]["exc_info"]
    )
    assert lines[3]["message"] == "the token [REDACTED] appears in free text"


@pytest.mark.parametrize(
    "name",
    [
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
    ],
)
def test_each_credential_of_the_service_is_masked_in_free_text(logged, settings, name):
    """Words only (no digits, no key word before it): no pattern of `redact` would see it, so
    only the service's list of its own credentials can mask it."""
    logger, stream = logged
    credential = "correct-horse-battery-staple"
    setattr(settings, name, credential)
    logger.warning("the other side answered: bad credential %s (retrying)", credential)

    assert credential not in stream.getvalue()
    assert "bad credential [REDACTED] (retrying)" in stream.getvalue()


def test_gunicorn_loggers_get_the_filter_once():
    logger = logging.getLogger("gunicorn.access.test")
    handler = logging.StreamHandler(io.StringIO())
    logger.addHandler(handler)
    try:
        install_on_server_loggers([logger.name])
        install_on_server_loggers([logger.name])
        assert sum(isinstance(f, RedactSecretsFilter) for f in handler.filters) == 1
    finally:
        logger.removeHandler(handler)


def test_a_record_that_cannot_be_rendered_is_withheld_not_raised(logged):
    logger, stream = logged
    logger.info("two placeholders %s %s", f"Password={SERVICE_TOKEN}")  # one argument

    line = json.loads(stream.getvalue())
    assert line["message"] == "log record withheld: it could not be redacted (TypeError)"
