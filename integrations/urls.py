from django.urls import path

from integrations import views

SOURCES = ("azure-monitor", "adf", "databricks", "airflow")

urlpatterns = [
    path(
        f"webhooks/{source}/",
        views.receive_failure_webhook,
        {"source": source},
        name=f"webhook-{source}",
    )
    for source in SOURCES
] + [
    path("webhooks/jira/", views.receive_jira_webhook, name="webhook-jira"),
    path("webhooks/slack/actions/", views.receive_slack_action, name="webhook-slack-actions"),
    path("tickets/<str:ticket_id>/evidence/<path:name>", views.evidence_link, name="evidence"),
    # Paths of the product this replaces, so existing action groups and DAGs keep working.
    path("azure-monitor", views.receive_failure_webhook, {"source": "azure-monitor"}),
    path("databricks-monitor", views.receive_failure_webhook, {"source": "databricks"}),
    path("airflow-monitor", views.receive_failure_webhook, {"source": "airflow"}),
    path("jira-webhook", views.receive_jira_webhook),
]
