"""Settings come from the environment; bad values fail loudly, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def load_settings(**env: str) -> subprocess.CompletedProcess:
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "rca_project.settings", **env},
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
        ("SIMILARITY_FLOOR", "2"),
        ("SLACK_CHANNEL_BURST", "0"),
        ("LOG_FORMAT", "xml"),
    ],
)
def test_bad_value_raises_improperly_configured_naming_the_variable(name, value):
    result = load_settings(**{name: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert name in result.stderr


def test_typed_values_are_read():
    assert load_settings(DEBUG="true").stdout.strip() == "True"
