from django.contrib import admin

from integrations.models import WebhookDelivery


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("tracking_id", "source", "received_at", "status", "outcome", "ticket")
    list_filter = ("source", "status", "outcome")
    search_fields = ("tracking_id", "ticket__id", "reason")
    list_select_related = ("ticket",)
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
