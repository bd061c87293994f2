"""How often the right past fix is shown first: precision@1 of `previous_fixes`, per embedding
backend, replaying (failure, fix) pairs in time order through the service's own code.

    .venv/bin/python bench/fix_recall.py [FILE.jsonl]

The set (`bench/fix_recall_pairs.jsonl`, 45 failures) is built from real messages of the audit
set (`tests/analysis/audit_errors.jsonl`, ids in `origin`): 20 failures that come back (the same
message again, a near-duplicate with other ids, hosts or numbers, or a different message with
the same cause and fix, e.g. a Java heap OOM then a GC overhead limit on the same job), and
distractors that look alike but have another cause and fix (a Databricks token vs an AAD client
secret, MySQL vs PostgreSQL refusing connections, a lock timeout vs a deadlock, a notebook
timeout vs a task timeout), some of which never come back.

Each failure becomes a ticket (classified and fingerprinted as ingest does it, with the
deployment, unit and subject a row may name; embedded as the analysis does it), the
service's `previous_fixes` is asked for its fixes, then the ticket is resolved with the fix its
responder wrote, which becomes knowledge for the failures after it. precision@1: of the
failures whose fix was recorded before, the share whose first shown fix is that fix. Also
printed: how many of those came by fingerprint, and how many first-time failures were shown
someone else's fix (a false lead).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO, bench_environment, setup_django
from retrieval_quality import trigram_hashing

DEFAULT_SET = REPO / "bench" / "fix_recall_pairs.jsonl"
Embed = Callable[[Sequence[str]], list[list[float]]]


def backends() -> dict[str, Embed | str]:
    import os

    from analysis.embeddings import GeminiEmbeddingBackend, local_backend

    found: dict[str, Embed | str] = {
        local_backend().name + " (default)": local_backend().embed,
        "trigram-hashing-256 (baseline)": trigram_hashing,
    }
    if os.environ.get("GEMINI_API_KEY"):
        from analysis.gemini import gemini_client

        gemini = GeminiEmbeddingBackend(gemini_client(), "gemini-embedding-001")
        found[gemini.name] = gemini.embed
    else:
        found["gemini-embedding-001"] = "skipped: no GEMINI_API_KEY"
    # all-MiniLM-L6-v2 makes 384-dimensional vectors: the service stores 256, so it cannot run
    # through the service's own search here.
    return found


@dataclass
class Figures:
    answerable: int = 0
    correct: int = 0
    by_fingerprint: int = 0
    first_time: int = 0
    false_leads: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision_at_1(self) -> float:
        return self.correct / self.answerable if self.answerable else 0.0


def replay(rows: list[dict], name: str, embed: Embed) -> Figures:
    from django.utils import timezone

    from analysis.embeddings import failure_text
    from analysis.redaction import redact
    from integrations.events import EventKind, FailureEvent
    from tickets import lifecycle
    from tickets.lifecycle import Actor
    from tickets.models import AuditLog, Resolution, Ticket
    from tickets.resolutions import previous_fixes
    from tickets.services import classify_and_fingerprint
    from tickets.vocabulary import Source

    Resolution.objects.all().delete()
    AuditLog.objects.all().delete()
    Ticket.objects.all().delete()
    family_of: dict[str, str] = {}
    seen: set[str] = set()
    figures = Figures()
    for row in rows:
        message = redact(row["message"])
        # Classified and fingerprinted as ingest does it, with the keys a row may name (the
        # pipeline's deployment, the part of it that failed, the alert's subject).
        event = FailureEvent(
            source=Source(row["source"]),
            processing_mode=row["source"],
            kind=EventKind.FAILURE,
            pipeline=row["pipeline"],
            run_key=f"bench:{row['seq']}",
            occurrence_key=f"bench:{row['seq']}",
            deployment=row.get("deployment", ""),
            unit=row.get("unit", ""),
            subject=row.get("subject", ""),
            error_message=message,
        )
        error_type, fingerprint = classify_and_fingerprint(event)
        ticket = Ticket.objects.create(
            id=f"BENCH-{row['seq']:03d}",
            timestamp=timezone.now(),
            pipeline=row["pipeline"],
            run_id=f"bench:{row['seq']}",
            source=row["source"],
            processing_mode=row["source"],
            error_type=error_type,
            error_message=message,
            fingerprint=fingerprint,
            embedding=embed([failure_text(error_type, message)])[0],
            embedding_model=name,
        )
        family_of[ticket.pk] = row["family"]
        fixes = previous_fixes(ticket)
        first = fixes[0] if fixes else None
        if row["family"] in seen:
            figures.answerable += 1
            if first is not None and family_of[first.ticket_id] == row["family"]:
                figures.correct += 1
                figures.by_fingerprint += first.same_failure
            else:
                shown = family_of[first.ticket_id] if first else "nothing"
                figures.misses.append(f"#{row['seq']} {row['family']}: showed {shown}")
        else:
            figures.first_time += 1
            figures.false_leads += first is not None
        seen.add(row["family"])
        lifecycle.resolve(ticket.pk, Actor.system("bench"), fix=row["fix"])
    return figures


def main() -> int:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SET
    rows = sorted(
        (json.loads(line) for line in path.read_text().splitlines() if line.strip()),
        key=lambda row: row["seq"],
    )
    setup_django(bench_environment("rca_bench_fix_recall", redis_db=13))
    from django.conf import settings

    print(
        f"{len(rows)} failures from {path.name}, replayed in time order; "
        f"SIMILARITY_FLOOR {settings.SIMILARITY_FLOOR}"
    )
    print(
        f"{'backend':<40} {'precision@1':>11} {'right/asked':>13} {'by print':>8}"
        f" {'false leads':>12}"
    )
    for name, embed in backends().items():
        if isinstance(embed, str):
            print(f"{name:<40} {embed}")
            continue
        figures = replay(rows, name, embed)
        print(
            f"{name:<40} {figures.precision_at_1:>11.3f} "
            f"{figures.correct:>6}/{figures.answerable:<6} {figures.by_fingerprint:>8} "
            f"{figures.false_leads:>5}/{figures.first_time:<6}"
        )
        for miss in figures.misses:
            print(f"    missed {miss}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
