from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from integrations import fanout, remediation
from integrations import targets as registry
from integrations.models import (
    SYNC_BACK_SOURCES,
    DeliveryAttempt,
    OutboundDelivery,
    Remediation,
    RemediationPolicy,
    SlackIdentity,
    WebhookDelivery,
)
from tickets.admin import EstimatedCountPaginator, ReadOnlyPageAdmin
from tickets.lifecycle import Actor
from tickets.vocabulary import Source, choices


class InboxSourceFilter(admin.SimpleListFilter):
    """The sources a webhook can be stored from: the failure webhooks' (`Source`; ingest
    refuses another before storing) and the sync-back webhooks'. Django's filter of the
    field's values read every inbox row for its distinct ones on each load of the list."""

    title = parameter_name = "source"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return [*choices(Source), *((name, name) for name in SYNC_BACK_SOURCES)]

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        return queryset.filter(source=self.value()) if self.value() else queryset


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyPageAdmin):
    list_display = ("tracking_id", "source", "received_at", "status", "outcome", "ticket")
    list_filter = (InboxSourceFilter, "status", "outcome")
    search_fields = ("tracking_id", "ticket__id", "reason")
    list_select_related = ("ticket",)
    # Counted once, and unfiltered not at all once the table is big (an inbox row or two per
    # webhook: 60 ms each at 150,000).
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("started_at", "outcome", "duration_ms", "http_status", "error")
    readonly_fields = fields


_OUTBOUND_FIELDS = [f.name for f in OutboundDelivery._meta.fields]


class RegisteredFilter(admin.SimpleListFilter):
    """Choices from the target registry: Django's own filter of a field's values read every
    delivery for their distinct ones (up to a third of a second each at a million). One no target
    has any more is found by searching its key."""

    field = ""

    def queryset(self, request, queryset: QuerySet) -> QuerySet:
        if self.value():
            return queryset.filter(**{self.field: self.value()})
        return queryset


class TargetFilter(RegisteredFilter):
    title = parameter_name = field = "target"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return sorted((target.name, target.name) for target in registry.targets())


class ActionFilter(RegisteredFilter):
    title = parameter_name = field = "action"

    def lookups(self, request, model_admin) -> list[tuple[str, str]]:
        return sorted(
            (name, action.label)
            for target in registry.targets()
            for name, action in target.actions.items()
        )


@admin.register(OutboundDelivery)
class OutboundDeliveryAdmin(ReadOnlyPageAdmin):
    list_display = (
        "ticket",
        "target",
        "action",
        "status_shown",
        "attempts",
        "created_at",
        "last_error",
    )
    list_filter = ("status", TargetFilter, ActionFilter)
    search_fields = ("ticket__id", "key", "last_error")
    list_select_related = ("ticket",)
    # Newest first, in the primary key's order: a page is read from its index. The model's
    # order (created_at, which no index has) sorted every delivery, with its ticket joined,
    # for each page: two seconds at a million. The rows are not counted twice (0.1 s each at a
    # million), and unfiltered not at all, once the table is big (its estimated size).
    ordering = ("-id",)
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    # Its status with why a skipped one was left out, where the status was.
    fields = ["status_shown" if name == "status" else name for name in _OUTBOUND_FIELDS]
    readonly_fields = [*_OUTBOUND_FIELDS, "status_shown"]
    inlines = [DeliveryAttemptInline]
    actions = ["retry_dead_letters"]

    @admin.display(description="status", ordering="status")
    def status_shown(self, delivery: OutboundDelivery) -> str:
        return delivery.status_words()

    @admin.action(description="Retry the selected dead letters", permissions=["change"])
    def retry_dead_letters(self, request, queryset):
        count = fanout.retry_dead(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} dead letter(s) sent again.")


@admin.register(SlackIdentity)
class SlackIdentityAdmin(admin.ModelAdmin):
    """Who may act from Slack, and for whom. No role is granted these permissions: like users
    and groups, the mapping is for superusers."""

    list_display = ("slack_user_id", "user", "created_at")
    search_fields = ("slack_user_id", "user__username", "user__email")
    autocomplete_fields = ("user",)


_SKIPS_WAITING = (
    "Saved, its remediations awaiting approval or held behind an incident are skipped at once, "
    "saying why (their Slack alert's buttons go); so does deleting the policy."
)
# What changing a policy does to the remediations it proposed (`remediation.skip_switched_off`).
_POLICY_HELP = {
    "enabled": f"Unticked, it proposes nothing. {_SKIPS_WAITING}",
    "mode": f"Never: it runs nothing (a failure it covers is recorded skipped). {_SKIPS_WAITING}",
    "action": (
        "Changed, the next failure is proposed with the new action; its remediations "
        "awaiting approval or held for the old one are skipped at once, saying why "
        "(their Slack alert's buttons go)."
    ),
    "pipeline_glob": (
        "Which pipelines it covers (* any). Changed (or its error classes, signals or "
        "sources), its automatic remediations held behind an incident whose ticket it "
        "no longer covers are skipped at once, saying why; those people approved or "
        "retried run as they chose."
    ),
    "dry_run": (
        "Record what it would do; do nothing. Switched on, its remediations awaiting "
        "approval or held wait on, and are recorded as what they would have done once "
        "approved or released."
    ),
}


@admin.register(RemediationPolicy)
class RemediationPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "enabled",
        "order",
        "action",
        "mode",
        "auto_min_confidence",
        "approval_min_confidence",
        "max_attempts",
        "dry_run",
    )
    list_filter = ("enabled", "mode", "action", "dry_run")
    list_editable = ("enabled", "order", "mode", "dry_run")
    search_fields = ("name", "pipeline_glob")

    def get_form(
        self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any
    ) -> Any:
        return super().get_form(request, obj, change=change, help_texts=_POLICY_HELP, **kwargs)

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> Any:
        """The list's save locks the policies it saves by id before saving any
        (`remediation.lock_policies`): saved in the list's order alone, it could hold one that
        a release batch waits for while it waits for another the batch locked first (by id),
        a deadlock."""
        saving = request.method == "POST" and "_save" in request.POST
        if not saving or not self.has_change_permission(request):
            return super().changelist_view(request, extra_context)
        prefix = self.get_changelist_formset(request).get_default_prefix()
        with transaction.atomic():
            edited = self._get_list_editable_queryset(request, prefix)
            remediation.lock_policies(edited.values_list("pk", flat=True))
            return super().changelist_view(request, extra_context)

    def delete_model(self, request: HttpRequest, obj: RemediationPolicy) -> None:
        """Locked as `remediation.delete_policies` says: deleted as a remediation is inserted
        under it, unlocked, the delete failed at its commit (a 500)."""
        remediation.delete_policies([obj.pk])

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        remediation.delete_policies(queryset.values_list("pk", flat=True))


@admin.register(Remediation)
class RemediationAdmin(ReadOnlyPageAdmin):
    list_display = (
        "ticket",
        "action",
        "attempt_number",
        "status",
        "confidence",
        "created_at",
        "expires_at",
        "decided_by",
        "decided_at",
        "finished_at",
    )
    list_filter = ("status", "action", "dry_run")
    search_fields = ("ticket__id", "run_key", "external_run_id")
    readonly_fields = [field.name for field in Remediation._meta.fields]
    actions = ("approve", "decline", "retry")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _decide(self, request: HttpRequest, queryset: QuerySet, approved: bool) -> None:
        actor = Actor.for_user(request.user, via="admin")  # type: ignore[arg-type]
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                if approved:
                    decided = remediation.approve(pk, actor, via="admin")
                else:
                    decided = remediation.decline(pk, actor, via="admin")
            except remediation.RemediationError as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            if decided.dry_run:
                self.message_user(
                    request,
                    f"remediation {pk}: nothing was run, {decided.reason}",
                    messages.WARNING,
                )
            else:
                done += 1
        verb = "approved" if approved else "declined"
        self.message_user(request, f"{done} remediation(s) {verb}.")

    @admin.action(description="Approve the selected remediations", permissions=["change"])
    def approve(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide(request, queryset, True)

    @admin.action(description="Decline the selected remediations", permissions=["change"])
    def decline(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._decide(request, queryset, False)

    @admin.action(
        description="Retry the selected remediations (a failed last attempt)",
        permissions=["change"],
    )
    def retry(self, request: HttpRequest, queryset: QuerySet) -> None:
        actor = Actor.for_user(request.user, via="admin")  # type: ignore[arg-type]
        done = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                again = remediation.retry(pk, actor, via="admin")
            except remediation.RemediationError as exc:
                self.message_user(request, str(exc), messages.WARNING)
                continue
            if again.dry_run:
                self.message_user(
                    request, f"remediation {pk}: nothing was run, {again.reason}", messages.WARNING
                )
            else:
                done += 1
        self.message_user(request, f"{done} remediation(s) retried.")
