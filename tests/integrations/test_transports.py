"""The outbound transports, each driving the real vendor client: `jira` against FakeJira,
`slack_sdk` against FakeSlack, `azure-storage-blob` against the real Azurite emulator.

No database: plain pytest functions.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from azure.storage.blob import BlobServiceClient
from django.test import override_settings

from integrations.targets.base import TransportError, parse_retry_after
from integrations.targets.blob import BlobTransport
from integrations.targets.jira import JiraTransport
from integrations.targets.slack import SlackTransport
from tests.fakes.azurite import ACCOUNT_NAME, Azurite, connection_string, free_port
from tests.fakes.jira_api import FakeJira, Transition
from tests.fakes.slack_api import FakeSlack

TIMEOUT = 1.0  # the transports' timeout in the stall tests


def raises_transport_error(call: Callable[[], Any]) -> tuple[TransportError, float]:
    started = time.monotonic()
    with pytest.raises(TransportError) as caught:
        call()
    return caught.value, time.monotonic() - started


# ---------------------------------------------------------------------------------------------
# JIRA
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def fake_jira() -> Iterator[FakeJira]:
    with FakeJira() as fake:
        yield fake


@pytest.fixture
def jira(fake_jira: FakeJira) -> JiraTransport:
    return JiraTransport(fake_jira.url, fake_jira.user, fake_jira.token, timeout=TIMEOUT)


def new_issue(jira: JiraTransport, label: str = "rca-ADF-20240405-0001", **overrides: Any) -> str:
    fields: dict[str, Any] = {
        "project": "OPS",
        "summary": "[P2] ADF pipeline CopySalesToLake failed: NetworkError",
        "description": "Root cause: the SQL firewall blocks the integration runtime.",
        "priority": "High",
        "labels": [label, "rca-service", "rca-networkerror"],
    }
    fields.update(overrides)
    return jira.create_issue(**fields)


def test_jira_issue_lifecycle(jira: JiraTransport, fake_jira: FakeJira) -> None:
    key = new_issue(jira)
    assert key == "OPS-1"
    assert new_issue(jira, label="rca-ADF-20240405-0002") == "OPS-2"
    issue = fake_jira.issues["OPS-1"]
    assert issue["labels"] == ["rca-ADF-20240405-0001", "rca-service", "rca-networkerror"]
    assert (issue["priority"], issue["issuetype"], issue["status"]) == ("High", "Task", "To Do")

    assert jira.find_issue_by_label("rca-ADF-20240405-0001") == "OPS-1"
    assert jira.find_issue_by_label("rca-ADF-20240405-0002") == "OPS-2"
    assert jira.find_issue_by_label("rca-unknown") is None

    assert jira.current_status(key) == "To Do"
    assert jira.transition_to(key, "In Progress") is True
    assert jira.current_status(key) == "In Progress"
    assert jira.transition_to(key, "done") is True  # status names match case-insensitively
    assert jira.current_status(key) == "Done"
    posts = len(fake_jira.requests_to(f"/issue/{key}/transitions"))
    assert jira.transition_to(key, "Done") is False  # already there: nothing sent
    assert len(fake_jira.requests_to(f"/issue/{key}/transitions")) == posts
    assert jira.transition_to(key, "To Do") is True
    assert [(t["from"], t["to"]) for t in issue["transitions"]] == [
        ("To Do", "In Progress"),
        ("In Progress", "Done"),
        ("Done", "To Do"),
    ]

    jira.add_comment(key, "Acknowledged by alice via Slack.")
    assert [c["body"] for c in issue["comments"]] == ["Acknowledged by alice via Slack."]


def test_jira_moves_an_issue_to_the_first_equivalent_status_its_workflow_offers(
    jira: JiraTransport, fake_jira: FakeJira
) -> None:
    fake_jira.workflow = (
        Transition("5", "Resolve Issue", "Resolved", ("Open", "Reopened")),
        Transition("2", "Close Issue", "Closed", ("Open", "Resolved", "Reopened")),
        Transition("3", "Reopen Issue", "Reopened", ("Resolved", "Closed")),
    )
    fake_jira.initial_status = "Open"
    key = new_issue(jira)
    assert jira.transition_to(key, "Resolved", "Closed") is True
    posts = len(fake_jira.requests_to(f"/issue/{key}/transitions"))
    assert jira.transition_to(key, "Closed", "resolved") is False  # in one of them: not moved
    assert len(fake_jira.requests_to(f"/issue/{key}/transitions")) == posts
    assert jira.transition_to(key, "Open", "Reopened") is True  # no way back to Open
    assert fake_jira.issues[key]["status"] == "Reopened"
    error, _ = raises_transport_error(lambda: jira.transition_to(key, "Open", "To Do"))
    assert error.permanent
    assert "no transition leads to 'Open' or 'To Do' (available: " in str(error)


def test_jira_calls_only_the_expected_paths(jira: JiraTransport, fake_jira: FakeJira) -> None:
    from django.core.cache import cache

    from integrations.targets.jira import OWN_ACCOUNT_KEY

    cache.delete(OWN_ACCOUNT_KEY)
    key = new_issue(jira)
    jira.find_issue_by_label("rca-ADF-20240405-0001")
    jira.transition_to(key, "In Progress")
    jira.transition_to(key, "Done")
    jira.add_comment(key, "note")
    calls = [(r.method, r.path) for r in fake_jira.requests]
    assert calls == [
        ("POST", "/rest/api/2/issue"),  # no project lookup, no read-back (prefetch=False)
        ("GET", "/rest/api/2/field"),  # the library's field cache, once per client
        ("GET", "/rest/api/2/search"),
        ("GET", "/rest/api/2/issue/OPS-1"),
        ("GET", "/rest/api/2/issue/OPS-1/transitions"),
        ("GET", "/rest/api/2/myself"),  # who the service is, once (its echoes name it)
        ("POST", "/rest/api/2/issue/OPS-1/transitions"),
        ("GET", "/rest/api/2/issue/OPS-1"),
        ("GET", "/rest/api/2/issue/OPS-1/transitions"),
        ("POST", "/rest/api/2/issue/OPS-1/transitions"),
        ("POST", "/rest/api/2/issue/OPS-1/comment"),
    ]
    search = fake_jira.requests_to("/search")[0]
    assert search.param("jql") == 'labels = "rca-ADF-20240405-0001" ORDER BY created ASC'
    assert fake_jira.requests_to("/transitions")[1].body["transition"]["id"] in (21, "21")


def test_a_comment_before_any_transition_learns_who_the_service_is(
    jira: JiraTransport, fake_jira: FakeJira
) -> None:
    """Jira Cloud's comment webhook names the author by account id only: the service must know
    its own before its first comment comes back, or the echo is taken for a person's."""
    from django.core.cache import cache

    from integrations.targets.jira import OWN_ACCOUNT_KEY, own_account_ids

    cache.delete(OWN_ACCOUNT_KEY)
    key = new_issue(jira)
    jira.add_comment(key, "Remediation: the pipeline was rerun and succeeded.")

    assert fake_jira.account_id in (own_account_ids() or ())


def test_jira_cloud_uses_the_new_search_api(fake_jira: FakeJira) -> None:
    jira = JiraTransport(fake_jira.url, fake_jira.user, fake_jira.token, cloud=True)
    key = new_issue(jira)
    assert jira.find_issue_by_label("rca-ADF-20240405-0001") == key
    assert [r.path for r in fake_jira.requests_to("/search")] == ["/rest/api/2/search/jql"]
    assert JiraTransport("https://acme.atlassian.net", "u", "t").cloud is True
    assert JiraTransport("https://jira.acme.internal", "u", "t").cloud is False


def test_jira_label_with_quotes_is_escaped(jira: JiraTransport) -> None:
    key = new_issue(jira, label='odd"label\\x')
    assert jira.find_issue_by_label('odd"label\\x') == key


def test_jira_lost_create_response_is_found_by_label(
    jira: JiraTransport, fake_jira: FakeJira
) -> None:
    fake_jira.lose_create_response(status=500)
    error, _ = raises_transport_error(lambda: new_issue(jira))
    assert not error.permanent
    assert error.status == 500
    # The retry looks first and finds the issue the lost call created: no duplicate.
    assert jira.find_issue_by_label("rca-ADF-20240405-0001") == "OPS-1"
    assert list(fake_jira.issues) == ["OPS-1"]

    fake_jira.lose_create_response(status=0, stall=5)  # created, answer never arrives in time
    error, elapsed = raises_transport_error(lambda: new_issue(jira, label="rca-second"))
    assert not error.permanent
    assert elapsed < 2 * TIMEOUT
    assert jira.find_issue_by_label("rca-second") == "OPS-2"


def test_jira_wrong_credentials_are_permanent(fake_jira: FakeJira) -> None:
    jira = JiraTransport(fake_jira.url, fake_jira.user, "wrong-token", timeout=TIMEOUT)
    error, _ = raises_transport_error(lambda: new_issue(jira))
    assert error.permanent
    assert error.status == 401
    assert fake_jira.issues == {}


def test_jira_validation_errors_are_permanent(jira: JiraTransport, fake_jira: FakeJira) -> None:
    error, _ = raises_transport_error(lambda: new_issue(jira, labels=["has space"]))
    assert error.permanent
    assert error.status == 400
    assert "contains spaces" in str(error)
    error, _ = raises_transport_error(lambda: new_issue(jira, project="NOPE"))
    assert (error.permanent, error.status) == (True, 400)
    error, _ = raises_transport_error(lambda: jira.add_comment("OPS-404", "hello"))
    assert (error.permanent, error.status) == (True, 404)


CLASSIC_PRIORITIES = ("Blocker", "Critical", "Major", "Minor", "Trivial")


@pytest.mark.parametrize("scheme", [CLASSIC_PRIORITIES, ()], ids=["classic scheme", "no priority"])
def test_jira_refusing_the_priority_still_gets_the_issue_made_and_updated(
    jira: JiraTransport, fake_jira: FakeJira, scheme: tuple[str, ...]
) -> None:
    """A Jira Server/Data Center site set up before 7.6 keeps Blocker … Trivial, and a project
    may leave Priority off its screens: JIRA refused "High" with a 400 (permanent), so no
    ticket ever got an issue there. Made and updated without it, the project's default applies."""
    fake_jira.priorities = scheme
    key = new_issue(jira, priority="High")
    issue = fake_jira.issues[key]
    assert issue["priority"] == ("Major" if scheme else "")
    assert len(fake_jira.issues) == 1

    jira.update_issue(key, summary="updated", description="new RCA", priority="Highest")
    assert (issue["summary"], issue["description"]) == ("updated", "new RCA")
    assert issue["priority"] == ("Major" if scheme else "")

    # Another field refused is still an error, and nothing is made.
    error, _ = raises_transport_error(lambda: new_issue(jira, labels=["has space"]))
    assert (error.permanent, error.status) == (True, 400)
    assert len(fake_jira.issues) == 1


def test_a_long_error_and_rca_still_make_an_issue_cut_inside_its_noformat_block(
    jira: JiraTransport, fake_jira: FakeJira
) -> None:
    """An error message (up to 20,000 characters) with a long RCA and recommendations passed
    JIRA's 32,767 characters a description: a 400, a permanent error, and no issue ever. The
    error text is cut inside its block, which stays closed, and the cut is said; a comment
    quoting a long note and fix fits too."""
    from integrations.targets.jira import DESCRIPTION_LIMIT, jira_comment, jira_description
    from tickets.models import Ticket

    error, _ = raises_transport_error(lambda: new_issue(jira, description="x" * 32768))
    assert (error.permanent, error.status) == (True, 400)  # as JIRA answers
    assert "too long" in str(error)

    ticket = Ticket(
        id="ADF-20261205T000000-abc123",
        pipeline="pl_x",
        error_message="{noformat}" * 2000,  # 20,000 characters, each tag escaped: longer
        rca_result="r" * 6000,
        recommendations=["s" * 1000] * 5,
    )
    description = jira_description(ticket)
    assert len(description) <= DESCRIPTION_LIMIT
    key = new_issue(jira, description=description)
    stored = fake_jira.issues[key]["description"]
    assert stored == description
    assert stored.count("{noformat}") % 2 == 0
    block = stored.split("*Culprit:* none named\n", 1)[1]
    assert block.startswith("{noformat}\n{ noformat}")
    assert "\n{noformat}\n_(cut: the first " in block
    assert block.endswith(f"/tickets/{ticket.pk}/]")
    assert "r" * 6000 in stored and "s" * 1000 in stored
    ticket.rca_result = "{noformat}" * 4000  # the rest alone too long: the whole is cut
    description = jira_description(ticket)
    assert len(description) == DESCRIPTION_LIMIT
    assert description.count("{noformat}") % 2 == 0
    assert description.endswith("{noformat}\n_(cut: the rest is in the RCA service)_")

    comment = jira_comment("resolve", "daan", "{noformat}" * 3000, "api", "f" * 30000)
    jira.add_comment(key, comment)
    assert fake_jira.issues[key]["comments"][-1]["body"].count("{noformat}") == 4


def test_an_error_of_emoji_fits_jiras_limit_as_jira_counts_it(
    jira: JiraTransport, fake_jira: FakeJira
) -> None:
    """JIRA counts its 32,767 in UTF-16 code units: 20,000 emoji are 40,000 of them. Counted
    as Python characters, the description passed our limit and JIRA refused it (a 400, so no
    issue ever)."""
    from integrations.targets.jira import (
        DESCRIPTION_LIMIT,
        jira_comment,
        jira_description,
        jira_length,
    )
    from tickets.models import Ticket

    ticket = Ticket(
        id="ADF-20261205T000000-abc124",
        pipeline="pl_x",
        error_message="\U0001f525" * 20000,
        rca_result="\U0001f4a5" * 6000,
    )
    description = jira_description(ticket)
    assert jira_length(description) <= DESCRIPTION_LIMIT
    assert "\ufffd" not in description  # no character split
    key = new_issue(jira, description=description)
    assert fake_jira.issues[key]["description"] == description
    comment = jira_comment("resolve", "daan", "\U0001f525" * 12000, "api", "\U0001f4a5" * 12000)
    jira.add_comment(key, comment)
    assert fake_jira.issues[key]["comments"][-1]["body"] == comment


def test_jira_server_error_is_transient(jira: JiraTransport, fake_jira: FakeJira) -> None:
    fake_jira.fail(500, fake_jira.error_body(500, "Internal server error"))
    error, _ = raises_transport_error(lambda: new_issue(jira))
    assert not error.permanent
    assert error.status == 500
    assert error.retry_after is None


def test_jira_throttling_is_transient_with_retry_after(
    jira: JiraTransport, fake_jira: FakeJira
) -> None:
    fake_jira.throttle(7, path_contains="/search")
    error, elapsed = raises_transport_error(lambda: jira.find_issue_by_label("rca-x"))
    assert not error.permanent
    assert error.status == 429
    assert error.retry_after == 7
    assert elapsed < 2  # the library did not sleep and retry on its own
    assert len(fake_jira.requests_to("/search")) == 1


def test_jira_503_is_not_retried_by_the_library(jira: JiraTransport, fake_jira: FakeJira) -> None:
    fake_jira.fail(503, fake_jira.error_body(503, "maintenance"), headers={"Retry-After": "3"})
    error, _ = raises_transport_error(lambda: new_issue(jira))
    assert (error.permanent, error.status, error.retry_after) == (False, 503, 3)
    assert len(fake_jira.requests_to("/rest/api/2/issue")) == 1


def test_jira_stall_times_out_as_transient(jira: JiraTransport, fake_jira: FakeJira) -> None:
    fake_jira.stall(10)
    error, elapsed = raises_transport_error(lambda: jira.current_status("OPS-1"))
    assert not error.permanent
    assert elapsed < 2 * TIMEOUT
    assert "timed out" in str(error)


def test_jira_unreachable_is_transient() -> None:
    jira = JiraTransport(f"http://127.0.0.1:{free_port()}", "u", "t", timeout=TIMEOUT)
    error, _ = raises_transport_error(lambda: jira.find_issue_by_label("rca-x"))
    assert not error.permanent
    assert error.status is None


def test_jira_unknown_target_status_is_permanent(jira: JiraTransport, fake_jira: FakeJira) -> None:
    key = new_issue(jira)
    error, _ = raises_transport_error(lambda: jira.transition_to(key, "Blocked"))
    assert error.permanent
    assert "Blocked" in str(error)
    assert fake_jira.issues[key]["status"] == "To Do"


def test_jira_concurrent_moves_to_one_status_both_succeed(
    jira: JiraTransport, fake_jira: FakeJira
) -> None:
    """A remediation's success resolves its ticket: the resolution's delivery and the
    success's both move the issue to Done, on two worker threads. The one JIRA refuses (the
    issue is there already: "Transition id '31' is not valid") has nothing left to do; it is
    no dead letter, and its comment still follows."""
    key = new_issue(jira)
    other = JiraTransport(fake_jira.url, fake_jira.user, fake_jira.token, timeout=5)
    # Both list the transitions while the issue is still To Do, then both send the move.
    fake_jira.stall(0.5, times=2, path_contains=f"/issue/{key}/transitions")
    results: dict[str, Any] = {}

    def move(name: str, transport: JiraTransport) -> None:
        try:
            results[name] = transport.transition_to(key, "Done")
        except TransportError as exc:
            results[name] = exc

    threads = [
        threading.Thread(target=move, args=(name, transport))
        for name, transport in (("one", jira), ("other", other))
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(results.values(), key=str) == [False, True], results
    assert fake_jira.issues[key]["status"] == "Done"
    assert [t["to"] for t in fake_jira.issues[key]["transitions"]] == ["Done"]


# ---------------------------------------------------------------------------------------------
# Slack
# ---------------------------------------------------------------------------------------------

BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "P2 ADF failure"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*CopySalesToLake* failed"}},
]


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack(fake_slack: FakeSlack) -> SlackTransport:
    return SlackTransport(fake_slack.token, base_url=fake_slack.base_url, timeout=TIMEOUT)


def test_slack_post_update_and_thread(slack: SlackTransport, fake_slack: FakeSlack) -> None:
    channel, ts = slack.post_message("#alerts", text="P2 ADF failure", blocks=BLOCKS)
    assert channel == fake_slack.channels["alerts"]
    assert ts.count(".") == 1

    new_blocks = [*BLOCKS, {"type": "context", "elements": [{"type": "mrkdwn", "text": "ack"}]}]
    slack.update_message(channel, ts, text="P2 ADF failure (acknowledged)", blocks=new_blocks)
    reply_ts = slack.reply_in_thread(channel, ts, text="Acknowledged by alice")
    assert reply_ts != ts

    message = fake_slack.messages[(channel, ts)]
    assert message["text"] == "P2 ADF failure (acknowledged)"
    assert message["blocks"] == new_blocks
    assert message["history"] == [{"text": "P2 ADF failure", "blocks": BLOCKS}]
    assert [r["text"] for r in fake_slack.thread(channel, ts)] == ["Acknowledged by alice"]
    assert fake_slack.messages[(channel, reply_ts)]["thread_ts"] == ts

    calls = [r.path for r in fake_slack.requests]
    assert calls == ["/api/chat.postMessage", "/api/chat.update", "/api/chat.postMessage"]
    assert all(
        r.header("Authorization") == f"Bearer {fake_slack.token}" for r in fake_slack.requests
    )


def test_slack_base_url_without_trailing_slash(fake_slack: FakeSlack) -> None:
    slack = SlackTransport(fake_slack.token, base_url=f"{fake_slack.url}/api", timeout=TIMEOUT)
    channel, _ = slack.post_message("C0DATAENG01", text="hello", blocks=[])
    assert channel == "C0DATAENG01"


@pytest.mark.parametrize(
    ("channel", "error_code"),
    [("#no-such-channel", "channel_not_found"), ("#private-ops", "not_in_channel")],
)
def test_slack_channel_errors_are_permanent(
    slack: SlackTransport, channel: str, error_code: str
) -> None:
    error, _ = raises_transport_error(
        lambda: slack.post_message(channel, text="hello", blocks=BLOCKS)
    )
    assert error.permanent
    assert error_code in str(error)


def test_slack_update_needs_an_existing_message(
    slack: SlackTransport, fake_slack: FakeSlack
) -> None:
    error, _ = raises_transport_error(
        lambda: slack.update_message("C0ALERTS002", "1.000001", text="x", blocks=[])
    )
    assert error.permanent
    assert "message_not_found" in str(error)
    error, _ = raises_transport_error(
        lambda: slack.post_message("#alerts", text="x", blocks=[{"type": "bogus"}])
    )
    assert error.permanent
    assert "invalid_blocks" in str(error)


def test_slack_invalid_auth_is_permanent(fake_slack: FakeSlack) -> None:
    slack = SlackTransport("xoxb-wrong", base_url=fake_slack.base_url, timeout=TIMEOUT)
    error, _ = raises_transport_error(lambda: slack.post_message("#alerts", text="x", blocks=[]))
    assert error.permanent
    assert "invalid_auth" in str(error)
    assert fake_slack.messages == {}


def test_slack_rate_limit_is_transient_with_retry_after(
    slack: SlackTransport, fake_slack: FakeSlack
) -> None:
    fake_slack.throttle(30)
    error, elapsed = raises_transport_error(
        lambda: slack.post_message("#alerts", text="x", blocks=BLOCKS)
    )
    assert not error.permanent
    assert error.status == 429
    assert error.retry_after == 30
    assert "ratelimited" in str(error)
    assert elapsed < 2
    assert len(fake_slack.requests) == 1  # slack_sdk did not retry behind our back
    assert slack.post_message("#alerts", text="x", blocks=BLOCKS)  # the next call goes through


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (500, None),
        (503, {"ok": False, "error": "service_unavailable"}),
        (200, {"ok": False, "error": "fatal_error"}),
        (200, {"ok": False, "error": "internal_error"}),
    ],
)
def test_slack_server_errors_are_transient(
    slack: SlackTransport, fake_slack: FakeSlack, status: int, body: Any
) -> None:
    fake_slack.fail(status, body)
    error, _ = raises_transport_error(
        lambda: slack.post_message("#alerts", text="x", blocks=BLOCKS)
    )
    assert not error.permanent
    assert error.status == status


def test_slack_stall_times_out_as_transient(slack: SlackTransport, fake_slack: FakeSlack) -> None:
    fake_slack.stall(10)
    error, elapsed = raises_transport_error(
        lambda: slack.post_message("#alerts", text="x", blocks=BLOCKS)
    )
    assert not error.permanent
    assert elapsed < 2 * TIMEOUT
    assert len(fake_slack.requests) == 1


def test_slack_unreachable_is_transient() -> None:
    slack = SlackTransport("xoxb-x", base_url=f"http://127.0.0.1:{free_port()}/api/", timeout=1)
    error, _ = raises_transport_error(lambda: slack.post_message("#alerts", text="x", blocks=[]))
    assert not error.permanent


# ---------------------------------------------------------------------------------------------
# Azure Blob (the real Azurite emulator)
# ---------------------------------------------------------------------------------------------

FILES = {
    "payload.json": (
        b'{"pipelineName": "CopySalesToLake", "status": "Failed"}',
        "application/json",
    ),
    "activity-error.log": (
        b"ErrorCode=SqlFailedToConnect\nCannot connect to SQL Database.",
        "text/plain; charset=utf-8",
    ),
}


@pytest.fixture(scope="module")
def azurite() -> Iterator[Azurite]:
    with Azurite() as emulator:
        yield emulator


@pytest.fixture
def container() -> str:
    return f"rca-evidence-{uuid.uuid4().hex[:12]}"  # each test starts without its container


@pytest.fixture
def blob(azurite: Azurite, container: str) -> BlobTransport:
    return BlobTransport(azurite.connection_string, container, timeout=TIMEOUT * 3)


def download(azurite: Azurite, container: str, name: str) -> tuple[bytes, str | None]:
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    client = service.get_blob_client(container, name)
    content = client.download_blob().readall()
    return content, client.get_blob_properties().content_settings.content_type


def test_blob_upload_evidence_and_read_back(
    blob: BlobTransport, azurite: Azurite, container: str
) -> None:
    prefix = "ADF-20240405-0001"
    url = blob.upload_evidence(prefix, FILES)  # the container does not exist yet
    assert url == f"{azurite.blob_endpoint}/{container}/{prefix}/"
    for name, (content, content_type) in FILES.items():
        assert download(azurite, container, f"{prefix}/{name}") == (content, content_type)

    # Again (a retried task): overwritten in place, nothing duplicated or refused.
    changed = {**FILES, "payload.json": (b'{"status": "Failed", "run": 2}', "application/json")}
    assert blob.upload_evidence(f"/{prefix}/", changed) == url
    assert download(azurite, container, f"{prefix}/payload.json") == changed["payload.json"]
    service = BlobServiceClient.from_connection_string(azurite.connection_string)
    names = sorted(b.name for b in service.get_container_client(container).list_blobs())
    assert names == sorted(f"{prefix}/{name}" for name in FILES)


def test_blob_rca_files_are_not_overwritten_by_an_earlier_analysis(
    blob: BlobTransport, azurite: Azurite, container: str
) -> None:
    """Two re-analyses' rewrites can run at once, the one that read the older analysis
    finishing last: the files keep the later analysis (a retry of it still writes)."""
    first, second, third = (dt.datetime(2026, 12, 5, 9, m, tzinfo=dt.UTC) for m in (1, 2, 3))
    rca = {"rca.md": (b"# second analysis", "text/markdown")}
    blob.upload_evidence("ADF-7", rca, analysed_at=second)  # the container does not exist yet
    blob.upload_evidence(
        "ADF-7", {"rca.md": (b"# first analysis", "text/markdown")}, analysed_at=first
    )
    assert download(azurite, container, "ADF-7/rca.md") == (b"# second analysis", "text/markdown")

    blob.upload_evidence(
        "ADF-7", {"rca.md": (b"# second, again", "text/markdown")}, analysed_at=second
    )
    assert download(azurite, container, "ADF-7/rca.md")[0] == b"# second, again"
    # Told in another zone, the same instant orders the same.
    later = third.astimezone(dt.timezone(dt.timedelta(hours=-5)))
    blob.upload_evidence(
        "ADF-7", {"rca.md": (b"# third analysis", "text/markdown")}, analysed_at=later
    )
    assert download(azurite, container, "ADF-7/rca.md")[0] == b"# third analysis"


def test_blob_rca_rewrite_read_before_a_later_one_lands_reads_again(
    azurite: Azurite, container: str
) -> None:
    """A later analysis's files written between this writer's read and its write: its write
    is refused (the ETag it read changed), it reads again and leaves the later files."""
    older, newer = (dt.datetime(2026, 12, 5, 9, m, tzinfo=dt.UTC) for m in (1, 2))
    setup = BlobTransport(azurite.connection_string, container, timeout=TIMEOUT * 3)
    setup.upload_evidence("ADF-8", {"rca.md": (b"# oldest", "text/markdown")}, analysed_at=older)
    other = BlobTransport(azurite.connection_string, container, timeout=TIMEOUT * 3)
    reads = []

    def land_the_later_analysis_after_the_first_read(response: Any) -> None:
        if response.http_request.method == "HEAD":
            reads.append(response.http_response.status_code)
            if len(reads) == 1:
                rca = {"rca.md": (b"# newer", "text/markdown")}
                other.upload_evidence("ADF-8", rca, analysed_at=newer)

    racing = BlobTransport(azurite.connection_string, container, timeout=TIMEOUT * 3)
    racing._container = BlobServiceClient.from_connection_string(
        azurite.connection_string, raw_response_hook=land_the_later_analysis_after_the_first_read
    ).get_container_client(container)
    rca = {"rca.md": (b"# older, read first", "text/markdown")}
    racing.upload_evidence("ADF-8", rca, analysed_at=older)

    assert len(reads) == 2  # refused once, read again
    assert download(azurite, container, "ADF-8/rca.md")[0] == b"# newer"


def test_blob_sas_url_reads_with_plain_urllib(blob: BlobTransport) -> None:
    blob.upload_evidence("ADF-20240405-0002", FILES)
    url = blob.sas_url("ADF-20240405-0002/payload.json", minutes=5)
    assert "sp=r" in url
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.read() == FILES["payload.json"][0]
        assert response.headers["Content-Type"] == "application/json"

    tampered = url.replace("sig=", "sig=AAAA")
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(tampered, timeout=5)
    assert caught.value.code == 403

    expired = blob.sas_url("ADF-20240405-0002/payload.json", minutes=-1)
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(expired, timeout=5)
    assert caught.value.code == 403

    unsigned = url.split("?", 1)[0]  # the container is private
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(unsigned, timeout=5)
    assert caught.value.code in (403, 404)


def test_blob_wrong_account_key_is_permanent(azurite: Azurite, container: str) -> None:
    bad = azurite.connection_string.replace("AccountKey=Eby8", "AccountKey=Xby8")
    blob = BlobTransport(bad, container, timeout=TIMEOUT * 3)
    error, _ = raises_transport_error(lambda: blob.upload_evidence("ADF-1", FILES))
    assert error.permanent
    assert error.status == 403


def test_blob_emulator_down_is_transient(container: str) -> None:
    with Azurite() as emulator:
        blob = BlobTransport(emulator.connection_string, container, timeout=TIMEOUT * 3)
        assert blob.upload_evidence("ADF-1", FILES)
    error, elapsed = raises_transport_error(lambda: blob.upload_evidence("ADF-1", FILES))
    assert not error.permanent
    assert elapsed < 5  # no retries inside the SDK


def test_bad_connection_string_is_permanent() -> None:
    with pytest.raises(TransportError) as caught:
        BlobTransport("not a connection string", "c")
    assert caught.value.permanent


@pytest.mark.django_db
def test_evidence_link_is_signed_or_says_why_it_cannot_be(
    client: Any, settings: Any, azurite: Azurite, container: str
) -> None:
    """Staff get a read link to the evidence; a connection string without the account key
    (one holding a SAS: uploads work) cannot sign one, and the answer says so."""
    from datetime import UTC, datetime, timedelta

    from azure.storage.blob import AccountSasPermissions, ResourceTypes, generate_account_sas
    from django.contrib.auth.models import Group, User

    from tests.fakes.azurite import ACCOUNT_KEY
    from tests.remediation.conftest import make_ticket

    settings.AZURE_STORAGE_CONNECTION_STRING = azurite.connection_string
    settings.AZURE_STORAGE_CONTAINER = container
    ticket = make_ticket(blob_log_url=f"{azurite.blob_endpoint}/{container}/x/")
    BlobTransport(azurite.connection_string, container).upload_evidence(ticket.pk, FILES)
    viewer = User.objects.create_user("viewer-user", password="pw-for-tests-only")
    viewer.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(viewer)
    path = f"/tickets/{ticket.pk}/evidence/payload.json"

    signed = client.get(path)
    assert signed.status_code == 302
    with urllib.request.urlopen(signed["Location"], timeout=5) as response:
        assert response.read() == FILES["payload.json"][0]

    sas = generate_account_sas(
        ACCOUNT_NAME,
        ACCOUNT_KEY,
        ResourceTypes(container=True, object=True),
        AccountSasPermissions(read=True, write=True, create=True),
        expiry=datetime.now(UTC) + timedelta(hours=1),
    )
    settings.AZURE_STORAGE_CONNECTION_STRING = (
        f"BlobEndpoint={azurite.blob_endpoint};SharedAccessSignature={sas}"
    )
    refused = client.get(path)
    assert refused.status_code == 503
    message = refused.content.decode()
    assert "account key" in message and "AZURE_STORAGE_CONNECTION_STRING" in message


# ---------------------------------------------------------------------------------------------
# Configuration and helpers
# ---------------------------------------------------------------------------------------------


def test_from_settings_returns_none_when_not_configured() -> None:
    with override_settings(
        JIRA_URL="",
        JIRA_USER="",
        JIRA_API_TOKEN="",
        SLACK_BOT_TOKEN="",
        AZURE_STORAGE_CONNECTION_STRING="",
    ):
        assert JiraTransport.from_settings() is None
        assert SlackTransport.from_settings() is None
        assert BlobTransport.from_settings() is None


def test_from_settings_builds_configured_transports() -> None:
    with override_settings(
        JIRA_URL="https://jira.example.com",
        JIRA_USER="bot@example.com",
        JIRA_API_TOKEN="token",
        SLACK_BOT_TOKEN="xoxb-1",
        SLACK_BASE_URL="http://127.0.0.1:9/api",
        AZURE_STORAGE_CONNECTION_STRING=connection_string(10000),
        AZURE_STORAGE_CONTAINER="",
        OUTBOUND_TIMEOUT_SECONDS=4.5,
    ):
        jira = JiraTransport.from_settings()
        slack = SlackTransport.from_settings()
        blob = BlobTransport.from_settings()
    assert jira is not None and jira.timeout == 4.5 and jira.cloud is False
    assert slack is not None and slack.timeout == 4.5
    assert blob is not None and blob.container == "rca-evidence"
    assert blob.container_url == f"http://127.0.0.1:10000/{ACCOUNT_NAME}/rca-evidence"
    with override_settings(
        JIRA_URL="https://jira.acme.com", JIRA_USER="u", JIRA_API_TOKEN="t", JIRA_CLOUD=True
    ):
        custom_domain_cloud = JiraTransport.from_settings()
    assert custom_domain_cloud is not None and custom_domain_cloud.cloud is True


def test_parse_retry_after() -> None:
    assert parse_retry_after("7") == 7
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    later = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 120))
    assert 100 < (parse_retry_after(later) or 0) <= 120
    assert parse_retry_after("inf") == parse_retry_after("1e12") == 86400
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT") == 86400
    assert parse_retry_after("nan") is None
