from django.urls import path

from integrations import views
from tickets.vocabulary import Source

urlpatterns = [
    path(
        f"webhooks/{source}/",
        views.receive_failure_webhook,
        {"source": source},
        name=f"webhook-{source}",
    )
    for source in Source
] + [
    path("webhooks/jira/", views.receive_jira_webhook, name="webhook-jira"),
    path("webhooks/slack/actions/", views.receive_slack_action, name="webhook-slack-actions"),
    path(
        "webhooks/remediation/",
        views.receive_remediation_callback,
        name="webhook-remediation",
    ),
    path("tickets/<str:ticket_id>/evidence/<path:name>", views.evidence_link, name="evidence"),
    # Paths of the product this replaces, so existing action groups and DAGs keep working.
    path("azure-monitor", views.receive_failure_webhook, {"source": Source.AZURE_MONITOR}),
    path("databricks-monitor", views.receive_failure_webhook, {"source": Source.DATABRICKS}),
    path("airflow-monitor", views.receive_failure_webhook, {"source": Source.AIRFLOW}),
    path("jira-webhook", views.receive_jira_webhook),
    path("api/remediation-callback", views.receive_remediation_callback),
]
