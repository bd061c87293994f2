"""Who may act from Slack: a button click carries the authority of an active responder, or none.

Slack signs the request, so the Slack user id in it is true; what that user may do here is ours
to decide. The id maps to a Django account through a `SlackIdentity` row (kept in admin), or,
without one, through the e-mail on the user's Slack profile (`users.info`, which needs the bot
scopes `users:read` and `users:read.email`) when exactly one active account has that e-mail and
the Slack user is a member of the bot's own workspace or Enterprise Grid org (`auth.test`): in a
Slack Connect channel, another organization's members click our buttons too, and the e-mail on
their profiles is that organization's to set, not a proof of who they are here.
The account must be active and hold the responder role (or above) at the time of the click.
Anything else changes nothing and the user is told so in an ephemeral message, with what to ask
an administrator for: a link, a reactivation, or the responder group (`REMEDIES`); or, when
Slack did not answer in time who clicked, to try again.

The Slack Web API calls live here, in a few small functions, until the outbound targets share one
Slack client.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache

from integrations.models import SlackIdentity
from integrations.targets.slack import slack_escape
from tickets.roles import RESPONDER, has_role

logger = logging.getLogger(__name__)

NOT_ALLOWED_TEXT = "You are not allowed to act on RCA tickets from Slack: {reason}. {remedy}."
# Why a click carries no authority (`SlackAuthority.reason`), and what to ask for: an account
# that is linked but lacks the role needs the group, as the dashboard's 403 says, not a link.
NOT_LINKED = "your Slack account is not linked to an account here"
DEACTIVATED = "your account is deactivated"
NO_ROLE = f"your account does not have the {RESPONDER} role"
# Slack did not answer users.info (or auth.test) in time: nobody to ask an administrator.
SLACK_SILENT = "Slack did not say in time who you are"
LINK_REMEDY = (
    f"Ask an administrator to link your Slack account to an active account with the {RESPONDER} "
    "role"
)
REMEDIES = {
    NOT_LINKED: LINK_REMEDY,
    SLACK_SILENT: "Try again in a moment",
    DEACTIVATED: "Ask an administrator to reactivate your account",
    NO_ROLE: (
        f"Ask an administrator to add your account to the {RESPONDER} group (or one above it)"
    ),
}
# The Slack profile's e-mail, remembered briefly so a burst of clicks makes one users.info call;
# the account and its role are read afresh on every click.
PROFILE_EMAIL_CACHE_SECONDS = 300
# The bot's own workspace (auth.test) changes only with the token.
OWN_WORKSPACE_CACHE_SECONDS = 3600


# Slack waits 3 seconds for a click's answer. The Slack calls that find who clicked
# (users.info, and auth.test once an hour) run side by side, and the click stops waiting for
# them after this long, whatever Slack does (a socket timeout bounds each read, not a reply
# dripped slowly): the rest of the 3 seconds is the click's own work.
LOOKUP_SECONDS = 2.0


class SlackSilent(Exception):
    """Slack did not answer (in time, or at all): who clicked is not known, nor remembered."""


@dataclass(frozen=True)
class SlackAuthority:
    user: User | None
    reason: str  # why not, when user is None

    @property
    def allowed(self) -> bool:
        return self.user is not None


def _client() -> Any:
    from slack_sdk import WebClient

    kwargs: dict[str, Any] = (
        {"base_url": settings.SLACK_BASE_URL} if settings.SLACK_BASE_URL else {}
    )
    timeout = max(1, int(min(settings.OUTBOUND_TIMEOUT_SECONDS, LOOKUP_SECONDS)))
    return WebClient(token=settings.SLACK_BOT_TOKEN, timeout=timeout, retry_handlers=[], **kwargs)


def _users_info(slack_user_id: str) -> dict[str, Any] | None:
    """The users.info user, or None when Slack refused (no such user, a missing scope)."""
    from slack_sdk.errors import SlackApiError

    try:
        answer = _client().users_info(user=slack_user_id)
    except SlackApiError as exc:
        logger.warning("Slack users.info failed: %s", exc.response.get("error"))
        return None
    except Exception as exc:  # a timeout or connection error: not known, nothing cached
        logger.warning("Slack users.info failed: %s", type(exc).__name__)
        raise SlackSilent from exc
    user = answer.get("user")
    return user if isinstance(user, dict) else {}


def _auth_test() -> tuple[str, str] | None:
    """The team id and Enterprise Grid org id ('' outside Grid) of the bot token's workspace,
    or None when Slack refuses to say."""
    from slack_sdk.errors import SlackApiError

    try:
        answer = _client().auth_test()
    except SlackApiError as exc:
        logger.warning("Slack auth.test failed: %s", exc.response.get("error"))
        return None
    except Exception as exc:  # a timeout or connection error: not known, nothing cached
        logger.warning("Slack auth.test failed: %s", type(exc).__name__)
        raise SlackSilent from exc
    team_id = str(answer.get("team_id") or "")
    if not team_id:
        return None
    return team_id, str(answer.get("enterprise_id") or "")


OWN_WORKSPACE_CACHE_KEY = "slack-own-workspace"
_lookups = ThreadPoolExecutor(max_workers=4, thread_name_prefix="slack-lookup")


def _asked_together(
    slack_user_id: str, *, own_workspace_known: bool
) -> tuple[Future[dict[str, Any] | None], Future[tuple[str, str] | None] | None]:
    """users.info (and auth.test, when its answer is not remembered) asked side by side,
    waited for `LOOKUP_SECONDS` at most, and a call still running then left to end by its own
    timeout: its answer is not used. One not started by then (every thread busy with other
    clicks' calls) is not made."""
    user = _lookups.submit(_users_info, slack_user_id)
    own = None if own_workspace_known else _lookups.submit(_auth_test)
    asked: list[Future[Any]] = [user] if own is None else [user, own]
    wait(asked, timeout=LOOKUP_SECONDS)
    for call in asked:
        call.cancel()  # only one not started yet is cancelled
    return user, own


def _answer_of(future: Future[Any]) -> Any:
    """A call's result; SlackSilent when it has not ended (or itself raised it)."""
    if not future.done() or future.cancelled():
        raise SlackSilent
    return future.result()


def slack_profile_email(slack_user_id: str) -> str:
    """The confirmed e-mail on a Slack user's profile ("" when there is none, the user is
    deleted or not of the bot's own workspace, or Slack is not configured). Raises
    SlackSilent when Slack did not answer within `LOOKUP_SECONDS`."""
    if not settings.SLACK_BOT_TOKEN:
        return ""
    key = f"slack-profile-email:{slack_user_id}"
    cached = cache.get(key)
    if cached is not None:
        return str(cached)
    remembered = cache.get(OWN_WORKSPACE_CACHE_KEY)
    user_call, own_call = _asked_together(slack_user_id, own_workspace_known=remembered is not None)
    own: tuple[str, str] | None = None
    if remembered is not None:
        own = (str(remembered[0]), str(remembered[1]))
    elif (
        own_call is not None
        and own_call.done()
        and not own_call.cancelled()
        and own_call.exception() is None
    ):
        own = own_call.result()
        if own is not None:
            cache.set(OWN_WORKSPACE_CACHE_KEY, own, OWN_WORKSPACE_CACHE_SECONDS)
    user = _answer_of(user_call)
    if user is None:
        return ""
    profile = user.get("profile") or {}
    email = str(profile.get("email") or "")
    if user.get("deleted") or user.get("is_email_confirmed") is False:
        email = ""
    elif email:
        if own is None:
            assert own_call is not None
            _answer_of(own_call)  # SlackSilent, unless Slack refused to say
            return ""  # not remembered: auth.test may answer next time
        if not _of_workspace(user, own):
            return ""
    cache.set(key, email, PROFILE_EMAIL_CACHE_SECONDS)
    return email


def _of_workspace(user: dict[str, Any], own: tuple[str, str]) -> bool:
    """Whether a users.info user is a member of the bot's workspace (or of its Grid org)."""
    team_id, enterprise_id = own
    if user.get("team_id") == team_id:
        return True
    enterprise_user = user.get("enterprise_user") or {}
    return bool(enterprise_id) and enterprise_user.get("enterprise_id") == enterprise_id


def authority_of(slack_user_id: str) -> SlackAuthority:
    """The Django account a Slack user acts for, if it may act on tickets."""
    identity = SlackIdentity.objects.select_related("user").filter(slack_user_id=slack_user_id)
    linked = identity.first()
    if linked is not None:
        user: User | None = linked.user
    else:
        try:
            email = slack_profile_email(slack_user_id)
        except SlackSilent:
            return SlackAuthority(None, SLACK_SILENT)
        if not email:
            return SlackAuthority(None, NOT_LINKED)
        matches = list(User.objects.filter(email__iexact=email, is_active=True)[:2])
        if len(matches) != 1:
            return SlackAuthority(None, NOT_LINKED)
        user = matches[0]
    assert user is not None
    if not user.is_active:
        return SlackAuthority(None, DEACTIVATED)
    if not has_role(user, RESPONDER):
        return SlackAuthority(None, NO_ROLE)
    return SlackAuthority(user, "")


def tell_not_allowed(
    channel_id: str,
    slack_user_id: str,
    reason: str,
    *,
    response_url: str = "",
    thread_ts: str = "",
) -> None:
    """The refusal says why and what to ask an administrator for (`REMEDIES`; a link to an
    account with the role for a reason not listed there)."""
    remedy = REMEDIES.get(reason, LINK_REMEDY)
    message = NOT_ALLOWED_TEXT.format(reason=reason, remedy=remedy)
    tell(channel_id, slack_user_id, message, response_url=response_url, thread_ts=thread_ts)


# Where a click's `response_url` may point: Slack's own host, or the origin of
# SLACK_BASE_URL (a stand-in for Slack). Anything else is not answered there.
SLACK_RESPONSE_ORIGIN = ("https", "hooks.slack.com")


def _answerable(response_url: str) -> bool:
    try:
        given = urlsplit(response_url)
        base = urlsplit(settings.SLACK_BASE_URL or "")
        if given.username is not None or given.password is not None:
            return False
    except ValueError:  # e.g. an unclosed "[" in the host
        return False
    origins = {SLACK_RESPONSE_ORIGIN, (base.scheme, base.netloc)}
    return (given.scheme, given.netloc) in origins and bool(given.netloc)


def _answered_through(response_url: str, text: str) -> bool:
    """Whether the answer posted to the click's `response_url` (ephemeral, the clicked message
    left as it is) was taken by Slack, or may have been: a request sent in full whose answer
    did not come (a read timeout, the connection dropped after the request) may have been
    shown, and a second answer by chat.postEphemeral would show it twice. False (answer by
    chat.postEphemeral instead) only when Slack refused it, or the request was not sent in
    full (urllib's `URLError`: the connection was never made, or failed while the request was
    being written)."""
    if not response_url or not _answerable(response_url):
        return False
    from urllib.error import URLError

    from slack_sdk.errors import SlackRequestError
    from slack_sdk.webhook import WebhookClient

    timeout = max(1, int(settings.OUTBOUND_TIMEOUT_SECONDS))
    try:
        answer = WebhookClient(response_url, timeout=timeout, retry_handlers=[]).send(
            text=text, response_type="ephemeral", replace_original=False
        )
    except (URLError, SlackRequestError) as exc:  # not sent (an HTTPError, an answer, is
        # returned by slack-sdk, not raised)
        why = exc.reason if isinstance(exc, URLError) else exc
        logger.warning("Slack response_url not reached: %s", type(why).__name__)
        return False
    except Exception as exc:  # sent, unanswered: it may be shown, so it is not sent again
        logger.warning(
            "Slack response_url sent but not answered (%s): not answered again, as Slack may "
            "have shown it",
            type(exc).__name__,
        )
        return True
    if answer.status_code != 200:  # expired (30 minutes, 5 answers), or refused
        logger.warning("Slack response_url refused: %s %s", answer.status_code, answer.body[:80])
        return False
    return True


def tell(
    channel_id: str,
    slack_user_id: str,
    message: str,
    *,
    response_url: str = "",
    thread_ts: str = "",
) -> None:
    """An ephemeral message, seen only by the user who clicked: through the click's
    `response_url` (Slack's answer to that click, not a post of the bot's in the channel: a bot
    removed from the channel is refused `not_in_channel` by chat.postEphemeral), else, or when
    Slack refuses it or it could not be sent, `chat.postEphemeral` in the click's channel, in
    its thread when the clicked message is a thread reply (not when it was sent and its answer
    did not come: Slack may have shown it, `_answered_through`). Sent as text: it quotes names
    and refusals written elsewhere (a JIRA user's display name, who changed the ticket last),
    and mrkdwn there
    (`<https://...|words>`, `<!here>`) would be a link or a mention in the bot's own
    message."""
    text = slack_escape(message)
    if _answered_through(response_url, text):
        return
    if not settings.SLACK_BOT_TOKEN or not channel_id:
        return
    from slack_sdk.errors import SlackApiError

    in_thread = {"thread_ts": thread_ts} if thread_ts else {}
    try:
        _client().chat_postEphemeral(channel=channel_id, user=slack_user_id, text=text, **in_thread)
    except SlackApiError as exc:  # e.g. the bot is not in that channel: nothing to retry
        logger.warning("Slack chat.postEphemeral failed: %s", exc.response.get("error"))
