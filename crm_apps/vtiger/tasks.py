"""Background migration runs (started from the tenant admin's settings)."""

from __future__ import annotations

from crm_apps.vtiger.migration import import_run_execute
from saas.celery import app
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="vtiger.import_run_task")
def import_run_task(run_id: int) -> str:
    """Run one queued vtiger migration in this tenant."""
    return str(import_run_execute(run_id=run_id).status)
