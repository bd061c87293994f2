"""A failure whose alert carries no error text (a Databricks job notification) is grouped once
its analysis has fetched the text: a real Celery worker and inbox relay, the real databricks-sdk,
jira and slack-sdk clients against the local servers (tests/fakes)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from analysis.tasks import analyse_ticket
from integrations.models import (
    DeliveryStatus,
    OutboundDelivery,
    RemediationPolicy,
    WebhookDelivery,
)
from tests.conftest import wait_for
from tests.fakes.databricks_api import FakeDatabricks, job_run, task
from tests.integrations import test_incident_paging
from tests.integrations.test_incident_paging import (
    incident_comments,
    incident_replies,
    paged_incident,
    settled,
)
from tests.tickets.test_incidents import CULPRIT, STORM_MESSAGE, post, storm_failure
from tickets.models import AuditLog, Incident, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

targets = test_incident_paging.targets  # the local JIRA and Slack servers (a fixture)

WORKSPACE = "1234567890123456"
SQL_DOWN = (
    "com.microsoft.sqlserver.jdbc.SQLServerException: The TCP/IP connection to the host "
    "sql-prod-01.database.windows.net, port 1433 has failed. Error: Connection timed out."
)
SQL_DOWN_ELSEWHERE = SQL_DOWN.replace("sql-prod-01", "sql-other-02")
TABLE_MISSING = (
    "AnalysisException: [TABLE_OR_VIEW_NOT_FOUND] The table or view `sales`.`orders` cannot "
    "be found."
)


@pytest.fixture
def databricks(settings) -> Iterator[FakeDatabricks]:
    with FakeDatabricks() as fake:
        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = fake.url, fake.token
        settings.ENRICHMENT_TIMEOUT_SECONDS = 5
        yield fake


def databricks_failure(fake: FakeDatabricks, run_id: int, job_name: str, error: str) -> dict:
    """A job's failure notification (ids only), and the run the API then tells about."""
    task_run = run_id + 1
    fake.add_run(
        job_run(run_id=run_id, job_id=run_id * 10, tasks=[task("load", task_run, "FAILED")])
    )
    fake.outputs[task_run] = {"error": error}
    return {
        "event_type": "jobs.on_failure",
        "workspace_id": WORKSPACE,
        "run": {"run_id": str(run_id)},
        "job": {"job_id": str(run_id * 10), "name": job_name},
    }


def processed(ticket_id: str) -> Ticket:
    wait_for(
        lambda: WebhookDelivery.objects.filter(
            ticket_id=ticket_id, status=DeliveryStatus.PROCESSED
        ).exists(),
        30,
    )
    return Ticket.objects.get(pk=ticket_id)


def own_deliveries(ticket_id: str) -> list[Any]:
    """The ticket's own page (not the incident's deliveries riding on it)."""
    return list(
        OutboundDelivery.objects.filter(ticket_id=ticket_id)
        .exclude(payload__has_key="incident_id")
        .values_list("action", flat=True)
    )


def test_a_databricks_job_failing_on_the_storms_server_joins_its_incident_silently(
    celery_worker,
    targets,
    databricks,
):
    jira, slack = targets
    # Paging alone: the repair the seeded policy proposes for a transient error awaits approval,
    # asked in the incident's thread once the member joins (whether that ask lands before the
    # checks below depends on timing; tests/remediation/test_policy_and_approval.py covers the ask).
    RemediationPolicy.objects.update(enabled=False)
    adf = [post(storm_failure(f"pl_member_{n}"))["ticket_id"] for n in range(2)]
    incident = paged_incident()
    issues, posts = len(jira.issues), len(slack.api_requests("chat.postMessage"))

    answer = post(
        databricks_failure(databricks, 5001, "nightly_orders_load", SQL_DOWN),
        "/webhooks/databricks/",
    )
    assert answer["outcome"] == "created"
    ticket = processed(answer["ticket_id"])
    settled()

    # Its culprit comes from the run's error, fetched by the analysis: the storm's server.
    assert SQL_DOWN in ticket.error_message
    assert (ticket.culprit, ticket.group_key) == (CULPRIT, f"{CULPRIT}|unavailable")
    assert ticket.incident_id == incident.pk
    assert AuditLog.objects.filter(ticket_id=ticket.pk, action="culprit found").count() == 1
    incident.refresh_from_db()
    assert incident.member_count == 3
    assert set(incident.members.values_list("pk", flat=True)) == {*adf, ticket.pk}
    # It pages nothing of its own: the incident's page (updated) is all there is.
    assert own_deliveries(ticket.pk) == []
    assert (ticket.itsm_ticket_id, ticket.slack_ts) == ("", "")
    assert len(jira.issues) == issues
    assert len(slack.api_requests("chat.postMessage")) == posts
    # It shares the incident's analysis, as any member does.
    assert ticket.rca_note.startswith(f"Shared with incident {incident.pk}")
    assert Incident.objects.count() == 1


def test_a_databricks_job_and_an_adf_pipeline_on_one_server_form_one_incident(
    celery_worker,
    targets,
    databricks,
    settings,
):
    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 10  # the ADF failure waits long enough to be grouped
    first = post(storm_failure("pl_orders"))["ticket_id"]
    answer = post(
        databricks_failure(databricks, 6001, "nightly_orders_load", SQL_DOWN),
        "/webhooks/databricks/",
    )
    ticket = processed(answer["ticket_id"])
    incident = paged_incident()

    assert ticket.incident_id == incident.pk
    assert set(incident.members.values_list("pk", flat=True)) == {first, ticket.pk}
    assert incident.group_key == f"{CULPRIT}|unavailable"
    # One page for both: the incident's issue and message; neither member's own.
    wait_for(lambda: not OutboundDelivery.objects.filter(status="pending").exists(), 30)
    assert own_deliveries(ticket.pk) == []
    assert sorted(Ticket.objects.values_list("itsm_ticket_id", "slack_ts")) == [("", "")] * 2
    assert len(jira.issues) == 1
    assert len(slack.api_requests("chat.postMessage")) == 1


def test_a_databricks_failure_whose_error_names_nothing_stays_alone(
    celery_worker,
    targets,
    databricks,
    settings,
):
    settings.INCIDENT_GRACE_SECONDS = 0.2
    [post(storm_failure(f"pl_member_{n}")) for n in range(2)]
    incident = paged_incident()

    # One naming another server: its culprit is stored, and alone it is no incident.
    other = post(
        databricks_failure(databricks, 7101, "nightly_customers_load", SQL_DOWN_ELSEWHERE),
        "/webhooks/databricks/",
    )
    elsewhere = wait_for(
        lambda: Ticket.objects.filter(pk=other["ticket_id"]).exclude(slack_ts="").first(), 30
    )
    assert elsewhere.culprit == "sql-server:sql-other-02.database.windows.net"
    assert elsewhere.incident_id is None

    answer = post(
        databricks_failure(databricks, 7001, "nightly_orders_load", TABLE_MISSING),
        "/webhooks/databricks/",
    )
    ticket = processed(answer["ticket_id"])
    ticket = wait_for(
        lambda: Ticket.objects.filter(pk=ticket.pk).exclude(itsm_ticket_id="").first(), 30
    )
    settled()
    ticket.refresh_from_db()  # read when its issue was linked: its alert may have come after

    assert TABLE_MISSING in ticket.error_message
    assert (ticket.culprit, ticket.group_key, ticket.incident_id) == ("", "", None)
    assert not AuditLog.objects.filter(ticket_id=ticket.pk, action="culprit found").exists()
    assert incident.members.count() == 2
    assert Incident.objects.count() == 1
    # It pages on its own, as before.
    assert ticket.slack_ts
    assert set(own_deliveries(ticket.pk)) >= {"jira_create", "slack_post"}


def test_a_databricks_job_named_after_a_host_takes_its_culprit_from_the_fetched_error(
    celery_worker, databricks
):
    """The notification carries only the job's name; a host in that name is not what failed."""
    answer = post(
        databricks_failure(
            databricks, 7201, "sync https://api.partner.example/v2/orders", SQL_DOWN_ELSEWHERE
        ),
        "/webhooks/databricks/",
    )
    ticket = processed(answer["ticket_id"])

    assert SQL_DOWN_ELSEWHERE in ticket.error_message
    assert ticket.culprit == "sql-server:sql-other-02.database.windows.net"
    assert AuditLog.objects.filter(ticket_id=ticket.pk, action="culprit found").count() == 1


# A job's name is no error: its words name no error class (a timeout, a password), nor raise
# the severity, however the notification that names only it ends up unexplained.
WORDY_JOB = "api_timeout_watch export password=Hunter2Secret"


def test_a_databricks_job_whose_error_is_not_fetched_is_not_classed_by_its_name(celery_worker):
    answer = post(
        {
            "event_type": "jobs.on_failure",
            "workspace_id": WORKSPACE,
            "run": {"run_id": "7301"},
            "job": {"job_id": "777", "name": WORDY_JOB},
        },
        "/webhooks/databricks/",
    )
    ticket = processed(answer["ticket_id"])

    assert "the notification carries no error text" in ticket.error_message
    assert (ticket.error_type, ticket.severity) == ("Unknown", "Medium")
    created = AuditLog.objects.get(ticket_id=ticket.pk, action="created")
    assert created.details["error_type"] == "Unknown"


def test_a_databricks_job_whose_error_could_not_be_fetched_is_not_classed_by_its_name(
    celery_worker, databricks
):
    answer = post(
        {
            "event_type": "jobs.on_failure",
            "workspace_id": WORKSPACE,
            "run": {"run_id": "7302"},  # runs/get answers "Run 7302 does not exist."
            "job": {"job_id": "778", "name": WORDY_JOB},
        },
        "/webhooks/databricks/",
    )
    ticket = processed(answer["ticket_id"])

    assert "could not fetch the run's error" in ticket.rca_note
    assert (ticket.error_type, ticket.severity) == ("Unknown", "Medium")
    # The API's reason ends its sentence once ("... Run 7302 does not exist.").
    assert ticket.rca_result.endswith("Run 7302 does not exist.")


def test_a_databricks_ticket_that_paged_before_its_error_was_known_is_linked_once(
    celery_worker,
    targets,
    settings,
):
    """Its enrichment failed (no credentials), so it paged on its own; a forced re-analysis
    once they are set finds the storm's server: it joins the incident like a member that
    paged before the incident formed (a comment and a reply pointing there, once)."""
    jira, slack = targets
    settings.DATABRICKS_HOST = settings.DATABRICKS_TOKEN = ""
    with FakeDatabricks() as fake:
        body = databricks_failure(fake, 8001, "nightly_orders_load", SQL_DOWN)
        answer = post(body, "/webhooks/databricks/")
        early = wait_for(
            lambda: (
                Ticket.objects.filter(pk=answer["ticket_id"])
                .exclude(itsm_ticket_id="")
                .exclude(slack_ts="")
                .first()
            ),
            30,
        )
        assert (early.culprit, early.incident_id) == ("", None)
        [post(storm_failure(f"pl_member_{n}")) for n in range(2)]
        incident = paged_incident()
        assert not incident.members.filter(pk=early.pk).exists()

        settings.DATABRICKS_HOST, settings.DATABRICKS_TOKEN = fake.url, fake.token
        analyse_ticket.delay(early.pk, force=True).get(timeout=30)
        wait_for(lambda: incident_comments(jira, early.itsm_ticket_id, incident) >= 1, 30)
        settled()

    early.refresh_from_db()
    assert early.incident_id == incident.pk
    assert incident_comments(jira, early.itsm_ticket_id, incident) == 1
    assert incident_replies(slack, early, incident) == 1
    links = OutboundDelivery.objects.filter(ticket_id=early.pk, action__endswith="_inc_link")
    assert sorted(links.values_list("action", flat=True)) == ["jira_inc_link", "slack_inc_link"]
    assert len(jira.issues) == 2  # its own and the incident's: nothing paged twice


def test_a_forced_re_analysis_of_a_failure_long_past_places_it_in_no_incident(databricks):
    """Its text names the storm's server, but it failed long before the window: re-analysed
    now (its fetch had failed), its culprit is stored and it joins nothing (an incident open
    now is not its outage), nor forms one with a failure of today."""
    from analysis.services import analyse_ticket as analyse_now

    old = post(
        databricks_failure(databricks, 9001, "nightly_orders_load", SQL_DOWN),
        "/webhooks/databricks/",
    )["ticket_id"]
    Ticket.objects.filter(pk=old).update(last_seen="2000-01-01T00:00:00Z")
    post(storm_failure("pl_orders"))
    analyse_now(old, force=True)  # forms nothing with pl_orders' failure of today
    assert Incident.objects.count() == 0
    post(storm_failure("pl_customers"))
    incident = Incident.objects.get()

    ticket = Ticket.objects.get(pk=old)
    assert ticket.culprit == CULPRIT
    assert ticket.incident_id is None
    assert incident.members.count() == 2


def test_a_ticket_placed_by_two_copies_of_its_analysis_naming_two_culprits_is_in_one_incident(
    databricks,
):
    """Two analyses of one ticket (its processing and a forced re-analysis) whose fetches name
    different culprits (the run's error changed in between) hold different culprit locks: the
    second waits on the ticket's row and, once the first committed, finds it placed and leaves
    it alone (no second incident counting it, no culprit overwritten)."""
    import threading

    from django.db import connection, transaction

    from tickets import incidents

    other_message = STORM_MESSAGE.replace("sql-prod-01", "sql-other-02")
    for n in range(2):
        post(storm_failure(f"pl_member_{n}"))
        post(storm_failure(f"pl_other_{n}", message=other_message))
    first, second = (
        Incident.objects.get(culprit=CULPRIT),
        Incident.objects.exclude(culprit=CULPRIT).get(),
    )
    ticket_id = post(
        databricks_failure(databricks, 9101, "nightly_orders_load", SQL_DOWN),
        "/webhooks/databricks/",
    )["ticket_id"]
    placed, release, errors = threading.Event(), threading.Event(), []

    def place(culprit: str, hold: bool) -> None:
        try:
            with transaction.atomic():
                incidents.place_enriched(
                    ticket_id, culprit=culprit, culprit_detail="", error_type="NetworkError"
                )
                if hold:
                    placed.set()
                    release.wait(5)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    one = threading.Thread(target=place, args=(first.culprit, True))
    one.start()
    assert placed.wait(5)
    two = threading.Thread(target=place, args=(second.culprit, False))
    two.start()
    two.join(1)  # it waits on the ticket's row
    release.set()
    one.join(10)
    two.join(10)
    assert errors == []

    ticket = Ticket.objects.get(pk=ticket_id)
    assert (ticket.culprit, ticket.incident_id) == (first.culprit, first.pk)
    for incident in (first, second):
        incident.refresh_from_db()
        assert incident.member_count == incident.members.count()
    assert (first.member_count, second.member_count) == (3, 2)


def test_a_failure_whose_fetched_text_is_graver_than_unknown_is_raised_to_its_severity(
    databricks,
):
    """Without its text a Databricks failure is Unknown, so Medium (P3); the text fetched
    before anything pages it decides: a login failure is High (P2). A severity is never
    lowered by it (the source's own is a floor)."""
    from analysis.services import enrich_tickets
    from tickets.rules import sla_seconds_for

    login = post(
        databricks_failure(
            databricks, 6001, "orders_load", "Login failed for user 'etl_svc'. (18456)"
        ),
        "/webhooks/databricks/",
    )["ticket_id"]
    table = post(
        databricks_failure(databricks, 6101, "orders_merge", TABLE_MISSING),
        "/webhooks/databricks/",
    )["ticket_id"]
    before = Ticket.objects.get(pk=login)
    assert (before.severity, before.priority) == ("Medium", "P3")
    Ticket.objects.filter(pk=table).update(severity="Critical", priority="P1")

    enrich_tickets([login, table])

    raised, kept = Ticket.objects.get(pk=login), Ticket.objects.get(pk=table)
    assert (raised.severity, raised.priority) == ("High", "P2")
    assert raised.sla_seconds == sla_seconds_for("P2")
    assert raised.sla_deadline == raised.timestamp + timedelta(seconds=raised.sla_seconds)
    assert (kept.severity, kept.priority) == ("Critical", "P1")


def test_a_ticket_recovering_while_its_placement_waits_on_its_row_joins_no_incident(databricks):
    """The run succeeds (its recovery holds the ticket's row) while the fetched text is being
    placed: the placement, which read the ticket before it could lock it, reads again under
    the lock and, the failure over, stores the culprit but joins no incident (as a ticket
    recovered before is placed nowhere)."""
    import threading

    from django.db import connection, transaction

    from tickets import incidents, lifecycle
    from tickets.lifecycle import Actor

    for n in range(2):
        post(storm_failure(f"pl_member_{n}"))
    incident = Incident.objects.get()
    ticket_id = post(
        databricks_failure(databricks, 9201, "nightly_orders_load", SQL_DOWN),
        "/webhooks/databricks/",
    )["ticket_id"]
    holding, release, errors = threading.Event(), threading.Event(), []

    def recover() -> None:
        try:
            with transaction.atomic():
                ticket = Ticket.objects.select_for_update().defer("embedding").get(pk=ticket_id)
                lifecycle.resolve_at_source(ticket, Actor.source("databricks"), details={})
                holding.set()
                release.wait(5)
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    def place() -> None:
        try:
            with transaction.atomic():
                incidents.place_enriched(
                    ticket_id, culprit=CULPRIT, culprit_detail="", error_type="NetworkError"
                )
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    recovery = threading.Thread(target=recover)
    recovery.start()
    assert holding.wait(5)
    placing = threading.Thread(target=place)
    placing.start()
    placing.join(1)  # it read the ticket, and waits on its row
    release.set()
    recovery.join(10)
    placing.join(10)
    assert errors == []

    ticket = Ticket.objects.get(pk=ticket_id)
    assert ticket.resolved_at_source_at is not None
    assert (ticket.culprit, ticket.incident_id) == (CULPRIT, None)
    incident.refresh_from_db()
    assert incident.member_count == incident.members.count() == 2


def test_a_member_raised_by_its_fetched_text_raises_its_incident(databricks):
    """The incident pages with the gravest member's severity: a Databricks job whose fetched
    text is a DatabaseError (High) joining a TimeoutError (Medium) outage of the same server
    makes the incident High, P2 (it joined with the Medium it had before its text came)."""
    from analysis.services import enrich_tickets
    from tests.conftest import local_payload

    timed_out = (
        "pyodbc.OperationalError: ('HYT00', '[HYT00] [Microsoft][ODBC Driver 18 for SQL "
        "Server]Login timeout expired (0) (SQLDriverConnect)') server "
        "sql-prod-01.database.windows.net"
    )
    for dag in ("sales_daily", "orders_hourly"):
        body = {**local_payload("airflow_failure.json"), "dag_id": dag, "exception": timed_out}
        post(body, "/webhooks/airflow/")
    incident = Incident.objects.get()
    assert (incident.severity, incident.priority) == ("Medium", "P3")
    job = post(
        databricks_failure(databricks, 7001, "nightly_orders_load", SQL_DOWN),
        "/webhooks/databricks/",
    )["ticket_id"]

    enrich_tickets([job])

    ticket = Ticket.objects.get(pk=job)
    assert (ticket.incident_id, ticket.severity, ticket.priority) == (incident.pk, "High", "P2")
    incident.refresh_from_db()
    assert (incident.severity, incident.priority) == ("High", "P2")


def test_a_raised_severity_leaves_an_sla_already_decided_and_keeps_the_clocks_start(databricks):
    """Acknowledged in time before its text came (Met against the 4 h of P3), a ticket keeps
    that SLA when its fetched text raises it to High: its deadline is not moved to before the
    acknowledgement. A ticket whose clock restarted (a regression) gets the shorter SLA from
    that restart, not from when it was first created (days ago: breached at once)."""
    from analysis.services import enrich_tickets
    from tickets import lifecycle, rules
    from tickets.lifecycle import Actor

    login = post(
        databricks_failure(databricks, 6201, "orders_load", "Login failed for user 'etl'. (18456)"),
        "/webhooks/databricks/",
    )["ticket_id"]
    created = Ticket.objects.get(pk=login)
    earlier = created.timestamp - timedelta(minutes=90)
    Ticket.objects.filter(pk=login).update(
        timestamp=earlier, sla_deadline=earlier + timedelta(seconds=created.sla_seconds)
    )
    lifecycle.acknowledge(login, Actor.system("tests"))
    acknowledged = Ticket.objects.get(pk=login)
    assert acknowledged.sla_status == "Met"

    enrich_tickets([login])

    raised = Ticket.objects.get(pk=login)
    assert (raised.severity, raised.priority) == ("High", "P2")
    assert raised.sla_status == "Met"
    assert (raised.sla_seconds, raised.sla_deadline) == (
        acknowledged.sla_seconds,
        acknowledged.sla_deadline,
    )

    restarted = Ticket.objects.get(pk=login)
    restarted.sla_status = "Pending"
    restarted.timestamp -= timedelta(days=2)
    assert restarted.sla_deadline is not None
    clock_start = restarted.sla_deadline - timedelta(seconds=restarted.sla_seconds)
    restarted.severity, restarted.priority = "Medium", "P3"
    changed = rules.severity_raised_by_class(restarted, "AuthenticationError")
    assert changed["sla_deadline"] == clock_start + timedelta(seconds=changed["sla_seconds"])


def job_cluster_lost(cluster_id: str) -> str:
    """What a job run on its own job cluster says when the workspace's clusters lose their
    drivers (Databricks' termination reason and its type)."""
    return (
        f"Unexpected failure while waiting for the cluster ({cluster_id}) to be ready: Cluster "
        f"{cluster_id} is in unexpected state Terminated: DRIVER_UNREACHABLE(SERVICE_FAULT): "
        "Driver is unreachable"
    )


def test_jobs_losing_their_own_job_clusters_in_one_workspace_outage_page_once(
    celery_worker, targets, databricks, settings
):
    """Each job run gets a job cluster of its own: its id differs per run, so it is no shared
    cause. The workspace's clusters failing at once is: one incident, paged once."""
    jira, slack = targets
    settings.INCIDENT_GRACE_SECONDS = 10  # the first failure waits long enough to be grouped
    clusters = ["1207-145501-abcd1234", "1207-145502-efgh5678", "1207-145503-ijkl9012"]
    tickets = [
        post(
            databricks_failure(databricks, 8001 + 10 * n, f"job_{n}", job_cluster_lost(cluster)),
            "/webhooks/databricks/",
        )["ticket_id"]
        for n, cluster in enumerate(clusters)
    ]
    [processed(ticket_id) for ticket_id in tickets]
    incident = paged_incident()

    assert incident.culprit == f"databricks-workspace:{WORKSPACE}"
    assert set(incident.members.values_list("pk", flat=True)) == set(tickets)
    assert Incident.objects.count() == 1
    # None pages on its own: a ticket placed alone before the others came had its page queued
    # for after its grace delay, and by then it is in the incident, whose page covers it.
    settled()
    own_pages = Ticket.objects.filter(pk__in=tickets).exclude(itsm_ticket_id="", slack_ts="")
    assert not own_pages.exists()
    assert len(jira.issues) == 1
    # One alert; what else is posted goes in its thread (the repair asked for approval).
    posts = slack.api_requests("chat.postMessage")
    assert len([p for p in posts if not p.body.get("thread_ts")]) == 1
    [issue] = jira.issues.values()
    assert f"Incident: Databricks workspace {WORKSPACE}: 3 tickets" in issue["summary"]


def test_an_adf_failure_naming_the_azure_workspace_host_joins_its_notifications_incident(
    celery_worker, targets, databricks, settings
):
    """Databricks' notifications give the workspace's id; ADF's Databricks activity names its
    host, `adb-<id>.<n>.azuredatabricks.net`: one workspace, one incident (two before, each
    keyed its own way)."""
    settings.INCIDENT_GRACE_SECONDS = 10  # the first failure waits long enough to be grouped
    clusters = ["1207-145501-abcd1234", "1207-145502-efgh5678"]
    notified = [
        post(
            databricks_failure(databricks, 8101 + 10 * n, f"job_{n}", job_cluster_lost(cluster)),
            "/webhooks/databricks/",
        )["ticket_id"]
        for n, cluster in enumerate(clusters)
    ]
    host = f"adb-{WORKSPACE}.7.azuredatabricks.net"
    adf_error = job_cluster_lost("1207-145503-ijkl9012") + f" (https://{host}/#job/1/run/2)"
    from_adf = post(storm_failure("pl_lakehouse_load", message=adf_error))["ticket_id"]
    tickets = [*notified, from_adf]
    [processed(ticket_id) for ticket_id in tickets]
    incident = paged_incident()

    adf_ticket = Ticket.objects.get(pk=from_adf)
    assert (adf_ticket.culprit, adf_ticket.culprit_detail) == (
        f"databricks-workspace:{WORKSPACE}",
        host,
    )
    assert incident.culprit == f"databricks-workspace:{WORKSPACE}"
    assert set(incident.members.values_list("pk", flat=True)) == set(tickets)
    assert Incident.objects.count() == 1


def job_cluster_refused_by_policy(cluster_id: str) -> str:
    """A job whose own job cluster Azure refused to launch for the customer's policy, its
    termination reason as the API's JSON gives it (type CLIENT_ERROR)."""
    return (
        f'Cluster {cluster_id} was terminated: "termination_reason": {{"code": '
        '"CLOUD_PROVIDER_LAUNCH_FAILURE", "type": "CLIENT_ERROR", "parameters": '
        '{"azure_error_code": "RequestDisallowedByPolicy"}}'
    )


def test_jobs_whose_clusters_stopped_for_their_own_reason_in_json_page_on_their_own(
    celery_worker, targets, databricks, settings
):
    """A launch failure of type CLIENT_ERROR is the job's own setup, however the reason is
    written: two such jobs of one workspace are two tickets, each paging, not one workspace
    incident (the JSON `"type": "CLIENT_ERROR"` was not read, so they grouped)."""
    jira, _slack = targets
    settings.INCIDENT_GRACE_SECONDS = 1
    clusters = ["1207-145501-abcd1234", "1207-145502-efgh5678"]
    tickets = [
        post(
            databricks_failure(
                databricks, 8201 + 10 * n, f"job_{n}", job_cluster_refused_by_policy(cluster)
            ),
            "/webhooks/databricks/",
        )["ticket_id"]
        for n, cluster in enumerate(clusters)
    ]
    placed = [processed(ticket_id) for ticket_id in tickets]

    assert {ticket.culprit for ticket in placed} == {
        f"databricks-cluster:{cluster}" for cluster in clusters
    }
    assert not Incident.objects.exists()
    wait_for(lambda: len(jira.issues) == 2, 30)
    settled()
    assert not Incident.objects.exists()
