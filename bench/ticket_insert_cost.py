"""What a candidate index on the tickets would add to each new ticket's INSERT, the statement
every webhook of a new failure runs: on bench/query_plans.py's database (its 100,000 tickets;
build it first), rounds of single-row INSERTs of copies of a stored ticket (a new id, run,
fingerprint and pipeline each, no embedding, as ingest writes them; the stats trigger runs),
each round in a transaction rolled back, with the indexes as they are ("none") and with each
candidate created in the round's transaction, the rounds interleaved.

    .venv/bin/python bench/ticket_insert_cost.py [--rows 4000] [--rounds 8] [--only NAME ...]

Prints per row the server process's CPU time (read from /proc: the server must run on this
machine, as the embedded one does; steadier than the wall clock on a loaded machine) and the
WAL it wrote, each candidate's median against "none". Uses BENCH_PLANS_DB (`rca_bench_plans`)
on the embedded server unless DATABASE_URL names another; changes nothing in it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import REPO

CANDIDATES: dict[str, str] = {
    "none": "",
    # `?ordering=-last_seen`
    "last_seen": "CREATE INDEX bench_candidate ON tickets_ticket (last_seen DESC, id DESC)",
    # the same of the tickets seen again only (tickets/0050 `ticket_last_seen_moved`, which a
    # new ticket does not enter; drop that one first to measure it here)
    "last_seen_moved": (
        "CREATE INDEX bench_candidate ON tickets_ticket (last_seen, id)"
        " WHERE NOT (last_seen = timestamp)"
    ),
    # `?pipeline=` (a case-insensitive substring: UPPER(pipeline) LIKE UPPER('%...%'))
    "pipeline_trigram": (
        "CREATE INDEX bench_candidate ON tickets_ticket"
        " USING gin (upper(pipeline) gin_trgm_ops) WITH (fastupdate = off)"
    ),
    # the same with GIN's pending list: the INSERT appends there, a later one (or vacuum)
    # pays for moving the list into the index, which a round of this size may not reach
    "pipeline_trigram_pending": (
        "CREATE INDEX bench_candidate ON tickets_ticket USING gin (upper(pipeline) gin_trgm_ops)"
    ),
    # `?ordering=occurrence_count`: the tickets counted more than once only (tickets/0051
    # `ticket_counted_again`, which a new ticket does not enter; drop that one first to
    # measure it here)
    "counted_again": (
        "CREATE INDEX bench_candidate ON tickets_ticket (occurrence_count, id)"
        " WHERE NOT (occurrence_count = 1)"
    ),
    # `?ordering=severity` (by rank, then id), which every new ticket would enter
    "severity_rank": (
        "CREATE INDEX bench_candidate ON tickets_ticket ((CASE severity WHEN 'Critical' THEN 0"
        " WHEN 'High' THEN 1 WHEN 'Medium' THEN 2 WHEN 'Low' THEN 3 ELSE 4 END), id)"
    ),
    # `?ordering=sla_deadline`, the same
    "sla_deadline": "CREATE INDEX bench_candidate ON tickets_ticket (sla_deadline, id)",
    # the incident stats' columns and the RCA source added to the stats' covering index, in
    # its place (tickets/0055 `ticket_stats_period_v3`; migrate tickets 0054 to measure it
    # here): every new ticket enters the one it replaces
    "stats_period_v3": (
        "DROP INDEX ticket_stats_period_v2;"
        " CREATE INDEX bench_candidate ON tickets_ticket (timestamp) INCLUDE (status, severity,"
        " error_type, source, finops_team, sla_status, ack_seconds, resolve_seconds, culprit,"
        " incident_id, itsm_ticket_id, slack_ts, regressed_at, resolved_at_source_at,"
        " rca_source)"
    ),
    # the priority, the SLA deadline and the id added to the stats' covering index, in its
    # place (tickets/0058 `ticket_stats_period_v4`; migrate tickets 0057 to measure it here):
    # every new ticket enters the one it replaces
    "stats_period_v4": (
        "DROP INDEX ticket_stats_period_v3;"
        " CREATE INDEX bench_candidate ON tickets_ticket (timestamp) INCLUDE (status, severity,"
        " error_type, source, finops_team, sla_status, ack_seconds, resolve_seconds, culprit,"
        " incident_id, itsm_ticket_id, slack_ts, regressed_at, resolved_at_source_at,"
        " rca_source, priority, sla_deadline, id)"
    ),
    # the board's column counts
    "board_counts": (
        "CREATE INDEX bench_candidate ON tickets_ticket (status) WHERE incident_id IS NULL"
    ),
}

INSERTS = """
DO $$
DECLARE r tickets_ticket;
BEGIN
  SELECT * INTO r FROM tickets_ticket ORDER BY id LIMIT 1;
  r.embedding := NULL;
  FOR i IN 1..{rows} LOOP
    r.id := 'COST-' || i || '-' || substr(md5(random()::text), 1, 12);
    r.run_id := 'cost-run-' || md5(random()::text);
    r.fingerprint := md5(random()::text);
    r.pipeline := 'pl_cost_' || substr(md5(random()::text), 1, 8);
    r.timestamp := now();
    r.first_seen := now();
    r.last_seen := now();
    r.occurrence_count := 1;
    INSERT INTO tickets_ticket SELECT r.*;
  END LOOP;
END $$
"""


def database_url() -> str:
    if os.environ.get("DATABASE_URL"):
        return os.environ["DATABASE_URL"]
    sys.path.insert(0, str(REPO))
    from rca_project import local_services

    return local_services.embedded_postgres_url(os.environ.get("BENCH_PLANS_DB", "rca_bench_plans"))


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of process `pid` (its /proc stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=4000)
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--only", nargs="+", choices=list(CANDIDATES)[1:], metavar="NAME")
    args = parser.parse_args()
    names = ["none", *(args.only or list(CANDIDATES)[1:])]

    import psycopg

    cpu: dict[str, list[float]] = {name: [] for name in names}
    wal: dict[str, list[float]] = {name: [] for name in names}
    with psycopg.connect(database_url()) as conn:
        (pid,) = conn.execute("SELECT pg_backend_pid()").fetchone() or (0,)
        for _ in range(args.rounds):
            for name in names:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
                if CANDIDATES[name]:
                    conn.execute(CANDIDATES[name])
                (start,) = conn.execute("SELECT pg_current_wal_insert_lsn()").fetchone() or ("",)
                before = process_cpu(pid)
                conn.execute(INSERTS.format(rows=args.rows))
                cpu[name].append((process_cpu(pid) - before) / args.rows * 1e6)
                (written,) = conn.execute(
                    "SELECT pg_wal_lsn_diff(pg_current_wal_insert_lsn(), %s)", [start]
                ).fetchone() or (0,)
                wal[name].append(float(written) / args.rows)
                conn.rollback()
                # The rolled-back rows out of the way, for the next round as for the first.
                conn.autocommit = True
                conn.execute("VACUUM tickets_ticket")
                conn.autocommit = False
    base_cpu, base_wal = statistics.median(cpu["none"]), statistics.median(wal["none"])
    print(f"{args.rounds} rounds of {args.rows:,} INSERTs each; load {os.getloadavg()[0]:.2f}")
    for name in names:
        row_cpu, row_wal = statistics.median(cpu[name]), statistics.median(wal[name])
        print(
            f"{name:26s} CPU {row_cpu:6.1f} us/row ({row_cpu / base_cpu - 1:+6.1%})"
            f"   WAL {row_wal:6.0f} bytes/row ({row_wal / base_wal - 1:+6.1%})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
