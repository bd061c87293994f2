"""The real Azure Blob emulator (npm `azurite`), started on a free port for a test module.

    with Azurite() as azurite:
        BlobServiceClient.from_connection_string(azurite.connection_string)

The binary is `$AZURITE_BIN`, else `<repo>/node_modules/.bin/azurite-blob`, else `azurite-blob`
on PATH. Install it with `npm install --no-save --no-audit --no-fund azurite@3` in the repo. When
none is found this raises `AzuriteNotFound`: tests fail rather than skip, so CI cannot pass
without exercising the real emulator.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ACCOUNT_NAME = "devstoreaccount1"
# Azurite's well-known development key (public, documented by Microsoft): not a secret.
ACCOUNT_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


class AzuriteNotFound(RuntimeError):
    """No azurite-blob binary: install it with npm (make test does)."""


def find_azurite() -> str:
    candidates = [
        os.environ.get("AZURITE_BIN") or "",
        str(REPO / "node_modules" / ".bin" / "azurite-blob"),
        shutil.which("azurite-blob") or "",
    ]
    for candidate in candidates:
        if candidate and os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise AzuriteNotFound(
        "azurite-blob not found: set AZURITE_BIN, or run "
        "`npm install --no-save --no-audit --no-fund azurite@3` in the repository "
        "(or `npm install -g azurite`)"
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def connection_string(port: int, host: str = "127.0.0.1") -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT_NAME};AccountKey={ACCOUNT_KEY};"
        f"BlobEndpoint=http://{host}:{port}/{ACCOUNT_NAME};"
    )


class Azurite:
    """One `azurite-blob` process with in-memory storage on 127.0.0.1:<free port>."""

    def __init__(self, *, binary: str | None = None, startup_timeout: float = 30.0) -> None:
        self.binary = binary or find_azurite()
        self.startup_timeout = startup_timeout
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._workdir: str | None = None
        self._log: Path | None = None

    def __enter__(self) -> Azurite:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def connection_string(self) -> str:
        assert self.port, "Azurite is not started"
        return connection_string(self.port)

    @property
    def blob_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}/{ACCOUNT_NAME}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        self._workdir = tempfile.mkdtemp(prefix="azurite-")
        self._log = Path(self._workdir) / "azurite.log"
        self.port = free_port()
        command = [
            self.binary,
            "--inMemoryPersistence",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(self.port),
        ]  # no --location: Azurite refuses it together with --inMemoryPersistence
        with open(self._log, "wb") as log:
            self._process = subprocess.Popen(
                command,
                cwd=self._workdir,  # anything Azurite writes stays in the temporary directory
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        try:
            self._wait_until_listening()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._workdir:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def _wait_until_listening(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(
                    f"azurite-blob exited with {self._process.returncode}: {self._output()}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(
            f"azurite-blob did not listen on port {self.port} within "
            f"{self.startup_timeout}s: {self._output()}"
        )

    def _output(self) -> str:
        try:
            return self._log.read_text(errors="replace")[-2000:] if self._log else ""
        except OSError:
            return ""
