from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from analysis.management.jsonl import read_jsonl
from analysis.specificity import check


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
        records = [record for path in files for _, record in read_jsonl(path, "id")]
        notes = [record for path in annotations for _, record in read_jsonl(path, "id")]
        names: dict[str, list[str]] = {}
        for record in records + notes:
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
