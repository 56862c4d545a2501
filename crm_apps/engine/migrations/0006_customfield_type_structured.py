# Issue 24 (h24): the "structured" custom field type (parts declared in options; an installed app's field
# type). Only the field's choices change: no SQL runs.

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("engine", "0005_timeline_app"),
    ]

    operations = [
        migrations.AlterField(
            model_name="customfield",
            name="type",
            field=models.CharField(
                choices=[
                    ("text", "Text"),
                    ("textarea", "Text area"),
                    ("integer", "Integer"),
                    ("decimal", "Decimal"),
                    ("currency", "Currency"),
                    ("percent", "Percent"),
                    ("date", "Date"),
                    ("datetime", "Date and time"),
                    ("checkbox", "Checkbox"),
                    ("email", "Email"),
                    ("phone", "Phone"),
                    ("url", "URL"),
                    ("picklist", "Picklist"),
                    ("multipicklist", "Multi-select picklist"),
                    ("member", "Member reference"),
                    ("record", "Record reference"),
                    ("structured", "Structured value"),
                ],
                max_length=20,
                verbose_name="type",
            ),
        ),
    ]
