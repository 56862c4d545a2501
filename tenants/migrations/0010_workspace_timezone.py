from django.db import migrations, models

import tenants.models


class Migration(migrations.Migration):
    dependencies = [
        ("tenants", "0009_session_idle"),
    ]

    operations = [
        migrations.AddField(
            model_name="tenant",
            name="timezone",
            field=models.CharField(
                default="UTC",
                max_length=64,
                validators=[tenants.models.validate_timezone_name],
                verbose_name="time zone",
            ),
        ),
    ]
