from django.contrib import admin

from analysis.models import LlmCall, LogAnalysisJob


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


@admin.register(LogAnalysisJob)
class LogAnalysisJobAdmin(admin.ModelAdmin):
    """Read-only: jobs are created from the dashboard, the API or a ticket, and run by workers."""

    list_display = ("created_at", "status", "progress", "source", "owner", "ticket", "attempts")
    list_filter = ("status", "source")
    search_fields = ("ticket__id", "owner__username", "source_ref")
    list_select_related = ("owner", "ticket")
    readonly_fields = [f.name for f in LogAnalysisJob._meta.fields]
