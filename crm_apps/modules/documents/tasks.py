"""Scheduled work of documents: remove stored files that no document version refers to any more."""

from __future__ import annotations

from crm_apps.modules.documents.services import document_files_sweep
from saas.celery import app
from tenants.models import Tenant
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="documents.files_sweep_task")
def files_sweep_task() -> int:
    """Sweep this tenant's unreferenced document files."""
    return document_files_sweep()


@app.task(name="documents.files_sweep_all_task")
def files_sweep_all_task() -> int:
    """Fan the sweep out to every tenant, each in its own schema."""
    count = 0
    for schema_name in Tenant.objects.values_list("schema_name", flat=True):
        files_sweep_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count
