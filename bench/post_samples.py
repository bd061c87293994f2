"""Post the shared sample payloads (and this repo's ADF/Airflow samples) to a running service.

make run            # in one terminal
make demo           # in another: prints each webhook's answer
"""

from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("SHARED_FIXTURES", REPO.parent / "shared" / "fixtures")) / "payloads"
LOCAL = REPO / "tests" / "payloads"

sys.path.insert(0, str(REPO))
from rca_project.local_services import served_base_url  # noqa: E402

# Where `make run` serves with the same environment, unless RCA_URL says.
BASE_URL = os.environ.get("RCA_URL") or served_base_url(
    os.environ.get("RCA_HOST", ""), os.environ.get("RCA_PORT", "")
)

SAMPLES = [
    ("azure-monitor", SHARED / "azure_common_metric_dynamic_fired.json"),
    ("azure-monitor", SHARED / "azure_common_log_v2_scheduled_query_fired.json"),
    ("azure-monitor", SHARED / "azure_noncommon_metric_alert_static_activated.json"),
    ("databricks", SHARED / "databricks_job_run_on_failure.json"),
    ("adf", LOCAL / "adf_failure.json"),
    ("airflow", LOCAL / "airflow_failure.json"),
    ("airflow", LOCAL / "airflow_legacy_failure.json"),
]


class NoToken(Exception):
    """No token was given and `make run` generated none in this RCA_VAR_DIR."""


def webhook_token(source: str) -> str:
    """The token the service takes from this source: its own WEBHOOK_TOKEN_<SOURCE> when
    `make run` was given one (the shared token is then refused), else the shared one, else the
    one `make run` generated in RCA_VAR_DIR (none when it was given WEBHOOK_TOKEN, or has not
    started with that directory yet)."""
    own = os.environ.get(f"WEBHOOK_TOKEN_{source.upper().replace('-', '_')}")
    token = own or os.environ.get("WEBHOOK_TOKEN")
    if token:
        return token
    path = Path(os.environ.get("RCA_VAR_DIR", REPO / "var")) / "webhook_token"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        raise NoToken(
            f"no webhook token to send: WEBHOOK_TOKEN is not set and {path} does not exist"
            " (`make run` writes it at its first start, unless it was given WEBHOOK_TOKEN):"
            " run `make demo` with the WEBHOOK_TOKEN and RCA_VAR_DIR that `make run` was given"
        ) from None


def token_hint(source: str) -> str:
    """What to do about a 401: which token this demo sent the source and where it came from."""
    own = f"WEBHOOK_TOKEN_{source.upper().replace('-', '_')}"
    if os.environ.get(own):
        sent = own
    elif os.environ.get("WEBHOOK_TOKEN"):
        sent = "WEBHOOK_TOKEN"
    else:
        sent = str(Path(os.environ.get("RCA_VAR_DIR", REPO / "var")) / "webhook_token")
    return (
        f"/webhooks/{source}/ refused the token this demo sent it ({sent}): run `make demo`"
        f" with the WEBHOOK_TOKEN, {own} and RCA_VAR_DIR that `make run` was given"
    )


def main() -> int:
    """0 when every sample was accepted, 1 when one was refused or the service is not there."""
    refused, unauthorized = 0, []
    for source, path in SAMPLES:
        try:
            token = webhook_token(source)
        except NoToken as exc:
            print(exc)
            return 1
        request = urllib.request.Request(
            f"{BASE_URL}/webhooks/{source}/",
            data=path.read_bytes(),
            method="POST",
            headers={"Content-Type": "application/json", "X-Webhook-Token": token},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                answer = json.loads(response.read())
                print(f"{response.status} {source:<14} {path.name:<50} {answer}")
        except urllib.error.HTTPError as exc:
            print(f"{exc.code} {source:<14} {path.name:<50} {exc.read().decode()}")
            refused += 1
            if exc.code == 401:
                unauthorized.append(source)
        except urllib.error.URLError as exc:
            print(f"cannot reach {BASE_URL}: {exc.reason} (is `make run` going?)")
            return 1
    if refused:
        print(f"{refused} of {len(SAMPLES)} samples refused")
    for source in dict.fromkeys(unauthorized):
        print(token_hint(source))
    return 1 if refused else 0


if __name__ == "__main__":
    sys.exit(main())
