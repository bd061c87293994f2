import json
from pathlib import Path

from django.core.management.base import BaseCommand

from analysis.classifier import classify_error
from analysis.management.jsonl import read_jsonl


class Command(BaseCommand):
    help = (
        "Classify error messages from a JSON-lines file ({message, id?, label?} per line). "
        "Prints {id, error_type} per line and, when labels are present, the accuracy."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file: Path, **options):
        labelled = correct = 0
        for number, record in read_jsonl(file, "message"):
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
