"""A dashboard websocket is authorised when it opens; a session that ends afterwards (signed
out, the password changed, the account deactivated, the role taken away) must stop receiving
tickets, not keep streaming them for as long as the socket stays open. Through the real ASGI
application, session store and Redis channel layer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.test import Client

from integrations.ingest import ingest_delivery
from rca_project.asgi import application
from tests.conftest import local_payload
from tests.dashboard import make_user
from tickets.consumers import RECHECK_SECONDS, UNAUTHORIZED

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _sign_out(client: Client, user: User) -> None:
    client.post("/logout/")


def _deactivate(client: Client, user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)


def _change_password(client: Client, user: User) -> None:
    user.set_password("a-new-password-after-the-leak")
    user.save()


def _take_the_role(client: Client, user: User) -> None:
    user.groups.remove(Group.objects.get(name="viewer"))


@pytest.mark.parametrize("revoke", [_sign_out, _deactivate, _change_password, _take_the_role])
def test_an_open_socket_stops_receiving_once_its_session_may_no_longer_read(
    revoke: Callable[[Client, User], None],
):
    user = make_user("leaver", "viewer")
    client = Client()
    client.force_login(user)
    cookie = f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    body = local_payload("adf_failure.json")
    body["run_id"] = f"ws-revoked-{time.time_ns()}"

    async def scenario() -> list[dict[str, Any]]:
        communicator = WebsocketCommunicator(
            application, "/ws/tickets/", headers=[ORIGIN, (b"cookie", cookie.encode())]
        )
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        await sync_to_async(revoke)(client, user)
        await sync_to_async(time.sleep)(RECHECK_SECONDS + 0.5)
        result = await sync_to_async(ingest_delivery)("adf", json.dumps(body).encode())
        received: list[dict[str, Any]] = []
        while True:  # the ticket's event, or the socket closed (a timeout fails the test)
            message = await communicator.receive_output(timeout=10)
            received.append(message)
            if message["type"] == "websocket.close" or result.ticket_id in message.get("text", ""):
                break
        with contextlib.suppress(asyncio.CancelledError):
            await communicator.disconnect()
        return received

    received = async_to_sync(scenario)()

    assert received[-1] == {"type": "websocket.close", "code": UNAUTHORIZED}, received
