from django.contrib import admin

from analysis.models import LlmCall


@admin.register(LlmCall)
class LlmCallAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "ticket",
        "model",
        "attempt",
        "outcome",
        "latency_ms",
        "total_tokens",
    )
    list_filter = ("outcome", "model", "purpose")
    search_fields = ("ticket__id", "error")
    list_select_related = ("ticket",)
    readonly_fields = [f.name for f in LlmCall._meta.fields]
