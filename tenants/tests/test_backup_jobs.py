"""Operator backup/restore jobs run once, even when their Celery task is delivered twice (acks late,
a worker lost and the message redelivered) and two workers read the queued job at the same moment."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from tenants import backup
from tenants.models import BackupKind, BackupStatus, Tenant, TenantBackup

pytestmark = pytest.mark.django_db


class StaleRead:
    """What a second worker saw: the job as it was queued, read just before the first worker claimed it."""

    def __init__(self, job: TenantBackup) -> None:
        self.job = job

    def get(self, **kwargs: Any) -> TenantBackup:
        return self.job

    def select_related(self, *args: Any) -> StaleRead:
        return self


def claimed_meanwhile(monkeypatch: pytest.MonkeyPatch, job: TenantBackup) -> Any:
    """Read the queued job, then let another worker claim it before this one acts on what it read."""
    stale = TenantBackup.objects.get(pk=job.pk)
    started = timezone.now() - timedelta(minutes=1)
    TenantBackup.objects.filter(pk=job.pk).update(status=BackupStatus.RUNNING, started_at=started)
    reads = StaleRead(stale)
    monkeypatch.setattr(TenantBackup.objects, "get", reads.get)
    monkeypatch.setattr(TenantBackup.objects, "select_related", reads.select_related)
    return started


def test_a_restore_claimed_by_another_worker_is_not_run_a_second_time(monkeypatch, settings, tmp_path):
    # Given a queued restore that another worker claimed right after this one read it
    settings.TENANT_BACKUP_ROOT = str(tmp_path)
    job = TenantBackup.objects.create(
        kind=BackupKind.RESTORE_OVER, schema_name="alpha", archive="uploads/x.tar.gz", details={"overwrite": True}
    )
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(backup, "tenant_restore_run", lambda **kwargs: runs.append(kwargs))
    started = claimed_meanwhile(monkeypatch, job)

    # When this worker runs it
    backup.restore_job_run(job_id=job.pk)

    # Then it restores nothing and leaves the other worker's job as it is
    monkeypatch.undo()
    assert runs == []
    job.refresh_from_db()
    assert (job.status, job.started_at, job.error) == (BackupStatus.RUNNING, started, "")


def test_a_backup_claimed_by_another_worker_is_not_run_a_second_time(monkeypatch, settings, tmp_path):
    settings.TENANT_BACKUP_ROOT = str(tmp_path)
    tenant = Tenant.objects.get(schema_name="alpha")
    job = TenantBackup.objects.create(kind=BackupKind.BACKUP, tenant=tenant, schema_name="alpha")
    runs: list[dict[str, Any]] = []
    monkeypatch.setattr(backup, "tenant_backup_write", lambda **kwargs: runs.append(kwargs))
    started = claimed_meanwhile(monkeypatch, job)

    backup.backup_job_run(job_id=job.pk)

    monkeypatch.undo()
    assert runs == []
    job.refresh_from_db()
    assert (job.status, job.started_at, job.error) == (BackupStatus.RUNNING, started, "")


def test_a_queued_restore_is_claimed_and_run(monkeypatch, settings, tmp_path):
    # Given a queued restore whose archive is refused
    settings.TENANT_BACKUP_ROOT = str(tmp_path)
    job = TenantBackup.objects.create(
        kind=BackupKind.RESTORE_NEW, schema_name="copy", archive="uploads/x.tar.gz", details={"as_new": "copy"}
    )

    def refuse(**kwargs: Any) -> None:
        raise backup.BackupRefused("refused for the test")

    monkeypatch.setattr(backup, "tenant_restore_run", refuse)

    # When it runs
    result = backup.restore_job_run(job_id=job.pk)

    # Then it ran once and recorded the refusal
    assert (result.status, result.error) == (BackupStatus.FAILED, "refused for the test")
    assert result.started_at is not None
