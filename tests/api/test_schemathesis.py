"""Property-based tests of every operation the OpenAPI schema documents (the REST API and the
webhooks): schemathesis generates requests from the schema the service serves and calls the
Django WSGI application in-process, against the real PostgreSQL test database.

Every answer must be a non-5xx one the schema documents (status code, content type, body).
Each operation is one test with a few seeded tickets (through the real ingest path); each
example runs in a savepoint rolled back afterwards, so every example sees the same tickets and
nothing leaks into the next one. Generation is derandomized with a fixed seed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import pytest
import schemathesis
from django.conf import settings as django_settings
from django.core.cache import cache
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from drf_spectacular.settings import patched_settings
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.core import NotSet

from integrations.ingest import ingest_delivery
from rca_project.openapi import SCHEMA_SETTINGS
from tests.api import make_user
from tests.conftest import local_payload, shared_payload
from tickets import lifecycle
from tickets.lifecycle import Actor

pytestmark = pytest.mark.django_db

SEED = 20251210
MAX_EXAMPLES = 30
JIRA_SECRET = "schemathesis-jira-secret"
SLACK_SECRET = "schemathesis-slack-secret"
SEED_DELIVERIES = (
    ("adf", "local", "adf_failure.json"),
    ("airflow", "local", "airflow_failure.json"),
    ("databricks", "shared", "databricks_job_run_on_failure.json"),
    ("azure-monitor", "shared", "azure_common_metric_dynamic_fired.json"),
)


def openapi_document() -> dict[str, Any]:
    """The schema /api/v1/schema/ serves, generated in-process (no request, no database)."""
    with patched_settings(SCHEMA_SETTINGS):
        document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document))


@dataclass
class Seeded:
    """What the fixture put in the database, for the generation hook and the auth provider
    (which schemathesis calls outside of pytest's fixtures)."""

    ticket_ids: list[str] = field(default_factory=list)
    tracking_ids: list[str] = field(default_factory=list)
    access_token: str = ""


SEEDED = Seeded()

schema = schemathesis.openapi.from_dict(
    openapi_document(),
    config=schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {
                "max-examples": MAX_EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
            "checks": {
                # DRF and django-filter are lenient by design (a blank query value means
                # absent, a page_size over the cap the cap, text is trimmed before its length
                # is checked); the webhooks are on purpose (a delivery answered 2xx is never
                # lost, other senders' formats and extra fields are kept).
                "negative_data_rejection": {"enabled": False},
                # Schema-valid input the API rightly refuses with a documented 400: NUL
                # characters (PostgreSQL text cannot hold them), a stats period over 366 days,
                # JSON inside Slack's form field. On for the failure webhooks (below).
                "positive_data_acceptance": {"enabled": False},
            },
            # The failure webhooks' bodies are generated from the models their parsers
            # validate with (Azure Monitor's: one per alert family, as a oneOf): every body
            # the schema allows is accepted (202).
            "operations": [
                {
                    "include-operation-id-regex": (
                        "^webhook_(adf|databricks|airflow|azure_monitor)(_legacy_path)?$"
                    ),
                    "checks": {
                        "positive_data_acceptance": {
                            "enabled": True,
                            "expected-statuses": ["202"],
                        }
                    },
                },
                {
                    # Azure Monitor's six bodies make ~1,350 coverage cases (a minute): run
                    # them once, on /webhooks/azure-monitor/; its old path (the same view)
                    # gets the generated examples only.
                    "include-operation-id-regex": "^webhook_azure_monitor_legacy_path$",
                    "phases": {"coverage": {"enabled": False}},
                },
            ],
        }
    ),
)
# Called in-process; checks that send more requests (auth probes) call it too.
schema.app = WSGIHandler()


@schema.hook
def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any]
) -> st.SearchStrategy:
    """Most examples name a seeded ticket or delivery, so detail pages, audit trails and
    transitions run on real rows; the rest keep the generated (unknown) value."""
    strategy: st.SearchStrategy[dict[str, Any]] = st.just(path_parameters)
    if not path_parameters:  # None: the operation has none
        return strategy
    choices = {"id": SEEDED.ticket_ids, "tracking_id": SEEDED.tracking_ids}
    for name, known in choices.items():
        if name in path_parameters and known:
            strategy = st.one_of(strategy, st.sampled_from(known).map(_with(path_parameters, name)))
    return strategy


def _with(parameters: dict[str, Any], name: str) -> Callable[[str], dict[str, Any]]:
    return lambda value: {**parameters, name: value}


@schema.auth()
class Credentials:
    """Each operation authenticated as its real caller does: an admin's JWT for the API, the
    webhook token for the failure webhooks, the shared secret (`?token=`, as JIRA Automation
    sends it) for JIRA and a signature of the body for Slack."""

    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return SEEDED.access_token

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        path = case.operation.path
        if path.startswith("/api/"):
            case.headers["Authorization"] = f"Bearer {data}"
        elif path in ("/webhooks/jira/", "/jira-webhook"):
            case.query = {**(case.query or {}), "token": django_settings.JIRA_WEBHOOK_SECRET}
        elif path == "/webhooks/slack/actions/":
            _sign_slack(case)
        else:
            case.headers["X-Webhook-Token"] = django_settings.WEBHOOK_TOKEN


def _sign_slack(case: schemathesis.Case) -> None:
    """Encode the form here, so the signature covers exactly the bytes sent."""
    body = case.body
    if isinstance(body, NotSet):
        raw = ""
    elif isinstance(body, dict):
        raw = urlencode(body, doseq=True)
        case.body = raw
    elif isinstance(body, bytes):
        raw = body.decode("utf-8", "replace")
    elif isinstance(body, str):
        raw = body
    else:
        raw = json.dumps(body)
        case.body = raw
    stamp = str(int(time.time()))
    digest = hmac.new(SLACK_SECRET.encode(), f"v0:{stamp}:{raw}".encode(), hashlib.sha256)
    case.headers["X-Slack-Request-Timestamp"] = stamp
    case.headers["X-Slack-Signature"] = f"v0={digest.hexdigest()}"


def _seed() -> None:
    """A ticket per source through the real ingest path, in each status."""
    system = Actor.system()
    SEEDED.ticket_ids.clear()
    SEEDED.tracking_ids.clear()
    for source, kind, name in SEED_DELIVERIES:
        body = local_payload(name) if kind == "local" else shared_payload(name)
        result = ingest_delivery(source, json.dumps(body).encode())
        assert result.ticket_id, (source, result)
        SEEDED.ticket_ids.append(result.ticket_id)
        SEEDED.tracking_ids.append(str(result.tracking_id))
    lifecycle.transition(SEEDED.ticket_ids[1], "start_progress", system)
    lifecycle.transition(SEEDED.ticket_ids[2], "acknowledge", system)


@pytest.fixture
def seeded_service(db, settings) -> Iterator[Seeded]:
    """Seeded tickets, an admin's token and the secrets the webhooks check. Like Django's test
    client, requests keep the test's database connection (closing it would end the test's
    transaction)."""
    # A private in-memory cache: throttle history and cached stats stay inside this test.
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.JIRA_WEBHOOK_SECRET = JIRA_SECRET
    settings.SLACK_SIGNING_SECRET = SLACK_SECRET
    # Logins hash passwords: the fast hasher Django recommends for tests.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _seed()
    SEEDED.access_token = str(AccessToken.for_user(make_user("admin")))
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield SEEDED
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        SEEDED.ticket_ids.clear()
        SEEDED.tracking_ids.clear()
        SEEDED.access_token = ""


# The fixtures are set up once per operation on purpose; each example undoes its own changes.
@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
def answers_as_documented(case: schemathesis.Case, seeded_service: Seeded) -> None:
    """No 5xx, and a status code, content type and body the schema documents."""
    with transaction.atomic():
        cache.clear()
        try:
            case.call_and_validate()
        finally:
            transaction.set_rollback(True)


def only(label: str) -> Callable[[Any], bool]:
    """A filter excluding every operation but `label` (an `include` adds to what the config
    selects, an exclusion narrows whatever it selects)."""
    return lambda context: context.operation.label != label


# One test function per operation: `schema.parametrize()` on the whole schema gives all its
# items one node id under pytest 9, and pytest-xdist then runs only one of them.
for _path, _item in schema.raw_schema["paths"].items():
    for _method, _operation in _item.items():
        globals()[f"test_{_operation['operationId']}"] = schema.exclude(
            only(f"{_method.upper()} {_path}")
        ).parametrize()(answers_as_documented)
