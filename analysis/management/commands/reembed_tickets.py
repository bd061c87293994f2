import argparse

from django.core.management.base import BaseCommand
from tqdm import tqdm

from analysis.embeddings import configured_backend, failure_text
from tickets.models import Resolution, Ticket


def _positive(value: str) -> int:
    number = int(value) if value.isdigit() else 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"a positive whole number, not {value!r}")
    return number


class Command(BaseCommand):
    help = (
        "Embed every ticket again with the configured backend (after changing EMBEDDING_BACKEND, "
        "the model or what is embedded), and the fixes recorded on it with it, so similar-ticket "
        "search and previous fixes compare like with like."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=_positive, default=64)
        parser.add_argument(
            "--only-missing", action="store_true", help="skip tickets that already have a vector"
        )

    def handle(self, *args, batch_size: int, only_missing: bool, **options):
        backend = configured_backend()
        tickets = Ticket.objects.order_by("pk").only("pk", "error_type", "error_message")
        if only_missing:
            tickets = tickets.filter(embedding__isnull=True)
        total = tickets.count()
        done = 0
        with tqdm(total=total, unit="ticket", file=self.stderr) as progress:
            batch: list[Ticket] = []
            for ticket in tickets.iterator(chunk_size=batch_size):
                batch.append(ticket)
                if len(batch) == batch_size:
                    done += self._embed(backend, batch)
                    progress.update(len(batch))
                    batch = []
            if batch:
                done += self._embed(backend, batch)
                progress.update(len(batch))
        self.stdout.write(f"re-embedded {done} tickets with {backend.name}")

    @staticmethod
    def _embed(backend, batch: list[Ticket]) -> int:
        vectors = backend.embed([failure_text(t.error_type, t.error_message) for t in batch])
        for ticket, vector in zip(batch, vectors, strict=True):
            ticket.embedding = vector
            ticket.embedding_model = backend.name
        Ticket.objects.bulk_update(batch, ["embedding", "embedding_model"])
        # A recorded fix carries its failure's vector (`record_fix`): it is found by it.
        by_ticket = {ticket.pk: ticket for ticket in batch}
        resolutions = list(Resolution.objects.filter(ticket_id__in=by_ticket).only("ticket_id"))
        for resolution in resolutions:
            resolution.embedding = by_ticket[resolution.ticket_id].embedding
            resolution.embedding_model = backend.name
        Resolution.objects.bulk_update(resolutions, ["embedding", "embedding_model"])
        return len(batch)
