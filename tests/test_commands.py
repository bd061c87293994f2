from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from integrations.models import WebhookDelivery
from tests.conftest import LOCAL_PAYLOADS, SHARED_FIXTURES, database_url_for_tests, wait_for
from tickets.models import Ticket

DEV_SET = SHARED_FIXTURES / "errors" / "dev_errors.jsonl"


def run(*args: str) -> list[str]:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().splitlines()


def test_classify_errors_prints_one_line_per_message_and_the_accuracy():
    lines = run("classify_errors", str(DEV_SET))
    records = [json.loads(line) for line in lines[:-1]]
    ids = [json.loads(line)["id"] for line in DEV_SET.read_text().splitlines() if line.strip()]

    assert [r["id"] for r in records] == ids
    assert all(set(r) == {"id", "error_type"} for r in records)
    accuracy = float(lines[-1].split()[1])
    assert lines[-1].startswith("accuracy: ")
    assert accuracy >= 0.90


def test_classify_errors_without_labels_prints_no_accuracy(tmp_path: Path):
    path = tmp_path / "errors.jsonl"
    path.write_text('{"message": "java.lang.OutOfMemoryError: Java heap space"}\n')

    assert run("classify_errors", str(path)) == [
        json.dumps({"id": 1, "error_type": "ResourceExhaustion"})
    ]


def test_classify_errors_reads_a_file_that_starts_with_a_byte_order_mark(tmp_path: Path):
    path = tmp_path / "errors.jsonl"
    path.write_bytes(b'\xef\xbb\xbf{"message": "java.lang.OutOfMemoryError: Java heap space"}\n')

    assert run("classify_errors", str(path)) == [
        json.dumps({"id": 1, "error_type": "ResourceExhaustion"})
    ]


def test_classify_errors_names_the_bad_line(tmp_path: Path):
    path = tmp_path / "errors.jsonl"
    path.write_text('{"message": "ok"}\n{"msg": "no message key"}\n')
    with pytest.raises(CommandError, match=r"errors.jsonl:2: each line needs a string 'message'"):
        run("classify_errors", str(path))


@pytest.mark.django_db
def test_ingest_file_runs_the_webhook_pipeline_and_prints_its_answer():
    path = str(LOCAL_PAYLOADS / "adf_failure.json")

    first = json.loads(run("ingest_file", "adf", path)[0])
    again = json.loads(run("ingest_file", "adf", path)[0])

    assert first["outcome"] == "created"
    assert (again["outcome"], again["ticket_id"]) == ("duplicate", first["ticket_id"])
    assert Ticket.objects.filter(pk=first["ticket_id"]).exists()


@pytest.mark.django_db
def test_ingest_file_rejects_a_bad_body_with_the_reason(tmp_path: Path):
    path = tmp_path / "bad.json"
    path.write_text('{"pipeline": "p"}')
    with pytest.raises(CommandError, match="rejected: missing required field 'run_id'"):
        run("ingest_file", "adf", str(path))
    assert Ticket.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("content", [b"", b" \n"])
def test_ingest_file_names_an_empty_file(tmp_path: Path, content: bytes):
    path = tmp_path / "failure.json"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=r"failure.json is empty: it should hold the webhook's"):
        run("ingest_file", "adf", str(path))
    assert not WebhookDelivery.objects.exists()


@pytest.mark.django_db
def test_ingest_file_refuses_a_body_the_webhook_would_refuse(tmp_path: Path, settings):
    settings.WEBHOOK_MAX_BODY_BYTES = 100
    path = tmp_path / "big.json"
    path.write_bytes((LOCAL_PAYLOADS / "adf_failure.json").read_bytes())
    size = path.stat().st_size
    with pytest.raises(
        CommandError, match=rf"big.json: {size} bytes, larger than WEBHOOK_MAX_BODY_BYTES \(100\)"
    ):
        run("ingest_file", "adf", str(path))
    assert not Ticket.objects.exists() and not WebhookDelivery.objects.exists()


@pytest.mark.parametrize("command", ["classify_errors", "rca_specificity"])
def test_the_analysis_commands_name_a_file_that_is_not_utf8_or_empty(tmp_path: Path, command):
    binary, empty = tmp_path / "bin.log", tmp_path / "empty.jsonl"
    binary.write_bytes(b'{"id": "a", "message": "\xff\xfe"}\n')
    empty.write_text("\n\n")
    with pytest.raises(CommandError, match=r"bin.log: not UTF-8 text \(byte 24\)"):
        run(command, str(binary))
    with pytest.raises(CommandError, match=r"empty.jsonl: no lines to read"):
        run(command, str(empty))


def test_reembed_tickets_refuses_a_batch_size_that_is_not_positive():
    for size in ("0", "-5", "abc"):
        with pytest.raises(
            CommandError, match=f"--batch-size: a positive whole number, not '{size}'"
        ):
            run("reembed_tickets", "--batch-size", size)


def test_ingest_file_lists_its_sources_by_name():
    with pytest.raises(CommandError) as refused:
        run("ingest_file", "bogus", "x.json")
    assert "choose from 'adf', 'airflow'" in str(refused.value)
    assert "Source." not in str(refused.value)


def test_a_gemini_embedding_backend_without_a_key_stops_the_service_naming_both():
    launcher = subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ.setdefault("
            "'DJANGO_SETTINGS_MODULE', 'rca_project.settings'); django.setup()",
        ],
        env={**os.environ, "EMBEDDING_BACKEND": "gemini", "GEMINI_API_KEY": ""},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert launcher.returncode != 0
    assert "ImproperlyConfigured: EMBEDDING_BACKEND=gemini needs GEMINI_API_KEY" in (
        launcher.stderr
    )


def test_make_demo_posts_where_make_run_serves_with_the_same_variables():
    """`RCA_PORT=18600 make run` then `RCA_PORT=18600 make demo`: the demo follows the port."""
    with socket.socket() as sock:  # a port nothing listens on once this socket is closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if k not in ("RCA_URL", "RCA_HOST")}
    demo = subprocess.run(
        [sys.executable, "bench/post_samples.py"],
        cwd=Path(__file__).resolve().parent.parent,
        env={**env, "RCA_PORT": str(port), "WEBHOOK_TOKEN": "not-a-token"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert demo.returncode == 1
    assert f"cannot reach http://127.0.0.1:{port}" in demo.stdout


def test_make_demo_without_a_token_says_which_one_it_lacks(tmp_path):
    """`WEBHOOK_TOKEN=… make run` writes no token file, and a demo run without that variable
    (or with another RCA_VAR_DIR) ended in a FileNotFoundError traceback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_TOKEN")}
    demo = subprocess.run(
        [sys.executable, "bench/post_samples.py"],
        cwd=Path(__file__).resolve().parent.parent,
        env={**env, "RCA_VAR_DIR": str(tmp_path), "RCA_URL": "http://127.0.0.1:9"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert demo.returncode == 1
    assert "Traceback" not in demo.stderr
    assert demo.stdout.strip() == (
        f"no webhook token to send: WEBHOOK_TOKEN is not set and {tmp_path / 'webhook_token'}"
        " does not exist (`make run` writes it at its first start, unless it was given"
        " WEBHOOK_TOKEN): run `make demo` with the WEBHOOK_TOKEN and RCA_VAR_DIR that"
        " `make run` was given"
    )


@pytest.mark.django_db(transaction=True)
def test_make_demo_posts_each_source_its_own_token_when_make_run_was_given_one(
    live_server, settings
):
    """`WEBHOOK_TOKEN_AIRFLOW=… make run` refuses the shared token on /webhooks/airflow/; the
    demo, given the same variables, sent the shared one there (two 401s) and still exited 0."""
    settings.WEBHOOK_TOKEN = "demo-shared-token-2c7e"
    settings.WEBHOOK_SOURCE_TOKENS = {"airflow": "demo-airflow-token-8d41"}
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEBHOOK_TOKEN")}

    def demo(**tokens: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "bench/post_samples.py"],
            cwd=Path(__file__).resolve().parent.parent,
            env={**env, "RCA_URL": live_server.url, **tokens},
            capture_output=True,
            text=True,
            timeout=120,
        )

    posted = demo(
        WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN, WEBHOOK_TOKEN_AIRFLOW="demo-airflow-token-8d41"
    )

    assert posted.returncode == 0, posted.stdout + posted.stderr
    answers = posted.stdout.splitlines()
    assert len(answers) == 7 and all(line.startswith("202 ") for line in answers), answers
    assert set(Ticket.objects.values_list("source", flat=True)) >= {"airflow", "adf"}

    refused = demo(WEBHOOK_TOKEN=settings.WEBHOOK_TOKEN)

    assert refused.returncode == 1
    assert [line[:3] for line in refused.stdout.splitlines() if " airflow " in line] == ["401"] * 2
    assert "2 of 7 samples refused" in refused.stdout
    # What to do about it, once per source (it printed the 401s alone).
    assert refused.stdout.splitlines()[-1] == (
        "/webhooks/airflow/ refused the token this demo sent it (WEBHOOK_TOKEN): run `make demo`"
        " with the WEBHOOK_TOKEN, WEBHOOK_TOKEN_AIRFLOW and RCA_VAR_DIR that `make run` was given"
    )


@pytest.mark.django_db
def test_a_migrate_waits_for_another_one_on_the_same_database_to_finish():
    """Two migrates at once on an empty database: one failed half-way on a duplicate table
    (reproduced with two `make run` sets starting together)."""
    import psycopg

    from tickets.management.commands.migrate import MIGRATE_LOCK

    url = database_url_for_tests()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "rca_project.settings", "DATABASE_URL": url}
    with psycopg.connect(url, autocommit=True) as other_migrate:
        other_migrate.execute("SELECT pg_advisory_lock(%s)", [MIGRATE_LOCK])
        migrate = subprocess.Popen(
            [sys.executable, "manage.py", "migrate", "--noinput"],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        try:
            waiting = False
            for _ in range(300):
                # It tries the lock now and then (tickets/management/commands/migrate.py).
                waiting = other_migrate.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND query ILIKE %s",
                    ["%pg_try_advisory_lock(%"],
                ).fetchone() == (1,)
                if waiting or migrate.poll() is not None:
                    break
                time.sleep(0.1)
            assert waiting, "migrate did not wait for the other one"
            assert migrate.poll() is None
        finally:
            other_migrate.execute("SELECT pg_advisory_unlock(%s)", [MIGRATE_LOCK])
        output, _ = migrate.communicate(timeout=120)
    assert migrate.returncode == 0, output.decode()


@contextlib.contextmanager
def fresh_database() -> Iterator[tuple[str, Callable[..., subprocess.Popen[bytes]]]]:
    """An empty database on the test server: its URL, and a function starting a `manage.py
    migrate` of it with the arguments given. Dropped after."""
    import uuid

    from django.db import connection

    name = f"migrate_{uuid.uuid4().hex[:8]}"
    with connection.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    url = database_url_for_tests().replace(f"/{connection.settings_dict['NAME']}", f"/{name}", 1)
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "rca_project.settings", "DATABASE_URL": url}

    def migrate(*args: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "manage.py", "migrate", "--noinput", *args],
            cwd=Path(__file__).resolve().parent.parent,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )

    try:
        yield url, migrate
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def migrated(process: subprocess.Popen[bytes], timeout: float = 300) -> str:
    output, _ = process.communicate(timeout=timeout)
    assert process.returncode == 0, output.decode()
    return output.decode()


@pytest.mark.django_db(transaction=True)
def test_a_migrate_waiting_for_another_does_not_deadlock_its_concurrent_index_build():
    """tickets/0031 builds its index CONCURRENTLY, which waits for every transaction holding a
    snapshot older than its own: a second migrate blocked in pg_advisory_lock was one, waiting
    in turn for the lock the first migrate held, and PostgreSQL ended one of them with
    'deadlock detected' (reproduced with two migrates on a database at tickets 0030)."""
    import psycopg

    with fresh_database() as (url, migrate):
        migrated(migrate("tickets", "0030"))
        with psycopg.connect(url, autocommit=True) as watcher, psycopg.connect(url) as writer:
            # A writer's open transaction holds the index build at its first wait, so the
            # second migrate is surely waiting before the build takes its snapshots.
            writer.execute("LOCK TABLE tickets_occurrence IN ROW EXCLUSIVE MODE")

            def sessions(query: str) -> int:
                (count,) = watcher.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                    " AND query ILIKE %s",
                    [query],
                ).fetchone() or (0,)
                return int(count)

            first = migrate("tickets", "0031")
            second = migrate()
            try:
                wait_for(lambda: sessions("%CREATE INDEX CONCURRENTLY%"), timeout=120)
                wait_for(lambda: sessions("%advisory_lock(%"), timeout=120)
                writer.commit()
                migrated(first, timeout=120)
                migrated(second)
            finally:
                for process in (first, second):
                    if process.poll() is None:
                        process.kill()
                        process.wait()


def interrupt_index_build(
    url: str,
    start_migrate,
    table: str,
    index: str,
    *,
    statement: str = "CREATE INDEX CONCURRENTLY",
    hold: str = "LOCK TABLE {table} IN ROW EXCLUSIVE MODE",
) -> None:
    """Start a migrate (`start_migrate`) while a transaction holds `table` (a write, or `hold`:
    a read, which a DROP INDEX CONCURRENTLY waits for), and cancel its `statement` (of
    `index`, or any) as it waits: the migrate fails, leaving the index behind invalid (or the
    old one not dropped), as a cancel, a statement timeout or a stopped container do. The
    cancel waits until the statement is blocked on that transaction (a lock wait): seen in
    pg_stat_activity earlier, before a CREATE INDEX CONCURRENTLY has committed its catalog
    entry, a cancel leaves no index behind at all (a loaded CI run did)."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as watcher, psycopg.connect(url) as writer:
        writer.execute(hold.format(table=table))
        interrupted = start_migrate()
        try:
            build = wait_for(
                lambda: watcher.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                    " AND query ILIKE %s AND wait_event_type = 'Lock'",
                    [f"%{statement}%{index}%"],
                ).fetchone(),
                timeout=120,
            )
            watcher.execute("SELECT pg_cancel_backend(%s)", build)
            output, _ = interrupted.communicate(timeout=120)
        finally:
            if interrupted.poll() is None:
                interrupted.kill()
                interrupted.wait()
        writer.rollback()
    assert interrupted.returncode != 0
    assert "canceling statement" in output.decode()


@pytest.mark.django_db(transaction=True)
def test_a_migrate_after_an_interrupted_concurrent_index_build_completes_it():
    """A CREATE INDEX CONCURRENTLY that is interrupted (a cancel, a statement timeout, a
    deadlock, the migrate's container stopped) leaves its index behind, invalid: the next
    migrate failed on 'relation "occurrence_regressed" already exists', every time."""
    import psycopg

    with fresh_database() as (url, migrate):
        migrated(migrate("tickets", "0030"))
        interrupt_index_build(url, lambda: migrate("tickets", "0031"), "tickets_occurrence", "")

        migrated(migrate())

        with psycopg.connect(url) as database:
            assert database.execute(
                "SELECT indisvalid FROM pg_index"
                " WHERE indexrelid = 'occurrence_regressed'::regclass"
            ).fetchone() == (True,)
        # Back and forth again: the index goes with the migration, and comes back.
        migrated(migrate("tickets", "0030"))
        with psycopg.connect(url) as database:
            assert database.execute("SELECT to_regclass('occurrence_regressed')").fetchone() == (
                None,
            )
        migrated(migrate())


@pytest.mark.django_db(transaction=True)
def test_the_held_deliveries_index_is_built_while_deliveries_are_written():
    """integrations/0019 builds `outbound_held` on the outbound deliveries, a table every ticket
    change writes to. A plain CREATE INDEX waits for the transactions writing it and, queued
    behind them, makes every new write wait until it is built: a change of any ticket stalled
    for the length of the build."""
    import psycopg

    table = "integrations_outbounddelivery"
    with fresh_database() as (url, migrate):
        migrated(migrate("integrations", "0018"))
        with psycopg.connect(url, autocommit=True) as watcher, psycopg.connect(url) as writer:
            writer.execute(f"LOCK TABLE {table} IN ROW EXCLUSIVE MODE")  # a change under way
            build = migrate("integrations", "0019")
            try:
                wait_for(
                    lambda: watcher.execute(
                        "SELECT 1 FROM pg_stat_activity WHERE datname = current_database()"
                        " AND query ILIKE %s AND wait_event_type = 'Lock'",
                        ["%CREATE INDEX%outbound_held%"],
                    ).fetchone(),
                    timeout=120,
                )
                with psycopg.connect(url) as another:
                    another.execute("SET lock_timeout = '3s'")
                    another.execute(
                        f"INSERT INTO {table} (key, ticket_id, target, action, payload, status,"
                        " attempts, last_error, created_at, next_attempt_at)"
                        " VALUES ('k', 't', 'jira', 'jira_comment', '{}', 'pending', 0, '',"
                        " now(), now())"
                    )
                    another.rollback()
                writer.commit()
                migrated(build, timeout=120)
            finally:
                if build.poll() is None:
                    build.kill()
                    build.wait()
        with psycopg.connect(url) as database:
            assert database.execute(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = 'outbound_held'::regclass"
            ).fetchone() == (True,)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("app", "before", "after", "table", "index"),
    [
        # On the outbound deliveries, which every ticket change writes.
        ("integrations", "0021", "0022", "integrations_outbounddelivery", "outbound_mergeable"),
        ("integrations", "0023", "0024", "integrations_outbounddelivery", "outbound_not_follow_up"),
        # On the tickets, which every webhook writes.
        ("tickets", "0045", "0046", "tickets_ticket", "ticket_azure_ungrouped_alert"),
        ("tickets", "0049", "0050", "tickets_ticket", "ticket_last_seen_moved"),
        ("tickets", "0050", "0051", "tickets_ticket", "ticket_counted_again"),
        ("tickets", "0051", "0052", "tickets_ticket", "ticket_databricks_refetch"),
        ("tickets", "0054", "0055", "tickets_ticket", "ticket_stats_period_v3"),
        ("tickets", "0057", "0058", "tickets_ticket", "ticket_stats_period_v4"),
        ("tickets", "0058", "0059", "tickets_ticket", "ticket_urgency_v2"),
        ("tickets", "0060", "0061", "tickets_ticket", "ticket_triggered_job_run"),
    ],
)
def test_an_index_built_concurrently_is_built_again_after_an_interrupted_build(
    app, before, after, table, index
):
    """A concurrent build interrupted while a write held it up leaves an invalid index, which
    the next migrate drops and builds again; migrating back drops it."""
    import psycopg

    def validity(url: str) -> tuple[bool] | None:
        with psycopg.connect(url) as database:
            return database.execute(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [index]
            ).fetchone()

    with fresh_database() as (url, migrate):
        migrated(migrate(app, before))
        interrupt_index_build(url, lambda: migrate(app, after), table, index)
        assert validity(url) == (False,)

        # Migrated to the one that builds it (a later one may replace it: 0058 does v3).
        migrated(migrate(app, after))
        assert validity(url) == (True,)

        migrated(migrate(app, before))
        assert validity(url) is None


@pytest.mark.django_db(transaction=True)
def test_the_occurrences_by_time_index_replaces_the_ticket_index_after_an_interrupted_build():
    """tickets/0043 builds `occurrence_ticket_seen` concurrently on a table every webhook
    writes to, then drops `occurrence_ticket`: a build interrupted while a webhook's write
    held it up leaves an invalid index the next migrate drops and builds again, and the
    ticket's look-ups are never without an index (the old one goes once the new is valid)."""
    import psycopg

    with fresh_database() as (url, migrate):
        migrated(migrate("tickets", "0042"))
        interrupt_index_build(
            url, lambda: migrate("tickets", "0043"), "tickets_occurrence", "occurrence_ticket_seen"
        )
        with psycopg.connect(url) as database:
            assert database.execute(
                "SELECT to_regclass('occurrence_ticket') IS NOT NULL"
            ).fetchone() == (True,)

        migrated(migrate())

        with psycopg.connect(url) as database:
            assert database.execute(
                "SELECT indisvalid FROM pg_index"
                " WHERE indexrelid = 'occurrence_ticket_seen'::regclass"
            ).fetchone() == (True,)
            assert database.execute("SELECT to_regclass('occurrence_ticket')").fetchone() == (None,)
        migrated(migrate("tickets", "0042"))
        with psycopg.connect(url) as database:
            assert database.execute(
                "SELECT to_regclass('occurrence_ticket') IS NOT NULL,"
                " to_regclass('occurrence_ticket_seen')"
            ).fetchone() == (True, None)


@pytest.mark.django_db(transaction=True)
def test_a_migrate_interrupted_as_it_drops_the_replaced_occurrence_index_completes_next_time():
    """tickets/0043's last step, DROP INDEX CONCURRENTLY of `occurrence_ticket`, waits for
    every transaction that has read the table (a reader an index build does not wait for).
    Interrupted there (a cancel, a statement timeout, the migrate stopped), the new index is
    built and valid but the migration is not recorded: the next migrate built it again and
    failed on 'relation "occurrence_ticket_seen" already exists', every time."""
    import psycopg

    with fresh_database() as (url, migrate):
        migrated(migrate("tickets", "0042"))
        interrupt_index_build(
            url,
            lambda: migrate("tickets", "0043"),
            "tickets_occurrence",
            "occurrence_ticket",
            statement="DROP INDEX CONCURRENTLY",
            hold="SELECT 1 FROM {table} LIMIT 1",
        )

        migrated(migrate())

        with psycopg.connect(url) as database:
            assert database.execute(
                "SELECT indisvalid FROM pg_index"
                " WHERE indexrelid = 'occurrence_ticket_seen'::regclass"
            ).fetchone() == (True,)
            assert database.execute("SELECT to_regclass('occurrence_ticket')").fetchone() == (None,)


@pytest.mark.django_db(transaction=True)
def test_going_back_from_0059_interrupted_as_it_drops_the_new_urgency_index_completes_next_time():
    """Migrating back from tickets/0059 builds `ticket_urgency` again, then drops
    `ticket_urgency_v2` concurrently, which waits for every transaction that has read the
    table. Interrupted there, the old index is built and valid but 0059 still recorded: the
    next `migrate tickets 0058` built it again and failed on 'relation "ticket_urgency"
    already exists', every time."""
    import psycopg

    with fresh_database() as (url, migrate):
        migrated(migrate("tickets", "0059"))
        interrupt_index_build(
            url,
            lambda: migrate("tickets", "0058"),
            "tickets_ticket",
            "ticket_urgency_v2",
            statement="DROP INDEX CONCURRENTLY",
            hold="SELECT 1 FROM {table} LIMIT 1",
        )

        migrated(migrate("tickets", "0058"))

        with psycopg.connect(url) as database:
            assert database.execute(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = 'ticket_urgency'::regclass"
            ).fetchone() == (True,)
            assert database.execute("SELECT to_regclass('ticket_urgency_v2')").fetchone() == (None,)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("before", "after", "old", "new"),
    [
        ("0054", "0055", "ticket_stats_period_v2", "ticket_stats_period_v3"),
        ("0057", "0058", "ticket_stats_period_v3", "ticket_stats_period_v4"),
        # Not a stats index: the default order's, rebuilt so from 0059 back to 0058.
        ("0058", "0059", "ticket_urgency", "ticket_urgency_v2"),
    ],
)
def test_going_back_before_a_stats_index_builds_the_old_one_again_after_an_interrupted_build(
    before, after, old, new
):
    """Migrating back from tickets/0055 (0058) builds `ticket_stats_period_v2` (v3) again,
    concurrently, then drops the new one. That build interrupted (a webhook's write held it up,
    and the migrate was stopped) left an invalid old index which the next `migrate tickets
    0054` kept (CREATE INDEX ... IF NOT EXISTS) before dropping the new one: the release before
    ran with no valid stats index, its stats and admin counts reading every ticket of the
    period from the heap."""
    import psycopg

    def validity(url: str, index: str) -> tuple[bool] | None:
        with psycopg.connect(url) as database:
            return database.execute(
                "SELECT indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)", [index]
            ).fetchone()

    with fresh_database() as (url, migrate):
        migrated(migrate("tickets", after))
        interrupt_index_build(url, lambda: migrate("tickets", before), "tickets_ticket", old)
        assert validity(url, old) == (False,)

        migrated(migrate("tickets", before))
        assert validity(url, old) == (True,)
        assert validity(url, new) is None

        migrated(migrate("tickets", after))
        assert validity(url, new) == (True,)
        assert validity(url, old) is None
