from collections.abc import Callable

from django.http import HttpResponse
from django.urls import URLPattern, path

from integrations import views
from tickets.vocabulary import Source


def webhook(
    route: str, view: Callable[..., HttpResponse], name: str, **kwargs: str
) -> list[URLPattern]:
    """`route` with its trailing slash (named) and without: a sender configured without the
    slash would otherwise get a redirect, which HTTP clients follow with a GET and no body."""
    return [path(route, view, kwargs, name=name), path(route.rstrip("/"), view, kwargs)]


urlpatterns = [
    *(
        pattern
        for source in Source
        for pattern in webhook(
            f"webhooks/{source}/", views.receive_failure_webhook, f"webhook-{source}", source=source
        )
    ),
    *webhook("webhooks/jira/", views.receive_jira_webhook, "webhook-jira"),
    *webhook("webhooks/slack/actions/", views.receive_slack_action, "webhook-slack-actions"),
    *webhook("webhooks/remediation/", views.receive_remediation_callback, "webhook-remediation"),
    path("tickets/<str:ticket_id>/evidence/<path:name>", views.evidence_link, name="evidence"),
    # Paths of the product this replaces (with or without a trailing slash), so existing
    # action groups and DAGs keep working.
    *(
        pattern
        for route, view, kwargs in (
            ("azure-monitor", views.receive_failure_webhook, {"source": Source.AZURE_MONITOR}),
            ("databricks-monitor", views.receive_failure_webhook, {"source": Source.DATABRICKS}),
            ("airflow-monitor", views.receive_failure_webhook, {"source": Source.AIRFLOW}),
            ("jira-webhook", views.receive_jira_webhook, {}),
            ("api/remediation-callback", views.receive_remediation_callback, {}),
        )
        for pattern in (path(route, view, kwargs), path(f"{route}/", view, kwargs))
    ),
]
