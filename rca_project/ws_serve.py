"""The websocket server of `make run` and compose: daphne, whose access log prints a request's
path without its query string, as gunicorn's does (`gunicorn_conf.access_log_format`).

daphne serves the app's HTTP too (compose's health probe asks it for `/healthz`), and its own
access log writes each HTTP request's whole URI to its stream, not through the logging filter
(`rca_project.log_redaction`): a webhook sent to its port by mistake printed its `?token=`, or
the JIRA secret, in the clear. Run as `python -m rca_project.ws_serve` with daphne's arguments.
"""

from __future__ import annotations

from typing import Any

from daphne import cli
from daphne.access import AccessLogGenerator


def loggable_path(uri: str) -> str:
    """`uri` up to its query string, with control characters, quotes and backslashes escaped
    (`\\x0a`), so that it can neither carry a secret nor forge a line of the log."""
    path = uri.split("?", 1)[0]
    return "".join(
        char if char.isprintable() and char not in '"\\' else f"\\x{ord(char):02x}" for char in path
    )


class PathOnlyAccessLog(AccessLogGenerator):
    """daphne's access log, each entry's path without its query string, each entry written
    out as it is made: daphne writes to stdout, which Python buffers when it is a pipe or a
    file (compose's log, `make run > file`), so entries showed up only by the 8 KB block and
    the last ones were lost with a killed process."""

    def __call__(self, protocol: str, action: str, details: dict[str, Any]) -> None:
        path = details.get("path")
        if isinstance(path, str):
            details = {**details, "path": loggable_path(path)}
        super().__call__(protocol, action, details)

    def write_entry(self, *args: Any, **kwargs: Any) -> None:
        super().write_entry(*args, **kwargs)
        self.stream.flush()


def main() -> None:
    # daphne's command line builds its access log from this name in its own module.
    cli.AccessLogGenerator = PathOnlyAccessLog
    cli.CommandLineInterface.entrypoint()


if __name__ == "__main__":
    main()
