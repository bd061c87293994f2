"""The service runs on requirements.txt alone (what the Docker image installs); the development
tools live in requirements-dev.txt, which adds to it."""

from __future__ import annotations

import ast
import re
import sys
from importlib.metadata import packages_distributions
from pathlib import Path

from django.conf import settings

REPO = Path(__file__).resolve().parent.parent
SERVICE_PACKAGES = ("rca_project", "tickets", "integrations", "analysis")
# Runs inside Airflow (copied into its DAGs folder), not in the service.
AIRFLOW_CALLBACK = REPO / "integrations" / "airflow_callback"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pinned(path: Path) -> dict[str, str]:
    """Requirement name -> version, from one file (not the files it includes)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            name, _, version = line.partition("==")
            assert version, f"{path.name}: {line} is not pinned"
            pins[normalized(name)] = version
    return pins


RUNTIME = pinned(REPO / "requirements.txt")
DEVELOPMENT = pinned(REPO / "requirements-dev.txt")


def imported_top_level_names(path: Path) -> set[str]:
    """What a module imports when it runs (imports under `if TYPE_CHECKING:` are for mypy)."""
    tree = ast.parse(path.read_text())
    type_checking_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for statement in block.body
        for node in ast.walk(statement)
    }
    names: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_checking_only:
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_development_adds_to_runtime_and_pins_each_package_once():
    assert (REPO / "requirements-dev.txt").read_text().count("-r requirements.txt\n") == 1
    assert set(RUNTIME) & set(DEVELOPMENT) == set()
    for tool in ("ruff", "mypy", "pytest", "selenium", "schemathesis", "hypothesis"):
        assert tool in DEVELOPMENT and tool not in RUNTIME, tool


def test_the_service_imports_only_runtime_packages():
    distributions = packages_distributions()
    modules = {
        name
        for package in SERVICE_PACKAGES
        for path in (REPO / package).rglob("*.py")
        if AIRFLOW_CALLBACK not in path.parents
        for name in imported_top_level_names(path)
    }
    # Django imports these from settings by dotted path.
    modules.update(entry.split(".")[0] for entry in settings.INSTALLED_APPS + settings.MIDDLEWARE)
    third_party = modules - set(sys.stdlib_module_names) - set(SERVICE_PACKAGES)

    outside_runtime = {
        module: distributions.get(module, ["?"])
        for module in third_party
        if not any(normalized(dist) in RUNTIME for dist in distributions.get(module, []))
    }

    assert outside_runtime == {}, "imported by the service but not in requirements.txt"


def test_the_airflow_callback_needs_only_the_standard_library_and_airflow():
    """Its docstring tells teams to drop it into a DAGs folder with nothing else installed."""
    modules = {
        name for path in AIRFLOW_CALLBACK.rglob("*.py") for name in imported_top_level_names(path)
    }

    assert modules - set(sys.stdlib_module_names) - {"__future__"} <= {"airflow"}
