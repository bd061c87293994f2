"""Resolve the incidents a release before 7f4895c left open with every member over (README,
Production, Upgrading)."""

from typing import Any

from django.core.management.base import BaseCommand

from tickets.incidents import resolve_incidents_left_open


class Command(BaseCommand):
    help = (
        "Resolve the incidents whose members were all resolved or recovered before the release "
        "that resolves an incident with its last open member (an upgrade from 52148c8 or "
        "earlier); Slack and JIRA are told as for that member's change."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        resolved = resolve_incidents_left_open()
        self.stdout.write(" ".join([f"resolved {len(resolved)} incident(s)", *resolved]))
