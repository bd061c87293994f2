"""The dashboard in headless Chromium against a real ASGI server (Daphne, HTTP + websocket).

Daphne runs in a thread of this test process, so it shares the test database (transactional
test: everything is committed) and the test Redis (Channels layer, Celery broker); a real Celery
worker (threads, same process) analyses the posted failures. The scenario: sign in, see the
board, post a failure to the real webhook and watch its card appear without a reload, follow
live changes on the detail page, acknowledge it and watch the card move on the board (live),
and check that markup in untrusted text stays text. Screenshots go to docs/.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connections, transaction
from django.db.models import F
from django.utils import timezone
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from analysis.services import enrich_tickets
from integrations.models import OutboundDelivery, Remediation
from tests.analysis.test_databricks_runs import pending_pair
from tests.analysis.test_enrichment_incidents import databricks
from tests.conftest import local_payload, wait_for
from tests.dashboard import PASSWORD, XSS, make_ticket, make_user
from tests.fakes.gemini_api import GOOD_RCA, FakeGemini
from tickets import incidents, lifecycle, rules
from tickets.lifecycle import Actor
from tickets.models import AuditLog, Incident, OwnershipRule, Resolution, Ticket
from tickets.timestamps import utc_text

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
# The README's screenshots are refreshed with RCA_SCREENSHOTS=docs; by default they go to a
# scratch folder so a test run leaves the working tree as it was.
DOCS = Path(os.environ.get("RCA_SCREENSHOTS") or tempfile.gettempdir() + "/rca-screenshots")

selenium = pytest.importorskip("selenium", reason="selenium is not installed")
if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
    pytest.skip("needs the Debian packages chromium and chromium-driver", allow_module_level=True)


pytestmark = pytest.mark.django_db(transaction=True)

__all__ = ["databricks"]  # fixture


# --- the server -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def asgi_server() -> Iterator[str]:
    """Daphne serving the project's ASGI application (plus static files) on a free port.

    Twisted's reactor runs once per process, so one server serves the whole module."""
    from daphne.server import Server  # installs the asyncio reactor before Twisted's default
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
    from twisted.internet import reactor

    from rca_project.asgi import application

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = Server(
        ASGIStaticFilesHandler(application),
        endpoints=[f"tcp:port={port}:interface=127.0.0.1"],
        signal_handlers=False,
        verbosity=0,
    )
    thread = threading.Thread(target=server.run, name="daphne", daemon=True)
    thread.start()
    wait_for(lambda: server.listening_addresses, timeout=15)
    yield f"http://127.0.0.1:{port}"
    # Twisted types the reactor by its zope interfaces, whose methods mypy reads as unbound.
    reactor.callFromThread(reactor.stop)  # type: ignore[misc]
    thread.join(timeout=10)


@pytest.fixture
def short_lived_connections() -> Iterator[None]:
    """The server's threads close their database connections after each request, so none is
    left open on the test database when it is flushed and dropped."""
    options = connections.settings["default"]
    before = options.get("CONN_MAX_AGE", 0)
    options["CONN_MAX_AGE"] = 0
    yield
    options["CONN_MAX_AGE"] = before


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if missing:
        pytest.fail(
            f"{', '.join(missing)} not found: apt-get install -y chromium chromium-driver",
            pytrace=False,
        )
    profile = tempfile.mkdtemp(prefix="rca-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-background-timer-throttling",
        "--disable-renderer-backgrounding",
        "--window-size=1440,900",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# --- helpers ----------------------------------------------------------------------------------


def wait(driver: webdriver.Chrome, condition, timeout: float = 20):
    """Until `condition` holds; an element the page re-rendered live between being found and
    read (a stale reference) is looked for again, as a missing one is."""
    return WebDriverWait(
        driver, timeout, poll_frequency=0.1, ignored_exceptions=(StaleElementReferenceException,)
    ).until(condition)


def column_of(driver: webdriver.Chrome, ticket_id: str) -> str | None:
    return driver.execute_script(
        "for (const card of document.querySelectorAll('#board .card')) {"
        "  if (card.dataset.id === arguments[0])"
        "    return card.closest('.column-list').dataset.column;"
        "} return null;",
        ticket_id,
    )


def card_text(driver: webdriver.Chrome, ticket_id: str, field: str) -> str | None:
    return driver.execute_script(
        "for (const card of document.querySelectorAll('#board .card')) {"
        "  if (card.dataset.id === arguments[0]) {"
        "    const node = card.querySelector('[data-field=\"' + arguments[1] + '\"]');"
        "    return node ? node.textContent : null; } } return null;",
        ticket_id,
        field,
    )


def post_failure(base_url: str, body: dict) -> dict:
    answer = requests.post(
        f"{base_url}/webhooks/adf/",
        data=json.dumps(body),
        headers={"X-Webhook-Token": settings.WEBHOOK_TOKEN, "Content-Type": "application/json"},
        timeout=15,
    )
    assert answer.status_code == 202, answer.text
    return answer.json()


def mark_page(driver: webdriver.Chrome) -> None:
    """A marker on `window`: still there later means the page was never reloaded."""
    driver.execute_script("window.__noReload = true;")


def reload_live(driver: webdriver.Chrome) -> None:
    """Reload the page and wait until its websocket is connected again: an event sent before
    then is not seen by the page (it was missed under load in a CI run)."""
    driver.refresh()
    wait(
        driver,
        lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live",
    )


def open_in_a_new_tab(driver: webdriver.Chrome, url: str) -> str:
    """Open `url` in a new tab and wait until it is live (its websocket connected); the
    handle of the tab it left."""
    left = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(url)
    wait(
        driver,
        lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live",
    )
    return left


def not_reloaded(driver: webdriver.Chrome) -> bool:
    return driver.execute_script("return window.__noReload === true;")


def assert_no_alert(driver: webdriver.Chrome) -> None:
    try:
        alert = driver.switch_to.alert
    except NoAlertPresentException:
        return
    text = alert.text
    alert.dismiss()
    raise AssertionError(f"a script from ticket data ran: alert({text})")


def screenshot(driver: webdriver.Chrome, name: str, max_height: int = 2000) -> Path:
    """The page at 1440 px wide, as tall as its content (up to max_height)."""
    height = driver.execute_script("return document.documentElement.scrollHeight;")
    metrics = {"width": 1440, "deviceScaleFactor": 1, "mobile": False}
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {**metrics, "height": max(800, min(int(height), max_height))},
    )
    time.sleep(0.3)
    DOCS.mkdir(parents=True, exist_ok=True)
    path = DOCS / name
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    return path


def seed_board() -> None:
    now = timezone.now()
    rows = [
        (
            "sales_daily.load_orders",
            "airflow",
            "Critical",
            "P1",
            "DatabaseError",
            "sales-analytics",
            3,
            8,
            15,
            "open",
            "",
        ),
        (
            "pl_ingest_iot_telemetry",
            "adf",
            "High",
            "P2",
            "ResourceExhaustion",
            "data-platform",
            1,
            47,
            60,
            "open",
            "OPS-311",
        ),
        (
            "nightly_customer_merge",
            "databricks",
            "Medium",
            "P3",
            "DataError",
            "customer-360",
            5,
            300,
            240,
            "open",
            "OPS-305",
        ),
        (
            "pl_export_finance_gl",
            "adf",
            "Low",
            "P4",
            "ConfigurationError",
            "finance-data",
            1,
            190,
            1440,
            "open",
            "",
        ),
        (
            "marketing_attribution.score",
            "airflow",
            "High",
            "P2",
            "TimeoutError",
            "marketing",
            2,
            35,
            60,
            "in_progress",
            "OPS-309",
        ),
        (
            "pl_copy_inventory_snapshot",
            "adf",
            "Medium",
            "P3",
            "NetworkError",
            "data-platform",
            1,
            95,
            240,
            "in_progress",
            "OPS-307",
        ),
        (
            "clickstream_sessionize",
            "databricks",
            "Critical",
            "P1",
            "CodeError",
            "web-analytics",
            4,
            260,
            15,
            "acknowledged",
            "OPS-298",
        ),
        (
            "pl_sync_crm_accounts",
            "adf",
            "High",
            "P2",
            "AuthenticationError",
            "customer-360",
            1,
            400,
            60,
            "acknowledged",
            "OPS-296",
        ),
    ]
    for (
        pipeline,
        source,
        severity,
        priority,
        error_type,
        team,
        occ,
        age_min,
        sla_min,
        status,
        jira,
    ) in rows:
        created = now - timedelta(minutes=age_min)
        deadline = created + timedelta(minutes=sla_min)
        acknowledged = status == "acknowledged"
        make_ticket(
            ack_ts=created + timedelta(minutes=sla_min // 2) if acknowledged else None,
            ack_seconds=sla_min * 30 if acknowledged else None,
            pipeline=pipeline,
            source=source,
            processing_mode=source,
            severity=severity,
            priority=priority,
            error_type=error_type,
            finops_team=team,
            occurrence_count=occ,
            timestamp=created,
            sla_seconds=sla_min * 60,
            sla_deadline=deadline,
            sla_status="Met" if acknowledged else "Breached" if deadline < now else "Pending",
            status=status,
            itsm_ticket_id=jira,
            ack_user="maria" if acknowledged else "",
            rca_source="rules",
        )


def seed_history(days: int = 14) -> None:
    """Acknowledged tickets of the past days, for the charts."""
    classes = ["NetworkError", "DatabaseError", "TimeoutError", "DataError", "CodeError"]
    names = [
        "pl_copy_sales_orders_eu",
        "orders_daily.transform",
        "ml_feature_store_refresh",
        "pl_load_web_events",
        "finance_close.accruals",
        "inventory_forecast_train",
        "pl_ingest_pos_transactions",
    ]
    now = timezone.now()
    for day in range(1, days):
        for i in range(2 + (day * 7) % 5):
            created = now - timedelta(days=day, hours=i * 2 + 1)
            ack_seconds = 600 + ((day * 13 + i * 29) % 40) * 180
            sla_seconds = 3600
            make_ticket(
                pipeline=names[(day * 3 + i) % len(names)],
                error_type=classes[(day + i * 3) % len(classes)],
                timestamp=created,
                sla_seconds=sla_seconds,
                sla_deadline=created + timedelta(seconds=sla_seconds),
                status="acknowledged",
                ack_ts=created + timedelta(seconds=ack_seconds),
                ack_seconds=ack_seconds,
                ack_user="maria",
                sla_status="Met" if ack_seconds <= sla_seconds else "Breached",
                rca_source="rules",
            )


# --- the scenario -----------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_live_board_detail_and_acknowledge(
    asgi_server, short_lived_connections, celery_worker, browser, settings
):
    base = asgi_server
    # The seeded failures name one SQL server from several pipelines; this page is about a
    # ticket's own analysis and its similar tickets, not the incident they would form.
    settings.INCIDENT_MIN_PIPELINES = 1_000_000
    make_user("maria", "responder", first_name="Maria")
    seed_board()
    seed_history()
    earlier = local_payload("adf_failure.json")
    earlier.update(pipeline="pl_copy_sales_returns", run_id=f"earlier-{time.time_ns()}")
    past = post_failure(base, earlier)
    wait_for(lambda: Ticket.objects.filter(pk=past["ticket_id"], embedding__isnull=False).exists())
    lifecycle.transition(past["ticket_id"], "acknowledge", Actor.system("seed"))

    # Sign in and see the board.
    browser.get(f"{base}/")
    assert "/login/" in browser.current_url
    browser.find_element(By.NAME, "username").send_keys("maria")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait(browser, lambda d: d.find_elements(By.ID, "board"))
    assert [h.text for h in browser.find_elements(By.CSS_SELECTOR, ".column-head h2")] == [
        "OPEN",
        "IN PROGRESS",
        "ACKNOWLEDGED",
        "RESOLVED",
    ]
    wait(
        browser,
        lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live",
    )
    mark_page(browser)

    # A failure posted to the real webhook appears without a reload.
    body = local_payload("adf_failure.json")
    body["run_id"] = f"browser-{time.time_ns()}"
    created = post_failure(base, body)
    ticket_id = created["ticket_id"]
    wait(browser, lambda d: column_of(d, ticket_id) == "open")
    assert not_reloaded(browser)
    assert card_text(browser, ticket_id, "title") == "pl_copy_sales_orders"
    # Inserted where the server puts it: most urgent first (breached ones above it).
    shown = browser.execute_script(
        "return Array.from(document.querySelectorAll("
        "'.column-list[data-column=\"open\"] .card')).map((card) => card.dataset.id);"
    )
    urgent_first = Ticket.objects.filter(status="open").by_urgency()
    assert shown == list(urgent_first.values_list("id", flat=True))
    assert shown.index(ticket_id) > 0
    # The SLA clock ticks in the browser.
    first = browser.execute_script(
        "return document.querySelector('.card[data-id=\"' + arguments[0] + '\"] .js-sla')"
        ".textContent;",
        ticket_id,
    )
    assert first.endswith("left")
    wait(
        browser,
        lambda d: (
            d.execute_script(
                "return document.querySelector('.card[data-id=\"' + arguments[0] + '\"] .js-sla')"
                ".textContent;",
                ticket_id,
            )
            != first
        ),
        timeout=5,
    )
    breached = browser.find_elements(By.CSS_SELECTOR, '.js-sla[data-state="breached"]')
    assert breached, "a ticket past its deadline shows red"
    # Wait for the worker's analysis (pushed live too), then take the board picture.
    wait_for(lambda: Ticket.objects.filter(pk=ticket_id).exclude(rca_source="pending").exists())
    time.sleep(0.5)
    screenshot(browser, "board.png", max_height=1100)

    # Open it in a second tab; the board stays open in the first.
    board_tab = open_in_a_new_tab(browser, f"{base}/tickets/{ticket_id}/")
    assert browser.find_element(By.CSS_SELECTOR, "h1.ticket-title").text == "pl_copy_sales_orders"
    assert "Rule-based" in browser.find_element(By.CSS_SELECTOR, ".panel").text
    assert "pl_copy_sales_returns" in browser.find_element(By.CSS_SELECTOR, ".similar").text
    mark_page(browser)

    # A change made elsewhere (JIRA) shows on the detail page live.
    lifecycle.transition(ticket_id, "start_progress", Actor("jira", "jira-bot"))
    wait(
        browser,
        lambda d: d.find_element(By.CSS_SELECTOR, '[data-live="status"]').text == "In progress",
    )
    banner = browser.find_element(By.ID, "live-banner")
    assert "Updated live: jira-bot took it." in banner.text
    assert not browser.find_element(
        By.CSS_SELECTOR, 'button[value="start_progress"]'
    ).is_displayed()
    assert not_reloaded(browser)
    screenshot(browser, "ticket.png", max_height=1700)

    # Acknowledge it from the detail page.
    browser.find_element(By.CSS_SELECTOR, 'button[value="acknowledge"]').click()
    wait(
        browser, lambda d: "Acknowledge: done." in d.find_element(By.CSS_SELECTOR, ".messages").text
    )
    assert browser.find_element(By.CSS_SELECTOR, '[data-live="status"]').text == "Acknowledged"
    ticket = Ticket.objects.get(pk=ticket_id)
    assert (ticket.status, ticket.ack_user) == ("acknowledged", "maria")

    # The board tab moved the card to the acknowledged column, without a reload.
    browser.switch_to.window(board_tab)
    wait(browser, lambda d: column_of(d, ticket_id) == "acknowledged")
    assert not_reloaded(browser)

    # The connection drops: the page shows it, reconnects with backoff and catches up (a change
    # made while it was away arrives through the resync or the new connection).
    browser.execute_script(
        "window.__states = [];"
        "new MutationObserver(() => window.__states.push("
        "  document.getElementById('live-status').dataset.state))"
        ".observe(document.getElementById('live-status'), {attributes: true});"
        "window.RcaLive.connection.drop();"
    )
    lifecycle.transition(ticket_id, "reopen", Actor("jira", "jira-bot"))
    wait(browser, lambda d: column_of(d, ticket_id) == "open")
    wait(browser, lambda d: d.execute_script("return window.__states.at(-1);") == "live")
    assert "offline" in browser.execute_script("return window.__states;")
    assert not_reloaded(browser)

    # Markup in untrusted text is shown as text, in the live card and on the detail page.
    hostile = local_payload("adf_failure.json")
    hostile.update(
        run_id=f"xss-{time.time_ns()}",
        pipeline="pl_<img src=x onerror=alert(3)>",
        error_message=XSS,
    )
    evil_id = post_failure(base, hostile)["ticket_id"]
    wait(browser, lambda d: column_of(d, evil_id) == "open")
    assert card_text(browser, evil_id, "title") == "pl_<img src=x onerror=alert(3)>"
    assert browser.find_elements(By.CSS_SELECTOR, "img[src='x']") == []
    assert_no_alert(browser)
    browser.get(f"{base}/tickets/{evil_id}/")
    pre = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "pre.error-message"))
    assert pre.text == XSS
    assert browser.find_elements(By.CSS_SELECTOR, "img[src='x'], pre script") == []
    assert_no_alert(browser)

    # The charts page: server-side SVG charts, three about tickets, four about noise and speed.
    browser.get(f"{base}/charts/?days=14")
    charts = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.chart"))
    assert len(charts) == 7
    screenshot(browser, "charts.png", max_height=1200)

    # Nothing on these pages broke the Content-Security-Policy.
    violations = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]
    assert violations == []


STORM_MESSAGE = (
    "ErrorCode=SqlFailedToConnect,'Type=Microsoft.DataTransfer.Common.Shared."
    "HybridDeliveryException,Message=Cannot connect to SQL Database. Please contact SQL server "
    "team for further support. Server: 'sql-board-01', Database: 'dw', User: 'etl'."
)


def storm_failure(pipeline: str) -> dict:
    body = local_payload("adf_failure.json")
    body.update(pipeline=pipeline, run_id=f"storm-{time.time_ns()}", error_message=STORM_MESSAGE)
    return body


def incident_card(driver: webdriver.Chrome) -> dict | None:
    """The board's one incident card: its column, texts and listed members, or None."""
    return driver.execute_script(
        "const cards = document.querySelectorAll('#board .incident-card');"
        "if (cards.length !== 1) return cards.length ? {count: cards.length} : null;"
        "const card = cards[0];"
        "const text = (name) => card.querySelector('[data-field=\"' + name + '\"]').textContent;"
        "return {id: card.dataset.incident,"
        "  column: card.closest('.column-incidents').dataset.incidents,"
        "  members: text('member_count'), culprit: text('culprit'), status: text('status'),"
        "  open: card.querySelector('details').open,"
        "  listed: Array.from(card.querySelectorAll('li[data-member] a')).map("
        "    (a) => [a.textContent, a.getAttribute('href')]),"
        "  page: card.querySelector('a.incident-link').getAttribute('href')};"
    )


def count_text(driver: webdriver.Chrome, selector: str) -> str:
    """A column count's text, read in the page (the element may be re-rendered meanwhile)."""
    return driver.execute_script(
        "return document.querySelector(arguments[0]).textContent.trim();", selector
    )


def expand_incident_card(driver: webdriver.Chrome) -> bool:
    """Click the incident card's summary unless it is already open; True once it is open.

    A live update may re-render the card between finding its summary and clicking it, so the
    click is made (and repeated) in the page rather than on a held element reference."""
    return driver.execute_script(
        "const details = document.querySelector('#board .incident-card details');"
        "if (!details) return false;"
        "if (!details.open) details.querySelector('summary').click();"
        "return details.open;"
    )


def test_board_shows_an_incident_as_one_card_that_expands_and_grows_live(
    asgi_server, short_lived_connections, celery_worker, browser, settings
):
    base = asgi_server
    settings.INCIDENT_MIN_PIPELINES = 2
    make_user("omar", "viewer")
    browser.get(f"{base}/")
    browser.find_element(By.NAME, "username").send_keys("omar")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait(
        browser,
        lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live",
    )
    mark_page(browser)

    # One pipeline failing against the SQL server is a ticket of its own.
    first = post_failure(base, storm_failure("pl_load_orders"))["ticket_id"]
    wait(browser, lambda d: column_of(d, first) == "open")
    assert incident_card(browser) is None

    # A second pipeline failing against it forms an incident: one card, and the first
    # ticket's card leaves the column.
    second = post_failure(base, storm_failure("pl_load_customers"))["ticket_id"]
    card = wait(
        browser, lambda d: (c := incident_card(d)) and c.get("members") == "2 members" and c
    )
    incident = Incident.objects.get()
    assert card["id"] == incident.pk and card["column"] == "open" and card["status"] == "Open"
    # Titled in words, as its page, JIRA and Slack title it (was the label "sql-server:…").
    assert card["culprit"] == incident.culprit_words
    assert card["culprit"].startswith("SQL server sql-board-01")
    wait(browser, lambda d: column_of(d, first) is None)
    assert column_of(browser, second) is None
    assert count_text(browser, '[data-count="open"]') == "1"

    # It expands in place to its members, links to their pages and to the incident's page.
    assert not card["open"]
    card = wait(browser, lambda d: expand_incident_card(d) and (c := incident_card(d)) and c)
    assert card["listed"] == [
        ["pl_load_orders", f"/tickets/{first}/"],
        ["pl_load_customers", f"/tickets/{second}/"],
    ]
    assert card["page"] == f"/incidents/{incident.pk}/"
    # Asked in the page: a live update may re-render the card between a find and a read.
    assert wait(
        browser,
        lambda d: d.execute_script(
            "const link = document.querySelector('#board .incident-card a.incident-link');"
            "return !!link && link.checkVisibility();"
        ),
    )

    # Another member joins: the open card grows without a reload.
    third = post_failure(base, storm_failure("pl_load_<b>invoices</b>"))["ticket_id"]
    card = wait(browser, lambda d: (c := incident_card(d)) and c["members"] == "3 members" and c)
    assert card["open"] and card["listed"][-1] == ["pl_load_<b>invoices</b>", f"/tickets/{third}/"]
    assert column_of(browser, third) is None
    assert browser.find_elements(By.CSS_SELECTOR, ".incident-card b") == []
    assert not_reloaded(browser)
    screenshot(browser, "board-incident.png", max_height=1100)

    # The connection drops and a member joins meanwhile: the resync after the reconnect shows
    # it, and the card stays expanded.
    browser.execute_script("window.RcaLive.connection.drop();")
    wait(
        browser,
        lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") != "live",
    )
    fourth = post_failure(base, storm_failure("pl_load_payments"))["ticket_id"]
    card = wait(
        browser,
        lambda d: (c := incident_card(d)) and c["members"] == "4 members" and c,
        timeout=40,
    )
    assert card["open"] and [f"/tickets/{fourth}/"] == [h for _, h in card["listed"][-1:]]
    assert column_of(browser, fourth) is None
    assert not_reloaded(browser)

    # Acknowledged once for all its members (elsewhere): the card moves, still one card.
    incidents.act(incident.pk, "acknowledge", Actor("user", "maria"))
    card = wait(browser, lambda d: (c := incident_card(d)) and c["column"] == "acknowledged" and c)
    assert card["status"] == "Acknowledged" and card["members"] == "4 members"
    assert all(column_of(browser, t) is None for t in (first, second, third, fourth))
    assert count_text(browser, '[data-count="open"]') == "0"
    assert count_text(browser, '[data-count="acknowledged"]') == "1"
    assert not_reloaded(browser)

    # The incident's page is one click away.
    browser.execute_script("document.querySelector('.incident-card a.incident-link').click();")
    wait(browser, lambda d: d.current_url.endswith(f"/incidents/{incident.pk}/"))
    assert "4 members" in browser.find_element(By.CSS_SELECTOR, ".badges").text

    # The charts count it: 4 alerts, 4 tickets, 1 incident; the culprit has its row.
    browser.get(f"{base}/charts/?days=7")
    funnel = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, "#chart-noise svg.chart"))
    tips = [
        t.get_attribute("textContent") for t in funnel.find_elements(By.CSS_SELECTOR, "rect title")
    ]
    assert tips[:3] == ["Alerts received · Count: 4", "Tickets · Count: 4", "Incidents · Count: 1"]
    culprits = browser.find_element(By.CSS_SELECTOR, "#chart-by-culprit svg.chart")
    assert f"{incident.culprit} (4)" in culprits.get_attribute("textContent")
    screenshot(browser, "charts-incidents.png", max_height=1800)
    violations = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]
    assert violations == []


BROWSER_LOG = "\n".join(
    [f"24/01/31 10:{m:02d}:00 INFO Stage: finished task {m} in 12 ms" for m in range(40)]
    + [
        "24/01/31 10:41:00 WARN Pool: connection pool exhausted <b>max 10</b>",
        "24/01/31 10:42:00 ERROR Executor: Exception in task 3.0 in stage 7.0 (TID 41)",
        "java.lang.OutOfMemoryError: Java heap space",
        "\tat java.util.Arrays.copyOf(Arrays.java:3332)",
    ]
)


def test_log_analysis_drop_a_file_watch_progress_and_read_the_report(
    asgi_server, short_lived_connections, celery_worker, browser, settings, tmp_path
):
    settings.LOG_ANALYSIS_DIR = tmp_path / "log-analyses"
    settings.EMBEDDING_BACKEND = "local"
    base = asgi_server
    make_user("lena", "viewer")
    browser.get(f"{base}/log-analyses/")
    browser.find_element(By.NAME, "username").send_keys("lena")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    zone = wait(browser, lambda d: d.find_element(By.ID, "dropzone"))

    # Drop a file on the zone, as a person dragging it from their desktop would.
    browser.execute_script(
        """
        const data = new DataTransfer();
        data.items.add(new File([arguments[1]], "driver.log", {type: "text/plain"}));
        arguments[0].dispatchEvent(new DragEvent("drop", {dataTransfer: data, bubbles: true}));
        """,
        zone,
        BROWSER_LOG,
    )
    assert browser.find_element(By.ID, "dropzone-files").text == "driver.log"
    browser.find_element(By.CSS_SELECTOR, "#log-upload button[type=submit]").click()

    # The job page follows the worker live, then shows the report.
    wait(
        browser,
        lambda d: "/log-analyses/" in d.current_url and d.find_elements(By.ID, "job-progress"),
    )
    rca = wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, ".rca-text"), timeout=90)
    assert rca.text
    assert browser.find_element(By.CSS_SELECTOR, '[data-live="job-status"]').text == "Done"
    evidence = browser.find_element(By.CSS_SELECTOR, "table.evidence").text
    assert "driver.log:42" in evidence and "java.lang.OutOfMemoryError" in evidence
    assert "<b>max <*></b>" in browser.find_element(By.CSS_SELECTOR, "table.patterns").text
    assert browser.find_elements(By.CSS_SELECTOR, "table.patterns b") == []
    bars = browser.find_elements(By.CSS_SELECTOR, "svg.chart rect[fill='#e15759']")
    assert bars, "the ERROR level shows on the timeline chart"
    screenshot(browser, "log-analysis.png", max_height=1600)
    violations = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]
    assert violations == []


def progress_shown(driver: webdriver.Chrome) -> dict:
    """What the job page's progress panel shows: its text as rendered (a <progress> element's
    fallback text included, as a screen reader or a text browser reads it), the bar's value
    and whether it is drawn."""
    return driver.execute_script(
        """
        const panel = document.getElementById("job-progress");
        const bar = panel.querySelector("progress");
        const seen = (node) => node && node.getClientRects().length > 0;
        const texts = Array.from(panel.querySelectorAll("header .badge, progress, p"))
          .filter((node) => seen(node) && node.textContent.trim())
          .map((node) => node.textContent.trim());
        return {
          status: panel.querySelector('[data-live="job-status"]').textContent.trim(),
          texts: texts,
          bar: seen(bar) ? bar.value : null,
        };
        """
    )


def test_a_failed_log_analysis_shows_one_consistent_progress_live_and_after_a_reload(
    asgi_server, short_lived_connections, browser, settings, tmp_path
):
    """A job fails while fetching its log (at 1 %): the page open since it was queued (0 %)
    and the page loaded afterwards show the same: the failure and its reason, no percentage
    (neither the 0 % it was rendered with nor the 1 % it stopped at), no bar."""
    from analysis import log_jobs
    from analysis.models import LogAnalysisJob

    settings.LOG_ANALYSIS_DIR = tmp_path / "log-analyses"
    settings.LOG_ANALYSIS_URL_HOSTS = ["127.0.0.1"]
    owner = make_user("ines", "viewer")
    job = LogAnalysisJob.objects.create(
        owner=owner, source="url", source_ref="http://127.0.0.1:9/log", step="waiting to fetch"
    )
    sign_in(browser, asgi_server, "ines", f"/log-analyses/{job.pk}/")
    assert progress_shown(browser)["texts"][:2] == ["Queued", "0%"]

    log_jobs.run_job(str(job.pk))
    job.refresh_from_db()
    assert (job.status, job.progress) == ("failed", 1)
    error = "cannot fetch the log from 127.0.0.1: 127.0.0.1 refused the connection on port 9"
    expected = {"status": "Failed", "texts": ["Failed", error], "bar": None}
    wait(browser, lambda d: progress_shown(d)["status"] == "Failed")
    assert progress_shown(browser) == expected
    browser.refresh()
    wait(browser, lambda d: d.find_elements(By.ID, "job-progress"))
    assert progress_shown(browser) == expected


# --- SLA clock of stopped tickets, column counts of long columns -------------------------------


def sign_in(driver: webdriver.Chrome, base: str, username: str, path: str = "/") -> None:
    driver.get(f"{base}{path}")
    driver.find_element(By.NAME, "username").send_keys(username)
    driver.find_element(By.NAME, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait(
        driver,
        lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live",
    )


def sla_of(driver: webdriver.Chrome, selector: str) -> list[str]:
    """The SLA clock's text and state, as the page's script keeps them."""
    return driver.execute_script(
        "const node = document.querySelector(arguments[0]);"
        "return node ? [node.textContent, node.dataset.state] : [];",
        selector,
    )


def card_sla(ticket_id: str) -> str:
    return f'#board .card[data-id="{ticket_id}"] .js-sla'


def test_a_resolved_ticket_shows_how_its_sla_ended_never_a_clock(
    asgi_server, short_lived_connections, browser
):
    """Resolving stops the SLA clock as acknowledging does (tickets.models.SLA_RUNNING)."""
    base = asgi_server
    make_user("rosa", "viewer", is_staff=True)
    now = timezone.now()
    # Resolved in time, its deadline still ahead; resolved in time, its deadline now past.
    ahead = make_ticket(
        status="resolved", sla_status="Met", resolved_at=now, sla_deadline=now + timedelta(hours=4)
    )
    past = make_ticket(
        status="resolved",
        sla_status="Met",
        resolved_at=now - timedelta(minutes=30),
        sla_deadline=now - timedelta(seconds=20),
    )
    late = make_ticket(
        status="resolved",
        sla_status="Breached",
        resolved_at=now,
        sla_deadline=now - timedelta(hours=1),
    )
    running = make_ticket(sla_deadline=now + timedelta(hours=2))

    sign_in(browser, base, "rosa")
    time.sleep(1.2)  # at least one tick of the clocks
    assert sla_of(browser, card_sla(ahead.pk)) == ["SLA Met", "met"]
    assert sla_of(browser, card_sla(past.pk)) == ["SLA Met", "met"]
    assert sla_of(browser, card_sla(late.pk)) == ["SLA Breached", "late"]
    assert sla_of(browser, card_sla(running.pk))[0].endswith(" left")

    # Resolved while the board is open: the card moves and its clock stops.
    mark_page(browser)
    lifecycle.transition(running.pk, "resolve", Actor("jira", "jira-bot"))
    wait(browser, lambda d: column_of(d, running.pk) == "resolved")
    time.sleep(1.2)
    assert sla_of(browser, card_sla(running.pk)) == ["SLA Met", "met"]
    assert not_reloaded(browser)

    # The ticket's page: the header's clock agrees with the Facts panel.
    for ticket, text in ((ahead, "SLA Met"), (past, "SLA Met"), (late, "SLA Breached")):
        browser.get(f"{base}/tickets/{ticket.pk}/")
        wait(
            browser,
            lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live",
        )
        time.sleep(1.2)
        assert sla_of(browser, '[data-live="sla"]')[0] == text
        assert browser.find_element(By.CSS_SELECTOR, '[data-live="sla_status"]').text in text


def test_open_tickets_with_no_sla_clock_stay_below_those_whose_clock_runs_live(
    asgi_server, short_lived_connections, browser
):
    """A Service Health notice that pages nobody has no SLA clock (no deadline): the board's
    script took it as due at its creation, so a ticket whose clock runs, reopened live, was put
    below a notice opened two hours before it, where the server (and a reload) puts it above.
    Its clock reads "No SLA", open or answered."""
    base = asgi_server
    make_user("nina", "viewer", is_staff=True)
    now = timezone.now()
    notice_fields = {"severity": "Low", "priority": "P4", "sla_deadline": None}
    notice = make_ticket(timestamp=now - timedelta(hours=2), **notice_fields)
    answered_notice = make_ticket(status="acknowledged", sla_status="Pending", **notice_fields)
    due_soon = make_ticket(sla_deadline=now + timedelta(minutes=30))
    answered = make_ticket(status="acknowledged", sla_status="Met", sla_seconds=3600)

    sign_in(browser, base, "nina")
    assert shown_in(browser, "open") == [due_soon.pk, notice.pk]
    time.sleep(1.2)  # at least one tick of the clocks
    assert sla_of(browser, card_sla(notice.pk)) == ["No SLA", "none"]
    assert sla_of(browser, card_sla(answered_notice.pk)) == ["No SLA", "none"]

    mark_page(browser)
    lifecycle.transition(answered.pk, "reopen", Actor("jira", "jira-bot"))  # due in an hour
    wait(browser, lambda d: column_of(d, answered.pk) == "open")
    expected = list(Ticket.objects.filter(status="open").by_urgency().values_list("id", flat=True))
    assert expected == [due_soon.pk, answered.pk, notice.pk]
    assert shown_in(browser, "open") == expected
    assert not_reloaded(browser)


def counts(driver: webdriver.Chrome) -> dict[str, str]:
    return driver.execute_script(
        "const found = {};"
        "document.querySelectorAll('#board [data-count]').forEach("
        "  (node) => { found[node.dataset.count] = node.textContent.trim(); });"
        "return found;"
    )


def shown_in(driver: webdriver.Chrome, status: str) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll("
        "  '.column-list[data-column=\"' + arguments[0] + '\"] .card')).map((c) => c.dataset.id);",
        status,
    )


def more_note(driver: webdriver.Chrome, status: str) -> str:
    return driver.execute_script(
        "const note = document.querySelector('.column-more[data-more=\"' + arguments[0] + '\"]');"
        "return note.hidden ? '' : note.textContent;",
        status,
    )


def test_live_counts_of_a_column_longer_than_it_shows_stay_those_of_a_reload(
    asgi_server, short_lived_connections, browser, monkeypatch
):
    """A column shows its most urgent tickets only (COLUMN_LIMIT, 3 here): changes to tickets
    it does not show keep its count what the server counts."""
    from tickets.dashboard import views

    monkeypatch.setattr(views, "COLUMN_LIMIT", 3)
    base = asgi_server
    make_user("ivan", "viewer")
    now = timezone.now()
    # Open: five, the least urgent last; the board shows the first three.
    opened = [make_ticket(sla_deadline=now + timedelta(hours=1 + n)) for n in range(5)]
    shown, hidden = opened[:3], opened[3:]
    # Resolved eight days ago: not on the board.
    old = make_ticket(status="resolved", sla_status="Met", resolved_at=now - timedelta(days=8))

    sign_in(browser, base, "ivan")
    mark_page(browser)
    assert counts(browser) == {
        "open": "5",
        "in_progress": "0",
        "acknowledged": "0",
        "resolved": "0",
    }
    assert shown_in(browser, "open") == [t.pk for t in shown]
    assert more_note(browser, "open") == "Showing the 3 most urgent of 5."

    def settled(ticket: Ticket, column: str) -> None:
        """A change the page shows, made after the others: they were applied before it."""
        lifecycle.transition(ticket.pk, "acknowledge", Actor("jira", "jira-bot"))
        wait(browser, lambda d: column_of(d, ticket.pk) == column)

    # Repeat failures and analyses of tickets it does not show change no count.
    for ticket in hidden:
        Ticket.objects.filter(pk=ticket.pk).update(occurrence_count=F("occurrence_count") + 1)
        lifecycle.announce(ticket.pk, "recurred", Actor.source("adf"))
        lifecycle.announce(ticket.pk, "analysed", Actor.system("rules"))
    lifecycle.announce(old.pk, "analysed", Actor.system("rules"))
    settled(shown[0], "acknowledged")
    assert counts(browser) == {
        "open": "4",
        "in_progress": "0",
        "acknowledged": "1",
        "resolved": "0",
    }
    assert hidden[0].pk not in shown_in(browser, "open")
    assert old.pk not in shown_in(browser, "resolved")

    # One it does not show is taken: it leaves Open's count and enters In progress.
    lifecycle.transition(hidden[1].pk, "start_progress", Actor("jira", "jira-bot"))
    wait(browser, lambda d: column_of(d, hidden[1].pk) == "in_progress")
    assert counts(browser) == {
        "open": "3",
        "in_progress": "1",
        "acknowledged": "1",
        "resolved": "0",
    }
    # Open does not fill up again until a reload: it shows two of its three.
    assert more_note(browser, "open") == "Showing the 2 most urgent of 3."

    # A ticket resolved long ago (not on the board) fails again: Open gains it, Resolved
    # loses nothing.
    lifecycle.regress(old.pk, Actor.source("adf"), occurrence_key="again", occurrence_count=2)
    wait(browser, lambda d: column_of(d, old.pk) == "open")
    assert counts(browser) == {
        "open": "4",
        "in_progress": "1",
        "acknowledged": "1",
        "resolved": "0",
    }

    # A new ticket, less urgent than the three shown: counted, not shown.
    new = make_ticket(sla_deadline=now + timedelta(days=3))
    lifecycle.announce(new.pk, "created", Actor.source("adf"))
    settled(shown[1], "acknowledged")
    assert new.pk not in shown_in(browser, "open")
    live = counts(browser)
    assert live == {"open": "4", "in_progress": "1", "acknowledged": "2", "resolved": "0"}
    assert more_note(browser, "open") == "Showing the 2 most urgent of 4."

    # Acknowledged while not shown: Open loses it.
    lifecycle.transition(new.pk, "acknowledge", Actor("jira", "jira-bot"))
    wait(browser, lambda d: column_of(d, new.pk) == "acknowledged")
    live = counts(browser)
    assert live == {"open": "3", "in_progress": "1", "acknowledged": "3", "resolved": "0"}
    assert not_reloaded(browser)

    # What a reload shows.
    browser.refresh()
    wait(browser, lambda d: d.find_elements(By.ID, "board"))
    assert counts(browser) == live
    assert more_note(browser, "open") == ""


def test_a_count_past_the_count_limit_stays_capped_as_tickets_move(
    asgi_server, short_lived_connections, browser, monkeypatch
):
    """A column counted past COUNT_LIMIT (3 here) reads "3+": a ticket leaving it or joining
    it leaves that as it is (the page cannot know the count), the other column counts it."""
    from tickets.dashboard import views

    monkeypatch.setattr(views, "COLUMN_LIMIT", 2)
    monkeypatch.setattr(views, "COUNT_LIMIT", 3)
    base = asgi_server
    make_user("ivan", "viewer")
    now = timezone.now()
    opened = [make_ticket(sla_deadline=now + timedelta(hours=1 + n)) for n in range(5)]
    shown, hidden = opened[:2], opened[2:]

    sign_in(browser, base, "ivan")
    mark_page(browser)
    assert counts(browser) == {
        "open": "3+",
        "in_progress": "0",
        "acknowledged": "0",
        "resolved": "0",
    }
    assert more_note(browser, "open") == "Showing the 2 most urgent of 3+."

    # One it does not show is taken, one it shows acknowledged: Open stays "3+".
    lifecycle.transition(hidden[0].pk, "start_progress", Actor("jira", "jira-bot"))
    wait(browser, lambda d: column_of(d, hidden[0].pk) == "in_progress")
    lifecycle.transition(shown[0].pk, "acknowledge", Actor("jira", "jira-bot"))
    wait(browser, lambda d: column_of(d, shown[0].pk) == "acknowledged")
    assert counts(browser) == {
        "open": "3+",
        "in_progress": "1",
        "acknowledged": "1",
        "resolved": "0",
    }
    assert more_note(browser, "open") == "Showing the 1 most urgent of 3+."
    assert not_reloaded(browser)

    # A reload counts three: under the limit, exact again.
    browser.refresh()
    wait(browser, lambda d: d.find_elements(By.ID, "board"))
    assert counts(browser)["open"] == "3"


def jira_link(driver: webdriver.Chrome, selector: str) -> list[str] | None:
    """The text and address of a card's JIRA key, as the page's script left them."""
    return driver.execute_script(
        "const node = document.querySelector(arguments[0]);"
        "return node ? [node.textContent, node.getAttribute('href') || ''] : null;",
        selector,
    )


def sql_outage(incident_id: str, server: str, pipelines: Sequence[str]) -> tuple[Incident, list]:
    """An open incident of SQL server `server` (DatabaseError, High), a member on each pipeline."""
    now = timezone.now()
    culprit = f"sql-server:{server}"
    incident = Incident.objects.create(
        id=incident_id,
        group_key=incidents.group_key_for(culprit, "DatabaseError", "adf"),
        culprit=culprit,
        error_type="DatabaseError",
        severity="High",
        first_seen=now,
        last_member_at=now,
        member_count=len(pipelines),
    )
    members = [make_ticket(pipeline=p, incident=incident, culprit=culprit) for p in pipelines]
    return incident, members


def test_a_jira_key_that_arrives_live_links_to_its_issue(asgi_server, browser, settings):
    settings.JIRA_URL = "https://jira.example.com"
    base = asgi_server
    make_user("lena", "viewer")
    incident, _ = sql_outage("INC-LIVE-1", "sql-live", ("pl_live_a", "pl_live_b"))
    sign_in(browser, base, "lena")
    card = '#board .incident-card[data-incident="INC-LIVE-1"] [data-field="jira_key"]'
    assert jira_link(browser, card) == ["", ""]

    # A new ticket already pushed to JIRA, and the incident's issue created: both links.
    ticket = make_ticket(pipeline="pl_live_alone", itsm_ticket_id="OPS-31")
    lifecycle.announce(ticket.pk, "created", Actor.source("adf"))
    Incident.objects.filter(pk=incident.pk).update(itsm_ticket_id="OPS-30")
    incidents.announce(incident.pk, "updated", Actor.system("jira"))

    wait(browser, lambda d: jira_link(d, f'.card[data-id="{ticket.pk}"] .fact.jira'))
    assert jira_link(browser, f'.card[data-id="{ticket.pk}"] .fact.jira') == [
        "OPS-31",
        "https://jira.example.com/browse/OPS-31",
    ]
    wait(
        browser,
        lambda d: jira_link(d, card) == ["OPS-30", "https://jira.example.com/browse/OPS-30"],
    )


def incident_sla(driver: webdriver.Chrome, incident_id: str) -> dict | None:
    """The incident card's SLA clock as the page's script keeps it."""
    return driver.execute_script(
        "const card = document.querySelector("
        "  '#board .incident-card[data-incident=\"' + arguments[0] + '\"]');"
        "const node = card && card.querySelector('.js-sla');"
        "return node ? {text: node.textContent, state: node.dataset.state,"
        "  deadline: node.dataset.deadline, title: node.title, hidden: node.hidden} : null;",
        incident_id,
    )


def test_an_incident_cards_sla_clock_follows_its_open_member_due_first_live(
    asgi_server, short_lived_connections, browser
):
    """Its members are not on the board on their own: the incident's card shows the clock of
    the open member due first, ticking, and it moves as members are acknowledged, join or are
    reopened, without a reload."""
    base = asgi_server
    make_user("nina", "viewer")
    now = timezone.now()
    incident, (first, second) = sql_outage("INC-LIVE-SLA", "sql-sla", ("pl_sla_a", "pl_sla_b"))
    first_due, second_due = now + timedelta(minutes=30), now + timedelta(minutes=50)
    Ticket.objects.filter(pk=first.pk).update(sla_deadline=first_due)
    Ticket.objects.filter(pk=second.pk).update(sla_deadline=second_due)
    sign_in(browser, base, "nina")
    mark_page(browser)

    clock = wait(browser, lambda d: (c := incident_sla(d, incident.pk)) and c)
    assert clock["deadline"] == utc_text(first_due) and clock["state"] == "ok"
    assert clock["title"] == f"The open member due first: pl_sla_a ({first.pk})"
    assert re.fullmatch(r"0:(29|30):\d\d left", clock["text"])
    ticking = clock["text"]
    wait(browser, lambda d: (c := incident_sla(d, incident.pk)) and c["text"] != ticking)

    # The member due first is acknowledged: the clock moves to the next one.
    lifecycle.transition(first.pk, "acknowledge", Actor("user", "maria"))
    clock = wait(
        browser,
        lambda d: (
            (c := incident_sla(d, incident.pk)) and c["deadline"] == utc_text(second_due) and c
        ),
    )
    assert re.fullmatch(r"0:(49|50):\d\d left", clock["text"]) and clock["state"] == "ok"
    assert clock["title"] == f"The open member due first: pl_sla_b ({second.pk})"

    # A member due sooner joins: the clock is its (under ten minutes left: a warning).
    joining_due = now + timedelta(minutes=5)
    joining = make_ticket(
        pipeline="pl_sla_c", incident=incident, culprit=incident.culprit, sla_deadline=joining_due
    )
    Incident.objects.filter(pk=incident.pk).update(member_count=F("member_count") + 1)
    incidents.announce(incident.pk, "joined", Actor.system("incidents"), ticket_id=joining.pk)
    clock = wait(
        browser,
        lambda d: (
            (c := incident_sla(d, incident.pk)) and c["deadline"] == utc_text(joining_due) and c
        ),
    )
    assert clock["state"] == "warn" and clock["text"].endswith(" left")

    # Every member acknowledged: no clock runs, and every one was met in time.
    lifecycle.transition(joining.pk, "acknowledge", Actor("user", "maria"))
    lifecycle.transition(second.pk, "acknowledge", Actor("user", "maria"))
    clock = wait(
        browser, lambda d: (c := incident_sla(d, incident.pk)) and c["text"] == "SLA Met" and c
    )
    assert clock["state"] == "met" and clock["title"] == "Every member is acknowledged or resolved"

    # One reopened: its clock runs again, afresh (a Met one restarts from the reopen).
    lifecycle.transition(second.pk, "reopen", Actor("user", "maria"))
    clock = wait(
        browser, lambda d: (c := incident_sla(d, incident.pk)) and c["state"] == "ok" and c
    )
    restarted = Ticket.objects.get(pk=second.pk).sla_deadline
    assert restarted and clock["deadline"] == utc_text(restarted)
    assert re.fullmatch(r"0:59:\d\d left|1:00:00 left", clock["text"])
    assert not_reloaded(browser)

    # The incident's page shows the same clock in its head, and follows it live.
    browser.get(f"{base}/incidents/{incident.pk}/")
    wait(
        browser,
        lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live",
    )
    assert sla_of(browser, "#incident-sla .js-sla")[1] == "ok"
    lifecycle.transition(second.pk, "acknowledge", Actor("user", "maria"))
    wait(browser, lambda d: sla_of(d, "#incident-sla .js-sla") == ["SLA Met", "met"])


def recover(ticket: Ticket) -> None:
    """Its source reports it recovered (as a success webhook's `_resolve` does)."""
    with transaction.atomic():
        locked = Ticket.objects.select_for_update().get(pk=ticket.pk)
        lifecycle.resolve_at_source(locked, Actor.source("adf"), details={})
        incidents.record_recovery(locked, Actor.source("adf"))


def recovered_badge(driver: webdriver.Chrome) -> str:
    """The incident page's "N recovered" badge as shown ('' when hidden or absent)."""
    return driver.execute_script(
        "const node = document.querySelector('[data-live=\"recovered-count\"]');"
        "return node && !node.hidden ? node.textContent.trim() : '';"
    )


def test_the_incident_pages_recovered_count_follows_recoveries_and_a_reopen_live(
    asgi_server, short_lived_connections, browser
):
    base = asgi_server
    make_user("rosa", "viewer", is_staff=True)
    incident, members = sql_outage("INC-LIVE-2", "sql-rec", [f"pl_rec_{n}" for n in range(3)])

    sign_in(browser, base, "rosa")
    browser.get(f"{base}/incidents/{incident.pk}/")
    wait(
        browser,
        lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live",
    )
    mark_page(browser)
    assert recovered_badge(browser) == ""

    recover(members[0])
    wait(browser, lambda d: recovered_badge(d) == "1 recovered")
    # Every member recovers: the incident is resolved with all three counted.
    recover(members[1])
    recover(members[2])
    wait(browser, lambda d: recovered_badge(d) == "3 recovered")
    # Reopened: its members count as recovered no more.
    incidents.act(incident.pk, "reopen", Actor("user", "maria"))
    wait(browser, lambda d: recovered_badge(d) == "")
    assert "3 members" in browser.find_element(By.CSS_SELECTOR, ".badges").text
    assert not_reloaded(browser)

    browser.refresh()
    wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, ".badges"))
    assert recovered_badge(browser) == ""


def test_a_ticket_the_board_does_not_show_joining_an_incident_leaves_its_columns_count(
    asgi_server, short_lived_connections, browser, monkeypatch
):
    """Open shows its 3 most urgent tickets: one below them joins an incident (its culprit
    found by its analysis) and Open counts it no more, as a reload would."""
    from tickets.dashboard import views

    monkeypatch.setattr(views, "COLUMN_LIMIT", 3)
    base = asgi_server
    make_user("nora", "viewer")
    now = timezone.now()
    incident, _ = sql_outage("INC-LIVE-3", "sql-join", ("pl_join_a", "pl_join_b"))
    culprit = incident.culprit
    opened = [make_ticket(sla_deadline=now + timedelta(hours=1 + n)) for n in range(5)]
    hidden = opened[-1]

    sign_in(browser, base, "nora")
    mark_page(browser)
    assert counts(browser)["open"] == "6"  # five tickets and the incident
    assert hidden.pk not in shown_in(browser, "open")

    with transaction.atomic():
        incidents.place_enriched(
            hidden.pk, culprit=culprit, culprit_detail="dw", error_type="DatabaseError"
        )
    wait(browser, lambda d: (c := incident_card(d)) and c["members"] == "3 members")
    wait(browser, lambda d: counts(d)["open"] == "5")
    live = counts(browser)
    assert not_reloaded(browser)

    browser.refresh()
    wait(browser, lambda d: d.find_elements(By.ID, "board"))
    assert counts(browser) == live


def test_a_ticket_resolved_live_takes_its_place_in_the_resolved_column(
    asgi_server, short_lived_connections, browser
):
    """The Resolved column is ordered by resolution, the latest first: a ticket resolved now
    goes on top however long ago it failed, as a reload shows it."""
    base = asgi_server
    make_user("pia", "viewer")
    now = timezone.now()
    recent = make_ticket(
        timestamp=now - timedelta(minutes=10),
        status="resolved",
        sla_status="Met",
        resolved_at=now - timedelta(hours=1),
    )
    earlier = make_ticket(
        timestamp=now - timedelta(minutes=20),
        status="resolved",
        sla_status="Met",
        resolved_at=now - timedelta(hours=2),
    )
    old = make_ticket(timestamp=now - timedelta(days=2))

    sign_in(browser, base, "pia")
    mark_page(browser)
    assert shown_in(browser, "resolved") == [recent.pk, earlier.pk]

    lifecycle.transition(old.pk, "resolve", Actor("jira", "jira-bot"))
    wait(browser, lambda d: column_of(d, old.pk) == "resolved")
    assert shown_in(browser, "resolved") == [old.pk, recent.pk, earlier.pk]
    assert not_reloaded(browser)

    browser.refresh()
    wait(browser, lambda d: d.find_elements(By.ID, "board"))
    assert shown_in(browser, "resolved") == [old.pk, recent.pk, earlier.pk]


def incident_page(driver: webdriver.Chrome) -> dict:
    """What the incident page shows of its status, actions, members and timeline."""
    return driver.execute_script(
        "const shown = (node) => Boolean(node) && !node.closest('[hidden]');"
        "const form = document.getElementById('incident-actions');"
        "return {status: document.querySelector('.badges .status').textContent.trim(),"
        "  members: document.querySelector('[data-live=\"member-count\"]').textContent.trim(),"
        "  buttons: Array.from(document.querySelectorAll('#incident-actions button'))"
        "    .filter(shown).map((b) => b.value),"
        "  fix: shown(form && form.querySelector('input[name=fix]')),"
        "  rows: Array.from(document.querySelectorAll('#incident-members tr[data-member]')).map("
        "    (row) => [row.dataset.member, row.cells[1].textContent, row.cells[3].textContent]),"
        "  timeline: Array.from(document.querySelectorAll('#incident-timeline li strong')).map("
        "    (kind) => kind.textContent)};"
    )


def live_reads(driver: webdriver.Chrome) -> int:
    """How many times the incident page has read its live parts."""
    return driver.execute_script(
        "return performance.getEntriesByType('resource')"
        "  .filter((entry) => entry.name.endsWith('/live/')).length;"
    )


def test_the_incident_page_follows_its_status_actions_members_and_timeline_live(
    asgi_server, short_lived_connections, browser
):
    """A responder watches an outage: a member joins, a member moves on its own, the incident
    is acknowledged and resolved elsewhere, reopened while the page is offline (the page then
    shows what a reload shows) and merged away; the page follows each without a reload."""
    base = asgi_server
    make_user("ines", "responder")
    now = timezone.now()
    incident, (first, second) = sql_outage("INC-LIVE-4", "sql-watch", ("pl_watch_a", "pl_watch_b"))
    culprit = incident.culprit
    sign_in(browser, base, "ines", f"/incidents/{incident.pk}/")
    mark_page(browser)
    page = incident_page(browser)
    assert (page["status"], page["members"], page["timeline"]) == ("Open", "2 members", [])
    assert page["buttons"] == ["acknowledge", "start_progress", "resolve"] and page["fix"]
    assert [row[0] for row in page["rows"]] == [second.pk, first.pk]  # oldest first

    # A third pipeline fails against it and joins: its row and its failure appear.
    late = make_ticket(pipeline="pl_<b>late</b>", timestamp=now)
    with transaction.atomic():
        incidents.place_enriched(
            late.pk, culprit=culprit, culprit_detail="dw", error_type="DatabaseError"
        )
    page = wait(browser, lambda d: (p := incident_page(d)) and len(p["rows"]) == 3 and p)
    assert page["rows"][-1] == [late.pk, "pl_<b>late</b>", "Open"]
    assert page["members"] == "3 members" and page["timeline"] == ["failure"]
    assert browser.find_elements(By.CSS_SELECTOR, "#incident-members b") == []

    # One member is taken on its own (its JIRA issue): its row follows.
    lifecycle.transition(first.pk, "start_progress", Actor("jira", "jira-bot"))
    wait(browser, lambda d: [first.pk, "pl_watch_a", "In progress"] in incident_page(d)["rows"])
    assert incident_page(browser)["status"] == "Open"

    # Acknowledged once for all, elsewhere: the badge, the buttons, the rows and the timeline,
    # read once for the burst of events (the incident's and its three members').
    reads = live_reads(browser)
    incidents.act(incident.pk, "acknowledge", Actor("user", "maria"))
    page = wait(browser, lambda d: (p := incident_page(d)) and p["status"] == "Acknowledged" and p)
    assert page["buttons"] == ["resolve", "reopen"] and page["fix"]
    assert {row[2] for row in page["rows"]} == {"Acknowledged"}
    assert page["timeline"] == ["failure", "acknowledged"]
    time.sleep(0.5)
    assert live_reads(browser) == reads + 1

    incidents.act(incident.pk, "resolve", Actor("user", "maria"))
    page = wait(browser, lambda d: (p := incident_page(d)) and p["status"] == "Resolved" and p)
    assert page["buttons"] == ["reopen"] and not page["fix"]

    # Reopened while the page is offline: the resync after the reconnect shows it.
    browser.execute_script("window.RcaLive.connection.drop();")
    wait(
        browser,
        lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") != "live",
    )
    incidents.act(incident.pk, "reopen", Actor("user", "maria"))
    page = wait(browser, lambda d: (p := incident_page(d)) and p["status"] == "Open" and p, 40)
    assert page["buttons"] == ["acknowledge", "start_progress", "resolve"] and page["fix"]
    assert page["timeline"] == ["failure", "acknowledged", "resolved", "reopened"]
    assert not_reloaded(browser)
    assert_no_alert(browser)

    reload_live(browser)
    wait(browser, lambda d: d.find_elements(By.ID, "incident-timeline"))
    assert incident_page(browser) == page

    # Merged into another incident: its members move there and nothing is left to act on here.
    into = Incident.objects.create(
        id="INC-LIVE-6",
        group_key=incident.group_key,
        culprit=culprit,
        error_type="DatabaseError",
        first_seen=now,
        last_member_at=now,
    )
    wait(
        browser,
        lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live",
    )
    incidents.merge(incident.pk, into.pk, Actor("user", "maria"))
    page = wait(browser, lambda d: (p := incident_page(d)) and not p["rows"] and p)
    assert (
        page["buttons"] == [] and not browser.find_element(By.ID, "incident-actions").is_displayed()
    )
    assert "Merged into INC-LIVE-6" in browser.find_element(By.CSS_SELECTOR, ".badges").text


def test_the_incident_pages_shared_cause_follows_a_new_analysis_live(
    asgi_server, short_lived_connections, browser
):
    """An analysis stored while the page is open (Gemini's, after the incident grew) replaces
    the shared cause shown, without a reload; while it covers fewer members than the incident
    has, the page says so."""
    base = asgi_server
    make_user("ines", "responder")
    incident, _ = sql_outage("INC-LIVE-RCA", "sql-rca", ("pl_rca_a", "pl_rca_b", "pl_rca_c"))
    sign_in(browser, base, "ines", f"/incidents/{incident.pk}/")
    mark_page(browser)

    def cause(driver: webdriver.Chrome) -> str:
        # read in the page: the element is swapped for a fresh one by each live read
        return driver.execute_script(
            "return document.querySelector('p.rca').closest('section').innerText;"
        )

    incidents.store_analysis(
        incident.pk,
        rca_result="The SQL firewall of sql-rca blocks the integration runtime.",
        recommendations=["Add the runtime's outbound IP to the firewall."],
        rca_source="gemini",
        rca_note="",
        confidence=0.9,
        members=2,
    )
    shown = wait(browser, lambda d: "firewall of sql-rca" in (text := cause(d)) and text)
    assert "Add the runtime's outbound IP to the firewall." in shown
    assert "Analysed when the incident had 2 members; it has 3 now." in shown
    assert not_reloaded(browser)


def test_the_incident_pages_resync_never_undoes_a_change_told_meanwhile(
    asgi_server, short_lived_connections, browser
):
    """The page reads itself again after a reconnect; a member recovers after that read was
    served but before its answer arrives (a slow network): the page ends showing the recovery."""
    base = asgi_server
    make_user("olga", "viewer")
    incident, members = sql_outage("INC-LIVE-5", "sql-slow", ["pl_slow_0", "pl_slow_1"])
    sign_in(browser, base, "olga", f"/incidents/{incident.pk}/")
    # Each answer reaches the page 2 s after the server sent it.
    browser.execute_script(
        "window.__served = 0; window.__pending = 0;"
        "const fetchNow = window.fetch;"
        "window.fetch = (...args) => {"
        "  window.__pending += 1;"
        "  return fetchNow(...args)"
        "    .then((answer) => { window.__served += 1;"
        "      return new Promise((done) => setTimeout(() => done(answer), 2000)); })"
        "    .finally(() => { window.__pending -= 1; });"
        "};"
        "window.RcaLive.connection.drop();"
    )
    wait(browser, lambda d: d.execute_script("return window.__served;") >= 1, 40)
    recover(members[0])
    wait(
        browser,
        lambda d: (
            d.execute_script("return window.__pending;") == 0
            and recovered_badge(d) == "1 recovered"
        ),
    )


# --- a new session key in the same browser ------------------------------------------------


def live_state(driver: webdriver.Chrome) -> tuple[str | None, str]:
    """The live indicator's state and its words."""
    status = driver.find_element(By.ID, "live-status")
    return status.get_attribute("data-state"), status.find_element(
        By.CSS_SELECTOR, ".live-text"
    ).text


def test_an_open_board_stays_live_when_its_password_changes_and_says_when_signed_out(
    asgi_server, short_lived_connections, browser, monkeypatch
):
    """Changing one's password (here in admin) replaces the browser's session key, as signing
    in again does: the socket of a board open in another tab, its session read again at its
    next event, is closed with 4401 (that session is gone). The browser is still signed in,
    so the board opens a new socket with the browser's session and catches up, instead of
    saying it is signed out; signed out in the browser, it says so."""
    from tickets import consumers

    monkeypatch.setattr(consumers, "RECHECK_SECONDS", 0.0)  # read again at every event
    base = asgi_server
    make_user("rosa", "viewer", is_staff=True)
    first, second, third = make_ticket(), make_ticket(), make_ticket()
    sign_in(browser, base, "rosa")
    mark_page(browser)
    browser.execute_script(
        "window.__states = [];"
        "new MutationObserver(() => window.__states.push("
        "  document.getElementById('live-status').dataset.state))"
        ".observe(document.getElementById('live-status'), {attributes: true});"
    )
    board = browser.current_window_handle
    session = browser.get_cookie(settings.SESSION_COOKIE_NAME)["value"]
    browser.switch_to.new_window("tab")
    browser.get(f"{base}/admin/password_change/")
    browser.find_element(By.NAME, "old_password").send_keys(PASSWORD)
    browser.find_element(By.NAME, "new_password1").send_keys(PASSWORD + "-changed")
    browser.find_element(By.NAME, "new_password2").send_keys(PASSWORD + "-changed")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait(browser, lambda d: "/admin/password_change/done/" in d.current_url)
    assert browser.get_cookie(settings.SESSION_COOKIE_NAME)["value"] != session
    browser.get(f"{base}/")
    wait(browser, lambda d: live_state(d)[0] == "live")
    other = browser.current_window_handle
    browser.switch_to.window(board)

    # The change the closed socket did not push comes with the catch-up; the next one live.
    lifecycle.transition(first.pk, "acknowledge", Actor("jira", "jira-bot"))
    wait(browser, lambda d: column_of(d, first.pk) == "acknowledged")
    wait(browser, lambda d: live_state(d) == ("live", "Live"))
    states = browser.execute_script("return window.__states;")
    assert "connecting" in states and "signed-out" not in states
    lifecycle.transition(second.pk, "acknowledge", Actor("jira", "jira-bot"))
    wait(browser, lambda d: column_of(d, second.pk) == "acknowledged")
    assert not_reloaded(browser)

    # Signed out in the other tab: the board says so at its next event.
    browser.switch_to.window(other)
    browser.find_element(By.CSS_SELECTOR, "form.inline-form button[type=submit]").click()
    wait(browser, lambda d: d.find_elements(By.NAME, "username"))
    browser.switch_to.window(board)
    lifecycle.transition(third.pk, "acknowledge", Actor("jira", "jira-bot"))
    wait(browser, lambda d: live_state(d)[0] == "signed-out")
    assert live_state(browser) == ("signed-out", "Signed out · reload to sign in")
    assert column_of(browser, third.pk) == "open"
    assert not_reloaded(browser)


def test_an_action_after_the_session_ended_signs_in_back_to_its_page_saying_nothing_was_done(
    asgi_server, short_lived_connections, browser
):
    """A ticket page left open past its session's end (expired, or ended elsewhere): its
    Acknowledge went to the sign-in page without a word, and signing in went on to the form's
    POST-only address, a bare 405 ("This page isn't working") instead of the ticket."""
    from django.contrib.sessions.models import Session

    make_user("omar", "responder")
    ticket = make_ticket(pipeline="pl_session_ended")
    sign_in(browser, asgi_server, "omar", f"/tickets/{ticket.pk}/")
    Session.objects.all().delete()

    browser.find_element(By.CSS_SELECTOR, "#ticket-actions input[name=note]").send_keys("on it")
    browser.find_element(By.CSS_SELECTOR, '#ticket-actions button[value="acknowledge"]').click()
    wait(browser, lambda d: d.find_elements(By.NAME, "username"))
    assert "You were signed out, so nothing was done" in messages_text(browser)
    message_bottom, card_top = browser.execute_script(
        "return [document.querySelector('.messages').getBoundingClientRect().bottom,"
        " document.querySelector('.auth-card').getBoundingClientRect().top];"
    )
    assert message_bottom <= card_top  # above the sign-in card, not squeezed beside it
    assert Ticket.objects.get(pk=ticket.pk).status == "open"

    browser.find_element(By.NAME, "username").send_keys("omar")
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form.stack button[type=submit]").click()
    wait(browser, lambda d: d.find_elements(By.ID, "ticket-actions"))
    assert browser.current_url == f"{asgi_server}/tickets/{ticket.pk}/"
    assert "nothing was done" not in messages_text(browser)


# --- a phone's screen ---------------------------------------------------------------------------


def page_overflow(driver: webdriver.Chrome) -> list[str]:
    """What sticks out past the right edge of the viewport (the page then scrolls sideways)."""
    return driver.execute_script(
        "const width = document.documentElement.clientWidth;"
        "if (document.documentElement.scrollWidth <= width) return [];"
        "return Array.from(document.querySelectorAll('body *'))"
        "  .filter((e) => e.getBoundingClientRect().right > width + 1)"
        "  .map((e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')"
        "    + (e.className && typeof e.className === 'string' ? '.' + e.className : ''))"
        "  .slice(0, 8);"
    )


def test_every_page_fits_a_phone_screen_with_its_sign_out_and_actions_in_reach(
    asgi_server, short_lived_connections, browser
):
    """At 390 px (a phone held upright) no page scrolls sideways: the top bar's Sign out, the
    ticket's SLA box and action buttons, the incident's members and the charts' periods are on
    the screen, and the note and fix fields are wide enough to type in."""
    base = asgi_server
    make_user("responder-on-call", "responder")
    incident = Incident.objects.create(
        id="INC-PHONE-1",
        group_key="sql-server:sql-phone-01.database.windows.net|DatabaseError",
        culprit="sql-server:sql-phone-01.database.windows.net",
        error_type="DatabaseError",
        severity="High",
        first_seen=timezone.now(),
        last_member_at=timezone.now(),
        member_count=2,
    )
    members = [
        make_ticket(pipeline=f"pl_copy_phone_orders_{n}", incident=incident) for n in range(2)
    ]
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 390, "height": 844, "deviceScaleFactor": 1, "mobile": True},
    )
    sign_in(browser, base, "responder-on-call")
    for path in (
        "/",
        f"/tickets/{members[0].pk}/",
        f"/incidents/{incident.pk}/",
        "/charts/",
        "/log-analyses/",
    ):
        browser.get(f"{base}{path}")
        assert page_overflow(browser) == [], path
        sign_out = browser.find_element(By.XPATH, "//button[normalize-space()='Sign out']")
        assert sign_out.is_displayed() and sign_out.rect["x"] + sign_out.rect["width"] <= 390
    for path, form in (
        (f"/tickets/{members[0].pk}/", "ticket-actions"),
        (f"/incidents/{incident.pk}/", "incident-actions"),
    ):
        browser.get(f"{base}{path}")
        for field in browser.find_elements(By.CSS_SELECTOR, f"#{form} input[type=text]"):
            if field.is_displayed():
                assert field.rect["width"] >= 200, (path, field.get_attribute("name"))
        for button in browser.find_elements(By.CSS_SELECTOR, f"#{form} button"):
            if button.is_displayed():
                assert button.rect["x"] + button.rect["width"] <= 390, (path, button.text)


def badges_past_their_card(driver: webdriver.Chrome) -> list[str]:
    """The badges (and SLA clocks, sources) of a board card's top row that stick out past
    the card's inner edge."""
    return driver.execute_script(
        "const out = [];"
        "for (const card of document.querySelectorAll('#board .card')) {"
        "  const box = card.getBoundingClientRect();"
        "  const edge = box.right - parseFloat(getComputedStyle(card).paddingRight) + 0.5;"
        "  for (const part of card.querySelectorAll('.card-top > *')) {"
        "    if (part.getBoundingClientRect().right > edge)"
        "      out.push((card.dataset.id || card.dataset.incident) + ': ' + part.textContent);"
        "  }"
        "} return out;"
    )


def test_card_badges_wrap_inside_their_card_on_a_1280_px_screen(
    asgi_server, short_lived_connections, browser
):
    """At 1280 px a column is about 290 px wide: an incident card's Incident, severity,
    status, members and recovered, and a ticket card's severity, priority, approval badge,
    source and SLA clock ran past the card's right edge."""
    now = timezone.now()
    make_user("board-watcher", "viewer")
    incident = Incident.objects.create(
        id="INC-WIDE-1",
        group_key="sql-server:sql-wide-01.database.windows.net|DatabaseError",
        culprit="sql-server:sql-wide-01.database.windows.net",
        error_type="DatabaseError",
        severity="Critical",
        status="in_progress",
        first_seen=now,
        last_member_at=now,
        member_count=128,
        recovered_count=117,
    )
    for n in range(2):
        make_ticket(pipeline=f"pl_wide_member_{n}", incident=incident, status="in_progress")
    waiting = make_ticket(
        pipeline="pl_waits_for_approval",
        source="databricks",
        severity="Critical",
        priority="P1",
        remediation_status="awaiting_approval",
        sla_status="Breached",
        sla_deadline=now - timedelta(days=2, hours=3),
    )
    browser.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False},
    )
    sign_in(browser, asgi_server, "board-watcher")
    wait(browser, lambda d: column_of(d, waiting.pk) == "open")
    assert browser.find_elements(By.CSS_SELECTOR, '#board .card[data-incident="INC-WIDE-1"]')
    assert card_text(browser, waiting.pk, "awaiting_approval") == "Awaits approval"

    assert badges_past_their_card(browser) == []
    assert page_overflow(browser) == []


# --- the keyboard ---------------------------------------------------------------------------------


def page_status(driver: webdriver.Chrome) -> str:
    return driver.find_element(By.CSS_SELECTOR, ".ticket-head .badge.status").text


def test_enter_in_an_empty_what_fixed_it_asks_for_the_fix_and_resolves_nothing(
    asgi_server, short_lived_connections, browser
):
    """Enter in an empty (or blank) "What fixed it" box neither resolves nor reloads: the box
    asks for what fixed it, on a ticket and on an incident. The Resolve button still resolves
    without a fix, and typing the fix then Enter resolves with it."""
    from selenium.webdriver.common.keys import Keys

    base = asgi_server
    make_user("kim", "responder")
    ticket = make_ticket(pipeline="pl_keyboard_empty")
    other = make_ticket(pipeline="pl_keyboard_empty_button")
    incident = Incident.objects.create(
        id="INC-KEYS-EMPTY",
        group_key="sql-server:sql-empty|DatabaseError",
        culprit="sql-server:sql-empty",
        error_type="DatabaseError",
        severity="High",
        first_seen=timezone.now(),
        last_member_at=timezone.now(),
        member_count=1,
    )
    member = make_ticket(pipeline="pl_keys_empty_member", incident=incident)
    sign_in(browser, base, "kim", f"/tickets/{ticket.pk}/")
    for path, form_id, pk in (
        (f"/tickets/{ticket.pk}/", "ticket-actions", ticket.pk),
        (f"/incidents/{incident.pk}/", "incident-actions", member.pk),
    ):
        browser.get(f"{base}{path}")

        def fix(form_id: str = form_id) -> WebElement:
            return browser.find_element(By.CSS_SELECTOR, f"#{form_id} input[name=fix]")

        for typed in ("", "   "):
            mark_page(browser)
            fix().send_keys(typed, Keys.ENTER)
            time.sleep(1)
            assert not_reloaded(browser), (path, typed)
            assert "what fixed it" in str(fix().get_attribute("validationMessage")), path
            assert Ticket.objects.get(pk=pk).status == "open", (path, typed)
            fix().clear()
        assert fix().get_attribute("validationMessage") == ""  # edited: no longer asks
    fix().send_keys("Restarted the gateway", Keys.ENTER)
    wait(browser, lambda _: Ticket.objects.get(pk=member.pk).status == "resolved")
    assert Resolution.objects.get(ticket=member).fix == "Restarted the gateway"

    browser.get(f"{base}/tickets/{other.pk}/")
    browser.find_element(By.CSS_SELECTOR, "#ticket-actions input[name=fix]").send_keys(Keys.ENTER)
    browser.find_element(By.CSS_SELECTOR, '#ticket-actions button[value="resolve"]').click()
    wait(browser, lambda _: Ticket.objects.get(pk=other.pk).status == "resolved")
    assert not Resolution.objects.filter(ticket=other).exclude(fix="").exists()


def test_enter_in_what_fixed_it_resolves_and_enter_in_the_note_takes_no_action(
    asgi_server, short_lived_connections, browser
):
    """Typing what fixed it and pressing Enter resolves with that fix, on a ticket and on an
    incident; Enter in the note does nothing. (The browser's implicit submission clicked the
    form's first button: Enter in the fix acknowledged the ticket and dropped the fix, and on a
    resolved ticket clicked its hidden Acknowledge: "cannot acknowledge a ticket that is
    resolved".)"""
    from selenium.webdriver.common.keys import Keys

    base = asgi_server
    make_user("kim", "responder")
    ticket = make_ticket(pipeline="pl_keyboard_orders")
    acknowledged = make_ticket(pipeline="pl_keyboard_ack")
    lifecycle.transition(acknowledged.pk, "acknowledge", Actor("user", "kim"))
    incident = Incident.objects.create(
        id="INC-KEYS-1",
        group_key="sql-server:sql-keys|DatabaseError",
        culprit="sql-server:sql-keys",
        error_type="DatabaseError",
        severity="High",
        first_seen=timezone.now(),
        last_member_at=timezone.now(),
        member_count=2,
    )
    members = [make_ticket(pipeline=f"pl_keys_{n}", incident=incident) for n in range(2)]
    sign_in(browser, base, "kim", f"/tickets/{ticket.pk}/")
    assert "Enter" not in browser.find_element(By.ID, "ticket-actions").text

    browser.find_element(By.NAME, "fix").send_keys("Rotated the SQL password", Keys.ENTER)
    wait(browser, lambda d: page_status(d) == "Resolved")
    assert Resolution.objects.get(ticket=ticket).fix == "Rotated the SQL password"

    # Resolved: Enter in the note takes no action (the only button offered is Reopen, which
    # keeps no fix: "What fixed it" is not offered).
    assert not browser.find_element(By.NAME, "fix").is_displayed()
    mark_page(browser)
    browser.find_element(By.NAME, "note").send_keys("more words", Keys.ENTER)
    time.sleep(1)
    assert not_reloaded(browser)
    assert not browser.find_elements(By.CSS_SELECTOR, ".message-error")
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"

    browser.get(f"{base}/tickets/{acknowledged.pk}/")
    mark_page(browser)
    browser.find_element(By.NAME, "note").send_keys("looking at it", Keys.ENTER)
    time.sleep(1)
    assert not_reloaded(browser)
    assert Ticket.objects.get(pk=acknowledged.pk).status == "acknowledged"

    browser.get(f"{base}/incidents/{incident.pk}/")
    form = browser.find_element(By.ID, "incident-actions")
    assert "Enter" not in form.text
    form.find_element(By.NAME, "fix").send_keys("Opened the firewall", Keys.ENTER)
    wait(browser, lambda d: page_status(d) == "Resolved")
    assert {r.fix for r in Resolution.objects.filter(ticket__in=members)} == {"Opened the firewall"}


# --- a fresh RCA ----------------------------------------------------------------------------------


def rca_panel(driver: webdriver.Chrome) -> dict:
    """The ticket page's RCA panel as shown: its text, source badge and whether it offers a
    fresh RCA and says one is under way (read in the page: the panel is swapped live)."""
    return driver.execute_script(
        "const panel = document.getElementById('rca');"
        "return {text: panel.querySelector('.rca-text').textContent,"
        "  source: panel.querySelector('[data-live=\"rca_source\"]').textContent,"
        "  offered: !!panel.querySelector('#rerun-rca button'),"
        "  under_way: !!panel.querySelector('#rca-under-way')};"
    )


def messages_text(driver: webdriver.Chrome) -> str:
    return driver.execute_script(
        "const node = document.querySelector('.messages'); return node ? node.textContent : '';"
    )


def test_a_responder_asks_for_a_fresh_rca_and_the_page_shows_it_when_it_arrives(
    asgi_server, short_lived_connections, celery_worker, browser, settings
):
    """The ticket page offered no fresh RCA (only the API and admin did), and its live update
    of an analysis changed the source badge alone: the RCA text stayed the old one until a
    reload. A viewer is offered none."""
    base = asgi_server
    settings.GEMINI_API_KEY = ""
    settings.EMBEDDING_BACKEND = "local"
    make_user("rhea", "responder")
    make_user("vera", "viewer")
    body = local_payload("adf_failure.json")
    body["run_id"] = f"fresh-rca-{time.time_ns()}"
    ticket_id = post_failure(base, body)["ticket_id"]
    wait_for(lambda: Ticket.objects.filter(pk=ticket_id, rca_source="rules").exists())
    first = Ticket.objects.get(pk=ticket_id).rca_result

    sign_in(browser, base, "vera", f"/tickets/{ticket_id}/")
    assert rca_panel(browser) == {
        "text": first,
        "source": "Rule-based",
        "offered": False,
        "under_way": False,
    }
    browser.delete_all_cookies()

    fresh = "A fresher look: the SQL firewall rule for the integration runtime expired."
    with FakeGemini() as gemini:
        settings.GEMINI_API_KEY, settings.GEMINI_BASE_URL = "test-key-not-a-secret", gemini.url
        settings.GEMINI_TIMEOUT_SECONDS = 20.0
        gemini.rca_answer = {**GOOD_RCA, "root_cause": fresh}
        gemini.stall(4.0, path_contains="generateContent")  # the page is open when it lands
        sign_in(browser, base, "rhea", f"/tickets/{ticket_id}/")
        assert rca_panel(browser)["offered"]

        browser.find_element(By.CSS_SELECTOR, "#rerun-rca button").click()
        wait(browser, lambda d: "Fresh RCA requested" in messages_text(d))
        assert rca_panel(browser)["under_way"]
        # Asked again while it runs: answered by the one under way, nothing more queued.
        browser.find_element(By.CSS_SELECTOR, "#rerun-rca button").click()
        wait(browser, lambda d: "under way: it answers this request too" in messages_text(d))
        wait(
            browser,
            lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live",
        )
        mark_page(browser)

        wait(browser, lambda d: rca_panel(d)["text"] == fresh, timeout=30)
    assert not_reloaded(browser)
    # What the request's message said to wait for has come: the message is gone with it.
    assert messages_text(browser) == ""
    assert rca_panel(browser) == {
        "text": fresh,
        "source": "Gemini",
        "offered": True,
        "under_way": False,
    }
    assert len(gemini.generate_requests()) == 1
    assert "Reload for the full audit trail." in browser.find_element(By.ID, "live-banner").text
    # The swapped-in panel's form works: a fresh RCA is asked for again (by the rules now).
    settings.GEMINI_API_KEY = ""
    browser.find_element(By.CSS_SELECTOR, "#rerun-rca button").click()
    wait(browser, lambda d: "Fresh RCA requested" in messages_text(d))
    violations = [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]
    assert violations == []


def _failed_under_an_approval_policy(settings, policy: str, pipeline: str) -> Ticket:
    """A failed ticket of `pipeline` under the only policy, `policy` (a playbook people
    approve), and the responder rosa to sign in."""
    from integrations.models import RemediationPolicy
    from tests.remediation.conftest import configure_remediation_targets
    from tests.remediation.conftest import make_ticket as failed_ticket

    configure_remediation_targets(settings, "http://127.0.0.1:9")
    RemediationPolicy.objects.all().delete()
    RemediationPolicy.objects.create(
        name=policy, order=1, action="playbook", mode="approval", signals=[]
    )
    make_user("rosa", "responder")
    return failed_ticket(pipeline=pipeline)


def test_a_remediation_decided_in_another_tab_drops_its_approve_button_live(
    asgi_server, short_lived_connections, browser, settings
):
    """Approved elsewhere (another responder, Slack, the API): the page that showed Approve /
    Decline no longer offers them, without a reload."""
    from integrations import remediation

    ticket = _failed_under_an_approval_policy(settings, "approve-live", "pl_remediated_live")
    waiting = remediation.propose(ticket.pk)
    assert waiting is not None and waiting.status == "awaiting_approval"
    sign_in(browser, asgi_server, "rosa", f"/tickets/{ticket.pk}/")
    assert browser.find_elements(By.CSS_SELECTOR, '#remediation button[value="approve"]')
    mark_page(browser)

    remediation.decline(waiting.pk, Actor.system("slack"), via="slack", note="not now")

    wait(
        browser,
        lambda d: not d.find_elements(By.CSS_SELECTOR, '#remediation button[value="approve"]'),
    )
    assert "declined by slack via slack: not now" in browser.find_element(By.ID, "remediation").text
    assert not_reloaded(browser)


def test_a_remediation_proposed_after_the_page_loaded_appears_live(
    asgi_server, short_lived_connections, browser, settings
):
    """A page loaded while the ticket had no remediation had no remediation panel to read
    again: one proposed since (awaiting approval) never showed until a reload."""
    from integrations import remediation

    ticket = _failed_under_an_approval_policy(settings, "approve-later", "pl_remediation_later")
    sign_in(browser, asgi_server, "rosa", f"/tickets/{ticket.pk}/")
    assert not [
        panel for panel in browser.find_elements(By.ID, "remediation") if panel.is_displayed()
    ]
    mark_page(browser)

    waiting = remediation.propose(ticket.pk)
    assert waiting is not None and waiting.status == "awaiting_approval"

    wait(
        browser,
        lambda d: d.find_elements(By.CSS_SELECTOR, '#remediation button[value="approve"]'),
    )
    assert browser.find_element(By.ID, "remediation").is_displayed()
    assert "Awaiting approval" in browser.find_element(By.ID, "remediation").text
    assert not_reloaded(browser)
    browser.find_element(By.CSS_SELECTOR, '#remediation button[value="approve"]').click()
    wait(browser, lambda _: Remediation.objects.get(pk=waiting.pk).decided_via == "dashboard")


def test_the_board_marks_a_card_whose_remediation_awaits_approval_live(
    asgi_server, short_lived_connections, browser, settings
):
    """On-call staff saw no sign on the board of the tickets waiting for their approval: the
    card shows a badge while its remediation awaits approval, from a reload and live."""
    from integrations import remediation

    ticket = _failed_under_an_approval_policy(settings, "approve-board", "pl_waits_on_board")
    sign_in(browser, asgi_server, "rosa")
    wait(browser, lambda d: column_of(d, ticket.pk) == "open")
    assert card_text(browser, ticket.pk, "awaiting_approval") is None
    mark_page(browser)

    waiting = remediation.propose(ticket.pk)
    assert waiting is not None and waiting.status == "awaiting_approval"

    wait(browser, lambda d: card_text(d, ticket.pk, "awaiting_approval") == "Awaits approval")
    assert not_reloaded(browser)
    reload_live(browser)
    wait(browser, lambda d: column_of(d, ticket.pk) == "open")
    assert card_text(browser, ticket.pk, "awaiting_approval") == "Awaits approval"
    badge = browser.find_element(
        By.CSS_SELECTOR, f'#board .card[data-id="{ticket.pk}"] .badge.approval'
    )
    assert badge.value_of_css_property("background-color") == "rgba(255, 249, 219, 1)"
    mark_page(browser)

    remediation.decline(waiting.pk, Actor.system("slack"), via="slack", note="not now")

    wait(browser, lambda d: card_text(d, ticket.pk, "awaiting_approval") is None)
    assert column_of(browser, ticket.pk) == "open" and not_reloaded(browser)


def member_text(driver: webdriver.Chrome, ticket_id: str, field: str) -> str | None:
    return driver.execute_script(
        "for (const item of document.querySelectorAll('#board li[data-member]')) {"
        "  if (item.dataset.member === arguments[0]) {"
        "    const node = item.querySelector('[data-field=\"' + arguments[1] + '\"]');"
        "    return node ? node.textContent : null; } } return null;",
        ticket_id,
        field,
    )


def test_an_incident_card_marks_its_member_whose_remediation_awaits_approval_live(
    asgi_server, short_lived_connections, browser, settings
):
    """A member waits for a responder as a ticket on its own does: its line in the incident
    card's members says so, from a reload and live."""
    from integrations import remediation
    from tests.remediation.conftest import make_ticket as failed_ticket

    ticket = _failed_under_an_approval_policy(settings, "approve-member", "pl_member_waits")
    incident = Incident.objects.create(
        id="INC-APPROVAL-1",
        group_key="sql-server:sql-approval-01.database.windows.net|NetworkError",
        culprit="sql-server:sql-approval-01.database.windows.net",
        error_type="NetworkError",
        first_seen=timezone.now(),
        last_member_at=timezone.now(),
        member_count=2,
    )
    Ticket.objects.filter(pk=ticket.pk).update(incident=incident)
    other = failed_ticket(pipeline="pl_member_fine", incident=incident)
    sign_in(browser, asgi_server, "rosa")
    wait(browser, lambda d: member_text(d, ticket.pk, "member_status") == "Open")
    assert member_text(browser, ticket.pk, "awaiting_approval") is None
    mark_page(browser)

    waiting = remediation.propose(ticket.pk)
    assert waiting is not None and waiting.status == "awaiting_approval"

    wait(browser, lambda d: member_text(d, ticket.pk, "awaiting_approval") == "Awaits approval")
    assert member_text(browser, other.pk, "awaiting_approval") is None
    assert not_reloaded(browser)
    reload_live(browser)
    wait(browser, lambda d: member_text(d, ticket.pk, "member_status") == "Open")
    assert member_text(browser, ticket.pk, "awaiting_approval") == "Awaits approval"
    assert member_text(browser, other.pk, "awaiting_approval") is None
    mark_page(browser)

    remediation.decline(waiting.pk, Actor.system("slack"), via="slack", note="not now")

    wait(browser, lambda d: member_text(d, ticket.pk, "awaiting_approval") is None)
    assert not_reloaded(browser)


def incident_awaiting_text(driver: webdriver.Chrome, incident_id: str) -> str | None:
    """The incident card's own count of members awaiting approval, when shown."""
    return driver.execute_script(
        "const card = document.querySelector('#board article[data-incident=\"' + arguments[0]"
        " + '\"]');"
        "const node = card && card.querySelector('.card-top [data-field=\"awaiting_approval\"]');"
        "return node && !node.hidden ? node.textContent : null;",
        incident_id,
    )


def test_an_incident_card_counts_members_awaiting_approval_beyond_those_it_lists_live(
    asgi_server, short_lived_connections, browser, settings
):
    """The card lists its first ten members; an eleventh whose remediation awaits approval
    was marked nowhere on the board. The card counts them, from a reload and live."""
    from integrations import remediation
    from tests.remediation.conftest import make_ticket as failed_ticket

    ticket = _failed_under_an_approval_policy(settings, "approve-eleventh", "pl_eleventh_waits")
    now = timezone.now()
    incident = Incident.objects.create(
        id="INC-APPROVAL-11",
        group_key="sql-server:sql-approval-11.database.windows.net|NetworkError",
        culprit="sql-server:sql-approval-11.database.windows.net",
        error_type="NetworkError",
        first_seen=now,
        last_member_at=now,
        member_count=11,
    )
    listed = [
        failed_ticket(pipeline=f"pl_listed_{n}", incident=incident, timestamp=now)
        for n in range(10)
    ]
    Ticket.objects.filter(pk=ticket.pk).update(incident=incident, timestamp=now + timedelta(1))
    sign_in(browser, asgi_server, "rosa")
    wait(browser, lambda d: member_text(d, listed[0].pk, "member_status") == "Open")
    assert member_text(browser, ticket.pk, "member_status") is None  # not listed
    assert incident_awaiting_text(browser, incident.pk) is None
    mark_page(browser)

    waiting = remediation.propose(ticket.pk)
    assert waiting is not None and waiting.status == "awaiting_approval"

    wait(browser, lambda d: incident_awaiting_text(d, incident.pk) == "1 awaits approval")
    assert not_reloaded(browser)
    reload_live(browser)
    wait(browser, lambda d: incident_awaiting_text(d, incident.pk) == "1 awaits approval")
    mark_page(browser)

    remediation.decline(waiting.pk, Actor.system("slack"), via="slack", note="not now")

    wait(browser, lambda d: incident_awaiting_text(d, incident.pk) is None)
    assert not_reloaded(browser)


def facts(driver: webdriver.Chrome) -> dict[str, str]:
    return driver.execute_script(
        "return {ack: document.getElementById('fact-ack').textContent,"
        "  resolved: document.getElementById('fact-resolved').textContent};"
    )


def test_the_facts_follow_an_acknowledge_and_a_resolve_made_elsewhere(
    asgi_server, short_lived_connections, browser
):
    """Acknowledged and resolved in another tab or from Slack: the facts box said who and when
    only after a reload (its Resolved stayed "—", its Acknowledged went "—" once resolved,
    though the acknowledgement stands), and "What fixed it" stayed offered with Reopen alone.
    A reopen takes both back."""
    make_user("kim", "responder")
    ticket = make_ticket(pipeline="pl_facts_live")
    sign_in(browser, asgi_server, "kim", f"/tickets/{ticket.pk}/")
    assert facts(browser) == {"ack": "—", "resolved": "—"}
    fix = browser.find_element(By.CSS_SELECTOR, "#ticket-actions input[name=fix]")
    fix.send_keys("Rotated the key")
    mark_page(browser)

    lifecycle.transition(ticket.pk, "acknowledge", Actor("slack", "maria"))
    wait(browser, lambda d: facts(d)["ack"].startswith("maria · "))
    lifecycle.resolve(ticket.pk, Actor("slack", "maria"), fix="Restarted the gateway")
    resolved = Ticket.objects.get(pk=ticket.pk).resolved_at
    assert resolved is not None
    wait(browser, lambda d: facts(d)["resolved"] == f"maria · {resolved:%Y-%m-%d %H:%M} UTC")
    assert facts(browser)["ack"].startswith("maria · ")
    wait(browser, lambda _: not fix.is_displayed())
    assert not fix.is_enabled()  # a Reopen does not send it

    lifecycle.transition(ticket.pk, "reopen", Actor("slack", "maria"))
    wait(browser, lambda d: facts(d) == {"ack": "—", "resolved": "—"})
    wait(browser, lambda _: fix.is_displayed())
    assert fix.get_attribute("value") == "Rotated the key"
    assert not_reloaded(browser)


def test_a_note_typed_on_a_remediation_stays_through_a_live_refresh(
    asgi_server, short_lived_connections, browser, settings
):
    """The remediation panel is read again at each remediation change, change of status and new
    analysis: the note a responder was typing for Approve / Decline was wiped (and the field
    lost the focus) by any of them. It stays while that remediation is still the one shown.
    Enter in it approved the remediation (the form's first button); it takes no action."""
    from selenium.webdriver.common.keys import Keys

    from integrations import remediation

    ticket = _failed_under_an_approval_policy(settings, "approve-typing", "pl_remediation_typing")
    waiting = remediation.propose(ticket.pk)
    assert waiting is not None
    sign_in(browser, asgi_server, "rosa", f"/tickets/{ticket.pk}/")
    note = browser.find_element(By.CSS_SELECTOR, "#remediation input[name=note]")
    note.send_keys("the freeze ends at six")
    mark_page(browser)
    browser.execute_script("document.getElementById('remediation').dataset.before = 'yes';")

    lifecycle.announce(ticket.pk, "analysed", Actor.system("analysis"))  # a new RCA
    wait(  # the panel was read again and swapped in
        browser,
        lambda d: d.execute_script(
            "return !document.getElementById('remediation').dataset.before;"
        ),
    )

    note = browser.find_element(By.CSS_SELECTOR, "#remediation input[name=note]")
    assert note.get_attribute("value") == "the freeze ends at six"
    assert browser.switch_to.active_element == note
    # Enter in the note decides nothing (it clicked the form's first button: Approve).
    note.send_keys(", not before", Keys.ENTER)
    time.sleep(1)
    assert not_reloaded(browser)
    assert Remediation.objects.get(pk=waiting.pk).status == "awaiting_approval"
    browser.find_element(By.CSS_SELECTOR, '#remediation button[value="approve"]').click()
    wait(browser, lambda _: Remediation.objects.get(pk=waiting.pk).status != "awaiting_approval")
    assert Remediation.objects.get(pk=waiting.pk).reason == (
        "approved by rosa via dashboard: the freeze ends at six, not before"
    )


def test_a_note_typed_on_a_remediation_decided_elsewhere_is_shown_as_not_sent(
    asgi_server, short_lived_connections, browser, settings
):
    """Another responder approved while this one was typing a reason to decline: the panel
    read again dropped the form and, with it, the typed text in silence. It is shown as not
    sent, and stays so through the panel's next reads."""
    from integrations import remediation

    ticket = _failed_under_an_approval_policy(settings, "decided-away", "pl_remediation_away")
    waiting = remediation.propose(ticket.pk)
    assert waiting is not None
    sign_in(browser, asgi_server, "rosa", f"/tickets/{ticket.pk}/")
    note = browser.find_element(By.CSS_SELECTOR, "#remediation input[name=note]")
    note.send_keys("vendor <api> still down")
    mark_page(browser)

    remediation.approve(waiting.pk, Actor("slack", "maria"), via="slack")

    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "#remediation input[name=note]"))
    unsent = wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "[data-unsent-note]"))
    assert [n.text for n in unsent] == ["Your note was not sent: “vendor <api> still down”"]
    browser.execute_script("document.getElementById('remediation').dataset.before = 'yes';")
    lifecycle.announce(ticket.pk, "analysed", Actor.system("analysis"))
    wait(
        browser,
        lambda d: d.execute_script(
            "return !document.getElementById('remediation').dataset.before;"
        ),
    )
    unsent = browser.find_elements(By.CSS_SELECTOR, "[data-unsent-note]")
    assert [n.text for n in unsent] == ["Your note was not sent: “vendor <api> still down”"]
    assert not_reloaded(browser)


def test_the_severity_priority_and_class_badges_follow_an_analysis_that_changes_them(
    asgi_server, short_lived_connections, browser
):
    """A Databricks login failure is Medium, P3, until its fetched text is read; the analysis
    raises it to High, P2, and names its class. An open ticket page kept "Medium", "P3" and
    the class ingest gave until a reload."""
    make_user("ines", "responder")
    ticket = make_ticket(
        pipeline="pl_raised_live", severity="Medium", priority="P3", error_type="Unknown"
    )
    sign_in(browser, asgi_server, "ines", f"/tickets/{ticket.pk}/")
    mark_page(browser)

    Ticket.objects.filter(pk=ticket.pk).update(
        severity="High", priority="P2", error_type="AuthenticationError"
    )
    lifecycle.announce(ticket.pk, "analysed", Actor.system("analysis"))

    def badges(driver: webdriver.Chrome) -> list[str]:
        return [
            driver.find_element(By.CSS_SELECTOR, f'[data-live="{name}"]').text
            for name in ("severity", "priority", "error_type")
        ]

    wait(browser, lambda d: badges(d) == ["High", "P2", "AuthenticationError"])
    severity = browser.find_element(By.CSS_SELECTOR, '[data-live="severity"]')
    assert "sev-high" in severity.get_attribute("class").split()
    assert not_reloaded(browser)


def test_a_live_read_leaves_an_actions_message_for_the_page_loaded_next(
    asgi_server, short_lived_connections, browser
):
    """An action's message waits (in its cookie) for the page its redirect loads. A live read
    of the ticket page landing between the two (another tab, or this one before it navigated:
    the action's own event makes it read its parts) took the message: the page then loaded
    said nothing, e.g. no "Not done: …"."""
    make_user("kim", "responder")
    ticket = make_ticket(pipeline="pl_message_kept")
    sign_in(browser, asgi_server, "kim", f"/tickets/{ticket.pk}/")
    status = browser.execute_script(
        "const token = document.querySelector('#ticket-actions [name=csrfmiddlewaretoken]');"
        "const body = new FormData(); body.append('csrfmiddlewaretoken', token.value);"
        "body.append('action', 'reopen');"
        "return fetch(arguments[0], {method: 'POST', body, credentials: 'same-origin',"
        "  redirect: 'manual'}).then((r) => r.type);",
        f"/tickets/{ticket.pk}/action/",
    )
    assert status == "opaqueredirect"  # the redirect is not followed yet
    browser.execute_script("document.getElementById('rca').dataset.before = 'yes';")

    lifecycle.announce(ticket.pk, "analysed", Actor.system("analysis"))
    wait(
        browser,
        lambda d: d.execute_script("return !document.getElementById('rca').dataset.before;"),
    )
    assert messages_text(browser) == ""

    browser.get(f"{asgi_server}/tickets/{ticket.pk}/")
    assert "Not done: cannot reopen a ticket that is open." in messages_text(browser)


def test_reopen_after_a_resolve_elsewhere_sends_no_fix_typed_before(
    asgi_server, short_lived_connections, browser
):
    """What fixed it was typed, then the incident was resolved elsewhere: the box was hidden
    with the text in it and still sent, so Reopen was refused ("kept only when resolving") for
    a fix nobody could see. Hidden, it is not sent."""
    make_user("ines", "responder")
    incident, _ = sql_outage("INC-REOPEN-FIX", "sql-reopen", ("pl_reopen_a", "pl_reopen_b"))
    sign_in(browser, asgi_server, "ines", f"/incidents/{incident.pk}/")
    fix = browser.find_element(By.CSS_SELECTOR, "#incident-actions input[name=fix]")
    fix.send_keys("Failed over to the secondary")

    incidents.act(incident.pk, "resolve", Actor("user", "maria"))
    wait(browser, lambda d: incident_page(d)["buttons"] == ["reopen"])
    assert not fix.is_displayed()
    browser.find_element(By.CSS_SELECTOR, '#incident-actions button[value="reopen"]').click()

    wait(browser, lambda _: Incident.objects.get(pk=incident.pk).status == "open")
    assert "Reopen: done." in messages_text(browser)


def test_a_ticket_folded_into_another_leaves_the_board_and_its_page_says_where_it_went(
    asgi_server, short_lived_connections, browser, databricks
):
    """A Databricks run's ticket, on the board since ingest, is folded into the older ticket
    its fetched error is an occurrence of: its card goes and the Open count drops, the older
    card counts the occurrence, and its open page links to the older ticket, all live."""
    base = asgi_server
    make_user("ines", "responder")
    first, later = pending_pair(databricks)

    sign_in(browser, base, "ines")
    mark_page(browser)
    assert sorted(shown_in(browser, "open")) == [first, later]
    assert counts(browser)["open"] == "2"
    board_tab = open_in_a_new_tab(browser, f"{base}/tickets/{later}/")
    assert browser.find_element(By.ID, "ticket-actions").is_displayed()
    mark_page(browser)

    enrich_tickets([later])

    link = wait(
        browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#live-banner a[data-folded-into]")
    )
    assert link[0].text == first
    assert link[0].get_attribute("href") == f"{base}/tickets/{first}/"
    assert f"This ticket was folded into {first}" in browser.find_element(By.ID, "live-banner").text
    assert not browser.find_element(By.ID, "ticket-actions").is_displayed()
    assert not_reloaded(browser)

    browser.switch_to.window(board_tab)
    wait(browser, lambda d: shown_in(d, "open") == [first])
    wait(browser, lambda d: card_text(d, first, "occurrence_count") == "2")
    assert counts(browser)["open"] == "1"
    assert not_reloaded(browser)


def _forward(listener: socket.socket, upstream_port: int) -> None:
    """Accept on `listener` and pipe each connection to the test server, both ways."""

    def pipe(source: socket.socket, sink: socket.socket) -> None:
        with source, sink:
            try:
                while data := source.recv(65536):
                    sink.sendall(data)
            except OSError:  # the other way's pipe closed both ends first
                return

    while True:
        try:
            client, _ = listener.accept()
        except OSError:  # closed: the test is over
            return
        upstream = socket.create_connection(("127.0.0.1", upstream_port))
        for ends in ((client, upstream), (upstream, client)):
            threading.Thread(target=pipe, args=ends, daemon=True).start()


def test_a_board_whose_socket_first_opens_after_failed_attempts_catches_up(
    asgi_server, short_lived_connections, browser, settings
):
    """A board loaded while the websocket server was down (`make run` restarting: gunicorn
    answers before daphne does) missed what changed until its socket opened, and only a
    reconnect caught up: a failure posted meanwhile never showed."""
    base = asgi_server
    make_user("ola", "viewer")
    sign_in(browser, base, "ola")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        ws_port = probe.getsockname()[1]
    settings.WEBSOCKET_URL = f"ws://127.0.0.1:{ws_port}/ws/tickets/"

    browser.get(f"{base}/")
    wait(browser, lambda d: live_state(d)[0] == "offline")
    missed = make_ticket(pipeline="pl_failed_while_offline")
    listener = socket.create_server(("127.0.0.1", ws_port))
    threading.Thread(
        target=_forward, args=(listener, int(base.rsplit(":", 1)[1])), daemon=True
    ).start()
    try:
        browser.execute_script("window.RcaLive.connection.reconnectNow();")
        wait(browser, lambda d: live_state(d)[0] == "live")
        wait(browser, lambda d: column_of(d, missed.pk) == "open", timeout=10)
    finally:
        listener.close()


def timers_of_a_second_or_more_wait(driver: webdriver.Chrome, ms: int) -> None:
    """From the next page on, each timer of 0.7 s or more (the socket's next attempt, a card's
    flash) waits `ms` instead: the back-off the page asks for is read from its indicator
    without being waited out (`ms` small), or is never reached in a test's time (`ms` large)."""
    driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "const setTimeoutAsAsked = window.setTimeout.bind(window);"
            "window.setTimeout = (callback, delay, ...rest) =>"
            f"  setTimeoutAsAsked(callback, delay >= 700 ? {ms} : delay, ...rest);"
        },
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_socket_lost_for_long_is_tried_again_every_ten_seconds_or_so(
    asgi_server, short_lived_connections, browser, settings
):
    """The whole service restarted: the page's socket found no server for a while, and its
    back-off grew to 30 s (up to 37.5 with its jitter) before the next attempt, the page stale
    all along. It grows to 10 s (12.5 at most)."""
    base = asgi_server
    make_user("ola", "viewer")
    sign_in(browser, base, "ola")
    settings.WEBSOCKET_URL = f"ws://127.0.0.1:{closed_port()}/ws/tickets/"
    timers_of_a_second_or_more_wait(browser, 20)

    browser.get(f"{base}/")
    browser.execute_script(
        "window.__said = [];"
        "const label = document.querySelector('#live-status .live-text');"
        "new MutationObserver(() => window.__said.push(label.textContent))"
        "  .observe(label, {childList: true, characterData: true, subtree: true});"
    )
    said = wait(
        browser,
        lambda d: (
            (texts := d.execute_script("return window.__said;")).count("Reconnecting…") >= 9
            and texts
        ),
        timeout=60,
    )

    waits = [int(n) for n in re.findall(r"retrying in (\d+)s", " ".join(said))]
    assert len(waits) >= 8
    assert max(waits) <= 13, waits
    assert min(waits[-3:]) >= 8, waits  # grown to the cap, not stuck at the first waits


def leave_and_come_back_online(driver: webdriver.Chrome) -> None:
    for offline in (True, False):
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": offline, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )


def hide_and_show_again(driver: webdriver.Chrome) -> None:
    page = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.switch_to.window(page)


@pytest.mark.parametrize(
    "come_back", [leave_and_come_back_online, hide_and_show_again], ids=["online", "shown"]
)
def test_a_page_back_online_or_shown_again_reconnects_at_once(
    asgi_server, short_lived_connections, browser, settings, come_back
):
    """A laptop woken up, a tab brought back after the service came up again: the page does
    not wait out its back-off (here longer than the test) but tries at once, and catches up."""
    base = asgi_server
    make_user("ola", "viewer")
    sign_in(browser, base, "ola")
    ws_port = closed_port()
    settings.WEBSOCKET_URL = f"ws://127.0.0.1:{ws_port}/ws/tickets/"
    timers_of_a_second_or_more_wait(browser, 600_000)
    browser.get(f"{base}/")
    wait(browser, lambda d: live_state(d)[0] == "offline")
    missed = make_ticket(pipeline="pl_failed_while_offline")
    listener = socket.create_server(("127.0.0.1", ws_port))
    threading.Thread(
        target=_forward, args=(listener, int(base.rsplit(":", 1)[1])), daemon=True
    ).start()
    try:
        time.sleep(0.5)
        assert live_state(browser)[0] == "offline"  # its next attempt is not due

        come_back(browser)

        wait(browser, lambda d: live_state(d)[0] == "live", timeout=10)
        wait(browser, lambda d: column_of(d, missed.pk) == "open", timeout=10)
    finally:
        listener.close()


def post_airflow(base_url: str, body: dict) -> dict:
    answer = requests.post(
        f"{base_url}/webhooks/airflow/",
        data=json.dumps(body),
        headers={"X-Webhook-Token": settings.WEBHOOK_TOKEN, "Content-Type": "application/json"},
        timeout=15,
    )
    assert answer.status_code == 202, answer.text
    return answer.json()


def failed_parts(driver: webdriver.Chrome) -> str | None:
    """The line under the ticket's title naming the parts it counts failing; None when there is
    none or it is hidden."""
    return driver.execute_script(
        "const node = document.getElementById('ticket-failed-parts');"
        "return node && !node.hidden ? node.textContent : null;"
    )


def test_the_failed_parts_line_follows_mapped_instances_failing_and_recovering_live(
    asgi_server, short_lived_connections, browser
):
    """A mapped Airflow task's ticket, open on its page, while more of its instances fail alike
    and one succeeds: the line under the title ("3 mapped instances failed, 2 still failing")
    stayed as loaded (the Occurrences count moved, the line said "1 mapped instance failed";
    the success was told to no page at all) until a reload."""
    base = asgi_server
    body = local_payload("airflow_failure.json")
    instance = {**body, "state": "failed", "map_index": 0}
    ticket_id = post_airflow(base, instance)["ticket_id"]
    make_user("noor", "responder")
    sign_in(browser, base, "noor", f"/tickets/{ticket_id}/")
    assert failed_parts(browser) == "1 mapped instance failed"
    mark_page(browser)

    for map_index in (1, 2):
        assert post_airflow(base, {**instance, "map_index": map_index})["ticket_id"] == ticket_id
    wait(browser, lambda d: failed_parts(d) == "3 mapped instances failed")
    post_airflow(base, {**instance, "map_index": 1, "state": "success", "exception": None})
    wait(browser, lambda d: failed_parts(d) == "3 mapped instances failed, 2 still failing")
    assert "mapped instance recovered" in browser.find_element(By.ID, "live-banner").text
    assert browser.find_element(By.CSS_SELECTOR, '[data-live="occurrence_count"]').text == "3"
    assert not_reloaded(browser)


def test_the_board_and_the_ticket_page_follow_a_re_route_live(
    asgi_server, short_lived_connections, browser
):
    """Re-routed in admin (its team and owner from the corrected ownership rule): the board's
    card and the ticket's facts kept the old team and owner until reloaded."""
    make_user("kim", "responder")
    ticket = make_ticket(pipeline="pl_reroute_live", finops_team="old-team", finops_owner="bo")
    OwnershipRule.objects.create(
        pipeline_pattern="pl_reroute_*", finops_team="sales-data", finops_owner="ana"
    )
    rules.clear_rule_cache()
    sign_in(browser, asgi_server, "kim", "/")
    wait(browser, lambda d: card_text(d, ticket.pk, "team") == "old-team")
    board = open_in_a_new_tab(browser, f"{asgi_server}/tickets/{ticket.pk}/")

    def fact(driver: webdriver.Chrome, name: str) -> str:
        return driver.find_element(
            By.XPATH, f"//dl[@class='facts']/dt[.='{name}']/following::dd"
        ).text

    def team_and_owner(driver: webdriver.Chrome) -> tuple[str, str]:
        return fact(driver, "Team"), fact(driver, "Owner")

    assert team_and_owner(browser) == ("old-team", "bo")
    mark_page(browser)

    assert rules.reroute_unpaged(ticket, Actor.system("test"))

    wait(browser, lambda d: team_and_owner(d) == ("sales-data", "ana"))
    assert not_reloaded(browser)
    browser.switch_to.window(board)
    wait(browser, lambda d: card_text(d, ticket.pk, "team") == "sales-data")


def post_alert(base_url: str, body: dict) -> dict:
    answer = requests.post(
        f"{base_url}/webhooks/azure-monitor/",
        data=json.dumps(body),
        headers={"X-Webhook-Token": settings.WEBHOOK_TOKEN, "Content-Type": "application/json"},
        timeout=15,
    )
    assert answer.status_code == 202, answer.text
    return answer.json()


def test_the_board_names_each_alert_of_one_rule_by_its_resource_live(
    asgi_server, short_lived_connections, browser, settings
):
    """One alert rule firing on several VMs: the new ticket's card and its incident's card,
    whose members the page draws from the websocket's payloads, named every one of them
    "vm-cpu-high" (the rule): on-call could not tell which VM each was about. Each now reads
    its rule on its VM, live as on a reload."""
    from tests.tickets.test_incidents import FIVE_VMS, rule_alert

    base = asgi_server
    settings.INCIDENT_MIN_PIPELINES = 2
    make_user("rhea", "viewer")
    sign_in(browser, base, "rhea")
    mark_page(browser)
    vms = FIVE_VMS[:3]

    first = post_alert(base, rule_alert(vms[0], alert=f"b-{vms[0]}"))["ticket_id"]
    wait(browser, lambda d: column_of(d, first) == "open")
    assert card_text(browser, first, "title") == "vm-cpu-high on vm-batch-01"

    second = post_alert(base, rule_alert(vms[1], alert=f"b-{vms[1]}"))["ticket_id"]
    card = wait(browser, lambda d: expand_incident_card(d) and (c := incident_card(d)) and c)
    assert card["listed"][:2] == [
        ["vm-cpu-high on vm-batch-01", f"/tickets/{first}/"],
        ["vm-cpu-high on vm-batch-02", f"/tickets/{second}/"],
    ]
    incident = Incident.objects.get()
    clock = wait(browser, lambda d: (c := incident_sla(d, incident.pk)) and c)
    assert re.fullmatch(
        r"The open member due first: vm-cpu-high on vm-batch-0[12] \(.+\)", clock["title"]
    ), clock

    third = post_alert(base, rule_alert(vms[2], alert=f"b-{vms[2]}"))["ticket_id"]
    card = wait(browser, lambda d: (c := incident_card(d)) and len(c["listed"]) == 3 and c)
    assert card["listed"][-1] == ["vm-cpu-high on vm-batch-03", f"/tickets/{third}/"]
    assert not_reloaded(browser)
    live = card["listed"]
    reload_live(browser)
    reloaded = wait(browser, lambda d: expand_incident_card(d) and (c := incident_card(d)) and c)
    assert reloaded["listed"] == live  # as the server renders it


def focused_card_part(driver: webdriver.Chrome) -> list[str | None]:
    """The board card holding the focus (its ticket id) and the focused part's data-field."""
    return driver.execute_script(
        "const active = document.activeElement;"
        "const card = active && active.closest('#board .card');"
        "return card ? [card.dataset.id, active.dataset.field || null] : [null, null];"
    )


def test_a_card_keeps_the_keyboard_focus_through_its_live_changes_and_a_resync(
    asgi_server, short_lived_connections, browser
):
    """A responder tabbed to a card's title on a busy board; the failure repeated (its card
    was rebuilt with the new count), and later the socket reconnected (the columns read
    again): each time the focus fell back to the start of the page, and the next Tab started
    over from the top bar."""
    base = asgi_server
    make_user("ines", "responder")
    body = local_payload("adf_failure.json")
    body.update(pipeline="pl_focus_kept", run_id=f"focus-{time.time_ns()}")
    ticket_id = post_failure(base, body)["ticket_id"]
    sign_in(browser, base, "ines")
    mark_page(browser)
    title = browser.find_element(
        By.CSS_SELECTOR, f'#board .card[data-id="{ticket_id}"] .card-title'
    )
    browser.execute_script("arguments[0].focus();", title)
    assert focused_card_part(browser) == [ticket_id, "title"]

    body["run_id"] = f"focus-again-{time.time_ns()}"
    assert post_failure(base, body)["outcome"] == "correlated"
    wait(browser, lambda d: card_text(d, ticket_id, "occurrence_count") == "2")
    assert focused_card_part(browser) == [ticket_id, "title"]

    # A reconnect reads the columns again: every card is a new element.
    browser.execute_script(
        "document.querySelector('#board .card').dataset.beforeResync = '1';"
        "window.RcaLive.connection.drop();"
    )
    wait(
        browser,
        lambda d: d.execute_script(
            "const card = document.querySelector('#board .card');"
            "return card && !('beforeResync' in card.dataset);"
        ),
    )
    assert focused_card_part(browser) == [ticket_id, "title"]
    assert not_reloaded(browser)


def test_a_button_keeps_the_keyboard_focus_when_the_ticket_pages_live_parts_are_read_again(
    asgi_server, short_lived_connections, browser
):
    """A responder tabbed to "Re-run the RCA" and someone acknowledged the ticket from Slack:
    the RCA panel was read again and swapped in, and the focus fell back to the page's start."""
    make_user("kim", "responder")
    ticket = make_ticket(pipeline="pl_focus_on_rerun")
    sign_in(browser, asgi_server, "kim", f"/tickets/{ticket.pk}/")
    rerun = browser.find_element(By.CSS_SELECTOR, "#rerun-rca button")
    browser.execute_script("arguments[0].focus();", rerun)
    mark_page(browser)

    lifecycle.transition(ticket.pk, "acknowledge", Actor("slack", "maria"))
    wait(browser, lambda d: facts(d)["ack"].startswith("maria · "))
    assert browser.execute_script(
        "return document.activeElement === document.querySelector('#rerun-rca button');"
    )
    assert not_reloaded(browser)


def test_an_incident_card_keeps_the_keyboard_focus_when_a_member_joins_live(
    asgi_server, short_lived_connections, celery_worker, browser, settings
):
    """A responder tabbed to an expanded incident card's link to its page and another
    pipeline failed against the same server: the card was filled in place and put back in its
    column (the same element, moved), which took the focus from it, and the next Tab started
    from the top."""
    base = asgi_server
    settings.INCIDENT_MIN_PIPELINES = 2
    make_user("noor", "responder")
    sign_in(browser, base, "noor")
    wait(
        browser,
        lambda d: d.find_element(By.ID, "live-status").get_attribute("data-state") == "live",
    )
    mark_page(browser)
    post_failure(base, storm_failure("pl_focus_orders"))
    post_failure(base, storm_failure("pl_focus_customers"))
    wait(browser, lambda d: (c := incident_card(d)) and c.get("members") == "2 members")
    wait(browser, expand_incident_card)

    def marked_and_focused_when_settled(driver: webdriver.Chrome) -> bool:
        """The link marked and focused once the board's resync after the forming is over
        (a mark that survives a second is on the link the board keeps)."""
        marked = driver.execute_script(
            "const link = document.querySelector('#board .incident-card a.incident-link');"
            "const kept = link.dataset.beforeJoin === '1';"
            "link.dataset.beforeJoin = '1'; link.focus(); return kept;"
        )
        time.sleep(0 if marked else 1)
        return marked

    wait(browser, marked_and_focused_when_settled)
    focused = (
        "const active = document.activeElement;"
        "return !!active && active.matches('#board .incident-card a.incident-link');"
    )
    assert browser.execute_script(focused)

    post_failure(base, storm_failure("pl_focus_invoices"))
    wait(browser, lambda d: (c := incident_card(d)) and c.get("members") == "3 members")
    # The same link as before (the card was not rebuilt), and it has the focus still.
    assert browser.execute_script(
        "return document.querySelector('#board .incident-card a.incident-link')"
        ".dataset.beforeJoin === '1';"
    )
    assert browser.execute_script(focused)
    assert not_reloaded(browser)


def incident_badge(driver: webdriver.Chrome) -> tuple[str, str | None] | None:
    """The ticket page's link to its incident under the title: its text and target, or None
    while it is not shown."""
    return driver.execute_script(
        "const badge = document.getElementById('ticket-incident');"
        "if (!badge || badge.hidden) return null;"
        "return [badge.textContent, badge.getAttribute('href')];"
    )


def test_a_ticket_page_links_to_the_incident_its_ticket_joins_live(
    asgi_server, short_lived_connections, celery_worker, browser, settings
):
    """The on-call opens the first failure of an outage; a second pipeline failing against the
    same server forms an incident of both. The page never said so until a reload: its ticket
    was acted on alone, its page gave no way to the incident's. A merge moves the link on."""
    settings.INCIDENT_MIN_PIPELINES = 2
    make_user("noor", "responder")
    first = post_failure(asgi_server, storm_failure("pl_load_orders"))["ticket_id"]
    sign_in(browser, asgi_server, "noor", f"/tickets/{first}/")
    assert incident_badge(browser) is None
    mark_page(browser)

    post_failure(asgi_server, storm_failure("pl_load_customers"))
    incident = wait_for(lambda: Ticket.objects.get(pk=first).incident, timeout=20)
    wait(
        browser,
        lambda d: incident_badge(d) == [f"Incident {incident.pk}", f"/incidents/{incident.pk}/"],
    )

    other, _ = sql_outage("INC-20250101T000000-0b0b0b", "sql-other", ["pl_a", "pl_b"])
    incidents.merge(incident.pk, other.pk, Actor("slack", "noor"))
    wait(
        browser,
        lambda d: incident_badge(d) == [f"Incident {other.pk}", f"/incidents/{other.pk}/"],
    )
    assert not_reloaded(browser)


def test_a_ticket_pages_sla_due_time_follows_a_reopen_made_elsewhere(
    asgi_server, short_lived_connections, browser
):
    """Acknowledged in time, then reopened from Slack: the clock starts again from the reopen,
    and the page counted down to the new deadline under a "due" time that still named the old
    one, two times for one deadline."""
    make_user("lena", "responder")
    first_deadline = timezone.now() + timedelta(minutes=5)
    ticket = make_ticket(pipeline="pl_due_live", sla_deadline=first_deadline)
    sign_in(browser, asgi_server, "lena", f"/tickets/{ticket.pk}/")
    lifecycle.transition(ticket.pk, "acknowledge", Actor("slack", "maria"))
    wait(browser, lambda d: sla_of(d, "[data-live=sla]")[0] == "SLA Met")
    mark_page(browser)

    lifecycle.transition(ticket.pk, "reopen", Actor("slack", "maria"))
    deadline = Ticket.objects.get(pk=ticket.pk).sla_deadline
    assert deadline is not None and deadline > first_deadline + timedelta(minutes=30)
    due = f"due {deadline:%Y-%m-%d %H:%M} UTC"
    wait(
        browser,
        lambda d: (
            d.execute_script("return document.querySelector('.sla-box .muted').textContent.trim()")
            == due
        ),
    )
    assert not_reloaded(browser)


def past_their_panel(driver: webdriver.Chrome) -> list[str]:
    """The text of what sticks out past the right edge of the panel it is in (a table that
    scrolls inside its panel, as on a phone, aside)."""
    return driver.execute_script(
        "const scrolls = (e) => { const table = e.closest('table');"
        "  return !!table && getComputedStyle(table).overflowX !== 'visible'; };"
        "return Array.from(document.querySelectorAll('.panel *'))"
        "  .filter((e) => !scrolls(e) && e.getBoundingClientRect().right"
        "    > e.closest('.panel').getBoundingClientRect().right + 1)"
        "  .map((e) => e.tagName.toLowerCase() + ': ' + e.textContent.trim().slice(0, 40))"
        "  .slice(0, 8);"
    )


def test_an_incident_page_of_long_unbroken_names_stays_within_the_screen(
    asgi_server, short_lived_connections, browser
):
    """Generated pipeline names run long without a break. On an incident's page the SLA box's
    "open member due first" link would not wrap: the head's side grew past the screen, the
    title was squeezed into a column a word wide, and the members table pushed the page
    sideways too, on a desktop as on a phone, and the shared cause naming the first of them ran
    out of its panel."""
    pipelines = [f"pl_{'ingest_partner_feed_' * 8}{n}" for n in range(2)]
    incident, _ = sql_outage(
        "INC-20250101T000000-10a9e0", f"sql-{'partnerwarehouse' * 6}-01", pipelines
    )
    make_user("ada", "responder")
    sign_in(browser, asgi_server, "ada", f"/incidents/{incident.pk}/")
    for width in (1440, 390):
        browser.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 640},
        )
        browser.get(f"{asgi_server}/incidents/{incident.pk}/")
        wait(browser, lambda d: d.find_element(By.ID, "incident-sla").is_displayed())
        assert page_overflow(browser) == [], width
        assert past_their_panel(browser) == [], width
        title = browser.find_element(By.CSS_SELECTOR, ".ticket-title")
        assert title.rect["width"] >= min(width - 40, 600) / 2, width


def spilling_past_their_panel(driver: webdriver.Chrome) -> list[str]:
    """What sticks out past the inner right edge of its panel on the ticket page, or whose text
    runs past its own box (a text's overflow has no box of its own): text running over the
    next column, or off the screen. Panels not shown are passed over."""
    return driver.execute_script(
        "const out = [];"
        "for (const panel of document.querySelectorAll('.detail-grid .panel')) {"
        "  if (!panel.getClientRects().length) continue;"
        "  const edge = panel.getBoundingClientRect().right"
        "    - parseFloat(getComputedStyle(panel).paddingRight) + 1;"
        "  for (const part of panel.querySelectorAll('*')) {"
        "    const spills = getComputedStyle(part).overflowX === 'visible'"
        "      && part.clientWidth > 0 && part.scrollWidth > part.clientWidth + 1;"
        "    if (part.getBoundingClientRect().right > edge || spills)"
        "      out.push(part.tagName.toLowerCase() + '.' + part.className + ': '"
        "        + part.textContent.trim().slice(0, 60));"
        "  }"
        "} return out.slice(0, 12);"
    )


def test_long_unbroken_values_in_the_audit_trail_and_deliveries_stay_inside_1440_px(
    asgi_server, short_lived_connections, browser
):
    """A 400-character pipeline name, a long SAS URL and a long actor name, as real deliveries,
    audit entries and outbound errors carry them, wrap inside their panels on a 1,440 px
    screen: neither the audit trail, nor the deliveries, nor the outbound deliveries widen
    the page or run over the next column."""
    base = asgi_server
    dag_id, task_id = "d" * 200, "t" * 199
    sas = (
        "https://evidencestore.blob.core.windows.net/rca-evidence/"
        + "p" * 300
        + "?sv=2024-11-04&sr=b&sig=REDACTED&se=2026-12-31T00%3A00%3A00Z"
    )
    body = local_payload("airflow_failure.json")
    for try_number in (1, 2):
        answer = post_airflow(
            base,
            {
                **body,
                "dag_id": dag_id,
                "task_id": task_id,
                "try_number": try_number,
                "log_url": sas,
            },
        )
    ticket = Ticket.objects.get(pk=answer["ticket_id"])
    assert len(ticket.pipeline) == 400
    long_name = "integration-account-" + "n" * 180
    lifecycle.transition(ticket.pk, "acknowledge", Actor("jira", long_name))
    AuditLog.objects.create(
        ticket=ticket,
        actor_kind="system",
        actor_name="blob",
        action="evidence_uploaded",
        before={"blob_log_url": None},
        after={"blob_log_url": sas},
        details={"pipeline": ticket.pipeline, "blob": sas},
    )
    OutboundDelivery.objects.create(
        key=f"blob:{ticket.pk}:long",
        ticket=ticket,
        target="blob",
        action="upload",
        status="dead",
        attempts=5,
        last_error=f"ResourceNotFoundError: {sas}",
    )
    make_user("wide-reader", "viewer")
    sign_in(browser, base, "wide-reader", path=f"/tickets/{ticket.pk}/")
    assert browser.execute_script("return window.innerWidth;") == 1440
    assert len(browser.find_elements(By.CSS_SELECTOR, ".timeline > li")) >= 3
    deliveries = "//h3[.='Webhook deliveries']/following::table[1]//tbody/tr"
    assert len(browser.find_elements(By.XPATH, deliveries)) == 2
    assert browser.find_elements(By.CSS_SELECTOR, ".outbound .out-error")

    assert (
        browser.execute_script(
            "return document.documentElement.scrollWidth - document.documentElement.clientWidth;"
        )
        <= 0
    )
    assert page_overflow(browser) == []
    assert spilling_past_their_panel(browser) == []
