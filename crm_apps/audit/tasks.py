"""Scheduled work of the audit trail: delete events older than each tenant's retention."""

from __future__ import annotations

from crm_apps.audit.services import audit_events_purge_expired
from saas.celery import app
from tenants.models import Tenant
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="audit.events_purge_task")
def audit_events_purge_task() -> int:
    """Purge this tenant's audit events that are older than its retention."""
    return audit_events_purge_expired()


@app.task(name="audit.events_purge_all_task")
def audit_events_purge_all_task() -> int:
    """Fan the purge out to every tenant, each in its own schema."""
    count = 0
    for schema_name in Tenant.objects.values_list("schema_name", flat=True):
        audit_events_purge_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count
