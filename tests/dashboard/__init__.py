"""Dashboard tests: pages (Django client), the websocket (Channels communicator) and a headless
Chromium run against a real ASGI server. Shared helpers live here."""

from __future__ import annotations

import itertools
import re
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.utils import timezone

from tickets.models import Ticket

_serial = itertools.count(1)
PASSWORD = "correct-horse-battery-staple-42"
XSS = "<script>alert(1)</script><img src=x onerror=alert(2)>"


def make_user(username: str, role: str | None = None, **fields: Any) -> User:
    user = User.objects.create_user(username, f"{username}@example.com", PASSWORD, **fields)
    if role:
        # Groups come from a data migration; transactional tests flush them, so make sure.
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
    return user


def make_ticket(**overrides: Any) -> Ticket:
    n = next(_serial)
    now = timezone.now()
    fields: dict[str, Any] = {
        "id": f"ADF-{now:%Y%m%dT%H%M%S}-{n:06x}",
        "timestamp": now - timedelta(minutes=n),
        "pipeline": f"pl_pipeline_{n}",
        "run_id": f"adf:dashboard-run-{n}-{now.timestamp()}",
        "source": "adf",
        "processing_mode": "adf",
        "fingerprint": f"{n:064x}",
        "severity": "High",
        "priority": "P2",
        "error_type": "NetworkError",
        "sla_seconds": 3600,
        "sla_deadline": now + timedelta(hours=1),
        "finops_team": "data-platform",
        "error_message": "connection refused",
        **overrides,
    }
    return Ticket.objects.create(**fields)


def column_html(html: str, status: str) -> str:
    """The markup of one board column's card list."""
    match = re.search(
        rf'data-column="{status}">(.*?)</div>\s*<p class="column-empty"', html, flags=re.S
    )
    assert match, f"no column {status}"
    return match.group(1)
