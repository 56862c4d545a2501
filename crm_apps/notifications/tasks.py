"""Scheduled work of the notification centre: the daily digests."""

from __future__ import annotations

from crm_apps.notifications.services import digests_send_due
from saas.celery import app
from tenants.models import Tenant
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="notifications.digests_send_task")
def digests_send_task() -> int:
    """Send this tenant's due daily digests (each member at most once per day, whoever runs it)."""
    return digests_send_due()


@app.task(name="notifications.digests_send_all_task")
def digests_send_all_task() -> int:
    """Fan the digests out to every tenant, each in its own schema (beat, hourly)."""
    count = 0
    for schema_name in Tenant.objects.values_list("schema_name", flat=True):
        digests_send_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count
