import json
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from integrations.ingest import PARSERS, RejectedDelivery, ingest_delivery


class Command(BaseCommand):
    help = (
        "Run a webhook payload from a file through the same pipeline as the webhook "
        "(for replay and backfill) and print the webhook's answer."
    )

    def add_arguments(self, parser):
        parser.add_argument("source", choices=sorted(str(source) for source in PARSERS))
        parser.add_argument("file", type=Path)

    def handle(self, *args, source: str, file: Path, **options):
        try:
            body = file.read_bytes()
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror}") from exc
        if not body.strip():  # the webhook's "POST the JSON payload" says nothing of a file
            raise CommandError(f"{file} is empty: it should hold the webhook's JSON payload")
        limit = settings.WEBHOOK_MAX_BODY_BYTES
        if len(body) > limit:  # the webhook's limit, as the webhook would answer 413
            raise CommandError(
                f"{file}: {len(body)} bytes, larger than WEBHOOK_MAX_BODY_BYTES ({limit})"
            )
        try:
            result = ingest_delivery(source, body, headers={"User-Agent": "manage.py ingest_file"})
        except RejectedDelivery as exc:
            raise CommandError(f"rejected: {exc.reason}") from exc
        self.stdout.write(json.dumps(result.as_dict()))
