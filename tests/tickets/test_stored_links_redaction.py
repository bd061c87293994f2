"""Links and text stored before ingest redacted them, or redacted by older rules (tickets/0032,
integrations/0014; integrations/0015, tickets/0033 and its second run 0035)."""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.apps import apps
from django.db import connection, connections
from django.db.migrations.executor import MigrationExecutor

from integrations.models import WebhookDelivery
from tests.api import make_ticket

pytestmark = pytest.mark.django_db

TOKEN = "tok3nS3cretValue42"
SIGNATURE = "S1gN4tur3Value%3D"
TOKEN_LOG = f"https://airflow.local/log?dag_id=sales_daily&token={TOKEN}"
SAS_LOG = f"https://acct.blob.core.windows.net/logs/try2.txt?sv=2022-11-02&sr=b&sig={SIGNATURE}"
CLEAN_RUN = "https://adb-1.azuredatabricks.net/#job/7/run/42"


def test_ticket_links_stored_before_ingest_redacted_them_are_redacted():
    with_token = make_ticket(links={"log": TOKEN_LOG, "run": CLEAN_RUN})
    # A recurrence's log link (record_recurrence) replaced the ticket's first one.
    with_sas = make_ticket(links={"log": SAS_LOG})
    clean = make_ticket(links={"run": CLEAN_RUN})
    without = make_ticket()
    updated_at = {t.pk: t.updated_at for t in (clean, without)}

    migration = importlib.import_module("tickets.migrations.0032_redact_stored_links")
    migration.redact_ticket_links(apps, None)
    migration.redact_ticket_links(apps, None)  # a second run changes nothing more

    with_token.refresh_from_db()
    assert with_token.links == {
        "log": "https://airflow.local/log?dag_id=sales_daily&token=[REDACTED]",
        "run": CLEAN_RUN,
    }
    with_sas.refresh_from_db()
    assert with_sas.links == {"log": SAS_LOG.replace(SIGNATURE, "[REDACTED]")}
    for ticket in (clean, without):
        ticket.refresh_from_db()
        assert ticket.updated_at == updated_at[ticket.pk]
    assert clean.links == {"run": CLEAN_RUN} and without.links == {}


def test_inbox_events_stored_before_ingest_redacted_their_links_are_redacted():
    event = {"source": "airflow", "pipeline": "sales_daily", "error_message": "boom"}
    leaking = WebhookDelivery.objects.create(
        source="airflow", status="processed", event={**event, "links": {"log": SAS_LOG}}
    )
    clean = WebhookDelivery.objects.create(
        source="databricks", status="processed", event={**event, "links": {"run": CLEAN_RUN}}
    )
    rejected = WebhookDelivery.objects.create(source="adf", status="rejected", event={})

    migration = importlib.import_module("integrations.migrations.0014_redact_inbox_event_links")
    migration.redact_event_links(apps, None)
    migration.redact_event_links(apps, None)

    leaking.refresh_from_db()
    assert leaking.event == {**event, "links": {"log": SAS_LOG.replace(SIGNATURE, "[REDACTED]")}}
    clean.refresh_from_db()
    assert clean.event == {**event, "links": {"run": CLEAN_RUN}}
    rejected.refresh_from_db()
    assert rejected.event == {}


def test_inbox_rows_stored_before_a_newer_rule_are_redacted_by_it():
    """An upgrade from 3ef57aa: its inbox rows were redacted at ingest, but by the rules of
    then, which kept an Azure Functions key in a URL's query (`code=`); 0004 and 0014 had
    already run on that database, so the key stayed in the stored body and event."""
    key = "FnK3yS3cretValue42=="
    log = f"https://airflow.local/log?dag_id=sales_daily&token=[REDACTED]&code={key}"
    error = f"Web activity failed: POST https://fn.azurewebsites.net/api/load?code={key}: 500"
    body = json.dumps({"dag_id": "sales_daily", "log_url": log, "exception": error})
    event = {"source": "airflow", "error_message": error, "links": {"log": log}}
    leaking = WebhookDelivery.objects.create(
        source="airflow", status="processed", raw_body=body, event=event
    )
    clean_body = json.dumps({"dag_id": "sales_daily", "log_url": CLEAN_RUN})
    clean = WebhookDelivery.objects.create(
        source="airflow", status="processed", raw_body=clean_body, event={"links": {}}
    )

    migration = importlib.import_module("integrations.migrations.0015_redact_inbox_rows_again")
    migration.redact_inbox_rows(apps, None)
    migration.redact_inbox_rows(apps, None)  # a second run changes nothing more

    leaking.refresh_from_db()
    for stored in (leaking.raw_body, json.dumps(leaking.event)):
        assert key not in stored and "code=[REDACTED]" in stored
    assert json.loads(leaking.raw_body)["log_url"].endswith("&code=[REDACTED]")
    assert leaking.event["links"] == {"log": log.replace(key, "[REDACTED]")}
    clean.refresh_from_db()
    assert (clean.raw_body, clean.event) == (clean_body, {"links": {}})


def test_ticket_text_stored_before_a_newer_rule_is_redacted_by_it():
    """An upgrade from 3ef57aa: its tickets' error text was redacted at ingest by the rules of
    then, which kept an Azure Functions key in a URL's query (`code=`), and so did the
    analysis written from it."""
    key = "FnK3yS3cretValue42=="
    url = f"https://fn-etl.azurewebsites.net/api/load?code={key}"
    error = f"Operation on target Call_Loader failed: POST {url} returned 500"
    leaking = make_ticket(
        error_message=error,
        affected_entity={"activity": "Call_Loader", "endpoint": url},
        details={"error_code": "3608", "request": {"url": url}},
        rca_result=f"The function behind {url} failed.",
        recommendations=[f"Read the log of {url} first."],
    )
    clean = make_ticket(details={"error_code": "2200"}, recommendations=["Rerun it."])
    updated_at = {t.pk: t.updated_at for t in (leaking, clean)}

    migration = importlib.import_module("tickets.migrations.0033_redact_ticket_text_again")
    migration.redact_ticket_text(apps, None)
    migration.redact_ticket_text(apps, None)  # a second run changes nothing more

    leaking.refresh_from_db()
    redacted = url.replace(key, "[REDACTED]")
    assert leaking.error_message == error.replace(url, redacted)
    assert leaking.affected_entity == {"activity": "Call_Loader", "endpoint": redacted}
    assert leaking.details == {"error_code": "3608", "request": {"url": redacted}}
    assert leaking.rca_result == f"The function behind {redacted} failed."
    assert leaking.recommendations == [f"Read the log of {redacted} first."]
    clean.refresh_from_db()
    assert (clean.details, clean.recommendations) == ({"error_code": "2200"}, ["Rerun it."])
    assert {t.pk: t.updated_at for t in (leaking, clean)} == updated_at


def test_incident_analysis_stored_before_a_newer_rule_is_redacted_by_it():
    """Gemini's shared cause of an incident quoted a member's error text as it was sent (the
    rules of then kept an Azure Functions key, `code=`): 0033 redacted the members, not the
    incident, whose page, API and Slack and JIRA updates showed the key, and which later
    prompts quote as a similar past incident. A clean incident is not written."""
    from tickets.models import Incident, new_incident_id

    key = "FnK3yS3cretValue42=="
    url = f"https://fn-etl.azurewebsites.net/api/load?code={key}"
    leaking = Incident.objects.create(
        id=new_incident_id(),
        culprit="api-host:fn-etl.azurewebsites.net",
        group_key="api-host:fn-etl.azurewebsites.net",
        rca_result=f"Every loader failed calling {url}: the function answers 500.",
        recommendations=[f"Read the function's log for {url}.", "Rerun the loaders."],
    )
    clean = Incident.objects.create(
        id=new_incident_id(),
        culprit="sql-server:sql-prod-01",
        group_key="sql-server:sql-prod-01",
        rca_result="sql-prod-01 refused the connections.",
        recommendations=["Wait for sql-prod-01."],
    )
    clean_updated_at = clean.updated_at

    migration = importlib.import_module("tickets.migrations.0036_redact_incident_text")
    migration.redact_incident_text(apps, None)
    migration.redact_incident_text(apps, None)  # a second run changes nothing more

    leaking.refresh_from_db()
    redacted = url.replace(key, "[REDACTED]")
    assert (
        leaking.rca_result == f"Every loader failed calling {redacted}: the function answers 500."
    )
    assert leaking.recommendations == [
        f"Read the function's log for {redacted}.",
        "Rerun the loaders.",
    ]
    clean.refresh_from_db()
    assert (clean.rca_result, clean.recommendations) == (
        "sql-prod-01 refused the connections.",
        ["Wait for sql-prod-01."],
    )
    assert clean.updated_at == clean_updated_at


def test_hadoop_storage_keys_stored_before_their_rule_are_redacted():
    """A notebook's traceback quotes the `spark.conf.set` line that gave Spark a storage
    account key; the rules before tickets/0042 and integrations/0020 kept it in the inbox row,
    the ticket and the incident's analysis quoting it."""
    from tickets.models import Incident, new_incident_id

    key = "Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MGFiY2RlZmdoaWprbG1ub3BxcnN0dXZ3eHl6QUJD+/Xy=="
    line = f'spark.conf.set("fs.azure.account.key.stlake.dfs.core.windows.net", "{key}")'
    error = f"Py4JJavaError at cell 3: {line}"
    body = json.dumps({"run": {"run_id": 42}, "error": error})
    row = WebhookDelivery.objects.create(
        source="databricks", status="processed", raw_body=body, event={"error_message": error}
    )
    ticket = make_ticket(error_message=error, rca_result=f"The cell {line} failed.")
    incident = Incident.objects.create(
        id=new_incident_id(),
        culprit="storage:stlake",
        group_key="storage:stlake",
        rca_result=f"Every notebook ran {line} and failed.",
        recommendations=["Rotate the key."],
    )

    importlib.import_module(
        "integrations.migrations.0020_redact_hadoop_storage_keys"
    ).redact_inbox_rows(apps, None)
    tickets_migration = importlib.import_module(
        "tickets.migrations.0042_redact_hadoop_storage_keys"
    )
    tickets_migration.redact_ticket_text(apps, None)
    tickets_migration.redact_incident_text(apps, None)

    row.refresh_from_db()
    ticket.refresh_from_db()
    incident.refresh_from_db()
    stored = (
        row.raw_body,
        json.dumps(row.event),
        ticket.error_message,
        ticket.rca_result,
        incident.rca_result,
    )
    for text in stored:
        assert key not in text, text
    assert ticket.error_message == error.replace(key, "[REDACTED]")
    assert (
        incident.rca_result == f"Every notebook ran {line.replace(key, '[REDACTED]')} and failed."
    )


@pytest.mark.parametrize(
    "secret_line",
    [
        "requests sent Cookie: JSESSIONID=8f2c1a9e77b04f2d; lang=en",
        "headers: x-functions-key: Zm9vYmFyYmF6cXV4MTIzNDU2Nzg5MA-Tq7Wc==",
        "boto3.client('s3', 'AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY')",
    ],
)
def test_cookies_function_keys_and_aws_keys_stored_before_their_rules_are_redacted(
    secret_line: str,
):
    """The rules before tickets/0044 and integrations/0021 kept a cookie's value, an
    `x-functions-key:` header and an AWS secret key printed beside its key id."""
    from analysis.redaction import redact

    error = f"HTTP 401 from the load step: {secret_line}"
    row = WebhookDelivery.objects.create(
        source="airflow",
        status="processed",
        raw_body=json.dumps({"exception": error}),
        event={"error_message": error},
    )
    ticket = make_ticket(error_message=error, rca_result=f"The call failed: {secret_line} at 02:00")

    importlib.import_module(
        "integrations.migrations.0021_redact_cookies_and_function_keys"
    ).redact_inbox_rows(apps, None)
    importlib.import_module(
        "tickets.migrations.0044_redact_cookies_and_function_keys"
    ).redact_ticket_text(apps, None)

    row.refresh_from_db()
    ticket.refresh_from_db()
    assert redact(error) != error
    assert json.loads(row.raw_body)["exception"] == redact(error)
    assert row.event["error_message"] == redact(error)
    assert ticket.error_message == redact(error)
    assert ticket.rca_result == f"The call failed: {redact(secret_line)} at 02:00"


@pytest.mark.parametrize(
    ("secret_line", "secret"),
    [
        (
            "Command '['psql', '-h', 'db01', '--password', 'Pg-Etl-2024!']' returned non-zero "
            "exit status 2.",
            "Pg-Etl-2024!",
        ),
        (
            "Command 'curl -fsS -u etl:Cu7l-S3cret https://api.contoso.com/load' returned "
            "non-zero exit status 22.",
            "Cu7l-S3cret",
        ),
        (
            "Command '['sqlcmd', '-S', 'db01', '-U', 'sa', '-P', 'Sq1Pass2024', '-Q', 'select 1']' "
            "returned non-zero exit status 1.",
            "Sq1Pass2024",
        ),
        ("Command 'mysql -u etl -pMyS3cretPw etl' returned non-zero exit status 1.", "MyS3cretPw"),
        ("Command 'sshpass -p Ssh-Pa55 ssh etl@db01' returned non-zero exit status 5.", "Ssh-Pa55"),
        ("Command 'az login -u svc -p Az~Secret.9xQ' returned non-zero exit status 1.", "Secret.9"),
        ("Command 'ALTER USER etl IDENTIFIED BY Ora-Pass-1' failed.", "Ora-Pass-1"),
        ("Command 'requests.get(url, auth=('svc', 'Req-Pass-99'))' failed.", "Req-Pass-99"),
        (
            "Command 'curl https://x/cb?next=https%3A%2F%2Fsvc%3AP4ssw0rd%40api.contoso.com' "
            "failed.",
            "P4ssw0rd",
        ),
        (
            "Command 'curl https://x/cb?u=https%3A%2F%2Fa.blob.core.windows.net%2Fc%3Fsv%3D1%26"
            "sig%3DabcDEF123%252B' failed.",
            "abcDEF123",
        ),
    ],
)
def test_command_line_credentials_stored_before_their_rules_are_redacted(
    secret_line: str, secret: str
):
    """The rules before tickets/0045 and integrations/0023 kept a password a failed command
    printed as its argument list, curl's `-u user:password`, another program's password flag
    (sqlcmd's -P, mysql's -pPASSWORD, sshpass's and a login's -p), SQL's IDENTIFIED BY, a
    requests auth tuple and the credentials of a percent-encoded URL."""
    from analysis.redaction import redact
    from tickets.models import Incident, new_incident_id

    error = f"subprocess.CalledProcessError: {secret_line}"
    row = WebhookDelivery.objects.create(
        source="airflow",
        status="processed",
        raw_body=json.dumps({"exception": error}),
        event={"error_message": error},
    )
    ticket = make_ticket(error_message=error, rca_result=f"The load step ran {secret_line}")
    incident = Incident.objects.create(
        id=new_incident_id(),
        culprit="host:db01",
        group_key="host:db01",
        rca_result=f"Every load ran {secret_line}",
        recommendations=["Rotate the password."],
    )

    importlib.import_module(
        "integrations.migrations.0023_redact_command_line_credentials"
    ).redact_inbox_rows(apps, None)
    tickets_migration = importlib.import_module(
        "tickets.migrations.0045_redact_command_line_credentials"
    )
    tickets_migration.redact_ticket_text(apps, None)
    tickets_migration.redact_incident_text(apps, None)

    row.refresh_from_db()
    ticket.refresh_from_db()
    incident.refresh_from_db()
    assert redact(error) != error
    assert json.loads(row.raw_body)["exception"] == redact(error)
    assert row.event["error_message"] == redact(error)
    assert ticket.error_message == redact(error)
    assert ticket.rca_result == f"The load step ran {redact(secret_line)}"
    assert incident.rca_result == f"Every load ran {redact(secret_line)}"
    for text in (row.raw_body, ticket.error_message, ticket.rca_result, incident.rca_result):
        assert secret not in text, text


@pytest.mark.parametrize(
    ("secret_line", "secret"),
    [
        ("sqlplus -s etl/Ora-Pw-2024@//db01:1521/svc < load.sql", "Ora-Pw-2024"),
        ("sqlldr userid=loader/Ldr-Pw-7@orcl control=orders.ctl", "Ldr-Pw-7"),
        ("ALTER USER etl\n  IDENTIFIED BY\n  Ora-Pass-9;", "Ora-Pass-9"),
        ('get(url, auth=(\\"svc\\", \\"Req-Pass-99\\"))', "Req-Pass-99"),
        (
            json.dumps({"config": json.dumps({"settings": json.dumps({"password": "Deep-Pw-9"})})}),
            "Deep-Pw-9",
        ),
        ("oauth failed with dose0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789"),
        ('.option("password", "Jdbc-Pw9")', "Jdbc-Pw9"),
        ("machine api.contoso.com login etl password Netrc-Pw9", "Netrc-Pw9"),
        ("git push: " + "gl" + "pat-" + "xY3kL9mN2pQ7rS4tV8wZ" + " rejected", "xY3kL9mN2pQ7"),
        (
            'Authorization: Digest username="etl", nonce="dcd98b71", '
            'response="6629fae49393a05397450978507c4ef1"',
            "6629fae49393",
        ),
    ],
)
def test_oracle_logons_and_nested_json_stored_before_their_rules_are_redacted(
    secret_line: str, secret: str
):
    """The rules before tickets/0047 and integrations/0025 kept an Oracle tool's logon, an
    IDENTIFIED BY over lines, an auth tuple and a password in JSON inside JSON, a Databricks
    OAuth secret, a Spark option's password, a .netrc password, a vendor's token (GitLab's
    here) and a Digest Authorization's response."""
    from analysis.redaction import redact
    from tickets.models import Incident, new_incident_id

    error = f"Task failed: {secret_line}"
    row = WebhookDelivery.objects.create(
        source="airflow",
        status="processed",
        raw_body=json.dumps({"exception": error}),
        event={"error_message": error},
    )
    ticket = make_ticket(error_message=error, rca_result=f"The load step ran {secret_line}")
    incident = Incident.objects.create(
        id=new_incident_id(),
        culprit="host:db01",
        group_key="host:db01",
        rca_result=f"Every load ran {secret_line}",
        recommendations=["Rotate the password."],
    )

    importlib.import_module(
        "integrations.migrations.0025_redact_oracle_logons_and_nested_json"
    ).redact_inbox_rows(apps, None)
    tickets_migration = importlib.import_module(
        "tickets.migrations.0047_redact_oracle_logons_and_nested_json"
    )
    tickets_migration.redact_ticket_text(apps, None)
    tickets_migration.redact_incident_text(apps, None)

    row.refresh_from_db()
    ticket.refresh_from_db()
    incident.refresh_from_db()
    assert redact(error) != error
    assert json.loads(row.raw_body)["exception"] == redact(error)
    assert row.event["error_message"] == redact(error)
    assert ticket.error_message == redact(error)
    assert ticket.rca_result == f"The load step ran {redact(secret_line)}"
    assert incident.rca_result == f"Every load ran {redact(secret_line)}"
    for text in (row.raw_body, ticket.error_message, ticket.rca_result, incident.rca_result):
        assert secret not in text, text


def test_notes_typed_before_notes_were_redacted_are_redacted():
    from tickets.models import AuditLog, Incident, IncidentEvent, new_incident_id

    ticket = make_ticket()
    pasted = "restarted it; Server=db1;Password=hunter2;"
    leaking = AuditLog.objects.create(
        ticket=ticket, actor_kind="user", action="resolve", details={"note": pasted, "fix": "x"}
    )
    clean = AuditLog.objects.create(
        ticket=ticket, actor_kind="user", action="acknowledge", details={"note": "on it"}
    )
    incident = Incident.objects.create(id=new_incident_id(), culprit="db1", group_key="db1")
    timeline = IncidentEvent.objects.create(
        incident=incident, kind="resolved", details={"note": f"see {SAS_LOG}", "members": 2}
    )

    migration = importlib.import_module("tickets.migrations.0034_redact_stored_notes")
    migration.redact_notes(apps, None)

    leaking.refresh_from_db()
    assert "hunter2" not in json.dumps(leaking.details)
    assert leaking.details["fix"] == "x" and leaking.details["note"].startswith("restarted it")
    clean.refresh_from_db()
    assert clean.details == {"note": "on it"}
    timeline.refresh_from_db()
    assert SIGNATURE not in json.dumps(timeline.details) and timeline.details["members"] == 2


@pytest.mark.django_db(transaction=True)
def test_an_analysis_written_while_ticket_text_is_redacted_again_is_kept():
    """A worker still running during the upgrade shares its incident's analysis with a ticket
    (`incidents.store_analysis` and `_share` write it without `updated_at`) while 0033 is about
    to redact that ticket's error text: the migration waits for it and keeps the analysis, not
    the one it read before."""
    from django.db import connections, transaction

    from tests.conftest import while_held
    from tickets.models import Ticket

    key = "FnK3yS3cretValue42=="
    url = f"https://fn-etl.azurewebsites.net/api/load?code={key}"
    leaking = make_ticket(
        error_message=f"POST {url} returned 500", rca_result=f"The function behind {url} failed."
    )
    shared = "sql-prod-01 is down: every loader of the incident failed on it."
    migration = importlib.import_module("tickets.migrations.0033_redact_ticket_text_again")

    def analysis_shared() -> None:
        Ticket.objects.filter(pk=leaking.pk).update(rca_result=shared, recommendations=["Wait."])

    def migrate() -> None:
        try:
            with transaction.atomic():
                migration.redact_ticket_text(apps, None)
        finally:
            connections.close_all()

    _, waited = while_held(analysis_shared, migrate)

    assert waited
    leaking.refresh_from_db()
    assert leaking.error_message == f"POST {url.replace(key, '[REDACTED]')} returned 500"
    assert (leaking.rca_result, leaking.recommendations) == (shared, ["Wait."])


@contextmanager
def _migrated_back_to_0034() -> Iterator[None]:
    """The database as an install at `tickets` 0034 has it; migrated to the latest again after."""
    MigrationExecutor(connection).migrate([("tickets", "0034_redact_stored_notes")])
    try:
        yield
    finally:
        _migrate_to_the_latest()


def _migrate_to_the_latest() -> None:
    """`migrate`, from the calling thread (its connections closed after)."""
    try:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    finally:
        connections.close_all()


@pytest.mark.django_db(transaction=True)
def test_an_install_that_ran_the_first_0033_has_its_ticket_text_redacted_by_migrate():
    """0033 was corrected after release 6e97434 shipped it; an install that ran that first
    version (it skipped a ticket changed while it ran: left unredacted) never runs 0033 again.
    Its next `migrate` redacts the ticket, locking it as the corrected 0033 does: an analysis a
    worker writes meanwhile is kept; a clean ticket is not written."""
    from tests.conftest import while_held
    from tickets.models import Ticket

    key = "FnK3yS3cretValue42=="
    url = f"https://fn-etl.azurewebsites.net/api/load?code={key}"
    # Made before going back: the model has columns 0034 does not (tickets/0038).
    leaking = make_ticket(
        error_message=f"POST {url} returned 500", details={"request": {"url": url}}
    )
    clean = make_ticket(rca_result="sql-prod-01 refused the connection.")
    clean.refresh_from_db()
    with _migrated_back_to_0034():
        shared = "sql-prod-01 is down: every loader of the incident failed on it."

        def analysis_shared() -> None:
            Ticket.objects.filter(pk=leaking.pk).update(rca_result=shared)

        _, waited = while_held(analysis_shared, _migrate_to_the_latest)

    assert waited
    leaking.refresh_from_db()
    redacted = url.replace(key, "[REDACTED]")
    assert leaking.error_message == f"POST {redacted} returned 500"
    assert (leaking.details, leaking.rca_result) == ({"request": {"url": redacted}}, shared)
    assert Ticket.objects.get(pk=clean.pk).updated_at == clean.updated_at


@pytest.mark.django_db(transaction=True)
def test_ticket_text_redacted_again_is_committed_ticket_by_ticket():
    """The pass over every ticket (0033, 0035) is no single transaction: a ticket it redacted
    is committed, its lock let go, while it still goes through the others (on a large table
    ingest and the workers would otherwise wait for every changed ticket until it ends)."""
    from django.db import DatabaseError, transaction

    from tests.conftest import while_held
    from tickets.models import Ticket

    key = "FnK3yS3cretValue42=="
    url = f"https://fn-etl.azurewebsites.net/api/load?code={key}"
    # Made before going back: the model has columns 0034 does not (tickets/0038).
    first, later = sorted(
        (make_ticket(error_message=f"POST {url} returned 500") for _ in range(2)),
        key=lambda ticket: ticket.pk,
    )
    with _migrated_back_to_0034():
        seen_meanwhile = []

        def hold_later() -> None:
            Ticket.objects.filter(pk=later.pk).update(rca_result="Being written.")

        def first_while_the_pass_waits() -> None:
            with transaction.atomic():
                locked = Ticket.objects.select_for_update(nowait=True).filter(pk=first.pk)
                try:
                    seen_meanwhile.append(locked.values_list("error_message", flat=True).get())
                except DatabaseError as exc:  # the pass holds its lock still
                    seen_meanwhile.append(str(exc))

        _, waited = while_held(hold_later, _migrate_to_the_latest, first_while_the_pass_waits)

    assert waited
    assert seen_meanwhile == [f"POST {url.replace(key, '[REDACTED]')} returned 500"]
    assert Ticket.objects.get(pk=later.pk).error_message == seen_meanwhile[0]


@pytest.mark.parametrize(
    ("secret_line", "secret"),
    [
        ('linked service: {"servicePrincipalKey": "Sp-Key-9xQ"}', "Sp-Key-9xQ"),
        ("servicePrincipalId=3f2a servicePrincipalKey=Sp-Key-9xQ", "Sp-Key-9xQ"),
        ('"extra": "{\\"private_key_content\\": \\"TUlJRXZRSUJBREFO\\"}"', "TUlJRXZRSUJBREFO"),
    ],
)
def test_principal_keys_and_key_content_stored_before_their_rules_are_redacted(
    secret_line: str, secret: str
):
    """The rules before tickets/0049 and integrations/0026 kept Data Factory's
    servicePrincipalKey and Airflow's Snowflake private_key_content."""
    from analysis.redaction import redact
    from tickets.models import Incident, new_incident_id

    error = f"Pipeline failed: {secret_line}"
    row = WebhookDelivery.objects.create(
        source="airflow",
        status="processed",
        raw_body=json.dumps({"exception": error, "conn": {"servicePrincipalKey": secret}}),
        event={"error_message": error},
    )
    ticket = make_ticket(error_message=error, rca_result=f"The copy step sent {secret_line}")
    incident = Incident.objects.create(
        id=new_incident_id(),
        culprit="host:db01",
        group_key="host:db01",
        rca_result=f"Every copy sent {secret_line}",
        recommendations=["Rotate the key."],
    )

    importlib.import_module(
        "integrations.migrations.0026_redact_principal_keys_and_private_key_content"
    ).redact_inbox_rows(apps, None)
    tickets_migration = importlib.import_module(
        "tickets.migrations.0049_redact_principal_keys_and_private_key_content"
    )
    tickets_migration.redact_ticket_text(apps, None)
    tickets_migration.redact_incident_text(apps, None)

    row.refresh_from_db()
    ticket.refresh_from_db()
    incident.refresh_from_db()
    assert redact(error) != error
    assert json.loads(row.raw_body)["exception"] == redact(error)
    assert row.event["error_message"] == redact(error)
    assert ticket.error_message == redact(error)
    assert ticket.rca_result == f"The copy step sent {redact(secret_line)}"
    assert incident.rca_result == f"Every copy sent {redact(secret_line)}"
    for text in (row.raw_body, ticket.error_message, ticket.rca_result, incident.rca_result):
        assert secret not in text, text


def test_a_secret_stored_as_a_key_of_an_inbox_body_is_redacted():
    """The rules before integrations/0028 redacted the values of a body's objects, not their
    keys: a connection string a sender keyed its findings by kept its password."""
    password = "Pw-kept-as-a-key-7Q"
    body = {
        "connections": {
            f"postgresql://etl:{password}@db01:5432/sales": "refused",
            # The same connection under an older password: both redact to one text.
            f"postgresql://etl:{password}-2025@db01:5432/sales": "timed out",
        }
    }
    row = WebhookDelivery.objects.create(
        source="airflow", status="processed", raw_body=json.dumps(body), event={}
    )

    importlib.import_module(
        "integrations.migrations.0028_redact_secrets_in_inbox_keys"
    ).redact_inbox_rows(apps, None)

    row.refresh_from_db()
    assert password not in row.raw_body
    assert list(json.loads(row.raw_body)["connections"].values()) == ["refused", "timed out"]


@pytest.mark.parametrize(
    ("secret_line", "secret"),
    [
        (
            "Error calling the endpoint 'https://contoso.webhook.office.com/webhookb2/0a1b@72f9/"
            "IncomingWebhook/9f8e7d6c5b4a3928/0a1b'",
            "9f8e7d6c5b4a3928",
        ),
        (
            "<name>javax.jdo.option.ConnectionPassword</name><value>Hive-Pw-7Q!</value>",
            "Hive-Pw-7Q!",
        ),
    ],
)
def test_chat_webhooks_and_xml_secrets_stored_before_their_rules_are_redacted(
    secret_line: str, secret: str
):
    """The rules before tickets/0057 and integrations/0030 kept a Teams connector's URL and a
    secret written in XML."""
    from analysis.redaction import redact
    from tickets.models import Incident, new_incident_id

    error = f"Pipeline failed: {secret_line}"
    row = WebhookDelivery.objects.create(
        source="adf",
        status="processed",
        raw_body=json.dumps({"error": {"message": error}}),
        event={"error_message": error},
    )
    ticket = make_ticket(error_message=error, rca_result=f"The notify step sent {secret_line}")
    incident = Incident.objects.create(
        id=new_incident_id(),
        culprit="host:db01",
        group_key="host:db01",
        rca_result=f"Every run sent {secret_line}",
        recommendations=["Rotate the webhook."],
    )

    importlib.import_module(
        "integrations.migrations.0030_redact_chat_webhooks_and_xml_secrets"
    ).redact_inbox_rows(apps, None)
    tickets_migration = importlib.import_module(
        "tickets.migrations.0057_redact_chat_webhooks_and_xml_secrets"
    )
    tickets_migration.redact_ticket_text(apps, None)
    tickets_migration.redact_incident_text(apps, None)

    row.refresh_from_db()
    ticket.refresh_from_db()
    incident.refresh_from_db()
    assert redact(error) != error
    assert json.loads(row.raw_body)["error"]["message"] == redact(error)
    assert row.event["error_message"] == redact(error)
    assert ticket.error_message == redact(error)
    assert ticket.rca_result == f"The notify step sent {redact(secret_line)}"
    assert incident.rca_result == f"Every run sent {redact(secret_line)}"
    for text in (row.raw_body, ticket.error_message, ticket.rca_result, incident.rca_result):
        assert secret not in text, text


@pytest.mark.django_db(transaction=True)
def test_inbox_rows_redacted_by_0030_are_committed_row_by_row():
    """integrations/0030 runs while the release before still serves (README, Upgrading): a row
    it redacted is committed, its lock let go, while it still goes through the others. In one
    transaction (as 0015 to 0028) it held every changed row until it ended, and that release's
    relay and workers waited that long to mark such a row queued or processed."""
    from django.db import DatabaseError, transaction

    from analysis.redaction import redact
    from tests.conftest import while_held

    url = "https://contoso.webhook.office.com/webhookb2/0a1b@72f9/IncomingWebhook/9f8e7d6c5b4a/0a1b"
    error = f"Invoking Web Activity failed: {url} returned 400"
    first, later = (
        WebhookDelivery.objects.create(
            source="adf",
            status="pending",
            raw_body=json.dumps({"error_message": error}),
            event={"error_message": error},
        )
        for _ in range(2)
    )
    MigrationExecutor(connection).migrate([("integrations", "0029_remediation_policy_validation")])
    try:
        seen_meanwhile = []

        def hold_later() -> None:  # the old release's worker marking the row processed
            WebhookDelivery.objects.filter(pk=later.pk).update(attempts=1)

        def first_while_the_pass_waits() -> None:
            with transaction.atomic():
                locked = WebhookDelivery.objects.select_for_update(nowait=True).filter(pk=first.pk)
                try:
                    seen_meanwhile.append(locked.values_list("event", flat=True).get())
                except DatabaseError as exc:  # the pass holds its lock still
                    seen_meanwhile.append(str(exc))

        _, waited = while_held(hold_later, _migrate_to_the_latest, first_while_the_pass_waits)
    finally:
        _migrate_to_the_latest()

    assert waited
    assert seen_meanwhile == [{"error_message": redact(error)}]
    assert redact(error) != error
    later.refresh_from_db()
    assert (later.attempts, later.event) == (1, {"error_message": redact(error)})
    assert json.loads(later.raw_body) == {"error_message": redact(error)}
