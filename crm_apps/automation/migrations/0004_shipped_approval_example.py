from django.db import migrations


def create(apps, schema_editor):
    from crm_apps.automation.approvals import shipped_example_create

    shipped_example_create(
        apps.get_model("automation", "ApprovalProcess"),
        apps.get_model("automation", "Workflow"),
        apps.get_model("automation", "WorkflowVersion"),
    )


class Migration(migrations.Migration):
    dependencies = [("automation", "0003_approvals")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
