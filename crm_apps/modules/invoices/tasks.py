"""Beat tasks of the invoices: recurring invoices (hourly) and the overdue check (daily), each fanned out
to every tenant and run inside its schema."""

from __future__ import annotations

import datetime as dt

from saas.celery import app
from tenants.models import Tenant
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="invoices.recurring_generate_task")
def recurring_generate_task(today: str | None = None) -> int:
    from crm_apps.modules.invoices.services import recurring_invoices_generate

    return recurring_invoices_generate(today=dt.date.fromisoformat(today) if today else None)


@app.task(base=TenantOnlyTask, name="invoices.overdue_mark_task")
def overdue_mark_task(today: str | None = None) -> int:
    from crm_apps.modules.invoices.services import invoices_overdue_mark

    return invoices_overdue_mark(today=dt.date.fromisoformat(today) if today else None)


@app.task(name="invoices.recurring_generate_all_task")
def recurring_generate_all_task() -> int:
    count = 0
    for schema_name in Tenant.objects.values_list("schema_name", flat=True):
        recurring_generate_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count


@app.task(name="invoices.overdue_mark_all_task")
def overdue_mark_all_task() -> int:
    count = 0
    for schema_name in Tenant.objects.values_list("schema_name", flat=True):
        overdue_mark_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count
