"""Settings come from the environment; bad values fail loudly, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def load_settings(
    setting: str = "DEBUG", unset: tuple[str, ...] = (), **env: str
) -> subprocess.CompletedProcess:
    code = (
        "import django; django.setup(); from django.conf import settings; "
        f"print(settings.{setting})"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={
            **{name: value for name, value in os.environ.items() if name not in unset},
            "DJANGO_SETTINGS_MODULE": "rca_project.settings",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "name, value",
    [
        ("DEBUG", "maybe"),
        ("WEBHOOK_MAX_BODY_BYTES", "lots"),
        ("REGRESSION_WINDOW_SECONDS", "2w"),
        ("TRUSTED_PROXIES", "10.0.0.0/8,proxy.internal"),
        # Out of range or not one of the choices (validators that only returned False passed).
        ("OUTBOUND_TIMEOUT_SECONDS", "-1"),
        ("INCIDENT_MIN_PIPELINES", "1"),
        ("INCIDENT_OPEN_JOIN_SECONDS", "0"),
        ("INCIDENT_OPEN_JOIN_SECONDS", "2h"),
        ("SIMILARITY_FLOOR", "2"),
        ("SLACK_CHANNEL_BURST", "0"),
        ("LOG_FORMAT", "xml"),
        # A negative retention deleted every inbox row that was not pending.
        ("INBOX_RETENTION_DAYS", "-1"),
        ("INBOX_RETENTION_DAYS", "0"),
        ("LLM_CALL_RETENTION_DAYS", "0"),
        ("OUTBOUND_RETENTION_DAYS", "-1"),
        ("REDELIVER_AFTER_SECONDS", "0"),
        ("REDELIVER_MAX_ATTEMPTS", "-3"),
        ("REDELIVER_INTERVAL_SECONDS", "0"),
        ("OUTBOUND_REDELIVER_GRACE_SECONDS", "-5"),
        ("GEMINI_THINKING_BUDGET", "-1"),
        ("GEMINI_THINKING_BUDGET", "lots"),
        ("GEMINI_THINKING_BUDGET", "99999"),
        # Read by DRF only when a request is throttled: every API request answered 500.
        ("API_USER_RATE", "bogus"),
        ("API_ANON_RATE", "abc/min"),
        ("API_LOGIN_RATE", "10/fortnight"),
        ("API_USER_RATE", "10/min/x"),
        ("API_USER_RATE", "0/min"),
        ("SELF_REGISTRATION_RATE", "5/fortnight"),
        # Every token was expired when issued, every task redelivered at once, every remediation
        # timed out when started, beat sent its checks without pause.
        ("JWT_ACCESS_SECONDS", "0"),
        ("JWT_REFRESH_SECONDS", "-5"),
        ("CELERY_VISIBILITY_TIMEOUT", "0"),
        ("REMEDIATION_WATCH_SECONDS", "-1"),
        ("SLA_CHECK_INTERVAL_SECONDS", "0"),
        ("TICKET_STATS_FOLD_SECONDS", "-60"),
        ("ENRICHMENT_TIMEOUT_SECONDS", "0"),
        ("GEMINI_MODEL", ""),
        ("GEMINI_MODEL", "gemini-2.5-flash "),
        ("CIRCUIT_FAILURE_THRESHOLD", "0"),
        ("CIRCUIT_OPEN_SECONDS", "-1"),
        ("GEMINI_RERUN_BATCH", "-1"),
        ("GEMINI_RERUN_WINDOW_SECONDS", "0"),
        # The client takes whole milliseconds: 0.0004 s became 0 ms, read as no timeout.
        ("GEMINI_TIMEOUT_SECONDS", "0.0004"),
        ("GEMINI_TIMEOUT_SECONDS", "0"),
        # A negative rate turned pacing off as 0 does, in silence.
        ("SLACK_EDITS_PER_SECOND", "-1"),
        ("SLACK_CHANNEL_POSTS_PER_SECOND", "-0.5"),
        ("JIRA_DELIVERIES_PER_SECOND", "-10"),
        # A negative backoff made every retry of a failing target due at once.
        ("OUTBOUND_BACKOFF_SECONDS", "-2"),
        ("OUTBOUND_BACKOFF_SECONDS", "0"),
        ("OUTBOUND_BACKOFF_MAX_SECONDS", "-300"),
        # requests refused them at each call, which a remediation took for a start that may
        # have reached the service: failed, no further attempt, the setting not named.
        ("PLAYBOOK_URL", "prod-logic.example.com/workflows/abc/triggers/manual/paths/invoke"),
        ("PLAYBOOK_URL", "http://"),
        ("PLAYBOOK_URL", "ftp://logic.example.com/x"),
        ("PLAYBOOK_URL", "https://logic.example.com:port/x"),
        ("AIRFLOW_API_URL", "airflow.internal:8080"),
        ("AZURE_MANAGEMENT_URL", "https://management azure.com"),
    ],
)
def test_bad_value_raises_improperly_configured_naming_the_variable(name, value):
    result = load_settings(**{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


def test_a_bad_playbook_url_is_refused_without_showing_its_signature():
    result = load_settings(PLAYBOOK_URL="logic.example.com/invoke?sp=run&sig=sig-0123456789")
    assert result.returncode != 0 and "PLAYBOOK_URL" in result.stderr
    assert "sig-0123456789" not in result.stderr


def test_a_playbook_url_with_a_path_query_and_port_is_taken():
    url = "https://prod-12.westeurope.logic.azure.com:443/workflows/abc/invoke?sig=x"
    assert load_settings("PLAYBOOK_URL", PLAYBOOK_URL=url).stdout.strip() == url


@pytest.mark.parametrize(
    "value, problem",
    [
        ('{"OPS": ', "is not valid JSON"),
        ('[{"OPS": {}}]', "must be a JSON object"),
        ('{"OPS": ["customfield_10010"]}', "JIRA_ISSUE_FIELDS['OPS'] must be a JSON object"),
        # A key JIRA's projects cannot have was never applied, quietly.
        ('{"ops": {}}', "JIRA_ISSUE_FIELDS['ops'] is not a JIRA project key"),
        ('{"ops": {}}', "did you mean 'OPS'?"),
        ('{"OPS, DATA": {}}', "JIRA_ISSUE_FIELDS['OPS, DATA'] is not a JIRA project key"),
        ('{"": {}}', "JIRA_ISSUE_FIELDS[''] is not a JIRA project key"),
        # The service's own fields: a project, type or labels of its own broke routing, the
        # configured issue type and finding an issue again by its label.
        ('{"*": {"labels": ["x"]}}', "JIRA_ISSUE_FIELDS['*'] sets labels"),
        ('{"OPS": {"project": {"key": "X"}, "issuetype": {}}}', "sets issuetype, project"),
    ],
)
def test_a_bad_jira_issue_fields_stops_the_service_saying_what_is_wrong(value, problem):
    result = load_settings(JIRA_ISSUE_FIELDS=value)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "JIRA_ISSUE_FIELDS" in result.stderr and problem in result.stderr


def test_jira_issue_fields_are_read():
    value = '{"OPS": {"customfield_10010": {"id": "42"}}, "*": {"components": []}, "DATA_2": {}}'
    result = load_settings("JIRA_ISSUE_FIELDS", JIRA_ISSUE_FIELDS=value)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(
        {"OPS": {"customfield_10010": {"id": "42"}}, "*": {"components": []}, "DATA_2": {}}
    )
    assert load_settings("JIRA_ISSUE_FIELDS", unset=("JIRA_ISSUE_FIELDS",)).stdout.strip() == "{}"


def test_a_gemini_timeout_of_one_millisecond_is_taken():
    result = load_settings("GEMINI_TIMEOUT_SECONDS", GEMINI_TIMEOUT_SECONDS="0.001")
    assert result.stdout.strip() == "0.001", result.stderr


def test_typed_values_are_read():
    assert load_settings(DEBUG="true").stdout.strip() == "True"


def test_how_long_an_open_incident_takes_new_failures_is_read():
    assert (
        load_settings("INCIDENT_OPEN_JOIN", unset=("INCIDENT_OPEN_JOIN_SECONDS",)).stdout.strip()
        == "2:00:00"
    )
    result = load_settings("INCIDENT_OPEN_JOIN", INCIDENT_OPEN_JOIN_SECONDS="14400")
    assert result.stdout.strip() == "4:00:00", result.stderr


@pytest.mark.parametrize("rate", ["5/s", "60/min", "100/hour", "1000/day", "20/minute"])
def test_every_rate_drf_reads_is_taken(rate):
    result = load_settings("REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']['user']", API_USER_RATE=rate)
    assert result.stdout.strip() == rate, result.stderr


@pytest.mark.parametrize(
    "env, url",
    [
        ({}, "http://127.0.0.1:8000"),
        ({"RCA_PORT": "18600"}, "http://127.0.0.1:18600"),
        ({"RCA_HOST": "0.0.0.0", "RCA_PORT": "18600"}, "http://127.0.0.1:18600"),
        ({"RCA_HOST": "::1", "RCA_PORT": "18600"}, "http://[::1]:18600"),
        (
            {"RCA_PORT": "1", "PUBLIC_BASE_URL": "https://rca.example.com/"},
            "https://rca.example.com",
        ),
    ],
)
def test_links_point_at_the_address_make_run_serves_unless_public_base_url_says(env, url):
    """A service moved to another port (`RCA_PORT`) links to it from JIRA and Slack."""
    loaded = load_settings(
        "PUBLIC_BASE_URL", unset=("RCA_HOST", "RCA_PORT", "PUBLIC_BASE_URL"), **env
    )
    assert loaded.stdout.strip() == url, loaded.stderr


@pytest.mark.parametrize("key", ["changeme", "x" * 60, "django-insecure-" + "ab" * 10])
def test_a_weak_secret_key_stops_the_service_unless_debugging(key):
    """A guessable key was accepted with DEBUG off (only `check --deploy` warned about it)."""
    refused = load_settings("SECRET_KEY", SECRET_KEY=key, DEBUG="false")
    assert refused.returncode != 0
    assert "SECRET_KEY is too weak" in refused.stderr
    assert key not in refused.stderr
    assert load_settings("SECRET_KEY", SECRET_KEY=key, DEBUG="true").returncode == 0


def test_a_generated_secret_key_passes_the_deploy_check(tmp_path):
    """With SECRET_KEY unset the key is generated once under RCA_VAR_DIR; it was 43 characters,
    which `manage.py check --deploy` reports as weak (security.W009: under 50)."""
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=REPO,
        env={
            **{name: value for name, value in os.environ.items() if name != "SECRET_KEY"},
            "DJANGO_SETTINGS_MODULE": "rca_project.settings",
            "RCA_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (tmp_path / "secret_key").exists(), result.stderr
    assert "security.W009" not in result.stdout + result.stderr
    assert "security.W004" in result.stdout + result.stderr  # the check did run (TLS unset)
