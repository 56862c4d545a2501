from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("access", "0005_access_defaults")]

    operations = [
        migrations.RenameField("profilemodule", old, new)
        for old, new in (
            ("view", "can_view"),
            ("create", "can_create"),
            ("edit", "can_edit"),
            ("delete", "can_delete"),
        )
    ]
