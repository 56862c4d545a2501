"""Publication per section and field, the service contracts section under its module's key (replaces the tickets-only `ticket_fields` and the `show_faq` flag,
which the sections list already said), and the portal's own logo."""

from django.db import migrations, models

import crm_apps.portal.models


def forward(apps, schema_editor):  # type: ignore[no-untyped-def]
    PortalSettings = apps.get_model("portal", "PortalSettings")
    for row in PortalSettings.objects.all():
        published = crm_apps.portal.models.default_published()
        published["tickets"] = [
            f for f in crm_apps.portal.models.PUBLISHABLE["tickets"] if f in (row.ticket_fields or [])
        ]
        # The service contracts module's key is "service-contracts" (the section was named without the dash).
        sections = ["service-contracts" if s == "servicecontracts" else s for s in row.sections or []]
        if not row.show_faq and "faq" in sections:
            sections.remove("faq")
        PortalSettings.objects.filter(pk=row.pk).update(published_fields=published, sections=sections)


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="portalsettings",
            name="published_fields",
            field=models.JSONField(blank=True, default=crm_apps.portal.models.default_published),
        ),
        migrations.AddField(
            model_name="portalsettings", name="logo_storage_name", field=models.CharField(blank=True, max_length=200)
        ),
        migrations.AddField(
            model_name="portalsettings", name="logo_content_type", field=models.CharField(blank=True, max_length=100)
        ),
        migrations.AddField(model_name="portalsettings", name="logo_size", field=models.PositiveIntegerField(default=0)),
        migrations.RunPython(forward, migrations.RunPython.noop),
        migrations.RemoveField(model_name="portalsettings", name="ticket_fields"),
        migrations.RemoveField(model_name="portalsettings", name="show_faq"),
    ]
