"""Secrets planted in webhook bodies and query strings, run through the whole flow (ingest, a
real Celery worker, the evidence uploaded to Azurite), then looked for everywhere the service
writes: every log line this test produced, every Blob object, every inbox row and the ticket."""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from django.apps import apps
from django.test import Client

from integrations.ingest import PARSERS, redacted_inbound_body
from integrations.models import DeliveryStatus, OutboundDelivery, OutboundStatus, WebhookDelivery
from rca_project.log_redaction import RedactSecretsFilter
from tests.conftest import local_payload, wait_for
from tests.fakes.azurite import Azurite
from tickets.models import AuditLog, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

MARK = uuid.uuid4().hex[:10]
PASSWORD = f"Pw{MARK}x9!Planted"
ACCOUNT_KEY = f"Ak{MARK}" + "Q" * 70 + "=="
SAS_SIGNATURE = f"Sig{MARK}pLaNtEd%2Bq0"
BEARER = f"bEaReR{MARK}Zx81Plant"
CLIENT_SECRET = f"Cs{MARK}Y7Planted"
QUERY_TOKEN = f"query-token-{MARK}-planted"
JIRA_SECRET = f"jira-secret-{MARK}-planted"
SPARK_ACCOUNT_KEY = f"Sk{MARK}" + "Z" * 70 + "=="
# A Teams connector URL is its own credential (whoever has it posts to the channel), and a Hive
# metastore error prints its hive-site.xml property.
TEAMS_WEBHOOK_KEY = f"Tw{MARK}a0b1c2d3e4f5planted"
XML_PASSWORD = f"Xp{MARK}Hive!Planted"
# Under a key written in full-width letters ("password" as U+FF50...), and as a linked
# service's SecureString beside a Key Vault reference, whose secret's name is kept.
FULL_WIDTH_PASSWORD_KEY = "".join(chr(ord(letter) + 0xFEE0) for letter in "password")
FULL_WIDTH_KEY_PASSWORD = f"Fw{MARK}Planted"
SECURE_STRING = f"Ss{MARK}Planted"
# Under a password's name in other languages, and under "password" spelt with a Cyrillic "a".
LOCALISED_PASSWORD_KEYS = (
    "пароль",
    "Passwort",
    "mot_de_passe",
    "contraseña",
    "senha",
    "wachtwoord",
    "密码",
    "パスワード",
)
LOCALISED_PASSWORDS = tuple(f"L{n}{MARK}Planted" for n in range(len(LOCALISED_PASSWORD_KEYS)))
# The same names in the error's text: "Passwort=…", "пароль: …", "密码" and a full-width colon.
GERMAN_TEXT_PASSWORD = f"Gt{MARK}Planted"
RUSSIAN_TEXT_PASSWORD = f"Rt{MARK}Planted"
CHINESE_TEXT_PASSWORD = f"Ct{MARK}Planted"
LOOK_ALIKE_PASSWORD_KEY = "db_p\u0430ssword"
LOOK_ALIKE_PASSWORD = f"La{MARK}Planted"
HIDDEN_SPACE_PASSWORD_KEY = "pass\u200bword"  # a zero-width space splits the word
HIDDEN_SPACE_PASSWORD = f"Hs{MARK}Planted"
# Under a key written in one lowercase word.
RUN_ON_WORD_PASSWORD = f"Rw{MARK}Planted"
# A header the inbox keeps, which the sender fills as it likes.
HEADER_TOKEN = f"Ht{MARK}PlantedHeaderToken"
# A refused body's field quoted in the reason, cut inside a URL's password.
REFUSED_URL_PASSWORD = f"Ru{MARK}" + "r" * 30 + "Planted"
PLANTED = (
    PASSWORD,
    ACCOUNT_KEY,
    SAS_SIGNATURE,
    BEARER,
    CLIENT_SECRET,
    QUERY_TOKEN,
    JIRA_SECRET,
    SPARK_ACCOUNT_KEY,
    TEAMS_WEBHOOK_KEY,
    XML_PASSWORD,
    FULL_WIDTH_KEY_PASSWORD,
    SECURE_STRING,
    *LOCALISED_PASSWORDS,
    GERMAN_TEXT_PASSWORD,
    RUSSIAN_TEXT_PASSWORD,
    CHINESE_TEXT_PASSWORD,
    LOOK_ALIKE_PASSWORD,
    HIDDEN_SPACE_PASSWORD,
    HEADER_TOKEN,
    RUN_ON_WORD_PASSWORD,
    REFUSED_URL_PASSWORD[:14],  # the reason quotes a start of it, no more
)
KEY_VAULT_REFERENCE = {
    "type": "AzureKeyVaultSecret",
    "store": {"referenceName": "ls_keyvault_prod", "type": "LinkedServiceReference"},
    "secretName": "sql-etl-password",
}

ERROR_MESSAGE = (
    "ErrorCode=SqlFailedToConnect, Cannot connect to SQL Database: 'sql-prod.database.windows.net'"
    f", Server=tcp:sql-prod.database.windows.net,1433;User ID=etl;Password={PASSWORD}; "
    f"staging DefaultEndpointsProtocol=https;AccountName=stprod;AccountKey={ACCOUNT_KEY};"
    "EndpointSuffix=core.windows.net; log at https://stprod.blob.core.windows.net/logs/run.txt"
    f"?sv=2022-11-02&se=2026-01-01&sp=r&sig={SAS_SIGNATURE} "
    f"(request had Authorization: Bearer {BEARER}) at line 12: spark.conf.set("
    f"'fs.azure.account.key.stprod.dfs.core.windows.net', '{SPARK_ACCOUNT_KEY}'); notify step: "
    "Error calling the endpoint 'https://contoso.webhook.office.com/webhookb2/"
    "0a1b2c3d-1111-2222-3333-444455556666@72f988bf-86f1-41af-91ab-2d7cd011db47/IncomingWebhook/"
    f"{TEAMS_WEBHOOK_KEY}/0a1b2c3d-1111-2222-3333-444455556666'; metastore config "
    "<property><name>javax.jdo.option.ConnectionPassword</name>"
    f"<value>{XML_PASSWORD}</value></property>; Anmeldung mit Passwort={GERMAN_TEXT_PASSWORD} "
    f"abgelehnt; Пароль: {RUSSIAN_TEXT_PASSWORD} неверен; "
    f"数据库密码\uff1a{CHINESE_TEXT_PASSWORD} 错误"
    "; linked service " + json.dumps({"password": KEY_VAULT_REFERENCE})
)


def planted_failure(run_id: str) -> dict[str, Any]:
    body = local_payload("adf_failure.json")
    body.update(
        run_id=run_id,
        pipeline=f"pl_secrets_{run_id}",
        error_message=ERROR_MESSAGE,
        # Fields our parser does not read still reach the inbox and the evidence.
        linkedService={
            "type": "AzureSqlDatabase",
            "clientSecret": CLIENT_SECRET,
            "password": KEY_VAULT_REFERENCE,
            "servicePrincipalKey": {"type": "SecureString", "value": SECURE_STRING},
        },
        sqlLogin={"user": "etl", FULL_WIDTH_PASSWORD_KEY: FULL_WIDTH_KEY_PASSWORD},
        localisedLogins=dict(zip(LOCALISED_PASSWORD_KEYS, LOCALISED_PASSWORDS, strict=True)),
        lookAlikeLogin={
            "user": "etl",
            LOOK_ALIKE_PASSWORD_KEY: LOOK_ALIKE_PASSWORD,
            HIDDEN_SPACE_PASSWORD_KEY: HIDDEN_SPACE_PASSWORD,
            "adminpassword": RUN_ON_WORD_PASSWORD,
        },
        # A linked service's JSON sent as a text string: its Key Vault reference is kept too.
        linkedServiceJson=json.dumps({"user": "etl", "password": KEY_VAULT_REFERENCE}),
        diagnostics=[f"retry 1: Password={PASSWORD}", f"Bearer {BEARER}"],
        # A sender that keys what it saw by the connection it used: the secret is a key.
        # Two of them differing in the password alone redact to one text: both are kept.
        connections={
            f"postgresql://etl:{PASSWORD}@db.internal:5432/sales": "refused",
            f"postgresql://etl:{PASSWORD}-old@db.internal:5432/sales": "timed out",
        },
        # A sender's per-recipient outcome keyed by address (each one is masked alike).
        notified={"dana.lee@contoso.com": "sent", "sam.ortiz@contoso.com": "bounced"},
    )
    return body


def leaks(text: str) -> list[str]:
    return [secret for secret in PLANTED if secret in text]


@pytest.fixture(scope="module")
def azurite():
    with Azurite() as emulator:
        yield emulator


@pytest.fixture
def blob_only(settings, azurite):
    """Blob configured (the evidence is what matters here); JIRA and Slack are skipped."""
    settings.AZURE_STORAGE_CONNECTION_STRING = azurite.connection_string
    settings.AZURE_STORAGE_CONTAINER = f"secrets-{uuid.uuid4().hex[:8]}"
    settings.JIRA_URL = settings.SLACK_BOT_TOKEN = ""
    settings.JIRA_WEBHOOK_SECRET = JIRA_SECRET
    settings.GEMINI_API_KEY = ""
    return azurite


@pytest.fixture
def log_output():
    """Every record logged during the test, written as the service's console handler writes it
    (its formatter, its filters), into a buffer of our own."""
    root = logging.getLogger()
    console = next(h for h in root.handlers if type(h) is logging.StreamHandler)  # settings'
    assert any(isinstance(f, RedactSecretsFilter) for f in console.filters)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(console.formatter)
    handler.filters = list(console.filters)
    root.addHandler(handler)
    previous_level = root.level
    root.setLevel(logging.INFO)
    yield stream
    root.removeHandler(handler)
    root.setLevel(previous_level)


def all_blobs(azurite: Azurite, container: str) -> dict[str, bytes]:
    client = BlobServiceClient.from_connection_string(azurite.connection_string)
    container_client = client.get_container_client(container)
    return {
        blob.name: container_client.download_blob(blob.name).readall()
        for blob in container_client.list_blobs()
    }


def test_planted_secrets_reach_no_log_line_blob_or_inbox_row(
    celery_worker, blob_only, settings, log_output
):
    settings.WEBHOOK_TOKEN = QUERY_TOKEN
    client = Client()
    url = f"/webhooks/adf/?token={QUERY_TOKEN}"  # as an Azure action group sends it
    accepted = client.post(
        url,
        json.dumps(planted_failure(f"r{MARK}")),
        "application/json",
        HTTP_X_REQUEST_ID=f"retry-of run 7 with access_token={HEADER_TOKEN}",
    )
    assert accepted.status_code == 202, accepted.content
    ticket_id = accepted.json()["ticket_id"]
    # Refusals that Django logs with the request (its URL carries the token).
    wrong_shape = {"note": f"Password={PASSWORD}", "token": BEARER}
    rejected = client.post(url, json.dumps(wrong_shape), "application/json")
    not_json = client.post(url, f"Password={PASSWORD}", "application/json")
    # A field the parser refuses is quoted in the reason (the answer, the inbox row, the log),
    # its first 40 characters: cut inside the URL's password, before its "@host".
    bad_timestamp = {
        **planted_failure(f"t{MARK}"),
        "run_start": f"https://etl:{REFUSED_URL_PASSWORD}@db.internal",
    }
    refused_field = client.post(url, json.dumps(bad_timestamp), "application/json")
    bad_status = {**planted_failure(f"s{MARK}"), "status": f"pwd={PASSWORD}"}  # quoted whole
    refused_status = client.post(url, json.dumps(bad_status), "application/json")
    wrong_method = client.get(url)
    jira_not_json = client.post(
        f"/webhooks/jira/?token={JIRA_SECRET}", f"Password={PASSWORD}", "application/json"
    )
    unknown_issue = client.post(  # answered, and kept in the inbox, as ignored
        f"/webhooks/jira/?token={JIRA_SECRET}",
        json.dumps(jira_comment("OPS-404", "rca-NO-SUCH-TICKET", f"Password={PASSWORD}")),
        "application/json",
    )
    comment = client.post(
        f"/webhooks/jira/?token={JIRA_SECRET}",
        json.dumps(jira_comment("OPS-1", f"rca-{ticket_id}", f"db Password={PASSWORD}")),
        "application/json",
    )
    answers = (
        rejected,
        not_json,
        refused_field,
        refused_status,
        wrong_method,
        jira_not_json,
        unknown_issue,
        comment,
    )
    assert [r.status_code for r in answers] == [400, 400, 400, 400, 405, 400, 200, 200]
    assert "run_start" in refused_field.json()["error"]
    assert "pwd=[REDACTED]" in refused_status.json()["error"]
    for answer in answers:
        assert not leaks(answer.content.decode()), answer.content

    def evidence_uploaded() -> bool:
        return OutboundDelivery.objects.filter(
            ticket_id=ticket_id, action="blob_upload", status=OutboundStatus.SUCCEEDED
        ).exists()

    wait_for(evidence_uploaded, timeout=60)
    wait_for(lambda: not WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists())
    time.sleep(0.2)  # the worker's last log lines

    # Every Blob object written.
    blobs = all_blobs(blob_only, settings.AZURE_STORAGE_CONTAINER)
    tracking_id = accepted.json()["tracking_id"]
    assert f"{ticket_id}/payloads/{tracking_id}.json" in blobs, sorted(blobs)
    for name, content in blobs.items():
        assert not leaks(content.decode()), name
    payload_blob = json.loads(blobs[f"{ticket_id}/payloads/{tracking_id}.json"])
    assert payload_blob["linkedService"]["clientSecret"] == "[REDACTED]"
    assert payload_blob["linkedService"]["servicePrincipalKey"] == "[REDACTED]"
    assert payload_blob["linkedService"]["password"] == KEY_VAULT_REFERENCE  # names no secret
    assert payload_blob["sqlLogin"] == {"user": "etl", FULL_WIDTH_PASSWORD_KEY: "[REDACTED]"}
    assert payload_blob["localisedLogins"] == dict.fromkeys(LOCALISED_PASSWORD_KEYS, "[REDACTED]")
    assert payload_blob["lookAlikeLogin"] == {
        "user": "etl",
        LOOK_ALIKE_PASSWORD_KEY: "[REDACTED]",
        HIDDEN_SPACE_PASSWORD_KEY: "[REDACTED]",
        "adminpassword": "[REDACTED]",
    }
    assert json.loads(payload_blob["linkedServiceJson"]) == {
        "user": "etl",
        "password": KEY_VAULT_REFERENCE,
    }
    assert payload_blob["pipeline"] == f"pl_secrets_r{MARK}"  # the rest is kept
    assert list(payload_blob["connections"].values()) == ["refused", "timed out"]
    assert list(payload_blob["notified"].values()) == ["sent", "bounced"]
    assert "dana.lee@contoso.com" not in json.dumps(payload_blob)

    # Every inbox row, every field of it; the ticket and its audit trail.
    rows = list(WebhookDelivery.objects.values())
    inbox_body = json.loads(WebhookDelivery.objects.get(tracking_id=tracking_id).raw_body)
    assert list(inbox_body["connections"].values()) == ["refused", "timed out"]
    assert list(inbox_body["notified"].values()) == ["sent", "bounced"]
    assert {row["source"] for row in rows} == {"adf", "jira"}
    assert {row["status"] for row in rows} >= {DeliveryStatus.REJECTED, DeliveryStatus.PROCESSED}
    for row in rows:
        assert not leaks(json.dumps(row, default=str)), row["tracking_id"]
    ticket = Ticket.objects.values().get(pk=ticket_id)
    assert not leaks(json.dumps(ticket, default=str))
    # The token is masked, not the text after it.
    assert "(request had Authorization: Bearer [REDACTED]) at line 12" in ticket["error_message"]
    # A Key Vault reference quoted in the text keeps what names the secret, as in the body.
    assert json.dumps({"password": KEY_VAULT_REFERENCE}) in ticket["error_message"]
    audit = list(AuditLog.objects.filter(ticket_id=ticket_id).values())
    assert any(entry["action"] == "jira comment" for entry in audit)
    assert not leaks(json.dumps(audit, default=str))

    # Every log line this test wrote (webhook requests, refusals, the worker's tasks).
    lines = log_output.getvalue().splitlines()
    assert any("Bad Request: /webhooks/adf/" in line for line in lines), lines[-20:]
    assert any("Bad Request: /webhooks/jira/" in line for line in lines), lines[-20:]
    assert any("processed delivery" in line for line in lines), lines[-20:]  # the worker's
    leaked = [line for line in lines if leaks(line)]
    assert not leaked, leaked


def jira_comment(issue_key: str, label: str, body: str) -> dict[str, Any]:
    return {
        "timestamp": int(time.time() * 1000),
        "webhookEvent": "comment_created",
        "issue": {"key": issue_key, "fields": {"labels": [label]}},
        "comment": {
            "id": uuid.uuid4().hex[:6],
            "body": body,
            "author": {"accountId": "acc-maria", "displayName": "Maria"},
        },
    }


def test_the_redacted_inbox_body_replays_to_the_same_event():
    """Nothing reads the original body back; a replay from the stored copy parses the same."""
    original = json.dumps(planted_failure("replay-run")).encode()
    stored = redacted_inbound_body("adf", original)

    assert not leaks(stored)
    from integrations.ingest import _redacted

    parse = PARSERS["adf"]
    assert _redacted(parse(json.loads(stored))) == _redacted(parse(json.loads(original)))


def test_the_migration_redacts_rows_stored_before():
    import importlib

    migration = importlib.import_module("integrations.migrations.0004_redact_inbox_bodies")
    raw = json.dumps(planted_failure("old-row"), indent=2)
    response_url = f"https://hooks.slack.com/actions/T0ALERTS/5123456789/{CLIENT_SECRET}"
    slack_form = "payload=" + json.dumps(
        {"type": "block_actions", "token": BEARER, "response_url": response_url}
    )
    old = [
        WebhookDelivery.objects.create(source="adf", raw_body=raw, status="processed"),
        WebhookDelivery.objects.create(source="slack", raw_body=slack_form, status="processed"),
        WebhookDelivery.objects.create(
            source="adf", raw_body=f"not json Password={PASSWORD}", status="rejected"
        ),
    ]

    migration.redact_stored_bodies(apps, None)
    migration.redact_stored_bodies(apps, None)  # a second run changes nothing more

    for row in old:
        row.refresh_from_db()
        assert not leaks(row.raw_body), row.raw_body
    assert json.loads(old[0].raw_body)["pipeline"] == "pl_secrets_old-row"
    assert json.loads(old[1].raw_body) == {
        "type": "block_actions",
        "token": "[REDACTED]",
        "response_url": "https://hooks.slack.com/actions/[REDACTED]",
    }


def test_a_secret_in_a_pipeline_name_is_kept_redacted_and_its_recovery_still_ends_it(
    webhook_client,
):
    """The sender names the pipeline (a Databricks job's name is free text): a connection
    string pasted into it is redacted like error text, in the ticket and the inbox row, and the
    source's success naming the same pipeline still finds the failure it ends."""
    pipeline = f"pl_load Server=tcp:sql-prod;Password={PASSWORD};"
    failure = {**planted_failure(f"named-{MARK}"), "pipeline": pipeline}
    opened = webhook_client("/webhooks/adf/", failure)
    assert opened.status_code == 202, opened.content
    ticket_id = opened.json()["ticket_id"]

    ticket = Ticket.objects.values().get(pk=ticket_id)
    assert not leaks(json.dumps(ticket, default=str))
    # The token is masked, not the text after it.
    assert "(request had Authorization: Bearer [REDACTED]) at line 12" in ticket["error_message"]
    # A Key Vault reference quoted in the text keeps what names the secret, as in the body.
    assert json.dumps({"password": KEY_VAULT_REFERENCE}) in ticket["error_message"]
    assert ticket["pipeline"] == "pl_load Server=tcp:sql-prod;Password=[REDACTED];"
    for row in WebhookDelivery.objects.values():
        assert not leaks(json.dumps(row, default=str)), row["tracking_id"]

    success = {**failure, "run_id": f"named-{MARK}-ok", "status": "Succeeded", "error_message": ""}
    recovered = webhook_client("/webhooks/adf/", success)
    assert recovered.status_code == 202, recovered.content
    assert Ticket.objects.get(pk=ticket_id).resolved_at_source_at is not None


@pytest.mark.parametrize("cut_into", [3, len("Password=") + 4])
def test_a_long_airflow_traceback_cut_inside_a_secret_keeps_none_of_it(
    webhook_client, cut_into: int
):
    """An Airflow exception over its 16,000 characters is kept as its head and its tail; a tail
    that began inside a secret (`sword=…`, or the password's last characters) kept the rest of
    it, which no rule recognises without its key, in the ticket, the inbox event and everything
    made from them."""
    from integrations.parsers.airflow import _ELIDED, MESSAGE_HEAD, MESSAGE_LIMIT

    tail = MESSAGE_LIMIT - MESSAGE_HEAD - len(_ELIDED)
    secret_pair = f"Password={PASSWORD}"
    ending = "\npsycopg2.OperationalError: password authentication failed for user 'etl'"
    # The tail (its last `tail` characters) starts `cut_into` characters into the pair.
    padding = "y" * (tail - (len(secret_pair) - cut_into) - len(ending))
    exception = (
        "Traceback (most recent call last):\n"
        + '  File "/opt/airflow/dags/sales.py", line 41, in load_orders\n' * 400
        + f"dsn = 'host=warehouse user=etl {secret_pair}' "
        + padding
        + ending
    )
    body = {**local_payload("airflow_failure.json"), "exception": exception}
    body["run_id"] = f"scheduled__cut{cut_into}-{MARK}"

    answer = webhook_client("/webhooks/airflow/", body)

    assert answer.status_code == 202, answer.content
    ticket = Ticket.objects.get(pk=answer.json()["ticket_id"])
    assert ticket.error_message.endswith(ending)
    assert len(ticket.error_message) <= MESSAGE_LIMIT
    event = WebhookDelivery.objects.get(tracking_id=answer.json()["tracking_id"]).event
    for text in (ticket.error_message, json.dumps(event)):
        assert PASSWORD[cut_into:] not in text
        assert PASSWORD[-8:] not in text


def _cut_inside_a_url_password(limit: int, start: str) -> tuple[str, str]:
    """A text longer than `limit` whose first `limit` characters end eight characters into a
    URL's password (before its `@host`), and that password."""
    password = f"{PASSWORD}Url"
    url = f"postgresql://etl:{password}@warehouse.example.com:5432/sales"
    padding = (start + " retrying the copy;" * (limit // 10))[
        : limit - len("postgresql://etl:") - 9
    ]
    text = f"{padding} {url} refused the connection."
    assert text[:limit].endswith(password[:8])
    return text, password


def test_a_long_adf_error_cut_inside_a_url_password_keeps_none_of_it(webhook_client):
    """An ADF error over the 16,000 characters a ticket keeps is cut to its start. Cut before
    it was redacted, a URL's password cut before its `@host` was kept: no rule knows
    `postgresql://etl:<start of a password>` as one."""
    from integrations.parsers.adf import MESSAGE_LIMIT

    error, password = _cut_inside_a_url_password(MESSAGE_LIMIT, "ErrorCode=SqlFailedToConnect,")
    body = {**local_payload("adf_failure.json"), "error_message": error, "run_id": f"cut-{MARK}"}

    answer = webhook_client("/webhooks/adf/", body)

    assert answer.status_code == 202, answer.content
    ticket = Ticket.objects.get(pk=answer.json()["ticket_id"])
    assert ticket.error_message.startswith("ErrorCode=SqlFailedToConnect,")
    event = WebhookDelivery.objects.get(tracking_id=answer.json()["tracking_id"]).event
    for text in (ticket.error_message, json.dumps(event)):
        assert password[:6] not in text


def test_a_long_azure_alert_dimension_cut_inside_a_url_password_keeps_none_of_it(webhook_client):
    """A log alert's dimension value is kept to its first 4,000 characters (the ADF error an
    `ErrorMessage` split carries among them): cut before it was redacted, a URL's password cut
    before its `@host` was kept in the ticket's error text."""
    from integrations.parsers.azure_monitor import VALUE_LIMIT

    error, password = _cut_inside_a_url_password(VALUE_LIMIT, "ErrorCode=SqlFailedToConnect,")
    body = local_payload("azure/adf_log_v2_pipeline_run.json")
    body["data"]["essentials"]["alertId"] += MARK
    [criterion] = body["data"]["alertContext"]["condition"]["allOf"]
    for dimension in criterion["dimensions"]:
        if dimension["name"] == "ErrorMessage":
            dimension["value"] = error
        elif dimension["name"] == "PipelineRunId":
            dimension["value"] = f"cut-{MARK}"

    answer = webhook_client("/webhooks/azure-monitor/", body)

    assert answer.status_code == 202, answer.content
    ticket = Ticket.objects.get(pk=answer.json()["ticket_id"])
    assert "ErrorCode=SqlFailedToConnect," in ticket.error_message
    event = WebhookDelivery.objects.get(tracking_id=answer.json()["tracking_id"]).event
    for text in (ticket.error_message, json.dumps(event), json.dumps(ticket.details)):
        assert password[:6] not in text
