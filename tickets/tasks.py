from celery import shared_task
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from tickets import lifecycle, rollup
from tickets.api_token_storage import drop_stored_signatures


@shared_task
def mark_sla_breaches() -> int:
    return lifecycle.mark_sla_breaches()


@shared_task
def fold_ticket_stats() -> int:
    return rollup.fold()


@shared_task
def forget_expired_api_tokens() -> int:
    """Every refresh token issued is recorded (so it can be revoked); an expired one is refused
    anyway, so its rows (and its revocation's) go, as simplejwt's `flushexpiredtokens` does.
    The live ones a release without `api_token_storage.drop_signature` stored whole (the old
    one still running in a rolling upgrade, after migration 0054 stripped the rest) lose their
    signature. How many rows went."""
    deleted, _ = OutstandingToken.objects.filter(expires_at__lte=timezone.now()).delete()
    drop_stored_signatures(OutstandingToken.objects.all())
    return deleted
