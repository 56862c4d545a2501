"""Custom fields become a feature code plans entitle to (enforced from now on). Every default plan
gets it, so no existing workspace loses a custom field it uses; operators may take it off a plan."""

from django.db import migrations

FEATURE = "custom_fields"
DEFAULT_PLANS = ("starter", "business", "enterprise")


def add_feature(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in Plan.objects.filter(code__in=DEFAULT_PLANS):
        features = list(plan.features or [])
        if FEATURE not in features:
            features.append(FEATURE)
            plan.features = features
            plan.save(update_fields=["features"])


def remove_feature(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    for plan in Plan.objects.filter(code__in=DEFAULT_PLANS):
        plan.features = [f for f in (plan.features or []) if f != FEATURE]
        plan.save(update_fields=["features"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0003_dunning_history_notices")]

    operations = [migrations.RunPython(add_feature, remove_feature)]
