# Module keys have one length everywhere (saas.fields.ModuleKeyField): widen only, no data changes.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only")]

    operations = [
        migrations.AlterField(
            model_name="auditevent",
            name="module",
            field=models.CharField(blank=True, max_length=50, verbose_name="module"),
        ),
    ]
