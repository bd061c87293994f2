from django.contrib import admin

from analysis.models import LlmCall, LogAnalysisJob


class WrittenByTheServiceAdmin(admin.ModelAdmin):
    """Records the service writes, which superusers may still delete: nobody adds one (no add
    page, whose Save stored an empty row: a log analysis of no source, left queued) and their
    page shows no Save button."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LlmCall)
class LlmCallAdmin(WrittenByTheServiceAdmin):
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
class LogAnalysisJobAdmin(WrittenByTheServiceAdmin):
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
