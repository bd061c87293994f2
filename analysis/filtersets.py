"""Filters of the log-analysis list (`/api/v1/log-analyses/`), beside the tickets' in
tickets/filtersets.py."""

from __future__ import annotations

import django_filters

from analysis.models import LogAnalysisJob


class LogAnalysisFilterSet(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=LogAnalysisJob.Status.choices,
        distinct=False,
        help_text="The job's status; repeat it for several.",
    )
    ticket_id = django_filters.CharFilter(help_text="Attached to this ticket (its id).")

    class Meta:
        model = LogAnalysisJob
        fields: list[str] = []
