"""Template tags of the sign-in pages."""

from __future__ import annotations

from django import template

from tickets.registration import no_account_exists

register = template.Library()


@register.simple_tag
def no_account_yet() -> bool:
    """Admin's sign-in page, whose view (Django's) takes no context of ours, asks here."""
    return no_account_exists()
