from django.db import migrations


def create(apps, schema_editor):
    from crm_apps.automation.system import system_workflows_create

    system_workflows_create(apps.get_model("automation", "Workflow"), apps.get_model("automation", "WorkflowVersion"))


class Migration(migrations.Migration):
    dependencies = [("automation", "0001_initial")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]
