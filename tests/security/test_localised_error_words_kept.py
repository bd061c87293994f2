"""A localised error whose password's name is followed by a sentence, not a value: the sentence
reaches the ticket whole, as its English form does ("password: must contain a digit")."""

from __future__ import annotations

import pytest

from tests.conftest import local_payload
from tickets.models import Ticket

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("message", "kept"),
    [
        ("Ошибка входа: Пароль: неверный для пользователя etl", "неверный для"),
        ("Ошибка: пароль: срок действия пароля истёк для etl", "срок действия"),
        ("Anmeldung fehlgeschlagen, Kennwort: abgelaufen über LDAP für etl", "abgelaufen über"),
    ],
)
def test_a_localised_password_sentence_reaches_the_ticket_whole(webhook_client, message, kept):
    body = {**local_payload("adf_failure.json"), "error_message": message}

    response = webhook_client("/webhooks/adf/", body)

    assert response.status_code == 202, response.content
    assert Ticket.objects.get().error_message == message
    assert kept in Ticket.objects.get().error_message


@pytest.mark.parametrize(
    "message",
    [
        "Ошибка входа: Пароль: Qw3rty!9x для пользователя etl",
        "Anmeldung mit Passwort: Gx7!pL2q für Benutzer etl abgelehnt",
    ],
)
def test_a_localised_password_value_is_still_masked(webhook_client, message):
    body = {**local_payload("adf_failure.json"), "error_message": message}

    response = webhook_client("/webhooks/adf/", body)

    assert response.status_code == 202, response.content
    assert "[REDACTED]" in Ticket.objects.get().error_message
    assert "Qw3rty" not in Ticket.objects.get().error_message
    assert "Gx7" not in Ticket.objects.get().error_message
