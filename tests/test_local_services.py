"""The embedded PostgreSQL stops with its last living user, whoever left without saying so.

Each test runs Python processes on a data directory of its own, the way `make lint` and
`make test` run mypy, pytest and its workers on `var/`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

REPO = Path(__file__).resolve().parent.parent

ATTACH = """
import os, sys
from rca_project import local_services
url = local_services.embedded_postgres_url()
print(url, flush=True)
if sys.argv[1] == "os._exit":
    os._exit(0)  # like mypy: no atexit hooks
"""

LOAD_SETTINGS_UNDER_MYPY_PLUGIN = """
import mypy_django_plugin.main
from django.conf import settings
print(settings.DATABASE_URL)
"""


def servers_on(pgdata: Path) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        if process.info["name"] == "postgres" and str(pgdata) in (process.info["cmdline"] or []):
            found.append(process)
    return found


@pytest.fixture
def var_dir(tmp_path: Path) -> Iterator[Path]:
    var = tmp_path / "var"
    var.mkdir()
    yield var
    for process in servers_on((var / "pgdata").resolve()):  # whatever a failed test left
        process.terminate()
        process.wait(10)


def run_python(code: str, var: Path, *args: str) -> str:
    env = {name: value for name, value in os.environ.items() if name != "DATABASE_URL"}
    env.update(
        RCA_VAR_DIR=str(var),
        PYTHONPATH=str(REPO),
        DJANGO_SETTINGS_MODULE="rca_project.settings",
    )
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_a_user_that_exited_without_its_atexit_hook_does_not_keep_the_server_running(var_dir):
    pgdata = (var_dir / "pgdata").resolve()

    run_python(ATTACH, var_dir, "os._exit")
    assert servers_on(pgdata), "the first user should have started the server"

    url = run_python(ATTACH, var_dir, "exit")

    assert url.startswith("postgresql://")
    assert servers_on(pgdata) == [], "the last living user left, the server should stop"


def test_the_type_checker_loads_the_settings_without_starting_a_server(var_dir):
    url = run_python(LOAD_SETTINGS_UNDER_MYPY_PLUGIN, var_dir)

    assert "type-checking" in url
    assert not (var_dir / "pgdata" / "PG_VERSION").exists()
    assert servers_on((var_dir / "pgdata").resolve()) == []
