# Record links (docs/adr/0015-record-links.md): module keys get their one length (widen only: existing
# keys are at most 40 characters, varchar growth rewrites nothing) and every link table gets an index
# led by (module, record_id); timeline entries and comments already have one.

from django.db import migrations, models


def _key() -> models.CharField:
    return models.CharField(max_length=50)


class Migration(migrations.Migration):
    dependencies = [("engine", "0001_initial")]

    operations = [
        migrations.AlterField(model_name="comment", name="module", field=_key()),
        migrations.AlterField(model_name="customfield", name="module", field=_key()),
        migrations.AlterField(model_name="follow", name="module", field=_key()),
        migrations.AlterField(
            model_name="layoutoverride", name="module", field=models.CharField(max_length=50, unique=True)
        ),
        migrations.AlterField(
            model_name="numberingsequence",
            name="module",
            field=models.CharField(max_length=50, primary_key=True, serialize=False),
        ),
        migrations.AlterField(model_name="recentview", name="module", field=_key()),
        migrations.AlterField(model_name="savedview", name="module", field=_key()),
        migrations.AlterField(model_name="timelineentry", name="module", field=_key()),
        migrations.AddIndex(
            model_name="follow", index=models.Index(fields=["module", "record_id"], name="follow_record")
        ),
        migrations.AddIndex(
            model_name="recentview", index=models.Index(fields=["module", "record_id"], name="recentview_record")
        ),
    ]
