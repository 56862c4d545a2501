"""An explicit audience for shared reports and folders ("everyone" or "listed"). Before it, a shared report or
folder with no member, role or group listed was shared with everyone, so deleting the only role or group it
was shared with silently shared it with everyone. Existing rows keep their behaviour: those with nothing
listed become "everyone", the others "listed"."""

from django.db import migrations, models


def audience_from_lists(apps, schema_editor):
    for name in ("Report", "ReportFolder"):
        model = apps.get_model("reports", name)
        model.objects.filter(
            shared_members__isnull=True, shared_roles__isnull=True, shared_groups__isnull=True
        ).update(audience="everyone")


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0003_folder_sharing"),
    ]

    operations = [
        migrations.AddField(
            model_name="report",
            name="audience",
            field=models.CharField(
                choices=[("everyone", "Everyone"), ("listed", "The chosen members, roles and groups")],
                default="listed",
                max_length=10,
                verbose_name="shared with",
            ),
        ),
        migrations.AddField(
            model_name="reportfolder",
            name="audience",
            field=models.CharField(
                choices=[("everyone", "Everyone"), ("listed", "The chosen members, roles and groups")],
                default="listed",
                max_length=10,
                verbose_name="shared with",
            ),
        ),
        migrations.RunPython(audience_from_lists, migrations.RunPython.noop),
    ]
