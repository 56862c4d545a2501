"""Scheduled reports: every minute, each tenant fires its due schedules (crm_apps/reports/schedules.py)."""

from __future__ import annotations

from crm_apps.reports.schedules import schedules_run
from saas.celery import app
from tenants.models import Tenant
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="reports.schedules_run_task")
def schedules_run_task() -> int:
    return schedules_run()


@app.task(name="reports.schedules_run_all_task")
def schedules_run_all_task() -> int:
    """Fan out to every tenant, each in its own schema."""
    count = 0
    for schema_name in Tenant.objects.values_list("schema_name", flat=True):
        schedules_run_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count
