import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from analysis.classifier import classify_error


class Command(BaseCommand):
    help = (
        "Classify error messages from a JSON-lines file ({message, id?, label?} per line). "
        "Prints {id, error_type} per line and, when labels are present, the accuracy."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
        labelled = correct = 0
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise CommandError(f"{file}:{number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(record, dict) or not isinstance(record.get("message"), str):
                raise CommandError(f"{file}:{number}: each line needs a string 'message'")
            error_type = classify_error(record["message"]).error_type
            self.stdout.write(
                json.dumps({"id": record.get("id", number), "error_type": error_type})
            )
            if record.get("label"):
                labelled += 1
                accepted = {record["label"], record.get("alt_label")}
                correct += error_type in accepted
        if labelled:
            self.stdout.write(f"accuracy: {correct / labelled:.2f} ({correct}/{labelled})")
