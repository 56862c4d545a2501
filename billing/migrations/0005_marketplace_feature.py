"""Every existing plan entitles to the marketplace (installing extensions); operators may take it away."""

from django.db import migrations

FEATURE = "marketplace"


def add_feature(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in Plan.objects.all():
        if FEATURE not in (plan.features or []):
            plan.features = [*(plan.features or []), FEATURE]
            plan.save(update_fields=["features"])


def remove_feature(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in Plan.objects.all():
        if FEATURE in (plan.features or []):
            plan.features = [f for f in plan.features if f != FEATURE]
            plan.save(update_fields=["features"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0004_custom_fields_feature")]

    operations = [migrations.RunPython(add_feature, remove_feature)]
