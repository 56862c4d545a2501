# Webhook deliveries become record links (docs/adr/0015-record-links.md): the record's module, taken for
# existing rows from the event name (`<module>.<event>`, the only form deliveries are written with), and
# the (module, record_id) index. Expand only: a column with a default, filled, then an index.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("installs", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="module",
            field=models.CharField(default="", max_length=50),
            preserve_default=False,
        ),
        migrations.RunSQL(
            "UPDATE installs_webhookdelivery SET module = left(split_part(event, '.', 1), 50) WHERE module = ''",
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(fields=["module", "record_id"], name="webhookdelivery_record"),
        ),
    ]
