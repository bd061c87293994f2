"""Remediation policies refuse bad values (a bare string, an unknown class or source, a
confidence outside 0 to 1): validators only, the schema is unchanged."""

import django.core.validators
from django.db import migrations, models

import integrations.models


class Migration(migrations.Migration):
    dependencies = [
        ("integrations", "0028_redact_secrets_in_inbox_keys"),
    ]

    operations = [
        migrations.AlterField(
            model_name="remediationpolicy",
            name="approval_min_confidence",
            field=models.FloatField(
                default=0.6,
                validators=[
                    django.core.validators.MinValueValidator(
                        0.0, "A confidence is between 0 and 1 (0.8, not 80)."
                    ),
                    django.core.validators.MaxValueValidator(
                        1.0, "A confidence is between 0 and 1 (0.8, not 80)."
                    ),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="remediationpolicy",
            name="auto_min_confidence",
            field=models.FloatField(
                default=0.8,
                validators=[
                    django.core.validators.MinValueValidator(
                        0.0, "A confidence is between 0 and 1 (0.8, not 80)."
                    ),
                    django.core.validators.MaxValueValidator(
                        1.0, "A confidence is between 0 and 1 (0.8, not 80)."
                    ),
                ],
            ),
        ),
        migrations.AlterField(
            model_name="remediationpolicy",
            name="error_classes",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='Error classes it covers, a JSON list such as ["NetworkError"] (empty: any).',
                validators=[integrations.models.validate_error_classes],
            ),
        ),
        migrations.AlterField(
            model_name="remediationpolicy",
            name="signals",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='Words or phrases the error message must contain one of, case-insensitive, a JSON list such as ["connection reset"] (empty: any).',
                validators=[integrations.models.validate_signals],
            ),
        ),
        migrations.AlterField(
            model_name="remediationpolicy",
            name="sources",
            field=models.JSONField(
                blank=True,
                default=list,
                help_text='Sources, a JSON list such as ["adf"] (empty: any).',
                validators=[integrations.models.validate_sources],
            ),
        ),
    ]
