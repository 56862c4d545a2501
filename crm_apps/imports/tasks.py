"""Background work of imports and exports: each task enters the sender's tenant and calls one service."""

from __future__ import annotations

from crm_apps.imports import exporting, services
from saas.celery import app
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="imports.import_dry_run_task")
def import_dry_run_task(job_id: int) -> str:
    return services.import_execute(job_id=job_id, dry_run=True).status


@app.task(base=TenantOnlyTask, name="imports.import_run_task")
def import_run_task(job_id: int) -> str:
    return services.import_execute(job_id=job_id, dry_run=False).status


@app.task(base=TenantOnlyTask, name="imports.import_undo_task")
def import_undo_task(job_id: int) -> str:
    return services.import_undo_execute(job_id=job_id).status


@app.task(base=TenantOnlyTask, name="imports.export_run_task")
def export_run_task(job_id: int) -> str:
    return exporting.export_execute(job_id=job_id).status
