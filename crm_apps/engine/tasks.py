"""Scheduled work of the engine: empty recycle bins of records deleted more than 30 days ago; write the
recently-viewed marks waiting in Redis."""

from __future__ import annotations

from crm_apps.engine.services import records_purge_deleted
from saas.celery import app
from tenants.models import Tenant
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="engine.records_purge_task")
def records_purge_task() -> dict[str, int]:
    """Purge this tenant's records that have been in the recycle bin for more than 30 days."""
    return records_purge_deleted()


@app.task(name="engine.records_purge_all_task")
def records_purge_all_task() -> int:
    """Fan the purge out to every tenant, each in its own schema."""
    count = 0
    for schema_name in Tenant.objects.values_list("schema_name", flat=True):
        records_purge_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count


@app.task(name="engine.recent_views_flush_task")
def recent_views_flush_task() -> int:
    """Write the recently-viewed marks waiting in Redis to the database (every tenant; ADR 0047)."""
    from crm_apps.engine.recent_views import recent_views_flush

    written = 0
    for _round in range(20):  # up to 20 x FLUSH_BATCH members a run; the rest wait for the next minute
        done = recent_views_flush()
        written += done
        if not done:
            break
    return written
