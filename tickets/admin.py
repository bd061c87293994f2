from django.contrib import admin

from tickets.lifecycle import Actor
from tickets.models import AuditLog, Occurrence, OwnershipRule, SlaPolicy, SuppressionRule, Ticket


class AuditLogInline(admin.TabularInline):
    model = AuditLog
    extra = 0
    can_delete = False
    fields = ("created_at", "actor_kind", "actor_name", "action", "before", "after", "details")
    readonly_fields = fields


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "status",
        "severity",
        "priority",
        "pipeline",
        "error_type",
        "finops_team",
        "sla_status",
        "occurrence_count",
        "rca_source",
        "timestamp",
    )
    list_filter = ("status", "severity", "source", "error_type", "sla_status", "finops_team")
    search_fields = ("id", "pipeline", "run_id", "error_message", "itsm_ticket_id")
    date_hierarchy = "timestamp"
    inlines = [AuditLogInline]
    exclude = ("embedding",)
    actions = ["rerun_rca"]

    @admin.action(description="Re-run the root-cause analysis", permissions=["change"])
    def rerun_rca(self, request, queryset):
        from analysis.services import request_fresh_rca

        actor = Actor.for_user(request.user)
        for ticket_id in queryset.values_list("pk", flat=True):
            request_fresh_rca(ticket_id, actor)
        self.message_user(request, f"Fresh RCA requested for {queryset.count()} ticket(s).")


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    list_display = ("ticket", "created_at", "actor_kind", "actor_name", "action")
    list_filter = ("actor_kind", "action")
    search_fields = ("ticket__id", "actor_name")
    list_select_related = ("ticket",)


@admin.register(Occurrence)
class OccurrenceAdmin(admin.ModelAdmin):
    list_display = ("key", "ticket", "outcome", "seen_at")
    list_filter = ("outcome",)
    search_fields = ("key", "ticket__id")


@admin.register(OwnershipRule)
class OwnershipRuleAdmin(admin.ModelAdmin):
    list_display = (
        "pipeline_pattern",
        "source",
        "order",
        "finops_team",
        "finops_owner",
        "slack_channel",
        "jira_project",
        "enabled",
    )
    list_editable = ("order", "enabled")


@admin.register(SuppressionRule)
class SuppressionRuleAdmin(admin.ModelAdmin):
    list_display = ("pipeline_pattern", "source", "reason", "starts_at", "ends_at", "hit_count")
    list_filter = ("enabled",)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = ("priority", "seconds")
