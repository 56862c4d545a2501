from django.db import migrations


def create(apps, schema_editor):
    from crm_apps.automation.approvals import shipped_quote_example_create

    shipped_quote_example_create(
        apps.get_model("automation", "ApprovalProcess"),
        apps.get_model("automation", "Workflow"),
        apps.get_model("automation", "WorkflowVersion"),
    )


class Migration(migrations.Migration):
    dependencies = [("automation", "0005_delivery_response_body")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
