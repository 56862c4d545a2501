"""Daily schedules keep the clock they had: `daily_at` used to run in the workflow owner's time zone and
now runs in the workspace's (UTC for every workspace that existed before the setting). Every existing
version whose schedule has `daily_at` and no "timezone" gets the owner's zone written into its trigger,
when that zone is a valid one other than UTC (the old code fell back to UTC otherwise)."""

import zoneinfo

from django.db import migrations


def daily_schedules_pin_owner_zone(Workflow, WorkflowVersion) -> int:
    """Write the owner's zone into each affected version's trigger; the number of versions changed."""
    changed = 0
    workflows = Workflow.objects.filter(owner__isnull=False).select_related("owner")
    zones = {w.pk: w.owner.timezone for w in workflows}
    for version in WorkflowVersion.objects.filter(workflow_id__in=list(zones)).order_by("pk"):
        definition = version.definition
        trigger = definition.get("trigger") if isinstance(definition, dict) else None
        if not isinstance(trigger, dict) or trigger.get("type") != "schedule" or not trigger.get("daily_at"):
            continue
        if trigger.get("timezone") or trigger.get("every_minutes"):
            continue  # its own zone already; or every_minutes, which the old code ran first, on UTC
        name = zones[version.workflow_id]
        try:
            zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            continue  # the old code ran it on UTC
        if name in ("UTC", "Etc/UTC", "Etc/UCT", "UCT", "Etc/Universal", "Universal", "Etc/Zulu", "Zulu"):
            continue
        trigger["timezone"] = name
        WorkflowVersion.objects.filter(pk=version.pk).update(definition=definition)
        changed += 1
    return changed


def forward(apps, schema_editor):
    daily_schedules_pin_owner_zone(
        apps.get_model("automation", "Workflow"), apps.get_model("automation", "WorkflowVersion")
    )


class Migration(migrations.Migration):
    dependencies = [("automation", "0006_shipped_quote_discount_example"), ("access", "0012_sessions")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
