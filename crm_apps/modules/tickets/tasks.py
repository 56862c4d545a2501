"""Beat tasks of the tickets: the SLA check (every five minutes) and the service contracts' expiry check
(daily), fanned out to every tenant."""

from __future__ import annotations

from saas.celery import app
from tenants.models import Tenant
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="tickets.sla_escalate_task")
def sla_escalate_task() -> int:
    from crm_apps.modules.tickets.services import tickets_sla_escalate

    return tickets_sla_escalate()


@app.task(name="tickets.sla_escalate_all_task")
def sla_escalate_all_task() -> int:
    count = 0
    for schema_name in Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        sla_escalate_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count


@app.task(base=TenantOnlyTask, name="tickets.contracts_expiry_task")
def contracts_expiry_task() -> int:
    from crm_apps.modules.servicecontracts.services import contracts_expiry_refresh

    return contracts_expiry_refresh()


@app.task(name="tickets.contracts_expiry_all_task")
def contracts_expiry_all_task() -> int:
    count = 0
    for schema_name in Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        contracts_expiry_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count
