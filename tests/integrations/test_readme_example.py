"""The README's first curl example, in the order a newcomer runs it: `make demo` has already
posted the sample ADF body, then the example posts it again, then the same failure in a new run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import LOCAL_PAYLOADS

pytestmark = pytest.mark.django_db
README = Path(__file__).resolve().parents[2] / "README.md"
ADF = "/webhooks/adf/"


def test_the_readme_curl_example_answers_what_it_says(webhook_client):
    sample = (LOCAL_PAYLOADS / "adf_failure.json").read_text()
    readme = README.read_text()
    # The example's new run: the sample with its run id replaced, as the README's sed does.
    substitution = re.search(r'sed "s/([0-9a-f-]+)/run-\$\(date \+%s\)/g" (\S+)', readme)
    assert substitution, "the README's second example changed: update this test"
    assert substitution.group(2) == "tests/payloads/adf_failure.json"
    new_run = sample.replace(substitution.group(1), "run-1765370096")
    assert new_run != sample

    demo = webhook_client(ADF, None, raw=sample.encode()).json()
    again = webhook_client(ADF, None, raw=sample.encode()).json()
    next_run = webhook_client(ADF, None, raw=new_run.encode()).json()

    assert demo["outcome"] == "created"
    assert '"outcome": "created"' in readme
    assert (again["outcome"], again["ticket_id"]) == ("duplicate", demo["ticket_id"])
    assert '"outcome": "duplicate"' in readme
    assert (next_run["outcome"], next_run["ticket_id"]) == ("correlated", demo["ticket_id"])
    assert '"outcome": "correlated"' in readme
    assert json.loads(new_run)["run_id"] == "run-1765370096"
