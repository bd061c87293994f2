"""The import contracts (.importlinter, run by `make lint`): they hold, they cover every module,
and breaking a layer fails them. Pure Python: the linter reads the source, nothing is imported."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("tickets", "analysis", "integrations", "rca_project")
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def layer_modules() -> list[str]:
    config = configparser.ConfigParser()
    config.read(REPO / ".importlinter")
    modules: list[str] = []
    for line in config["importlinter:contract:layers"]["layers"].split("\n"):
        for entry in line.replace("|", ":").split(":"):
            if entry.strip():
                modules.append(entry.strip().strip("()"))
    return modules


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--config", str(root / ".importlinter")],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def copy_of_the_tree(tmp_path: Path) -> Path:
    for package in PACKAGES:
        shutil.copytree(
            REPO / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(REPO / ".importlinter", tmp_path / ".importlinter")
    return tmp_path


def test_every_module_sits_in_exactly_one_layer():
    layers = layer_modules()
    unplaced, twice = [], []
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            module = ".".join(path.relative_to(REPO).with_suffix("").parts)
            if module.endswith("__init__") and module.count(".") <= 1:
                continue  # the top-level packages themselves
            module = module.removesuffix(".__init__")
            owners = [m for m in layers if module == m or module.startswith(m + ".")]
            if not owners:
                unplaced.append(module)
            elif len(owners) > 1:
                twice.append(module)
    assert not unplaced, f"modules in no layer of .importlinter: {unplaced}"
    assert not twice, f"modules in two layers: {twice}"


def test_the_contracts_hold(tmp_path):
    result = lint(copy_of_the_tree(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_core_module_importing_the_domain_breaks_the_contracts(tmp_path):
    root = copy_of_the_tree(tmp_path)
    (root / "integrations/parsers/probe.py").write_text("from tickets import services\n")

    result = lint(root)

    assert result.returncode != 0
    assert "integrations.parsers.probe" in result.stdout
    assert "Layers: web surfaces > analysis, integrations > tickets domain > pure core BROKEN" in (
        " ".join(result.stdout.split())
    )
    assert "The pure core imports no framework" in result.stdout
    assert "2 broken" in result.stdout or "3 broken" in result.stdout


def test_the_domain_importing_an_upper_layer_breaks_the_layers(tmp_path):
    root = copy_of_the_tree(tmp_path)
    services = root / "tickets/services.py"
    services.write_text(services.read_text() + "\nfrom integrations import fanout  # noqa\n")

    result = lint(root)

    assert result.returncode != 0
    assert "tickets.services is not allowed to import integrations.fanout" in result.stdout
