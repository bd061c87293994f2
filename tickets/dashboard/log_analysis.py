"""Dashboard pages of log analysis: upload (drag and drop), a job's live progress and report,
and "analyse the run's log" from a ticket. Thin views over `analysis.log_jobs`."""

from __future__ import annotations

import uuid
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST
from kombu.exceptions import KombuError

from analysis import log_jobs
from analysis.models import LogAnalysisJob
from tickets.dashboard.charts import level_timeline_chart
from tickets.dashboard.views import _live_config, _page_context, role_required, with_csp
from tickets.lifecycle import Actor
from tickets.models import Ticket
from tickets.roles import RESPONDER, VIEWER, AuthenticatedHttpRequest, has_role

RECENT_JOBS = 30


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[Any]:
        one = super().clean
        if isinstance(data, list | tuple):
            return [one(item, initial) for item in data] or [one(None, initial)]
        return [one(data, initial)]


class UploadForm(forms.Form):
    # An empty file passes the form: the job's own check refuses it naming it, as the API does.
    file = MultipleFileField(
        label="Log files", help_text="Plain text, .gz or .zip", allow_empty_file=True
    )
    ticket_id = forms.CharField(label="Ticket (optional)", required=False, max_length=64)

    def clean_ticket_id(self) -> Ticket | None:
        value = self.cleaned_data["ticket_id"].strip()
        if not value:
            return None
        ticket = Ticket.objects.defer("embedding").filter(pk=value).first()
        if ticket is None:
            raise forms.ValidationError("No ticket with this id.")
        return ticket


class AttachForm(forms.Form):
    ticket_id = forms.CharField(max_length=64)


def _job(job_id: str) -> LogAnalysisJob:
    try:
        pk = uuid.UUID(job_id)
    except ValueError as exc:
        raise Http404("No such log analysis.") from exc
    job = LogAnalysisJob.objects.select_related("owner", "ticket").filter(pk=pk).first()
    if job is None:
        raise Http404("No such log analysis.")
    return job


@with_csp
@require_http_methods(["GET", "HEAD", "POST"])
@role_required(VIEWER)
def log_analyses(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The upload form and the recent jobs; a valid upload goes to its job's page."""
    status = 200
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        if form.is_valid():
            uploads = [log_jobs.Upload(f.name or "", f) for f in form.cleaned_data["file"]]
            try:
                job = log_jobs.create_job_from_files(
                    request.user, uploads, form.cleaned_data["ticket_id"]
                )
            except log_jobs.LogJobError as exc:
                form.add_error("file", str(exc))
            except KombuError:
                form.add_error(None, "The analysis queue is unavailable; try again shortly.")
            else:
                return redirect("dashboard-log-analysis", job_id=job.pk)
        status = 400
    else:
        form = UploadForm(initial={"ticket_id": request.GET.get("ticket", "")[:64]})
    jobs = LogAnalysisJob.objects.select_related("owner").defer("report")[:RECENT_JOBS]
    return render(
        request,
        "dashboard/log_analyses.html",
        _page_context(request, form=form, jobs=jobs),
        status=status,
    )


@with_csp
@require_http_methods(["GET", "HEAD"])
@role_required(VIEWER)
def log_analysis_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    job = _job(job_id)
    report = job.report or {}
    user = request.user
    return render(
        request,
        "dashboard/log_analysis.html",
        _page_context(
            request,
            job=job,
            report=report,
            timeline=level_timeline_chart(report["timeline"]) if report.get("timeline") else "",
            can_cancel=not job.finished and (job.owner_id == user.pk or has_role(user, RESPONDER)),
            markdown_url=reverse("api-log-analysis-markdown", args=[job.pk]),
            live_config=_live_config(request, page="log-analysis", job_id=str(job.pk)),
        ),
    )


@with_csp
@require_POST
@role_required(VIEWER)
def log_analysis_action(request: AuthenticatedHttpRequest, job_id: str) -> HttpResponse:
    """Cancel (the owner or a responder) or attach to a ticket (a responder)."""
    job = _job(job_id)
    action = request.POST.get("action")
    if action == "cancel":
        if job.owner_id != request.user.pk and not has_role(request.user, RESPONDER):
            messages.error(request, "Only the job's owner or a responder may cancel it.")
        elif job.finished:
            messages.error(request, f"Not done: the analysis is already {job.status}.")
        else:
            log_jobs.cancel_job(job.pk)
            messages.success(request, "Analysis cancelled.")
    elif action == "attach":
        form = AttachForm(request.POST)
        if not has_role(request.user, RESPONDER):
            messages.error(request, "You need the responder role to attach an analysis.")
        elif not form.is_valid():
            messages.error(request, "Give the ticket to attach to.")
        else:
            ticket_id = form.cleaned_data["ticket_id"].strip()
            try:
                log_jobs.attach_to_ticket(
                    job, ticket_id, Actor.for_user(request.user, via="dashboard")
                )
            except Ticket.DoesNotExist:
                messages.error(request, "No ticket with this id.")
            except log_jobs.AttachError as exc:
                messages.error(request, f"Not done: {exc}.")
            else:
                messages.success(request, f"The analysis is now the RCA of {ticket_id}.")
                return redirect("dashboard-ticket", ticket_id=ticket_id)
    else:
        messages.error(request, "Unknown action.")
    return redirect("dashboard-log-analysis", job_id=job.pk)


@with_csp
@require_POST
@role_required(VIEWER)
def analyse_ticket_log(request: AuthenticatedHttpRequest, ticket_id: str) -> HttpResponse:
    """ "Analyse the run's log" on a ticket page."""
    ticket = Ticket.objects.defer("embedding").filter(pk=ticket_id).first()
    if ticket is None:
        raise Http404("No such ticket.")
    try:
        job = log_jobs.create_job_for_ticket(request.user, ticket)
    except log_jobs.LogJobError as exc:
        messages.error(request, f"Not done: {exc}.")
        return redirect("dashboard-ticket", ticket_id=ticket_id)
    except KombuError:
        messages.error(request, "The analysis queue is unavailable; try again shortly.")
        return redirect("dashboard-ticket", ticket_id=ticket_id)
    return redirect("dashboard-log-analysis", job_id=job.pk)
