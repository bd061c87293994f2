"""A ticket whose own RCA fell back to the rules because Gemini was down (it timed out,
answered 5xx, could not be reached, refused over the quota, or was not asked during the pause
of `gemini.outage`) is asked again once Gemini answers: a fresh RCA as staff ask for one
(analysis.tasks.request_fresh_rca), so its RCA panel, Slack alert and JIRA issue follow as
they do for theirs.

Which tickets: `Ticket.rca_outage`, written with each RCA of its own (`services._save`; from the
note of one the release before wrote, by tickets/0040), names the outage's failure; a blocked or
invalid answer, no key, and an incident's shared analysis leave it blank. Gemini counts as back
at its latest answer recorded (`LlmCall` ok, from any worker process: a new ticket's, an
incident's, a staff rerun's); a ticket is asked again when its rule-based RCA is older than that
answer, it is not resolved, and its RCA first fell back in this outage within
GEMINI_RERUN_WINDOW (`services.RCA_OUTAGE_SINCE`: a rerun that fails again does not restart the
window, so a ticket Gemini keeps failing on while it answers others is not asked every minute
for ever); at most GEMINI_RERUN_BATCH a sweep (beat, every minute), oldest first.

At most once per outage: a sweep takes a ticket by blanking its `rca_outage` in one
conditional UPDATE (on the analysis it read), so concurrent sweeps, or one started again,
never ask twice; the fresh RCA writes it again if Gemini fails once more, and that RCA is
asked again only after a later answer. A request the broker refused gives the ticket back for
the next sweep; a worker killed between the take and the request loses that ticket's rerun.

Likewise a Databricks ticket whose run could not be read for its error because the Databricks
API throttled (429), failed (5xx) or did not answer is read again, with a back-off
(`refetch_databricks_errors`)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import JSONField, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from analysis.enrichment_service import REFETCH
from analysis.gemini import gemini_configured
from analysis.models import LlmCall, LlmOutcome
from analysis.services import RCA_OUTAGE_SINCE, rca_request_lapse
from tickets.lifecycle import Actor
from tickets.models import RcaSource, Ticket
from tickets.vocabulary import Status

logger = logging.getLogger(__name__)

RERUN_ACTOR = "gemini recovery"
RERUN_REASON = "re-run once Gemini answered again"

# request_fresh_rca: (ticket id, actor, note=..., reason=...) -> whether a run was queued.
RequestRca = Callable[..., bool]


def gemini_answered_at() -> datetime | None:
    """When Gemini last gave an answer, as recorded by any worker process."""
    return (
        LlmCall.objects.filter(outcome=LlmOutcome.OK)
        .order_by("-created_at")
        .values_list("created_at", flat=True)
        .first()
    )


def _within_window(start: datetime) -> Q:
    """Its RCA first fell back in this outage since `start`; a ticket marked for a release
    that kept no such time (tickets/0040), by its analysis."""
    since = f"details__{RCA_OUTAGE_SINCE}"
    return Q(**{f"{since}__gte": start.isoformat(timespec="microseconds")}) | (
        ~Q(details__has_key=RCA_OUTAGE_SINCE) & Q(analysed_at__gte=start)
    )


def rerun_after_outage(request: RequestRca) -> int:
    """Ask again for the RCA of the tickets due (see the module); how many runs were queued."""
    if not settings.GEMINI_RERUN_BATCH or not gemini_configured():
        return 0
    answered_at = gemini_answered_at()
    if answered_at is None:
        return 0
    window_start = timezone.now() - settings.GEMINI_RERUN_WINDOW
    due = list(
        Ticket.objects.filter(
            rca_source=RcaSource.RULES,
            # Implied by the window (a first fallback is no later than the last analysis); it
            # starts the index scan there: a ticket resolved, or past the window, before it
            # was asked again keeps its `rca_outage` for good.
            analysed_at__gte=window_start,
            analysed_at__lt=answered_at,
        )
        .filter(_within_window(window_start))
        .exclude(rca_outage="")
        .exclude(status=Status.RESOLVED)
        .order_by("analysed_at")
        .values_list("pk", "rca_outage", "analysed_at")[: settings.GEMINI_RERUN_BATCH]
    )
    queued = 0
    for ticket_id, outage, analysed_at in due:
        this_analysis = Ticket.objects.filter(
            pk=ticket_id, rca_source=RcaSource.RULES, analysed_at=analysed_at
        )
        taken = (
            this_analysis.filter(rca_outage=outage)
            .exclude(status=Status.RESOLVED)
            .update(rca_outage="")
        )
        if not taken:
            continue  # another sweep took it, or it changed meanwhile
        note = f"Gemini answers again; its RCA fell back to the rules ({outage})"
        try:
            if request(ticket_id, Actor.system(RERUN_ACTOR), note=note, reason=RERUN_REASON):
                queued += 1
        except Exception:
            this_analysis.filter(rca_outage="").update(rca_outage=outage)
            logger.warning("could not queue the rerun of %s's RCA after an outage", ticket_id)
            raise
    return queued


# --- Databricks API outages ------------------------------------------------------------------

REFETCH_ACTOR = "databricks recovery"
REFETCH_REASON = "run read again after the Databricks API failed to answer"
# A lost read that spent the last try: its RCA still says the run is read again.
REFETCH_LAST_REASON = "run read a last time, its earlier re-reads lost"
REFETCH_BATCH = 20  # re-reads queued per sweep, the longest-waiting first


def _refetch_due(mark: dict[str, Any], now: datetime) -> bool:
    """The run's last read failed DATABRICKS_REFETCH_DELAY_SECONDS ago, doubled for each read
    that failed before it."""
    try:
        failed_at = datetime.fromisoformat(str(mark["failed_at"]))
        tries = max(int(mark.get("tries") or 1), 1)
    except (KeyError, TypeError, ValueError):
        return False
    delay = settings.DATABRICKS_REFETCH_DELAY_SECONDS * 2 ** (tries - 1)
    return failed_at + timedelta(seconds=delay) <= now


def _take_lapsed(taken: Any, now: datetime) -> bool:
    """A sweep took the mark at `taken` longer ago than a fresh RCA's run may take, and the
    read it queued never wrote the mark again: it was lost. A take of no time (`true`, as the
    first release of the sweep wrote it) is lapsed too."""
    try:
        taken_at = datetime.fromisoformat(str(taken))
    except ValueError:
        return True
    return taken_at + rca_request_lapse() <= now


def refetch_databricks_errors(request: RequestRca) -> int:
    """Read again the Databricks runs whose read met a throttle (429), a server error or a
    timeout (`enrichment_service.REFETCH`), once their back-off has passed: a fresh RCA, as
    staff ask for one, whose analysis reads the run first (its `needs_enrichment` still
    stands), so the ticket, its Slack alert and its JIRA issue get the run's error. A read that
    fails so again is tried again later: a run is read again at most DATABRICKS_REFETCH_TRIES
    times. Not for a resolved ticket. A sweep takes a ticket by writing the time into its
    mark's `taken` in one conditional UPDATE, so overlapping sweeps queue one read; a request
    the broker refused gives it back, and a take whose read has not ended within
    `rca_request_lapse` (its worker died, the request was answered by a run already past its
    read) is taken again by a later sweep, counted as a try. A lost read that spends the last
    try queues one more fresh RCA (not marked to be read again, `given_up` in the mark instead
    of `failed_at`): its RCA said the run is read again, and the new one reads it once more
    and, failing, says it is not read again and how to ask. How many reads were queued.

    Resolving a ticket drops its mark (`tickets.lifecycle`); a mark an analysis wrote across
    the resolve, or one an earlier release left on a resolved ticket, is dropped as the sweep
    meets it, so the sweep's index keeps no resolved ticket."""
    if not (
        settings.DATABRICKS_REFETCH_TRIES and settings.DATABRICKS_HOST and settings.DATABRICKS_TOKEN
    ):
        return 0
    now = timezone.now()
    candidates = (
        Ticket.objects.awaiting_databricks_refetch()
        .filter(details__needs_enrichment=True)
        .order_by("updated_at")
        .values_list("pk", f"details__{REFETCH}", "status")
    )
    looked_at = list(candidates[: REFETCH_BATCH * 5])
    resolved = [ticket_id for ticket_id, _, status in looked_at if status == Status.RESOLVED]
    if resolved:
        Ticket.objects.filter(pk__in=resolved, status=Status.RESOLVED).drop_databricks_refetch()
    queued = 0
    for ticket_id, mark, status in looked_at:
        if queued >= REFETCH_BATCH:
            break
        if status == Status.RESOLVED:
            continue
        if not isinstance(mark, dict) or not _refetch_due(mark, now):
            continue
        if "taken" in mark and not _take_lapsed(mark["taken"], now):
            continue  # its read is queued or under way
        this_mark = Ticket.objects.filter(
            pk=ticket_id, **{f"details__{REFETCH}__failed_at": mark["failed_at"]}
        )
        new_mark: dict[str, Any] | None = {**mark, "taken": now.isoformat()}
        if "taken" in mark:
            this_mark = this_mark.filter(**{f"details__{REFETCH}__taken": mark["taken"]})
            # The lost read counts as a try, so a run whose reads are lost again and again
            # (its analysis reads nothing: the workspace changed) is not asked for forever.
            tries = max(int(mark.get("tries") or 1), 1) + 1
            new_mark = {**mark, "tries": tries, "taken": now.isoformat()}
            last = tries > settings.DATABRICKS_REFETCH_TRIES
            if last:
                # Out of the sweep's index (no `failed_at`); its read, failing again, is past
                # the tries (`enrichment_service._unread`).
                kept = {k: v for k, v in mark.items() if k not in ("failed_at", "taken")}
                new_mark = {**kept, "tries": tries, "given_up": now.isoformat()}
        else:
            last = False
            this_mark = this_mark.exclude(**{f"details__{REFETCH}__has_key": "taken"})
        taken = this_mark.exclude(status=Status.RESOLVED).update(
            details=RawSQL(
                "jsonb_set(details, %s::text[], %s::jsonb)",
                ([REFETCH], json.dumps(new_mark)),
                output_field=JSONField(),
            )
        )
        if not taken:
            continue  # another sweep took it, or it was read or resolved meanwhile
        if last:
            note = f"its Databricks run's re-reads were lost ({mark.get('tries')} tried)"
            reason = REFETCH_LAST_REASON
        else:
            note = f"the read of its Databricks run failed {mark.get('tries')} time(s)"
            reason = REFETCH_REASON
        try:
            if request(ticket_id, Actor.system(REFETCH_ACTOR), note=note, reason=reason):
                queued += 1
        except Exception:
            # Given back: the next sweep takes it again (a lost last read, as it was).
            given_back = (
                RawSQL(
                    "jsonb_set(details, %s::text[], %s::jsonb)",
                    ([REFETCH], json.dumps(mark)),
                    output_field=JSONField(),
                )
                if last
                else RawSQL(
                    "details #- %s::text[]", ([REFETCH, "taken"],), output_field=JSONField()
                )
            )
            Ticket.objects.filter(pk=ticket_id).update(details=given_back)
            logger.warning("could not queue the read of %s's Databricks run", ticket_id)
            raise
    return queued
