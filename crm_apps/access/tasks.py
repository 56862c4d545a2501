"""Celery entry points for members. Tenant tasks enter the sender's schema (tenant-schemas-celery)."""

from __future__ import annotations

from crm_apps.access.services import member_directory_sync
from saas.celery import app
from tenants.models import Tenant
from tenants.runtime import current_tenant
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="access.member_directory_sync_task")
def member_directory_sync_task() -> dict[str, int]:
    """Repair the public workspace directory from this tenant's members."""
    return member_directory_sync(tenant=current_tenant())


@app.task(name="access.member_directory_sync_all_task")
def member_directory_sync_all_task() -> int:
    """Fan out the directory repair to every tenant, each in its own schema."""
    count = 0
    for schema_name in Tenant.objects.values_list("schema_name", flat=True):
        member_directory_sync_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count
