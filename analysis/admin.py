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
    """Read-only: jobs are created from the dashboard, the API or a ticket, and run by workers.
    The owner is shown as its username, not linked: only superusers may open a user's page."""

    list_display = ("created_at", "status", "progress", "source", "owner", "ticket", "attempts")
    list_filter = ("status", "source")
    search_fields = ("ticket__id", "owner__username", "source_ref")
    list_select_related = ("owner", "ticket")
    readonly_fields = tuple(
        "owner_name" if f.name == "owner" else f.name for f in LogAnalysisJob._meta.fields
    )
    # Listed, so that the owner is not offered as an editable field in its place.
    fields = readonly_fields

    @admin.display(description="owner")
    def owner_name(self, job: LogAnalysisJob) -> str | None:
        return job.owner.get_username() if job.owner else None
