# Issue 24 (h24): the "api_call" action (every REST call of an OAuth app is audited). Choices only: no SQL.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0005_mfa_actions"),
    ]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="action",
            field=models.CharField(
                choices=[
                    ("login_succeeded", "Signed in"),
                    ("login_failed", "Failed sign-in"),
                    ("record_created", "Record created"),
                    ("record_updated", "Record changed"),
                    ("record_deleted", "Record deleted"),
                    ("record_restored", "Record restored"),
                    ("records_merged", "Records merged"),
                    ("export", "Export"),
                    ("permission_changed", "Permissions changed"),
                    ("settings_changed", "Settings changed"),
                    ("token_created", "API token created"),
                    ("token_revoked", "API token revoked"),
                    ("member_changed", "Member changed"),
                    ("import", "Import"),
                    ("import_undone", "Import undone"),
                    ("mfa_changed", "Two-factor settings changed"),
                    ("mfa_verified", "Second factor verified"),
                    ("mfa_failed", "Wrong second factor"),
                    ("api_call", "API call by an app"),
                ],
                max_length=32,
                verbose_name="action",
            ),
        ),
    ]
