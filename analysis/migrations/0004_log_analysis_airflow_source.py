"""A log-analysis job may read an Airflow task try's log through Airflow's REST API."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("analysis", "0003_log_analysis_permissions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="loganalysisjob",
            name="source",
            field=models.CharField(
                choices=[
                    ("upload", "Upload"),
                    ("url", "Url"),
                    ("blob", "Blob"),
                    ("databricks", "Databricks"),
                    ("airflow", "Airflow"),
                    ("ticket", "Ticket"),
                ],
                max_length=16,
            ),
        ),
    ]
