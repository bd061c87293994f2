"""The API's JWT authentication: simplejwt's, refusing a token whose user id is not an id, and
saying of an expired one how to get the next."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db.models import Field
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, InvalidToken, TokenError
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import Token

EXPIRED_ACCESS_TOKEN = (
    "The access token has expired: POST the refresh token to /api/v1/token/refresh/ for a new"
    " one, or a username and password to /api/v1/token/."
)


def names_a_user_id(claims: Mapping[str, Any]) -> bool:
    """Whether a signed token's user id claim has the shape of a user id. One that does not (a
    token of another service sharing the signing key, an old release's) names nobody:
    simplejwt hands it to the database as it is, which refuses it with a 500."""
    user_id = claims.get(jwt_settings.USER_ID_CLAIM)
    if isinstance(user_id, bool) or not isinstance(user_id, int | str):
        return False
    try:
        field = cast(
            "Field[Any, Any]", get_user_model()._meta.get_field(jwt_settings.USER_ID_FIELD)
        )
        field.to_python(user_id)
    except ValidationError:
        return False
    return True


def token_user(claims: Mapping[str, Any]) -> AbstractBaseUser | None:
    """The user a signed token names, or None when it names none."""
    if not names_a_user_id(claims):
        return None
    user_id = claims[jwt_settings.USER_ID_CLAIM]
    return get_user_model().objects.filter(**{jwt_settings.USER_ID_FIELD: user_id}).first()


def _expired(raw_token: bytes) -> bool:
    """Whether a token one of the accepted classes would take, but for its age."""
    for token_class in jwt_settings.AUTH_TOKEN_CLASSES:
        try:
            token_class(raw_token)
        except ExpiredTokenError:
            return True
        except TokenError:
            continue
    return False


class CheckedJWTAuthentication(JWTAuthentication):
    """simplejwt's bearer-token authentication whose token naming no user is a 401."""

    def get_validated_token(self, raw_token: bytes) -> Token:
        """simplejwt's refusal of an expired token reads "Given token not valid for any token
        type", the expiry buried in its `messages`: this one says what to do."""
        try:
            return super().get_validated_token(raw_token)
        except InvalidToken as refused:
            if not _expired(raw_token) or not isinstance(refused.detail, dict):
                raise
            raise InvalidToken({**refused.detail, "detail": EXPIRED_ACCESS_TOKEN}) from refused

    # simplejwt annotates its return with a TypeVar no argument carries
    def get_user(self, validated_token: Token) -> AbstractBaseUser:  # type: ignore[override]
        if not names_a_user_id(validated_token.payload):
            raise AuthenticationFailed("User not found", code="user_not_found")
        return super().get_user(validated_token)


class CheckedJWTScheme(SimpleJWTScheme):
    """The published schema's bearer scheme for `CheckedJWTAuthentication` (simplejwt's)."""

    target_class = "tickets.api.authentication.CheckedJWTAuthentication"
