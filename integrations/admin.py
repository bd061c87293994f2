from django.contrib import admin

from integrations import fanout
from integrations.models import DeliveryAttempt, OutboundDelivery, SlackIdentity, WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("tracking_id", "source", "received_at", "status", "outcome", "ticket")
    list_filter = ("source", "status", "outcome")
    search_fields = ("tracking_id", "ticket__id", "reason")
    list_select_related = ("ticket",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = ("started_at", "outcome", "duration_ms", "http_status", "error")
    readonly_fields = fields


@admin.register(OutboundDelivery)
class OutboundDeliveryAdmin(admin.ModelAdmin):
    list_display = ("ticket", "target", "action", "status", "attempts", "created_at", "last_error")
    list_filter = ("status", "target", "action")
    search_fields = ("ticket__id", "key", "last_error")
    list_select_related = ("ticket",)
    readonly_fields = [f.name for f in OutboundDelivery._meta.fields]
    inlines = [DeliveryAttemptInline]
    actions = ["retry_dead_letters"]

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
