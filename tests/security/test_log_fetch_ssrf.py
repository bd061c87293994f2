"""A webhook sender chooses a ticket's Airflow `log_url`, and "Analyse the run's log" fetches
it and shows what it read in the report. The sender must not make the service read an address
of its own machine, of a private network or of the cloud's metadata services: only an operator,
by listing the host in LOG_ANALYSIS_URL_HOSTS or naming it in AIRFLOW_API_URL, lets the first
two be fetched; the metadata services never are. The connection goes to the address that was
checked, whatever the name resolves to later (DNS rebinding), and no redirect is followed."""

from __future__ import annotations

import ipaddress
import json
import socket
import ssl
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from analysis import log_fetch, log_jobs
from analysis.models import LogAnalysisJob
from rca_project import http_errors
from tests.api import jwt_client, make_user
from tests.conftest import local_payload
from tests.fakes.text_server import TextServer

INTERNAL_SECRET = "internal-only admin console session"


def internal_server(port: int = 0) -> TextServer:
    """An HTTP service on this machine (loopback) that no webhook should make the service
    read."""
    return TextServer(
        {}, default=f"2025-12-10 10:00:00,000 ERROR admin: {INTERNAL_SECRET}\n".encode(), port=port
    )


@pytest.fixture(autouse=True)
def job_settings(settings, tmp_path):
    settings.LOG_ANALYSIS_DIR = tmp_path / "log-analyses"
    settings.LOG_ANALYSIS_URL_HOSTS = []
    settings.EMBEDDING_BACKEND = "local"
    settings.GEMINI_API_KEY = ""


def _airflow_ticket(webhook_client, log_url: str) -> str:
    body = {**local_payload("airflow_failure.json"), "log_url": log_url}
    answer = webhook_client("/webhooks/airflow/", body)
    assert answer.status_code == 202, answer.content
    return answer.json()["ticket_id"]


def _analyse(ticket_id: str, **extra: str) -> LogAnalysisJob:
    viewer = jwt_client(make_user("viewer"))
    answer = viewer.post("/api/v1/log-analyses/", {"ticket_id": ticket_id, **extra}, format="json")
    assert answer.status_code == 202, answer.content
    job_id = answer.json()["id"]
    log_jobs.run_job(job_id)
    return LogAnalysisJob.objects.get(pk=job_id)


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_a_webhooks_log_url_cannot_make_the_service_read_its_own_machine(webhook_client, host):
    with internal_server() as internal:
        ticket_id = _airflow_ticket(webhook_client, f"http://{host}:{internal.port}/admin/secret")
        job = _analyse(ticket_id)
    assert internal.paths == []
    assert job.status == "failed"
    assert "LOG_ANALYSIS_URL_HOSTS" in job.error and "127.0.0.1" in job.error
    assert INTERNAL_SECRET not in str(job.report)


@pytest.mark.django_db
def test_nor_a_path_a_viewer_picks_on_that_host(webhook_client):
    with internal_server() as internal:
        ticket_id = _airflow_ticket(webhook_client, f"http://127.0.0.1:{internal.port}/log")
        job = _analyse(ticket_id, url=f"http://127.0.0.1:{internal.port}/metrics")
    assert internal.paths == []
    assert job.status == "failed"


@pytest.mark.django_db
def test_the_cloud_metadata_address_is_refused_without_a_connection(webhook_client):
    ticket_id = _airflow_ticket(webhook_client, "http://169.254.169.254/latest/meta-data/")
    job = _analyse(ticket_id)
    assert job.status == "failed"
    assert "169.254.169.254" in job.error and "LOG_ANALYSIS_URL_HOSTS" in job.error


@pytest.mark.django_db
def test_a_host_the_operator_listed_is_fetched_whatever_its_address(webhook_client, settings):
    settings.LOG_ANALYSIS_URL_HOSTS = ["127.0.0.1"]
    with internal_server() as internal:
        ticket_id = _airflow_ticket(webhook_client, f"http://127.0.0.1:{internal.port}/log")
        job = _analyse(ticket_id)
    assert internal.paths == ["/log"]
    assert job.status == "done", job.error
    assert INTERNAL_SECRET in json.dumps(job.report)  # what is fetched is shown in the report


@pytest.mark.django_db
def test_a_log_url_whose_port_is_out_of_range_fails_the_job_saying_it_cannot_fetch(
    webhook_client,
):
    job = _analyse(_airflow_ticket(webhook_client, "http://logs.example.org:99999/task.log"))

    assert job.status == "failed"
    assert "cannot fetch the log from logs.example.org" in job.error


@pytest.mark.django_db
def test_a_log_url_with_an_unclosed_ipv6_bracket_fails_the_job_saying_it_cannot_fetch(
    webhook_client,
):
    """The Airflow parser keeps such a link (its deployment's name skips it); the job says it
    cannot fetch it, as for a port out of range, not 'internal error'."""
    job = _analyse(_airflow_ticket(webhook_client, "http://[2001:db8::1/task.log"))

    assert job.status == "failed"
    assert job.error == "cannot fetch the log from http://[2001:db8::1/task.log: ValueError"


# --- private networks, metadata services, the operator's Airflow -------------------------
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("host", "address", "reason"),
    [
        ("10.1.2.3", "10.1.2.3", "a private-network address"),
        ("172.16.5.4", "172.16.5.4", "a private-network address"),
        ("192.168.1.10", "192.168.1.10", "a private-network address"),
        ("[fd12:3456::1]", "fd12:3456::1", "a private-network address"),
        ("100.64.0.1", "100.64.0.1", "a carrier-grade NAT address"),
        ("0.0.0.0", "0.0.0.0", "the unspecified address"),
        ("224.0.0.1", "224.0.0.1", "a multicast address"),
        ("192.0.2.10", "192.0.2.10", "a reserved address, not a public one"),
        # NAT64 and 6to4 carry an IPv4 address, judged as that one.
        ("[64:ff9b::a00:1]", "64:ff9b::a00:1", "a private-network address"),
        ("[2002:7f00:1::1]", "2002:7f00:1::1", "an address of this machine"),
    ],
)
def test_a_webhooks_log_host_on_a_private_or_reserved_address_is_refused(
    webhook_client, settings, host, address, reason
):
    settings.LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS = 1  # what a connection attempt would take
    job = _analyse(_airflow_ticket(webhook_client, f"http://{host}/log"))
    assert job.status == "failed"
    assert job.error.startswith(f"host {host.strip('[]')} is {address}, {reason}")
    assert "LOG_ANALYSIS_URL_HOSTS" in job.error and "AIRFLOW_API_URL" in job.error


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("address", "service"),
    [
        ("168.63.129.16", "Azure's WireServer"),
        ("169.254.169.254", "the cloud's instance metadata service"),
    ],
)
def test_the_metadata_services_are_refused_even_for_a_listed_host(
    webhook_client, settings, address, service
):
    settings.LOG_ANALYSIS_URL_HOSTS = [address]
    settings.LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS = 1
    job = _analyse(_airflow_ticket(webhook_client, f"http://{address}/machine/?comp=goalstate"))
    assert job.status == "failed"
    assert job.error.startswith(f"host {address} is {address}, {service}")
    assert "never fetched" in job.error


@pytest.mark.django_db
def test_the_host_and_port_of_airflow_api_url_are_fetched_whatever_their_address(
    webhook_client, settings
):
    """The Airflow the service already calls (AIRFLOW_API_URL) is the operator's: its log URLs
    are fetched on its private address (here loopback) without listing it. Another port of
    that host is not that Airflow."""
    with internal_server() as airflow:
        settings.AIRFLOW_API_URL = f"{airflow.url}/api/v2"
        job = _analyse(_airflow_ticket(webhook_client, f"{airflow.url}/log"))
        settings.AIRFLOW_API_URL = "http://127.0.0.1:1/api/v2"
        other_port = _analyse(_airflow_ticket(webhook_client, f"{airflow.url}/other"))
    assert job.status == "done", job.error
    assert airflow.paths == ["/log"]
    assert other_port.status == "failed"
    assert other_port.error.startswith("host 127.0.0.1 is 127.0.0.1, an address of this machine")


# --- DNS rebinding, TLS, redirects, the environment ---------------------------------------
def _own_address() -> str:
    """An IPv4 address of this machine's network interface, not loopback (skips without)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("198.51.100.1", 9))  # UDP: picks the route, sends nothing
        except OSError:
            pytest.skip("no network interface besides loopback")
        address = probe.getsockname()[0]
    if ipaddress.ip_address(address).is_loopback:
        pytest.skip("no network interface besides loopback")
    return address


@pytest.fixture
def resolver(monkeypatch):
    """The names in `answers` resolved from there (a list per name: one answer per lookup, the
    last one repeated; an answer is an IPv4 address, or a tuple of them), every other name by
    the system's resolver; `lookups` counts the lookups of each name."""
    real = socket.getaddrinfo
    answers: dict[str, list[str | tuple[str, ...]]] = {}
    lookups: dict[str, int] = {}

    def getaddrinfo(host, port, *args, **kwargs):
        if not (isinstance(host, str) and host in answers):
            return real(host, port, *args, **kwargs)
        count = lookups[host] = lookups.get(host, 0) + 1
        answer = answers[host][min(count, len(answers[host])) - 1]
        addresses = (answer,) if isinstance(answer, str) else answer
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, int(port))) for a in addresses]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers, lookups


@pytest.mark.django_db
def test_the_connection_goes_to_the_address_that_was_checked(webhook_client, settings, resolver):
    """DNS rebinding: the name answers an allowed address when it is checked, then this
    machine's loopback. The log is read from the checked address, and a second lookup (by the
    HTTP client, when it connects) does not happen."""
    answers, lookups = resolver
    airflow_log = {"/log": b"2025-12-10 10:00:00,000 ERROR task: disk full\n"}
    with (
        TextServer(airflow_log, host=_own_address()) as airflow,
        internal_server(port=airflow.port) as internal,
    ):
        answers["airflow.rebind.test"] = [airflow.host, "127.0.0.1"]
        settings.AIRFLOW_API_URL = f"http://airflow.rebind.test:{airflow.port}/api/v2"
        log_url = f"http://airflow.rebind.test:{airflow.port}/log"
        job = _analyse(_airflow_ticket(webhook_client, log_url))
    assert internal.paths == []
    assert airflow.paths == ["/log"]
    assert airflow.headers[0]["Host"] == f"airflow.rebind.test:{airflow.port}"
    assert lookups["airflow.rebind.test"] == 1
    assert job.status == "done", job.error


@pytest.mark.django_db
def test_a_host_with_several_addresses_is_read_at_the_first_that_accepts_a_connection(
    webhook_client, settings, resolver
):
    answers, lookups = resolver
    settings.LOG_ANALYSIS_URL_HOSTS = ["logs.two.test"]
    with internal_server() as logs:  # on 127.0.0.1; nothing listens on 127.0.0.2
        answers["logs.two.test"] = [("127.0.0.2", "127.0.0.1")]
        job = _analyse(_airflow_ticket(webhook_client, f"http://logs.two.test:{logs.port}/log"))
    assert job.status == "done", job.error
    assert logs.paths == ["/log"]
    assert lookups["logs.two.test"] == 1


def _tls_server_context(tmp_path: Path, name: str) -> tuple[ssl.SSLContext, Path]:
    """A server context with a certificate for `name` signed by a new CA, and that CA's file."""
    now = datetime.now(UTC)

    def certificate(subject: str, issuer: str, key: Any, signer: Any, ca: bool) -> Any:
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(hours=1))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        )
        if not ca:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName(subject)]), critical=False
            )
        return builder.sign(signer, hashes.SHA256())

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = certificate("log fetch test CA", "log fetch test CA", ca_key, ca_key, ca=True)
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = certificate(name, "log fetch test CA", key, ca_key, ca=False)
    pem = serialization.Encoding.PEM
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(pem))
    (tmp_path / "server.pem").write_bytes(
        leaf.public_bytes(pem)
        + key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "server.pem")
    return context, tmp_path / "ca.pem"


@pytest.mark.django_db
@pytest.mark.parametrize("certified", ["logs.tls.test", "other.tls.test"])
def test_an_https_log_is_read_at_the_checked_address_with_tls_for_its_name(
    webhook_client, settings, resolver, tmp_path, monkeypatch, certified
):
    """The connection goes to the address, and TLS is still that of the name: the server name
    sent and the certificate's name checked (against REQUESTS_CA_BUNDLE, as requests does)."""
    answers, _ = resolver
    answers["logs.tls.test"] = ["127.0.0.1"]
    settings.LOG_ANALYSIS_URL_HOSTS = ["logs.tls.test"]
    context, ca_file = _tls_server_context(tmp_path, certified)
    names: list[str | None] = []
    context.sni_callback = lambda _socket, name, _context: names.append(name)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_file))
    with TextServer({}, default=b"2025-12-10 10:00:00,000 ERROR task: x\n", tls=context) as logs:
        job = _analyse(_airflow_ticket(webhook_client, f"https://logs.tls.test:{logs.port}/log"))
    assert names == ["logs.tls.test"]
    if certified == "logs.tls.test":
        assert job.status == "done", job.error
        assert logs.headers[0]["Host"] == f"logs.tls.test:{logs.port}"
    else:  # a certificate for another name is refused
        assert job.status == "failed"
        assert job.error == (
            "cannot fetch the log from logs.tls.test: the TLS certificate of logs.tls.test was "
            "not accepted (hostname 'logs.tls.test' doesn't match 'other.tls.test')"
        )
        assert logs.paths == []


@pytest.mark.django_db
def test_a_certificate_of_an_unknown_authority_is_named_in_words(
    webhook_client, settings, resolver, tmp_path
):
    """Not a bare "SSLError": the job says the certificate was not accepted, and why."""
    answers, _ = resolver
    answers["logs.tls.test"] = ["127.0.0.1"]
    settings.LOG_ANALYSIS_URL_HOSTS = ["logs.tls.test"]
    context, _ca_file = _tls_server_context(tmp_path, "logs.tls.test")  # a CA no one trusts
    with TextServer({}, default=b"2025-12-10 10:00:00,000 ERROR task: x\n", tls=context) as logs:
        job = _analyse(_airflow_ticket(webhook_client, f"https://logs.tls.test:{logs.port}/log"))
    assert job.status == "failed"
    assert job.error == (
        "cannot fetch the log from logs.tls.test: the TLS certificate of logs.tls.test was not "
        "accepted (unable to get local issuer certificate)"
    )
    assert logs.paths == []


def test_a_host_that_accepts_but_never_answers_is_named_in_words():
    """A read timed out: said as such, not as a bare ReadTimeout. (A fetch's own deadline shuts
    its connection down, which the job reports as "took over N s": see test_log_jobs.)"""
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/log"
        with pytest.raises(requests.ReadTimeout) as failure:
            requests.get(url, timeout=(2, 0.3))
    assert http_errors.connection_failure(failure.value, url) == "127.0.0.1 did not answer in time"


def test_the_host_header_names_the_host_and_port_never_a_login_the_url_carries(resolver):
    """A URL may carry a login (`user@host`, `user:password@host`; requests sends a user and
    password as an Authorization header): the Host header the pinned connection sends is the
    host and port, as without the pinning (a login there made the header invalid, and told
    the password)."""
    answers, _ = resolver
    answers["logs.login.test"] = ["127.0.0.1"]
    policy = log_fetch.FetchPolicy.of(["logs.login.test"], [])
    with TextServer({"/log": b"ERROR x\n"}) as logs:
        for login in ("ops", "ops:s3cret"):
            url = f"http://{login}@logs.login.test:{logs.port}/log"
            with log_fetch.fetch(url, policy, time.monotonic() + 5) as answer:
                assert answer.status_code == 200
    assert [headers["Host"] for headers in logs.headers] == [f"logs.login.test:{logs.port}"] * 2
    assert logs.headers[1]["Authorization"].startswith("Basic ")


@pytest.mark.django_db
def test_a_redirect_is_not_followed_and_the_job_says_so(webhook_client, settings):
    settings.LOG_ANALYSIS_URL_HOSTS = ["127.0.0.1"]
    with internal_server() as internal:
        internal.redirects["/log"] = "http://169.254.169.254/latest/meta-data/"
        job = _analyse(_airflow_ticket(webhook_client, f"{internal.url}/log"))
    assert internal.paths == ["/log"]
    assert job.status == "failed"
    assert job.error == (
        "fetching the log answered HTTP 302, a redirect to 169.254.169.254: redirects are not "
        "followed; give the URL the log is served at"
    )


@pytest.mark.django_db
def test_no_proxy_nor_netrc_login_of_the_environment_is_used(
    webhook_client, settings, tmp_path, monkeypatch
):
    """A proxy would resolve the name itself (so the checked address would not be the one
    reached), and a .netrc login would send an Authorization header the README says is not."""
    settings.LOG_ANALYSIS_URL_HOSTS = ["127.0.0.1"]
    with internal_server() as logs, TextServer({}, default=b"ERROR proxied\n") as proxy:
        for name in ("NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        (tmp_path / "netrc").write_text("machine 127.0.0.1 login ops password s3cret\n")
        monkeypatch.setenv("NETRC", str(tmp_path / "netrc"))
        job = _analyse(_airflow_ticket(webhook_client, f"{logs.url}/log"))
    assert proxy.paths == []
    assert logs.paths == ["/log"]
    assert "Authorization" not in logs.headers[0]
    assert job.status == "done", job.error


@pytest.mark.django_db
@pytest.mark.parametrize("host", ["168.63.129.16", "[fd00:ec2::254]", "100.100.100.200"])
def test_a_cloud_platforms_own_service_is_refused_without_a_connection(
    webhook_client, settings, host
):
    """Neither loopback nor link-local, and reachable from the cloud's VMs: Azure's WireServer
    (the VM agent's configuration), the metadata service of AWS over IPv6 and of Alibaba."""
    settings.LOG_ANALYSIS_FETCH_TIMEOUT_SECONDS = 2  # a connection tried is not waited on long
    ticket_id = _airflow_ticket(webhook_client, f"http://{host}/latest/meta-data/")
    job = _analyse(ticket_id)
    assert job.status == "failed"
    assert host.strip("[]") in job.error and "LOG_ANALYSIS_URL_HOSTS" in job.error
