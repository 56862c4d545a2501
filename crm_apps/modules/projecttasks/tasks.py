"""Beat task of the project tasks: moves older than the undo window are forgotten (daily, per tenant)."""

from __future__ import annotations

from saas.celery import app
from tenants.models import Tenant
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="projecttasks.moves_prune_task")
def moves_prune_task() -> int:
    from crm_apps.modules.projecttasks.services import task_moves_prune

    return task_moves_prune()


@app.task(name="projecttasks.moves_prune_all_task")
def moves_prune_all_task() -> int:
    count = 0
    for schema_name in Tenant.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        moves_prune_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count
