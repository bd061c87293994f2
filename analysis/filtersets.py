"""Filters of the log-analysis list (`/api/v1/log-analyses/`), beside the tickets' in
tickets/filtersets.py."""

from __future__ import annotations

import django_filters

from analysis.models import LogAnalysisJob
from tickets.filtersets import NamedMultipleChoiceFilter


class LogAnalysisFilterSet(django_filters.FilterSet):
    status = NamedMultipleChoiceFilter(
        choices=LogAnalysisJob.Status.choices,
        help_text="The job's status; repeat it for several.",
    )
    ticket_id = django_filters.CharFilter(help_text="Attached to this ticket (its id).")

    class Meta:
        model = LogAnalysisJob
        fields: list[str] = []
