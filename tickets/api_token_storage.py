"""What the database keeps of an API refresh token.

simplejwt's blacklist (`OutstandingToken`) stores each refresh token it issues, whole: whoever
could read that table (a backup, a read replica, a leaked dump, an SQL injection anywhere) could
refresh as any user whose token had not yet run out. The blacklist needs only the token's `jti`
(revocation, rotation and the admin pages go by it), so the row keeps the token without its
signature: its header and claims stay readable, and no one can present it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import F, Func, QuerySet, Value

# A signed JWT: three dot-separated base64url parts, the last the signature.
SIGNED_JWT = r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$"


def unsigned(token: str) -> str:
    """`token` (header.claims.signature) as `header.claims`; any other text as it is, so a
    token already stored unsigned stays as it was."""
    parts = token.split(".")
    return ".".join(parts[:2]) if len(parts) == 3 else token


def drop_signature(sender: type, instance: Any, **kwargs: Any) -> None:
    """pre_save of `OutstandingToken`: simplejwt creates every row through `save()` (sign-in,
    rotation, revocation of a token it had not stored), so none reaches the table signed."""
    instance.token = unsigned(instance.token)


def drop_stored_signatures(tokens: QuerySet[Any]) -> int:
    """Strip the signature from the stored tokens that still carry one (rows written before
    `drop_signature`, or by a release without it); the number changed."""
    return tokens.filter(token__regex=SIGNED_JWT).update(
        token=Func(F("token"), Value(r"\.[^.]*$"), Value(""), function="regexp_replace")
    )
