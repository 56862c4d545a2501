"""Celery entry points of the tenancy layer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from tenant_schemas_celery.task import TenantTask

from saas.celery import app
from tenants.pool import tenant_pool_fill
from tenants.runtime import in_public_schema
from tenants.services import login_handovers_purge


class TenantOnlyTask(TenantTask):
    """Base for tasks that touch tenant data: refuses to run in the `public` schema."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if in_public_schema():
            raise RuntimeError(f"Task {self.name} needs a tenant and was sent without one.")
        return super().__call__(*args, **kwargs)


@app.task(name="tenants.tasks.mail_send_task", autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def mail_send_task(to: list[str], subject: str, body: str) -> int:
    """Send one already-rendered plain-text email."""
    return send_mail(subject, body, None, to)


@app.task(name="tenants.tasks.login_handovers_purge_task")
def login_handovers_purge_task() -> int:
    return login_handovers_purge()


@app.task(name="tenants.tasks.tenant_pool_fill_task")
def tenant_pool_fill_task() -> int | None:
    """Beat (every minute) and every claim: keep TENANT_POOL_SIZE ready schemas (no-op when it is 0)."""
    if settings.TENANT_POOL_SIZE <= 0:
        return 0
    return tenant_pool_fill(target=settings.TENANT_POOL_SIZE)


@app.task(name="tenants.tasks.tenant_backup_task")
def tenant_backup_task(job_id: int) -> str:
    """Operator console: write the archive of a queued backup (runs in `public`; progress on the job row)."""
    from tenants.backup import backup_job_run

    return str(backup_job_run(job_id=job_id).status)


@app.task(name="tenants.tasks.tenant_restore_task")
def tenant_restore_task(job_id: int) -> str:
    """Operator console: run a queued restore of an uploaded archive (runs in `public`)."""
    from tenants.backup import restore_job_run

    return str(restore_job_run(job_id=job_id).status)
