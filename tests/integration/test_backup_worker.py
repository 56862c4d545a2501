"""A real Celery worker process runs a queued tenant backup and reports its progress on the job row."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from conftest import make_user
from saas.celery import app
from tenants.backup import backup_job_create
from tenants.models import TenantBackup
from tenants.services import tenant_provision
from tenants.tasks import tenant_backup_task
from tests.integration.helpers import child_env

pytestmark = pytest.mark.slow


def test_worker_writes_the_archive_of_a_queued_backup(committed, media_root, settings, tmp_path_factory):
    backups = tmp_path_factory.mktemp("backups")  # beside MEDIA_ROOT, never inside it
    settings.TENANT_BACKUP_ROOT = str(backups)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    command = [sys.executable, "-m", "celery", "-A", "saas", "worker", "--pool", "solo", "-Q", queue]
    command.extend(["--without-mingle", "--without-gossip", "--loglevel", "INFO"])
    worker = subprocess.Popen(
        command,
        env=child_env(TENANT_BACKUP_ROOT=str(backups), MEDIA_ROOT=str(media_root)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        tenant = tenant_provision(slug=committed.slug("wb"), name="Worker Backup", admin=make_user(committed.email()))
        job = backup_job_create(actor=None, tenant=tenant, reason="worker test")

        tenant_backup_task.apply_async(args=[job.pk], queue=queue, headers={"_schema_name": "public"})

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            job.refresh_from_db()
            if job.status in ("done", "failed"):
                break
            time.sleep(0.5)
    finally:
        app.conf.task_always_eager = previous
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()

    assert (job.status, job.progress, job.error) == ("done", 100, "")
    archive = backups / job.archive
    assert archive.is_file() and archive.stat().st_size == job.size
    assert not Path(job.archive).is_absolute() and not str(archive).startswith(str(media_root))
    assert job.details["tables"] > 30
    TenantBackup.objects.filter(pk=job.pk).delete()
