"""The rule RCA's data (AADSTS meanings, per-class templates), read once from data.toml."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

DATA_FILE = Path(__file__).with_name("data.toml")


@dataclass(frozen=True)
class Template:
    """The root cause (with a "{subject}" placeholder) and advice for a class no rule explains."""

    cause: str
    recommendations: tuple[str, ...]


def _load() -> tuple[dict[str, str], tuple[str, ...], dict[str, Template]]:
    with DATA_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    meanings = {str(code): str(text) for code, text in data["aadsts_meanings"].items()}
    secret_codes = tuple(str(code) for code in data["aadsts"]["secret_codes"])
    templates = {
        name: Template(str(entry["cause"]), tuple(str(r) for r in entry["recommendations"]))
        for name, entry in data["templates"].items()
    }
    return meanings, secret_codes, templates


AADSTS_MEANINGS, SECRET_CODES, TEMPLATES = _load()
