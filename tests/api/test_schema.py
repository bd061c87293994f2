"""The OpenAPI schema is valid, complete (webhooks included) and free of generator warnings;
the docs page works offline (no CDN)."""

from __future__ import annotations

import re

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.http import StreamingHttpResponse
from django.test import modify_settings
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.settings import patched_settings
from openapi_spec_validator import validate
from rest_framework.test import APIClient

from integrations.parsers.common import MAX_JSON_DEPTH
from rca_project.openapi import COMPONENTS, SCHEMA_SETTINGS
from tests.api import clear_throttles

pytestmark = pytest.mark.django_db

API_OPERATIONS = {
    ("get", "/api/v1/tickets/"),
    ("get", "/api/v1/tickets/{id}/"),
    ("post", "/api/v1/tickets/{id}/acknowledge/"),
    ("post", "/api/v1/tickets/{id}/take/"),
    ("post", "/api/v1/tickets/{id}/resolve/"),
    ("post", "/api/v1/resolutions/{resolution_id}/mark-wrong/"),
    ("post", "/api/v1/tickets/{id}/reopen/"),
    ("post", "/api/v1/tickets/{id}/rerun-rca/"),
    ("get", "/api/v1/tickets/{id}/audit/"),
    ("get", "/api/v1/tickets/{id}/similar/"),
    ("get", "/api/v1/incidents/"),
    ("get", "/api/v1/stats/incidents/"),
    ("get", "/api/v1/incidents/{id}/"),
    ("get", "/api/v1/incidents/{id}/members/"),
    ("get", "/api/v1/incidents/{id}/timeline/"),
    ("post", "/api/v1/incidents/{id}/acknowledge/"),
    ("post", "/api/v1/incidents/{id}/take/"),
    ("post", "/api/v1/incidents/{id}/reopen/"),
    ("post", "/api/v1/incidents/{id}/resolve/"),
    ("post", "/api/v1/incidents/{id}/detach/"),
    ("post", "/api/v1/incidents/{id}/merge/"),
    ("get", "/api/v1/tickets/{id}/deliveries/"),
    ("post", "/api/v1/tickets/{id}/remediation/approve/"),
    ("post", "/api/v1/tickets/{id}/remediation/decline/"),
    ("post", "/api/v1/tickets/{id}/remediation/retry/"),
    # The replaced product's remediation callback path (a webhook, not under /api/v1/).
    ("post", "/api/remediation-callback"),
    ("get", "/api/v1/stats/"),
    ("get", "/api/v1/trace/{tracking_id}/"),
    ("post", "/api/v1/token/"),
    ("post", "/api/v1/token/refresh/"),
    ("post", "/api/v1/token/revoke/"),
    ("post", "/api/v1/token/verify/"),
    ("get", "/api/v1/log-analyses/"),
    ("post", "/api/v1/log-analyses/"),
    ("get", "/api/v1/log-analyses/{id}/"),
    ("post", "/api/v1/log-analyses/{id}/cancel/"),
    ("post", "/api/v1/log-analyses/{id}/attach/"),
    ("get", "/api/v1/log-analyses/{id}/markdown/"),
    ("get", "/api/v1/log-analyses/{id}/events/"),
}
WEBHOOKS = {
    "/webhooks/azure-monitor/": "AzureMonitorAlert",
    "/webhooks/adf/": "AdfFailure",
    "/webhooks/databricks/": "DatabricksNotification",
    "/webhooks/airflow/": "AirflowFailure",
    "/webhooks/jira/": "JiraIssueEvent",
    "/webhooks/slack/actions/": "SlackActionForm",
    "/webhooks/remediation/": "RemediationCallback",
}


@pytest.fixture(autouse=True)
def _fresh_throttles():
    clear_throttles()


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi")
    assert response.status_code == 200
    return yaml.safe_load(response.content)


def test_schema_is_valid_openapi(schema):
    validate(schema)
    assert schema["openapi"].startswith("3.")


def test_schema_describes_every_api_operation(schema):
    operations = {
        (method, path)
        for path, item in schema["paths"].items()
        for method in item
        if path.startswith("/api/")
    }
    assert operations == API_OPERATIONS
    tickets = schema["paths"]["/api/v1/tickets/"]["get"]
    names = {p["name"] for p in tickets["parameters"]}
    assert {
        "status",
        "severity",
        "priority",
        "source",
        "error_type",
        "team",
        "sla_status",
        "pipeline",
        "created_after",
        "created_before",
        "jira_key",
        "search",
        "ordering",
        "cursor",
        "page_size",
    } <= names
    assert "jwtAuth" in schema["components"]["securitySchemes"]


def test_every_api_operation_documents_its_answers(schema):
    for path, item in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue  # the legacy /api/remediation-callback is a webhook: 401, never 403
        for method, operation in item.items():
            responses = operation["responses"]
            success = [code for code in responses if code.startswith("2")]
            assert success, (method, path)
            # These two answer {} when the token is good.
            if path not in ("/api/v1/token/verify/", "/api/v1/token/revoke/"):
                assert "content" in responses[success[0]], (method, path)
            if not path.startswith("/api/v1/token/"):
                assert {"401", "403"} <= set(responses), (method, path)
    login = schema["paths"]["/api/v1/token/"]["post"]["responses"]
    assert {"200", "401", "429"} <= set(login)
    listing = schema["paths"]["/api/v1/tickets/"]["get"]["responses"]["200"]
    page = listing["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert {"next", "previous", "results"} <= set(
        schema["components"]["schemas"][page]["properties"]
    )


def test_every_paged_list_documents_the_400_of_a_parameter_it_does_not_take(schema):
    """Every cursor-paged list refuses a query parameter it does not take (400), an incident's
    members and timeline too: the schema says so."""
    paged = [
        (path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method == "get" and any(p["name"] == "cursor" for p in operation.get("parameters", []))
    ]
    assert {
        "/api/v1/incidents/{id}/members/",
        "/api/v1/incidents/{id}/timeline/",
        "/api/v1/tickets/{id}/deliveries/",
    } <= {path for path, _ in paged}
    for path, operation in paged:
        assert "400" in operation["responses"], path
        # Every one takes `page_size`, as the tickets and the audit trail do.
        assert any(p["name"] == "page_size" for p in operation["parameters"]), path
    assert len(paged) == 7


def test_the_stats_describe_mtta_and_mttr_and_their_400(schema):
    """The stats' summary called the time to acknowledge MTTR and left the time to resolve out."""
    stats = schema["paths"]["/api/v1/stats/"]["get"]
    assert "MTTA (time to acknowledge) and MTTR (time to resolve)" in stats["description"]
    for path in ("/api/v1/stats/", "/api/v1/stats/incidents/"):
        assert "parameter" in schema["paths"][path]["get"]["responses"]["400"]["description"]


def test_schema_never_exposes_the_embedding(schema):
    for name, component in schema["components"]["schemas"].items():
        assert "embedding" not in component.get("properties", {}), name


def test_schema_describes_the_webhooks_with_their_bodies(schema):
    for path, body in WEBHOOKS.items():
        operation = schema["paths"][path]["post"]
        content = operation["requestBody"]["content"]
        (media,) = content.values()
        assert media["schema"] == {"$ref": f"#/components/schemas/{body}"}
        assert operation["security"]
    adf = schema["paths"]["/webhooks/adf/"]["post"]
    assert set(adf["responses"]) == {"202", "400", "401", "413", "415", "503"}
    assert adf["responses"]["202"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/WebhookAccepted"
    }
    assert {"pipeline", "run_id", "error_message"} <= set(
        schema["components"]["schemas"]["AdfFailure"]["properties"]
    )
    assert {"dag_id", "task_id", "run_id", "exception"} <= set(
        schema["components"]["schemas"]["AirflowFailure"]["properties"]
    )
    assert schema["components"]["securitySchemes"]["webhookToken"]["name"] == "X-Webhook-Token"
    for legacy in ("/azure-monitor", "/databricks-monitor", "/airflow-monitor", "/jira-webhook"):
        assert legacy in schema["paths"]


def test_every_operation_summary_reads_as_english(schema):
    """The docs page listed "Receive a Azure Monitor alert" and "Receive a Airflow task
    failure": no summary puts "a" before a vowel."""
    summaries = [
        operation["summary"]
        for operations in schema["paths"].values()
        for operation in operations.values()
        if isinstance(operation, dict) and "summary" in operation
    ]
    assert "Receive an Azure Monitor alert (Azure Data Factory included)" in summaries
    assert "Receive an Airflow task failure" in summaries
    assert [s for s in summaries if re.search(r"\ba [AEIOaeio]", s)] == []  # "a URL" reads


def test_every_webhook_says_its_400_refuses_json_nested_deeper_than_the_limit(schema):
    """The webhooks refuse a body nested over MAX_JSON_DEPTH levels (a 400 saying so); their
    400 listed the JSON they refuse without it."""
    for path in WEBHOOKS:
        description = schema["paths"][path]["post"]["responses"]["400"]["description"]
        assert f"nested over {MAX_JSON_DEPTH} levels" in description, path


def test_every_api_request_body_is_closed_as_the_api_refuses_other_fields(schema):
    """The API refuses a field a body does not take; a generated client built from a schema
    without `additionalProperties: false` would send it."""
    components = schema["components"]["schemas"]
    bodies = 0
    for path, item in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        for operation in item.values():
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                name = content["schema"]["$ref"].rsplit("/", 1)[-1]
                assert components[name].get("additionalProperties") is False, (path, media)
                bodies += 1
    assert bodies >= 20
    # The webhooks keep what other senders add.
    assert components["AirflowFailure"]["additionalProperties"] is True
    assert components["AdfFailure"]["additionalProperties"] is True


def test_schema_generation_has_no_warnings(tmp_path):
    """What `manage.py spectacular --validate --fail-on-warn` checks, with this module's
    settings (the schema view applies them whatever SPECTACULAR_SETTINGS says)."""
    GENERATOR_STATS.reset()
    target = tmp_path / "schema.yaml"
    with patched_settings(SCHEMA_SETTINGS):
        call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))
    assert not GENERATOR_STATS
    assert "/webhooks/adf/" in yaml.safe_load(target.read_text())["paths"]


@modify_settings(INSTALLED_APPS={"append": "drf_spectacular_sidecar"})
def test_docs_page_loads_swagger_ui_from_our_own_static_files():
    response = APIClient().get("/api/v1/docs/")

    assert response.status_code == 200
    html = response.content.decode()
    assert "cdn.jsdelivr.net" not in html and "unpkg.com" not in html
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets), assets
    assert any(a.endswith("swagger-ui.css") for a in assets), assets
    for asset in assets:
        relative = asset.removeprefix("/static/")
        assert finders.find(relative), f"{relative} is not in any static directory"
    assert "/api/v1/schema/" in html


def test_the_served_webhook_bodies_are_the_ones_the_body_tests_validate_against(schema):
    """tests/integrations/test_bodies.py checks real bodies against `COMPONENTS`: this is the
    document /api/v1/schema/ publishes (the ADF body's camelCase names included)."""
    served = schema["components"]["schemas"]
    for name in ("AdfFailure", "AdfActivityError", "AirflowFailure", "DatabricksNotification"):
        assert served[name] == COMPONENTS[name], name
    assert {"pipelineName", "pipelineRunId", "runId", "errorMessage"} <= set(
        served["AdfFailure"]["properties"]
    )


def test_the_token_checks_answers_are_the_bodies_the_schema_documents(schema):
    """`token/verify/` and `token/revoke/` answer 200 with `{}` as JSON: a client generated
    from the schema must be told that body (it said "No response body")."""
    from openapi_schema_validator import OAS30Validator
    from rest_framework_simplejwt.tokens import RefreshToken

    from tests.api import make_user

    refresh = RefreshToken.for_user(make_user("viewer"))
    client = APIClient()
    answers = {
        "/api/v1/token/verify/": client.post(
            "/api/v1/token/verify/", {"token": str(refresh.access_token)}, format="json"
        ),
        "/api/v1/token/revoke/": client.post(
            "/api/v1/token/revoke/", {"refresh": str(refresh)}, format="json"
        ),
    }

    for path, answer in answers.items():
        assert answer.status_code == 200 and answer["Content-Type"] == "application/json"
        documented = schema["paths"][path]["post"]["responses"]["200"]
        body_schema = documented["content"]["application/json"]["schema"]
        OAS30Validator({**body_schema, "components": schema["components"]}).validate(answer.json())
        resolved = body_schema
        if "$ref" in resolved:
            resolved = schema["components"]["schemas"][resolved["$ref"].rsplit("/", 1)[1]]
        assert resolved.get("additionalProperties") is False and not resolved.get("properties")


def test_the_schema_documents_the_406_and_413_every_api_operation_answers(schema, settings):
    """Every API operation answers `Accept: application/xml` with a 406, and every one that
    reads a body answers a body over DATA_UPLOAD_MAX_MEMORY_SIZE with a 413: the schema
    listed neither."""
    from analysis.models import LogAnalysisJob
    from tests.api import jwt_client, make_ticket, make_user
    from tickets.models import Incident

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    user = make_user("superuser")
    ids = {
        "/api/v1/tickets/{id}/": make_ticket().pk,
        "/api/v1/incidents/{id}/": Incident.objects.create(
            id="INC-20251210T1-xml", group_key="g"
        ).pk,
        "/api/v1/log-analyses/{id}/": str(
            LogAnalysisJob.objects.create(
                source=LogAnalysisJob.Source.UPLOAD,
                owner=user,
                status=LogAnalysisJob.Status.CANCELLED,
            ).pk
        ),
        "/api/v1/resolutions/{resolution_id}/": "1",
        "/api/v1/trace/{tracking_id}/": "x",
    }
    client = jwt_client(user)
    checked = 0
    for path, item in schema["paths"].items():
        if not path.startswith("/api/v1/"):
            continue
        url = path
        for prefix, value in ids.items():
            if path.startswith(prefix):
                url = prefix.replace(prefix.split("/")[-2], value) + path.removeprefix(prefix)
        for method, operation in item.items():
            clear_throttles()
            xml = client.generic(method.upper(), url, HTTP_ACCEPT="application/xml")
            assert xml.status_code == 406, (method, path, xml.content)
            assert "406" in operation["responses"], (method, path)
            # What the 406 says is true: text/html is answered (DRF's browsable API).
            assert "text/html" in operation["responses"]["406"]["description"]
            if method == "get":
                html = client.get(url, HTTP_ACCEPT="text/html")
                assert html.status_code != 406, (path, html.status_code)
                if isinstance(html, StreamingHttpResponse):
                    # Read to its end (the job is cancelled: it ends at once), which gives back
                    # the process's stream slot it holds; another test's streams count them.
                    b"".join(html.streaming_content)
            if "requestBody" not in operation:
                continue
            big = client.generic(
                method.upper(), url, '{"note": "%s"}' % ("x" * 2000), "application/json"
            )
            assert big.status_code == 413, (method, path, big.content)
            assert "413" in operation["responses"], (method, path)
            checked += 1
    assert checked >= 15


def test_a_tickets_deliveries_are_documented_as_pages_of_deliveries(schema):
    """`deliveries/` answered a bare list of every delivery; it is a page now, as the others."""
    operation = schema["paths"]["/api/v1/tickets/{id}/deliveries/"]["get"]
    ok = operation["responses"]["200"]["content"]["application/json"]["schema"]
    page = schema["components"]["schemas"][ok["$ref"].rsplit("/", 1)[-1]]
    assert {"next", "previous", "results"} <= set(page["properties"])
    assert page["properties"]["results"]["items"] == {
        "$ref": "#/components/schemas/OutboundDelivery"
    }
    assert "newest first" in operation["summary"]
    assert "invalid cursor" in operation["responses"]["404"]["description"]
    parameters = {p["name"] for p in operation["parameters"]}
    assert {"cursor", "page_size"} <= parameters
    trace = schema["components"]["schemas"]["Trace"]["properties"]
    assert "deliveries/` pages through all" in trace["outbound"]["description"]
    assert "audit/` pages through all" in trace["audit"]["description"]
