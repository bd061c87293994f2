"""A local stand-in for Microsoft Entra ID's token endpoint (the client-credentials flow), over
https, for tests and benchmarks that run the real `azure-identity` ClientSecretCredential.

    with FakeAzureAd() as aad:
        credential = ClientSecretCredential(
            aad.tenant_id, aad.client_id, aad.client_secret,
            authority=aad.authority, disable_instance_discovery=True,
            connection_verify=aad.ca_bundle,
        )
        credential.get_token("https://management.azure.com/.default").token == aad.access_token

azure-identity refuses an authority that is not https, so the server speaks TLS with a
certificate it makes for 127.0.0.1 (`ca_bundle` is its path; REQUESTS_CA_BUNDLE can name it for
a process whose credential is built from settings). Paths answered:
  GET  /{tenant}/v2.0/.well-known/openid-configuration   (MSAL's tenant discovery)
  POST /{tenant}/oauth2/v2.0/token   grant_type=client_credentials, client_id, client_secret,
       scope (form-encoded) -> {"access_token", "token_type", "expires_in"};
       a wrong client or secret answers 401 invalid_client, as Entra ID does.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.http import FakeHttpService, RecordedRequest, Reply


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost that is its own CA, and its key."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "fake-entra-id")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


class FakeAzureAd(FakeHttpService):
    def __init__(
        self,
        tenant_id: str = "72f988bf-0000-0000-0000-000000000000",
        client_id: str = "rca-remediation",
        client_secret: str = "entra-secret",
        access_token: str = "fake-arm-token",
    ) -> None:
        super().__init__()
        self.tenant_id, self.client_id = tenant_id, client_id
        self.client_secret, self.access_token = client_secret, access_token
        self._directory = tempfile.TemporaryDirectory(prefix="fake-entra-")
        self.ca_bundle = ""

    def start(self) -> None:
        super().start()
        assert self._server is not None
        cert, key = _self_signed(Path(self._directory.name))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        self.ca_bundle = str(cert)

    def stop(self) -> None:
        super().stop()
        self._directory.cleanup()

    @property
    def authority(self) -> str:
        return self.url.replace("http://", "https://", 1)

    def token_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path.endswith("/oauth2/v2.0/token")]

    def error_body(self, status: int, message: str) -> Any:
        return {"error": "temporarily_unavailable", "error_description": message}

    def route(self, request: RecordedRequest) -> Reply:
        base = f"{self.authority}/{self.tenant_id}"
        if request.method == "GET" and request.path == (
            f"/{self.tenant_id}/v2.0/.well-known/openid-configuration"
        ):
            return (
                200,
                {
                    "issuer": f"{base}/v2.0",
                    "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{base}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                    "token_endpoint_auth_methods_supported": ["client_secret_post"],
                },
                {},
            )
        if request.method == "POST" and request.path == f"/{self.tenant_id}/oauth2/v2.0/token":
            form = {k: v[0] for k, v in parse_qs(str(request.body or "")).items()}
            if form.get("grant_type") != "client_credentials":
                return 400, {"error": "unsupported_grant_type"}, {}
            if (form.get("client_id"), form.get("client_secret")) != (
                self.client_id,
                self.client_secret,
            ):
                description = "AADSTS7000215: Invalid client secret provided."
                return 401, {"error": "invalid_client", "error_description": description}, {}
            if not form.get("scope", "").endswith("/.default"):
                return 400, {"error": "invalid_scope"}, {}
            body = {"token_type": "Bearer", "expires_in": 3599, "access_token": self.access_token}
            return 200, body, {}
        return 404, {"error": "not_found"}, {}
