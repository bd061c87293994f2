"""Similar incidents with real embeddings (the local model) in pgvector."""

from __future__ import annotations

import contextlib
import json
import random
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction

from analysis import services
from analysis.classifier import classify_error
from analysis.embeddings import MAX_TEXT_CHARS, failure_text, local_backend
from analysis.similar import similar_tickets, similar_tickets_many
from integrations.ingest import ingest_delivery
from tests.analysis import failure_tracebacks as tracebacks
from tests.conftest import local_payload
from tests.fakes.gemini_api import FakeGemini
from tickets import lifecycle
from tickets.lifecycle import Actor
from tickets.models import (
    EMBEDDING_DIMENSIONS,
    Resolution,
    Ticket,
    iterative_scans_supported,
)
from tickets.resolutions import previous_fixes

pytestmark = pytest.mark.django_db

KINDS = {
    "memory": [
        "java.lang.OutOfMemoryError: Java heap space at org.apache.spark.sql.execution",
        "ExecutorLostFailure: Container killed by YARN for exceeding memory limits. 12.4 GB of "
        "12 GB physical memory used. Consider boosting spark.yarn.executor.memoryOverhead",
        "The spark driver has stopped unexpectedly and is restarting: java.lang.OutOfMemoryError:"
        " GC overhead limit exceeded",
    ],
    "auth": [
        "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the "
        "request is the client secret value, not the client secret ID",
        "Login failed for user 'etl_reader'. Reason: Password did not match that for the login",
        "Failed to get access token by using service principal. AADSTS700016: Application "
        "with identifier was not found in the directory",
    ],
    "schema": [
        "AnalysisException: cannot resolve 'customer_id' given input columns: [id, name, email]",
        "A schema mismatch detected when writing to the Delta table. To enable schema migration "
        "set mergeSchema to true",
        "Column 'order_total' of type decimal(18,2) cannot be converted to int: schema mismatch",
    ],
}


def ticket_for(message: str) -> Ticket:
    body = local_payload("adf_failure.json")
    body.update(
        run_id=str(uuid.uuid4()), pipeline=f"pl_{uuid.uuid4().hex[:8]}", error_message=message
    )
    ticket_id = ingest_delivery("adf", json.dumps(body).encode()).ticket_id
    assert ticket_id is not None
    services.analyse_ticket(ticket_id)
    return Ticket.objects.get(pk=ticket_id)


@pytest.fixture
def corpus(settings) -> dict[str, list[Ticket]]:
    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"
    return {kind: [ticket_for(m) for m in messages] for kind, messages in KINDS.items()}


@pytest.mark.parametrize(
    "kind, message",
    [
        (
            "memory",
            "org.apache.spark.SparkException: Job aborted: java.lang.OutOfMemoryError: "
            "Java heap space in stage 4",
        ),
        ("auth", "AADSTS7000222: The provided client secret keys for app are expired"),
        ("schema", "AnalysisException: cannot resolve 'order_date' given input columns: [id]"),
    ],
)
def test_tickets_of_the_same_failure_kind_rank_first(corpus, kind, message):
    ticket = ticket_for(message)

    ranked = similar_tickets(ticket, k=5, min_similarity=0.0)

    same_kind = {t.pk for t in corpus[kind]}
    assert ticket.embedding_model.startswith("wordllama")
    assert ranked[0][0].pk in same_kind
    top3 = [t.pk for t, _ in ranked[:3]]
    assert sum(pk in same_kind for pk in top3) >= 2
    scores = [score for _, score in ranked]
    assert scores == sorted(scores, reverse=True)


def test_the_floor_keeps_unrelated_tickets_out(corpus):
    ticket = ticket_for("java.lang.OutOfMemoryError: Java heap space")
    above = similar_tickets(ticket, k=5, min_similarity=0.99)
    assert all(score >= 0.99 for _, score in above)
    assert len(above) < len(similar_tickets(ticket, k=5, min_similarity=0.0))


def test_vectors_of_another_model_are_never_compared(corpus):
    ticket = ticket_for("java.lang.OutOfMemoryError: Java heap space")
    Ticket.objects.exclude(pk=ticket.pk).update(embedding_model="gemini-gemini-embedding-001-256")
    assert similar_tickets(ticket, k=5, min_similarity=0.0) == []


def test_reembed_command_gives_every_ticket_a_vector_of_the_current_model(corpus):
    Ticket.objects.update(embedding=None, embedding_model="")
    out = StringIO()

    call_command("reembed_tickets", stdout=out, stderr=StringIO())

    assert not Ticket.objects.filter(embedding__isnull=True).exists()
    assert set(Ticket.objects.values_list("embedding_model", flat=True)) == {
        "wordllama-l2_supercat-256"
    }
    assert "9 tickets" in out.getvalue()


def test_the_batch_query_finds_what_one_query_per_ticket_finds(corpus):
    """The batch analysis looks up every ticket's similar tickets in one query: the same
    tickets, in the same order, with the same scores as one look-up each."""
    from analysis.similar import similar_tickets_many

    tickets = [t for kind in corpus.values() for t in kind]
    together = similar_tickets_many(tickets, k=3, min_similarity=0.3)
    assert any(together.values())
    for ticket in tickets:
        alone = similar_tickets(ticket, k=3, min_similarity=0.3)
        assert [(t.pk, round(s, 6)) for t, s in together[ticket.pk]] == [
            (t.pk, round(s, 6)) for t, s in alone
        ]


def test_the_batch_query_reads_each_tickets_neighbours_from_the_hnsw_index(corpus):
    """Each query vector is typed once (not cast again for every ticket compared), and the
    HNSW index serves each look-up under the setting the analysis runs it with."""
    from analysis.similar import nearest_many_query

    tickets = [t for kind in corpus.values() for t in kind]
    sql, params = nearest_many_query(tickets, 10)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())

    assert "Index Scan using ticket_embedding_hnsw" in plan, plan
    assert "Order By: (embedding <=> q.vector)" in plan, plan


def test_the_batch_look_up_leaves_the_callers_transaction_planning_as_before(corpus):
    from analysis.similar import similar_tickets_many

    tickets = [t for kind in corpus.values() for t in kind]
    with transaction.atomic(), connection.cursor() as cursor:
        assert any(similar_tickets_many(tickets, k=3, min_similarity=0.3).values())
        cursor.execute("SHOW enable_seqscan")
        assert cursor.fetchone()[0] == "on"


# --- Airflow tracebacks: the cause, not the frames ---------------------------------------------

REFUSED_FIX = "Restarted the warehouse's PostgreSQL after its data disk filled up; added an alert."


def airflow_ticket(dag: str, task: str, exception: str, exception_type: str) -> Ticket:
    body = local_payload("airflow_failure.json")
    body.update(
        dag_id=dag,
        task_id=task,
        run_id=f"scheduled__{uuid.uuid4()}",
        state="failed",
        exception=exception,
        exception_type=exception_type,
    )
    ticket_id = ingest_delivery("airflow", json.dumps(body).encode()).ticket_id
    assert ticket_id is not None
    services.analyse_ticket(ticket_id)
    return Ticket.objects.get(pk=ticket_id)


def resolved_refused_connection() -> Ticket:
    ticket = airflow_ticket(
        "hr_workday_sync", "load_workers", tracebacks.postgres_refused(), "OperationalError"
    )
    lifecycle.resolve(ticket.pk, Actor.system("test"), fix=REFUSED_FIX)
    return ticket


def test_a_ticket_is_found_past_the_index_entries_of_rolled_back_tickets_nearer_to_it(settings):
    """Tests roll back their tickets and fixes, whose entries stay in the HNSW indexes until a
    vacuum (as a deleted ticket's do): when the scan's first `hnsw.ef_search` (40) entries were
    all of those, the one stored ticket and fix were not found. The batch look-up always scans
    the index; one alone does when the planner prices it below reading the table."""
    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"
    refused = resolved_refused_connection()
    ticket = airflow_ticket(
        "hr_workday_sync", "load_workers", tracebacks.pandas_parse_error(), "ParserError"
    )
    assert ticket.embedding is not None
    with contextlib.suppress(RuntimeError), transaction.atomic():
        copies = []
        noise = random.Random(0)
        for n in range(100):
            copy = Ticket.objects.get(pk=ticket.pk)
            copy.pk = copy.run_id = copy.fingerprint = f"rolled-back-{n}"
            # Apart: the index keeps equal vectors as one entry.
            copy.embedding = [v + noise.gauss(0, 0.02) for v in ticket.embedding]
            copy.incident = None
            copies.append(copy)
        Ticket.objects.bulk_create(copies)
        Resolution.objects.bulk_create(
            Resolution(
                ticket=copy,
                fix="rolled back",
                resolved_by="test",
                actor_kind="system",
                fingerprint=copy.fingerprint,
                embedding=copy.embedding,
                embedding_model=ticket.embedding_model,
            )
            for copy in copies
        )
        raise RuntimeError("rolled back")

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        alone = similar_tickets(ticket, min_similarity=0.0)
        together = similar_tickets_many([ticket], min_similarity=0.0)[ticket.pk]
        fixes = previous_fixes(ticket, min_similarity=0.0)

    assert [t.pk for t, _ in alone] == [t.pk for t, _ in together] == [refused.pk]
    assert [fix.ticket_id for fix in fixes] == [refused.pk]


def test_the_search_puts_back_the_callers_own_index_scan_setting(settings):
    """The search's iterative scan is the search's own: a caller that set another keeps it
    (the reset used to put the default back, whatever the caller had)."""
    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"
    resolved_refused_connection()
    ticket = airflow_ticket(
        "hr_workday_sync", "load_workers", tracebacks.pandas_parse_error(), "ParserError"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL hnsw.iterative_scan = relaxed_order")
        similar_tickets(ticket, min_similarity=0.0)
        similar_tickets_many([ticket], min_similarity=0.0)
        previous_fixes(ticket, min_similarity=0.0)
        cursor.execute("SELECT current_setting('hnsw.iterative_scan')")
        assert cursor.fetchone()[0] == "relaxed_order"


@pytest.mark.parametrize(
    ("version", "supported"),
    [("0.7.4", False), ("0.5.1", False), ("0.8.0", True), ("0.8.6", True), ("0.10.1", True)],
)
def test_iterative_scans_are_asked_of_a_pgvector_that_has_them(version, supported):
    assert iterative_scans_supported(version) is supported


@pytest.mark.parametrize(
    ("exception", "exception_type"),
    [
        (tracebacks.workday_503(), "HTTPError"),
        (tracebacks.pandas_parse_error(), "ParserError"),
    ],
    ids=["http-503", "csv-parse-error"],
)
def test_an_airflow_failure_of_another_cause_under_the_same_frames_is_not_similar(
    settings, exception, exception_type
):
    """The user trial: embedded whole, these tracebacks are mostly the same task-SDK frames, and
    a Workday 503 was shown a refused connection's fix (the whole texts score 0.97 and 0.92)."""
    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"
    refused = resolved_refused_connection()

    ticket = airflow_ticket("hr_workday_sync", "load_workers", exception, exception_type)

    scores = {other.pk: score for other, score in similar_tickets(ticket, min_similarity=0.0)}
    assert scores[refused.pk] < settings.SIMILARITY_FLOOR
    assert previous_fixes(ticket) == []
    assert "previous_fixes" not in ticket.details


@pytest.mark.parametrize(
    "exception",
    [
        tracebacks.postgres_refused(
            "10.0.4.17",
            dag_file="/opt/airflow/dags/sales/orders_daily.py",
            line=112,
            function="extract_orders",
            through_hook=False,
            site=tracebacks.OTHER_SITE,
            release=tracebacks.RELEASE_3_1,
        ),
        tracebacks.sqlalchemy_refused(),
    ],
    ids=["other-dag-and-release", "through-sqlalchemy"],
)
def test_the_same_cause_under_other_frames_and_line_numbers_still_finds_its_fix(
    settings, exception
):
    """Another DAG (so another fingerprint), another Airflow release's line numbers, another
    address, the driver called directly or through SQLAlchemy's pool: the same refused
    connection, found by its embedding."""
    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"
    refused = resolved_refused_connection()

    ticket = airflow_ticket("sales_orders_daily", "extract_orders", exception, "OperationalError")

    assert ticket.fingerprint != refused.fingerprint
    fixes = previous_fixes(ticket)
    assert [(fix.ticket_id, fix.fix, fix.same_failure) for fix in fixes] == [
        (refused.pk, REFUSED_FIX, False)
    ]
    assert fixes[0].similarity >= settings.SIMILARITY_FLOOR
    assert ticket.details["previous_fixes"][0]["fix"] == REFUSED_FIX


LOGIN_FAILED = (
    "Login failed for user 'etl_writer'. ClientConnectionId:6b1c0e0a-3f3e-4c1e-9a43-1b2f9c1d2e3f"
)


def local_similarity(first: str, second: str) -> float:
    texts = [failure_text(classify_error(m).error_type, m) for m in (first, second)]
    a, b = local_backend().embed(texts)
    return sum(x * y for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    "other",
    [
        "Cannot insert duplicate key row in object 'dbo.orders' with unique index"
        " 'ux_orders_order_id'. The duplicate key value is (884213).",
        "The TCP/IP connection to the host sql-prod.database.windows.net, port 1433 has failed."
        ' Error: "connect timed out. Verify the connection properties."',
    ],
    ids=["duplicate-key", "connect-timeout"],
)
def test_databricks_failures_of_other_causes_under_the_same_py4j_frames_are_not_similar(
    settings, other
):
    """Whole, these notebook traces (IPython's frames of a py4j call, then the JVM's) scored
    0.996 and 0.997 against a failed login."""
    login = tracebacks.databricks_jdbc_write(LOGIN_FAILED)

    assert local_similarity(login, tracebacks.databricks_jdbc_write(other)) < (
        settings.SIMILARITY_FLOOR
    )


def test_the_same_databricks_failure_in_another_cell_and_runtime_is_similar(settings):
    login = tracebacks.databricks_jdbc_write(LOGIN_FAILED)
    again = tracebacks.databricks_jdbc_write(
        "Login failed for user 'etl_writer'. ClientConnectionId:0f9e8d7c-1a2b-4c3d-8e9f-"
        "a1b2c3d4e5f6",
        cell_line=7,
        jdbc_line=71,
        commands_line=85,
    )

    assert local_similarity(login, again) >= settings.SIMILARITY_FLOOR


HEAP_FIX = "Moved the job to a memory-optimised node type (E8ds_v5) and cut the partitions"


@pytest.mark.parametrize(
    "cause",
    [
        "java.io.FileNotFoundException: dbfs:/mnt/raw/sales/2025/part-0001.parquet does not exist",
        "java.util.concurrent.TimeoutException: Futures timed out after [300 seconds]",
    ],
    ids=["file-not-found", "futures-timeout"],
)
def test_spark_failures_of_other_causes_under_the_same_stage_failure_are_not_similar(
    settings, cause
):
    """Every failed Spark task is reported as "Job aborted due to stage failure: Task 3 in
    stage 12.0 failed 4 times, most recent failure: Lost task 3.3 ..." over the same driver
    frames: a missing file (0.84) and a timeout (0.80) were shown a heap exhaustion's fix."""
    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"
    heap = ticket_for(tracebacks.spark_stage_failure("java.lang.OutOfMemoryError: Java heap space"))
    lifecycle.resolve(heap.pk, Actor.system("test"), fix=HEAP_FIX)

    other = ticket_for(tracebacks.spark_stage_failure(cause))

    assert previous_fixes(other) == []
    # The heap running out again, in another stage, task and executor, still finds its fix.
    again = ticket_for(
        tracebacks.spark_stage_failure(
            "java.lang.OutOfMemoryError: Java heap space",
            task=7,
            stage="31.0",
            tid=988,
            host="10.139.64.9",
        )
    )
    assert [fix.fix for fix in previous_fixes(again)] == [HEAP_FIX]


def test_gemini_embeds_a_long_traceback_by_its_error_not_its_first_frames(settings):
    """Gemini reads the first 4,000 characters of the text: of a 9,000-character chained
    traceback those were frames only, the error past them."""
    with FakeGemini() as gemini:
        settings.GEMINI_API_KEY = "test-key-not-a-secret"
        settings.GEMINI_BASE_URL = gemini.url
        settings.EMBEDDING_BACKEND = "gemini"
        exception = tracebacks.sqlalchemy_refused()
        assert len(exception) > 2 * MAX_TEXT_CHARS

        ticket = airflow_ticket("finance_ledger", "extract_ledger", exception, "OperationalError")

        (request,) = gemini.requests_to(":batchEmbedContents")
    (text,) = [item["content"]["parts"][0]["text"] for item in request.body["requests"]]
    assert ticket.embedding_model == "gemini-gemini-embedding-001-256"
    assert text.startswith(
        f"{ticket.error_type}: OperationalError: connection to server at"
        ' "warehouse.internal" (10.0.4.12), port 5432 failed: Connection refused'
    )
    assert "sqlalchemy.exc.OperationalError" in text
    assert "File " not in text and "Traceback" not in text


def test_reembedding_carries_each_tickets_new_vector_to_the_fixes_recorded_on_it(settings):
    """A fix is found by the vector of its failure, stored with it when it was recorded: after
    a change of what is embedded, re-embedding the tickets alone left the fixes' old vectors,
    which new ones are compared with."""
    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"
    refused = resolved_refused_connection()
    stale = [1.0] + [0.0] * (EMBEDDING_DIMENSIONS - 1)
    Ticket.objects.filter(pk=refused.pk).update(embedding=stale)
    Resolution.objects.filter(ticket=refused).update(embedding=stale)

    call_command("reembed_tickets", stdout=StringIO(), stderr=StringIO())

    ticket = Ticket.objects.get(pk=refused.pk)
    resolution = Resolution.objects.get(ticket=refused)
    assert resolution.embedding is not None and ticket.embedding is not None
    assert list(resolution.embedding) == list(ticket.embedding) != stale
    assert resolution.embedding_model == ticket.embedding_model == "wordllama-l2_supercat-256"
