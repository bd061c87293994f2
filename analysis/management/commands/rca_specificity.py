import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.specificity import check


def _read_jsonl(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
    records = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CommandError(f"{path}:{number}: not valid JSON ({exc.msg})") from exc
        if not isinstance(record, dict) or not isinstance(record.get("id"), str):
            raise CommandError(f"{path}:{number}: each line needs a string 'id'")
        records.append(record)
    return records


class Command(BaseCommand):
    help = (
        "Run error messages ({id, message, platform?} per line) through classification, "
        "redaction and the rule RCA, as with no Gemini key, and count the RCAs whose root cause "
        "names the cause each message states. The cause phrases come from --annotations files "
        "({id, names: [phrase, ...]} per line; 'a | b' means either) or a 'names' on the record."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("files", nargs="+", type=Path)
        parser.add_argument("--annotations", action="append", type=Path, default=[])

    def handle(
        self, *args: Any, files: list[Path], annotations: list[Path], **options: Any
    ) -> None:
        records = [record for path in files for record in _read_jsonl(path)]
        names: dict[str, list[str]] = {}
        for record in records + [r for path in annotations for r in _read_jsonl(path)]:
            phrases = record.get("names")
            if phrases is not None:
                if not isinstance(phrases, list) or not all(isinstance(p, str) for p in phrases):
                    raise CommandError(f"{record['id']}: 'names' must be a list of strings")
                names[record["id"]] = phrases
        for record in records:
            if "message" in record and not isinstance(record["message"], str):
                raise CommandError(f"{record['id']}: 'message' must be a string")
        verdicts = check([r for r in records if "message" in r], names)
        if not verdicts:
            raise CommandError("no message has an annotation: nothing to check")
        misses = [v for v in verdicts if not v.names_cause]
        for verdict in misses:
            self.stdout.write(
                f"MISS {verdict.id} [{verdict.error_type}] lacks {list(verdict.missing)}: "
                f"{verdict.root_cause}"
            )
        total = len(verdicts)
        named = total - len(misses)
        own_words = sum(not v.missing_unquoted for v in verdicts)
        self.stdout.write(f"names the cause: {named}/{total} ({named / total:.0%})")
        self.stdout.write(
            f"in its own words, not counting the quoted error: {own_words}/{total} "
            f"({own_words / total:.0%})"
        )
