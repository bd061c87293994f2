"""The JSON-lines files the analysis commands read (one object per line)."""

import json
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError


def read_jsonl(path: Path, required: str) -> list[tuple[int, dict[str, Any]]]:
    """Each non-blank line's number and object; a CommandError naming the file and line when
    the file cannot be read, is not UTF-8 text, or a line is not an object with a string
    `required`; also when it has no such line at all."""
    try:
        text = path.read_text(encoding="utf-8-sig")  # a BOM (Windows editors) is no JSON
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise CommandError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not isinstance(record.get(required), str):
            raise CommandError(f"{path}:{number}: each line needs a string '{required}'")
        records.append((number, record))
    if not records:
        raise CommandError(f"{path}: no lines to read (one JSON object per line)")
    return records
