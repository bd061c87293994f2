"""Helpers for the REST API tests: users with a role, JWT clients, tickets, deliveries."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from django.contrib.auth.models import Group, User
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from integrations.models import OutboundDelivery
from tickets.models import Ticket
from tickets.roles import ADMIN, RESPONDER, VIEWER

ROLES = (VIEWER, RESPONDER, ADMIN)
PASSWORD = "correct horse battery staple"


def make_user(
    role: str | None, username: str | None = None, password: str | None = None, **extra: Any
) -> User:
    """A user in the role's group (None: no role; "superuser": a superuser, no group). Without
    a password (hashing one costs a third of a second) unless the test logs in with it."""
    username = username or f"{role or 'norole'}-{uuid.uuid4().hex[:6]}"
    if role == "superuser":
        return User.objects.create_superuser(username, password=password, **extra)
    user = User.objects.create_user(username, password=password, **extra)
    if role:
        group, _ = Group.objects.get_or_create(name=role)
        user.groups.add(group)
    return user


def jwt_client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    return client


def clear_throttles() -> None:
    """DRF keeps its throttle history in the default cache."""
    from tests.conftest import clear_cache

    clear_cache()


def make_ticket(**overrides: Any) -> Ticket:
    return Ticket.objects.create(**ticket_fields(**overrides))


def ticket_fields(**overrides: Any) -> dict[str, Any]:
    key = uuid.uuid4().hex
    at: datetime = overrides.get("timestamp") or timezone.now()
    fields: dict[str, Any] = {
        "id": f"ADF-{at:%Y%m%dT%H%M%S}-{key[:8]}",
        "timestamp": at,
        "pipeline": "pl_copy_sales",
        "run_id": f"adf:{key}",
        "source": "adf",
        "processing_mode": "adf",
        "fingerprint": key[:16],
        "error_message": "ErrorCode=SqlFailedToConnect, cannot connect to server",
        "sla_seconds": 3600,
        "sla_deadline": at + timedelta(hours=1),
        "first_seen": at,
        "last_seen": at,
    }
    fields.update(overrides)
    return fields


def make_deliveries(ticket_id: str, count: int, start: datetime, action: str) -> None:
    """`count` deliveries of the ticket doing `action` (`slack_update`: its target is the
    word before the underscore), a second apart from `start`."""
    OutboundDelivery.objects.bulk_create(
        OutboundDelivery(
            key=f"{ticket_id}:{action}:{n}",
            ticket_id=ticket_id,
            target=action.split("_")[0],
            action=action,
            created_at=start + timedelta(seconds=n),
        )
        for n in range(count)
    )
