"""What the schemathesis run (test_schemathesis.py) found: input that made the service answer
500, and answers the schema did not document. Each case now gets its documented answer."""

from __future__ import annotations

import base64
import json
import re
from urllib.parse import urlencode

import pytest
from rest_framework.test import APIClient

from integrations.models import OutboundDelivery
from tests.api import clear_throttles, jwt_client, make_ticket, make_user
from tickets.models import AuditLog

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_throttles():
    clear_throttles()


def forged_cursor(position: str) -> str:
    """A cursor as DRF encodes one, with a position of our choosing."""
    return base64.b64encode(urlencode({"p": position}).encode()).decode()


@pytest.mark.parametrize(
    "ordering", ["", "-timestamp", "severity", "occurrence_count", "-sla_deadline"]
)
@pytest.mark.parametrize("position", ["garbage", "a\x00b", "2025-13-45 00:00:00"])
def test_a_forged_cursor_is_an_invalid_cursor(ordering, position):
    make_ticket()
    api = jwt_client(make_user("viewer"))

    response = api.get(
        "/api/v1/tickets/", {"ordering": ordering, "cursor": forged_cursor(position)}
    )

    assert response.status_code == 404
    assert response.json() == {"error": "Invalid cursor"}


@pytest.mark.parametrize("position", ["garbage", "a\x00b", "2025-13-45 00:00:00"])
def test_a_forged_deliveries_cursor_is_an_invalid_cursor(position):
    """As on every paged list: DRF's 404 "Invalid cursor", the database never asked with it."""
    ticket = make_ticket()
    OutboundDelivery.objects.create(
        key=f"{ticket.pk}:jira_create", ticket=ticket, target="jira", action="jira_create"
    )
    api = jwt_client(make_user("viewer"))

    response = api.get(
        f"/api/v1/tickets/{ticket.pk}/deliveries/", {"cursor": forged_cursor(position)}
    )

    assert response.status_code == 404
    assert response.json() == {"error": "Invalid cursor"}


@pytest.mark.parametrize("cursor", ["abcd", "hello world", "cD0x*", "é", "eD0x"])
def test_a_cursor_that_is_not_one_is_invalid_not_the_first_page(cursor):
    """`?cursor=abcd` (a cursor cut or mangled on its way) was read as the first page: a
    client following the list would read page one again and again. Refused as any forged
    cursor is ("eD0x" is `x=1` in base64: no offset, direction or position)."""
    make_ticket()
    api = jwt_client(make_user("viewer"))

    response = api.get("/api/v1/tickets/", {"cursor": cursor})

    assert response.status_code == 404, response.content
    assert response.json() == {"error": "Invalid cursor"}


def test_a_list_s_own_next_link_is_followed():
    for _ in range(3):
        make_ticket()
    api = jwt_client(make_user("viewer"))

    first = api.get("/api/v1/tickets/", {"page_size": 2}).json()
    second = api.get(first["next"]).json()

    assert len(first["results"]) == 2 and len(second["results"]) == 1
    assert api.get(second["previous"]).json()["results"] == first["results"]


def test_a_forged_audit_cursor_is_an_invalid_cursor():
    ticket = make_ticket()
    AuditLog.objects.create(ticket=ticket, action="created", actor_kind="system")
    api = jwt_client(make_user("viewer"))

    response = api.get(f"/api/v1/tickets/{ticket.pk}/audit/", {"cursor": forged_cursor("x")})

    assert response.status_code == 404


@pytest.mark.parametrize("position", ["garbage", "a\x00b", "2025-13-45 00:00:00"])
def test_a_forged_incident_members_cursor_is_an_invalid_cursor(position):
    from tests.tickets.test_incidents import post, storm_failure
    from tickets.models import Incident

    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    api = jwt_client(make_user("viewer"))

    response = api.get(
        f"/api/v1/incidents/{Incident.objects.get().pk}/members/",
        {"cursor": forged_cursor(position)},
    )

    assert response.status_code == 404
    assert response.json() == {"error": "Invalid cursor"}


def test_a_cursor_position_with_any_utc_offset_is_used_in_utc():
    """Python takes offsets up to 23:59, PostgreSQL up to 15:59. (A tickets cursor's position
    is the ordering's terms, then the whole key: the ordering's value, then the id.)"""
    make_ticket()
    api = jwt_client(make_user("viewer"))

    key = json.dumps(["-timestamp,-id", "2999-06-28 10:57:30+18:19", "~"])
    response = api.get("/api/v1/tickets/", {"ordering": "-timestamp", "cursor": forged_cursor(key)})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize(
    "method, suffix",
    [
        ("get", ""),
        ("get", "audit/"),
        ("get", "similar/"),
        ("get", "deliveries/"),
        ("post", "acknowledge/"),
        ("post", "take/"),
        ("post", "reopen/"),
        ("post", "rerun-rca/"),
    ],
)
def test_a_ticket_id_with_a_nul_character_is_not_found(method, suffix):
    api = jwt_client(make_user("admin"))

    response = getattr(api, method)(f"/api/v1/tickets/ADF-1%00/{suffix}")

    assert response.status_code == 404
    assert response.json() == {"error": "no ticket with this id"}


def test_created_after_takes_any_utc_offset():
    make_ticket()
    api = jwt_client(make_user("viewer"))

    response = api.get("/api/v1/tickets/", {"created_after": "2001-06-28T10:57:30+18:19"})

    assert response.status_code == 200
    assert len(response.json()["results"]) == 1


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"])
@pytest.mark.parametrize("name", ["created_after", "created_before"])
def test_a_date_out_of_range_in_utc_is_a_bad_filter_value(name, value):
    api = jwt_client(make_user("viewer"))

    response = api.get("/api/v1/tickets/", {name: value})

    assert response.status_code == 400
    assert name in response.json()["detail"]


def test_a_search_with_a_nul_character_is_refused_naming_the_parameter():
    api = jwt_client(make_user("viewer"))

    response = api.get("/api/v1/tickets/", {"search": "a\x00b"})

    assert response.status_code == 400
    assert list(response.json()["detail"]) == ["search"]


@pytest.mark.parametrize("stamp", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00"])
def test_a_webhook_time_out_of_range_in_utc_is_refused_and_kept(webhook_client, stamp):
    body = {"pipeline": "p", "run_id": "r", "error_message": "boom", "run_end": stamp}

    response = webhook_client("/webhooks/adf/", body)

    assert response.status_code == 400
    assert "run_end" in response.json()["error"] and response.json()["tracking_id"]


@pytest.fixture(scope="module")
def schema(django_db_blocker) -> dict:
    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/schema/", {"format": "json"})
    return json.loads(response.content)


def test_schema_documents_what_the_api_answers(schema):
    components = schema["components"]["schemas"]
    # Empty until the evidence is uploaded: not a URI.
    assert "format" not in components["TicketDetail"]["properties"]["blob_log_url"]
    # JIRA, Slack, the source and the system are not users.
    assert components["AuditEntry"]["properties"]["username"]["nullable"] is True
    for path in ("/api/v1/token/refresh/", "/api/v1/token/revoke/", "/api/v1/token/verify/"):
        assert {"200", "400", "401"} <= set(schema["paths"][path]["post"]["responses"])
    assert "404" in schema["paths"]["/api/v1/tickets/"]["get"]["responses"]  # invalid cursor
    for path, item in schema["paths"].items():
        for operation in item.values():
            responses = operation["responses"]
            # DRF's throttles and parsers: every operation under /api/v1/ (the legacy
            # /api/remediation-callback is a plain webhook view).
            assert ("429" in responses) == path.startswith("/api/v1/"), path
            if path.startswith("/api/v1/"):
                assert ("415" in responses) == ("requestBody" in operation), path
                # PostgreSQL or Redis down: every endpoint (rca_project/errors.py).
                assert "503" in responses, path


@pytest.mark.parametrize("content_type", ["application/json", "application/x-www-form-urlencoded"])
def test_a_body_over_the_upload_limit_is_a_json_413_naming_it(settings, content_type):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    ticket = make_ticket()
    client = jwt_client(make_user("responder"))
    fix = "x" * (80 * 1024)
    body = json.dumps({"fix": fix}) if content_type == "application/json" else f"fix={fix}"
    answer = client.generic(
        "POST", f"/api/v1/tickets/{ticket.pk}/resolve/", body, content_type=content_type
    )
    assert answer.status_code == 413, answer.content
    assert answer.json() == {"error": "body larger than 65536 bytes"}
    ticket.refresh_from_db()
    assert ticket.status == "open"


@pytest.mark.parametrize("ticket_id", ["日本", "ADF-nope", "a%20b"])
def test_an_unknown_ticket_is_named_the_same_way_everywhere(ticket_id):
    client = jwt_client(make_user("viewer"))
    for path in ("", "audit/", "similar/"):
        answer = client.get(f"/api/v1/tickets/{ticket_id}/{path}")
        assert answer.status_code == 404, (path, answer.content)
        assert answer.json() == {"error": "no ticket with this id"}, path


def test_a_form_with_too_many_fields_is_a_json_400_naming_the_limit(settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    ticket = make_ticket()
    client = jwt_client(make_user("responder"))
    body = "&".join(f"f{n}=x" for n in range(20))
    answer = client.generic(
        "POST",
        f"/api/v1/tickets/{ticket.pk}/acknowledge/",
        body,
        content_type="application/x-www-form-urlencoded",
    )
    assert answer.status_code == 400, answer.content
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in answer.json()["error"]


@pytest.mark.parametrize(
    ("path", "unknown", "takes"),
    [
        ("/api/v1/tickets/", "since", "created_after"),
        ("/api/v1/incidents/", "created_after", "since"),
        ("/api/v1/log-analyses/", "since", "ticket_id"),
    ],
)
def test_a_parameter_the_list_does_not_take_is_refused_naming_it(path, unknown, takes):
    """Ignored, `?since=` gave the whole ticket list as if it were the filtered one."""
    make_ticket()
    api = jwt_client(make_user("viewer"))

    response = api.get(path, {unknown: "2025-01-01T00:00:00Z"})

    assert response.status_code == 400
    message = response.json()["detail"][unknown]
    assert "not a parameter of this list" in str(message)
    assert takes in str(message)


def three_of_each_paged_list() -> list[str]:
    """Every cursor-paged list of the API, each holding three items or more."""
    from analysis.models import LogAnalysisJob
    from tickets.models import Incident, IncidentEvent, Ticket

    incident = Incident.objects.create(
        id="INC-20251210T123456-paging", group_key="sql-server:a|DatabaseError", member_count=3
    )
    incident_ticket = make_ticket()
    for number in range(3):
        ticket = make_ticket()
        Ticket.objects.filter(pk=ticket.pk).update(incident=incident)
        IncidentEvent.objects.create(incident=incident, kind="member", ticket=ticket)
        AuditLog.objects.create(ticket=incident_ticket, action="created", actor_kind="system")
        OutboundDelivery.objects.create(
            key=f"{incident_ticket.pk}:slack_update:{number}",
            ticket=incident_ticket,
            target="slack",
            action="slack_update",
        )
        LogAnalysisJob.objects.create(source=LogAnalysisJob.Source.UPLOAD)
    for number in range(2):
        Incident.objects.create(id=f"INC-20251210T12345{number}-other", group_key=f"g{number}")
    return [
        "/api/v1/tickets/",
        f"/api/v1/tickets/{incident_ticket.pk}/audit/",
        f"/api/v1/tickets/{incident_ticket.pk}/deliveries/",
        "/api/v1/incidents/",
        f"/api/v1/incidents/{incident.pk}/members/",
        f"/api/v1/incidents/{incident.pk}/timeline/",
        "/api/v1/log-analyses/",
    ]


def test_every_paged_list_takes_a_page_size_and_refuses_a_bad_one_alike():
    """The incidents, an incident's members and timeline and the log analyses refused
    `?page_size=` as "not a parameter of this list" while the tickets and the audit took it."""
    api = jwt_client(make_user("viewer"))

    for path in three_of_each_paged_list():
        first = api.get(path, {"page_size": "2"})
        assert first.status_code == 200, (path, first.content)
        assert len(first.json()["results"]) == 2 and first.json()["next"], path
        rest = api.get(first.json()["next"]).json()["results"]
        assert rest, path
        cap = None
        for bad in ("0", "-1", "abc"):
            refused = api.get(path, {"page_size": bad})
            assert refused.status_code == 400, (path, bad)
            [(name, message)] = refused.json()["detail"].items()
            assert name == "page_size", (path, name)
            # It said "(at most 200)" of a list that reads 1000 as 200.
            cap = re.fullmatch(
                r"a positive whole number \(more than (\d+) is read as \1\), not .*", message
            )
            assert cap, (path, message)
            assert message.endswith(f"not {bad!r}"), (path, message)
        assert cap is not None
        over = api.get(path, {"page_size": str(int(cap.group(1)) + 1)})
        assert over.status_code == 200, (path, over.content)


@pytest.mark.parametrize(
    ("path", "name", "values"),
    [
        ("/api/v1/tickets/", "team", ["team-a", "team-b"]),
        ("/api/v1/tickets/", "pipeline", ["sales", "orders"]),
        ("/api/v1/tickets/", "created_after", ["2000-01-01T00:00:00Z"] * 2),
        ("/api/v1/tickets/", "jira_key", ["OPS-1", "OPS-2", "OPS-3"]),
        ("/api/v1/tickets/", "search", ["sales", "orders"]),
        ("/api/v1/tickets/", "ordering", ["severity", "-timestamp"]),
        ("/api/v1/tickets/", "page_size", ["1", "2"]),
        ("/api/v1/incidents/", "team", ["team-a", "team-b"]),
        ("/api/v1/incidents/", "culprit", ["sql-server:a", "sql-server:b"]),
        ("/api/v1/incidents/", "resolved", ["true", "false"]),
        ("/api/v1/incidents/", "since", ["2000-01-01T00:00:00Z", "2001-01-01T00:00:00Z"]),
        ("/api/v1/log-analyses/", "ticket_id", ["a", "b"]),
    ],
)
def test_a_parameter_taking_one_value_given_several_is_refused_naming_it(path, name, values):
    """`?team=a&team=b` answered team b's list, as if it were both teams'."""
    make_ticket(finops_team="team-b")
    api = jwt_client(make_user("responder"))

    response = api.get(f"{path}?{urlencode([(name, v) for v in values])}")

    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert list(detail) == [name]
    assert f"takes one value, given {len(values)} times" in str(detail[name])


@pytest.mark.parametrize(
    ("path", "query", "repeatable"),
    [
        (
            "/api/v1/tickets/",
            "status=open&status=acknowledged&severity=High&severity=Low",
            "status",
        ),
        ("/api/v1/incidents/", "status=open&status=resolved&source=adf&source=airflow", "source"),
        ("/api/v1/log-analyses/", "status=queued&status=done", "status"),
    ],
)
def test_a_filter_of_several_choices_still_takes_several(path, query, repeatable):
    api = jwt_client(make_user("responder"))

    assert api.get(f"{path}?{query}").status_code == 200
    refused = api.get(f"{path}?{query}&format=json&format=json").json()["detail"]["format"]
    assert repeatable in str(refused)


def test_an_incident_members_list_refuses_a_filter_it_does_not_have():
    from tests.tickets.test_incidents import post, storm_failure
    from tickets.models import Incident

    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    api = jwt_client(make_user("viewer"))
    members = f"/api/v1/incidents/{Incident.objects.get().pk}/members/"

    assert api.get(members, {"status": "open"}).status_code == 400
    assert len(api.get(members, {"format": "json"}).json()["results"]) == 2


def test_every_parameter_a_ticket_list_takes_is_still_taken():
    older = make_ticket(pipeline="pl_sales_daily", severity="High")
    make_ticket(pipeline="pl_sales_daily", severity="High")
    make_ticket(pipeline="pl_other", severity="High")
    api = jwt_client(make_user("viewer"))
    query = {
        "status": "open",
        "severity": "High",
        "search": "sales_daily",
        "ordering": "-timestamp",
        "page_size": "1",
        "created_after": "2000-01-01T00:00:00Z",
        "format": "json",
    }
    first = api.get("/api/v1/tickets/", query).json()

    response = api.get(first["next"])

    assert response.status_code == 200, response.json()
    assert [row["id"] for row in response.json()["results"]] == [older.pk]


@pytest.mark.parametrize("value", [5, 2.5, True, ["a"], {"a": "b"}])
@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/tickets/{ticket}/rerun-rca/", "note"),
        ("/api/v1/tickets/{ticket}/acknowledge/", "note"),
        ("/api/v1/tickets/{ticket}/resolve/", "note"),
        ("/api/v1/tickets/{ticket}/resolve/", "fix"),
        ("/api/v1/incidents/1/detach/", "ticket"),
        ("/api/v1/incidents/1/merge/", "into"),
        ("/api/v1/incidents/1/resolve/", "fix"),
        ("/api/v1/log-analyses/", "ticket_id"),
        ("/api/v1/log-analyses/", "url"),
        ("/api/v1/token/", "username"),
        ("/api/v1/token/", "password"),
        ("/api/v1/token/refresh/", "refresh"),
        ("/api/v1/token/revoke/", "refresh"),
        ("/api/v1/token/verify/", "token"),
    ],
)
def test_a_string_field_given_anything_but_a_string_is_refused_naming_it(path, field, value):
    """DRF's CharField took `{"note": 5}` as the note "5": a field that takes text takes text."""
    ticket = make_ticket()
    api = jwt_client(make_user("responder"))

    response = api.post(path.format(ticket=ticket.pk), {field: value}, format="json")

    assert response.status_code == 400, response.content
    assert "must be a string" in json.dumps(response.json().get("detail", {}).get(field)), (
        response.json()
    )
    assert not AuditLog.objects.filter(ticket=ticket).exclude(action="created").exists()


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        ("get", "", None),
        ("get", "members/", None),
        ("get", "timeline/", None),
        ("post", "acknowledge/", {}),
        ("post", "take/", {}),
        ("post", "reopen/", {}),
        ("post", "resolve/", {"fix": "restarted it"}),
        ("post", "detach/", {"ticket": "ADF-1"}),
        ("post", "merge/", {"into": "INC-2"}),
    ],
)
def test_an_incident_id_with_a_nul_character_is_not_found(method, suffix, body):
    """The actions queried PostgreSQL with it: a 500 (text cannot hold NUL)."""
    api = jwt_client(make_user("responder"))

    response = getattr(api, method)(f"/api/v1/incidents/INC-1%00/{suffix}", body, format="json")

    assert response.status_code == 404
    assert response.json() == {"error": "no incident with this id"}


def allowed_values(schema: dict, component: str, field: str) -> set[str]:
    """The values the served schema allows a string enum field of a component."""
    field_schema = schema["components"]["schemas"][component]["properties"][field]
    options = field_schema.get("oneOf") or field_schema.get("allOf") or [field_schema]
    values: set[str] = set()
    for option in options:
        name = option.get("$ref", "").rsplit("/", 1)[-1]
        values.update((schema["components"]["schemas"][name] if name else option)["enum"])
    return values


def test_the_schema_allows_the_empty_values_the_api_answers(schema, webhook_client):
    """A rejected delivery's outcome and a member failure's actor_kind are "", which the
    schema's enums left out: a client generated from it failed to read those answers."""
    from tests.tickets.test_incidents import post, storm_failure
    from tickets.models import Incident

    rejected = webhook_client("/webhooks/adf/", {"run_id": "r"}).json()["tracking_id"]
    post(storm_failure("pl_orders"))
    post(storm_failure("pl_customers"))
    api = jwt_client(make_user("viewer"))

    trace = api.get(f"/api/v1/trace/{rejected}/").json()
    timeline = api.get(f"/api/v1/incidents/{Incident.objects.get().pk}/timeline/").json()

    assert trace["delivery"]["outcome"] == ""
    assert "" in {event["actor_kind"] for event in timeline["results"]}
    assert "" in allowed_values(schema, "InboxDelivery", "outcome")
    assert "" in allowed_values(schema, "IncidentEvent", "actor_kind")


@pytest.mark.parametrize(
    ("suffix", "parameter", "takes"),
    [
        ("similar/", "page_size", "it takes none"),
        ("similar/", "status", "it takes none"),
        ("deliveries/", "status", "it takes cursor, page_size"),
        ("deliveries/", "since", "it takes cursor, page_size"),
    ],
)
def test_a_ticket_sub_list_refuses_a_parameter_it_does_not_take(suffix, parameter, takes):
    """`similar/?page_size=1` answered every similar ticket, read as the one asked for;
    `deliveries/?status=dead` would answer every delivery, read as the dead letters."""
    ticket = make_ticket()
    api = jwt_client(make_user("viewer"))

    response = api.get(f"/api/v1/tickets/{ticket.pk}/{suffix}", {parameter: "1"})

    assert response.status_code == 400, response.content
    message = response.json()["detail"][parameter]
    assert "not a parameter of this list" in message and takes in message, message
    assert api.get(f"/api/v1/tickets/{ticket.pk}/{suffix}", {"format": "json"}).status_code == 200


@pytest.mark.parametrize(
    ("path", "body", "unknown"),
    [
        ("/api/v1/tickets/{ticket}/acknowledge/", {"notes": "on it"}, "notes"),
        ("/api/v1/tickets/{ticket}/acknowledge/", {"note": "on it", "fix": "x"}, "fix"),
        ("/api/v1/tickets/{ticket}/resolve/", {"fix_text": "restarted the gateway"}, "fix_text"),
        ("/api/v1/tickets/{ticket}/rerun-rca/", {"reason": "new logs"}, "reason"),
        ("/api/v1/incidents/1/resolve/", {"fixed": "restarted it"}, "fixed"),
        ("/api/v1/incidents/1/detach/", {"ticket_id": "ADF-1"}, "ticket_id"),
        ("/api/v1/incidents/1/merge/", {"into": "INC-2", "note": "same"}, "note"),
    ],
)
def test_a_body_field_an_action_does_not_take_is_refused_naming_it(path, body, unknown):
    """Dropped, `{"fix_text": ...}` resolved the ticket with no fix recorded, and a misspelt
    `notes` acknowledged it without the note."""
    ticket = make_ticket()
    api = jwt_client(make_user("responder"))

    response = api.post(path.format(ticket=ticket.pk), body, format="json")

    assert response.status_code == 400, response.content
    assert "not a field of this body" in response.json()["detail"][unknown]
    assert not AuditLog.objects.filter(ticket=ticket).exclude(action="created").exists()


def test_a_session_form_posts_its_csrf_token_beside_the_fields():
    ticket = make_ticket()
    api = APIClient()
    api.force_login(make_user("responder"))

    response = api.post(
        f"/api/v1/tickets/{ticket.pk}/acknowledge/",
        {"note": "on it", "csrfmiddlewaretoken": "token"},
        format="multipart",
    )

    assert response.status_code == 200, response.content
    assert AuditLog.objects.get(ticket=ticket, action="acknowledge").details["note"] == "on it"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tickets/{ticket}/acknowledge/",
        "/api/v1/incidents/1/merge/",
        "/api/v1/log-analyses/",
        "/api/v1/token/",
        "/api/v1/token/refresh/",
    ],
)
def test_json_nested_too_deeply_is_a_400_not_a_500(path):
    """DRF's JSON parser let json's RecursionError through: a 500 for 200 kB of `[`."""
    ticket = make_ticket()
    api = jwt_client(make_user("responder"))
    body = '{"note": ' + "[" * 100_000 + "]" * 100_000 + "}"

    response = api.post(path.format(ticket=ticket.pk), body, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json() == {"error": "JSON parse error - nested too deeply"}


@pytest.mark.parametrize(
    ("method", "path", "body", "field"),
    [
        ("post", "/api/v1/tickets/{ticket}/acknowledge/", {"note": 5}, "note"),
        ("post", "/api/v1/tickets/{ticket}/acknowledge/", {"notes": "x"}, "notes"),
        ("post", "/api/v1/incidents/1/merge/", {}, "into"),
        ("post", "/api/v1/token/", {"username": 5, "password": "x"}, "username"),
        ("post", "/api/v1/log-analyses/", {"url": 5}, "url"),
        ("get", "/api/v1/tickets/", {"status": "bogus"}, "status"),
        ("get", "/api/v1/tickets/", {"since": "2025-01-01"}, "since"),
        (
            "get",
            "/api/v1/stats/",
            {"since": "2025-02-01T00:00Z", "until": "2025-01-01T00:00Z"},
            "since",
        ),
        ("get", "/api/v1/log-analyses/", {"status": "bogus"}, "status"),
    ],
)
def test_a_400_names_each_field_with_one_sentence_on_every_endpoint(method, path, body, field):
    """`detail` was `{"note": ["must be a string"]}` from a serializer's field but
    `{"since": "not a parameter…"}` from a view: a client had to handle both."""
    ticket = make_ticket()
    api = jwt_client(make_user("responder"))
    url = path.format(ticket=ticket.pk)

    response = api.post(url, body, format="json") if method == "post" else api.get(url, body)

    assert response.status_code == 400, response.content
    detail = response.json()["detail"]
    assert isinstance(detail[field], str) and detail[field], detail
    assert all(isinstance(sentence, str) for sentence in detail.values()), detail


@pytest.mark.parametrize("raw", ["[]", "null", "0", "false", '""'])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tickets/{ticket}/acknowledge/",
        "/api/v1/tickets/{ticket}/take/",
        "/api/v1/tickets/{ticket}/resolve/",
    ],
)
def test_a_json_body_that_is_not_an_object_is_refused_not_read_as_no_body(path, raw):
    """`request.data or {}` read `[]`, `null`, `0`, `false` and `""` as no body: the ticket was
    acknowledged, while `"x"` or `5` were a 400."""
    ticket = make_ticket()
    api = jwt_client(make_user("responder"))

    response = api.post(path.format(ticket=ticket.pk), raw, content_type="application/json")

    assert response.status_code == 400, response.content
    assert response.json()["error"].startswith("the body must be a JSON object, not ")
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert not AuditLog.objects.filter(ticket=ticket).exclude(action="created").exists()


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("null", "null"),
        ("[]", "an array"),
        ('[{"note": "x"}]', "an array"),
        ("0", "a number"),
        ("1.5", "a number"),
        ("false", "a boolean"),
        ('""', "a string"),
    ],
)
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/tickets/{ticket}/reopen/",
        "/api/v1/tickets/{ticket}/resolve/",
        "/api/v1/token/",
        "/api/v1/token/refresh/",
        "/api/v1/log-analyses/",
    ],
)
def test_a_body_that_is_not_an_object_is_named_as_what_it_is(path, raw, kind):
    """`null` was answered "No data provided" (it is a body, and the README says it is not read
    as none) and `[]` "Expected a dictionary, but got list" under `non_field_errors`, no field
    of the body; the log analyses' start said what was wrong."""
    ticket = make_ticket()
    api = jwt_client(make_user("responder"))

    response = api.post(path.format(ticket=ticket.pk), raw, content_type="application/json")

    assert response.status_code == 400, response.content
    expected = (
        "the body must be a JSON object or a multipart form"
        if path == "/api/v1/log-analyses/"
        else f"the body must be a JSON object, not {kind}"
    )
    assert response.json() == {"error": expected}


@pytest.mark.parametrize(
    ("path", "query", "named"),
    [
        (
            "/api/v1/tickets/",
            {"severity": "high"},
            "“high” is not one of Critical, High, Medium, Low.",
        ),
        (
            "/api/v1/tickets/",
            {"source": ["adf", "azure_monitor"]},
            "“azure_monitor” is not one of azure-monitor, adf, databricks, airflow.",
        ),
        ("/api/v1/tickets/", {"sla_status": "met"}, "“met” is not one of Pending, Met, Breached."),
        ("/api/v1/incidents/", {"resolved": "yes"}, "“yes” is not one of true, false."),
        ("/api/v1/incidents/", {"status": "closed"}, "“closed” is not one of open, in_progress,"),
        ("/api/v1/log-analyses/", {"status": "finished"}, "“finished” is not one of queued,"),
    ],
)
def test_a_choice_filter_given_another_value_names_the_values_it_takes(path, query, named):
    """Django's "Select a valid choice. high is not one of the available choices." left the
    caller to find the values (case matters: `High`) in the schema."""
    api = jwt_client(make_user("viewer"))

    response = api.get(path, query)

    assert response.status_code == 400, response.content
    (field,) = response.json()["detail"]
    assert field in query and response.json()["detail"][field].startswith(named)


def test_an_action_without_a_body_still_acts():
    ticket = make_ticket()
    api = jwt_client(make_user("responder"))

    response = api.post(f"/api/v1/tickets/{ticket.pk}/acknowledge/")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "acknowledged"
