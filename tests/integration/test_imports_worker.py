"""A real Celery worker runs an import and its undo in the sender's tenant, with the file in that tenant's
storage, and reports progress through the cache the web process reads."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid

import pytest
from django_tenants.utils import tenant_context

from conftest import make_user
from crm_apps.access.models import Member
from crm_apps.imports import services
from crm_apps.imports.models import ImportJob
from saas.celery import app
from tenants.services import tenant_provision
from tests.integration.helpers import child_env

pytestmark = pytest.mark.slow


@pytest.fixture
def import_worker():
    """A worker on its own queue with the test settings (same cache prefix and storage as this process);
    the imports app's tasks are sent to that queue."""
    queue = f"test-imports-{uuid.uuid4().hex[:8]}"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "saas",
            "worker",
            "--pool",
            "solo",
            "-Q",
            queue,
            "--without-mingle",
            "--without-gossip",
            "--loglevel",
            "INFO",
        ],
        env=child_env(DJANGO_SETTINGS_MODULE="saas.settings.test"),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield queue, proc
    finally:
        app.conf.task_always_eager = previous
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def route_to(monkeypatch, queue: str) -> None:
    from crm_apps.imports import tasks

    def send(job, task_name):
        task = getattr(tasks, task_name)
        from django.db import transaction

        transaction.on_commit(lambda: task.apply_async(args=(job.pk,), queue=queue))

    monkeypatch.setattr(services, "_queue", send)


def wait_for(predicate, timeout=120.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_a_real_worker_runs_an_import_and_its_undo(committed, import_worker, monkeypatch):
    queue, proc = import_worker
    route_to(monkeypatch, queue)
    admin_user = make_user(committed.email())
    tenant = tenant_provision(slug=committed.slug("imw"), name="Import Worker", admin=admin_user)
    rows = "\r\n".join(f"Ann{i},Lee{i},ann{i}@example.com" for i in range(3000))
    body = f"First name,Last name,Email\r\n{rows}\r\n".encode()
    with tenant_context(tenant):
        admin = Member.objects.get(user=admin_user)
        job = services.import_upload(actor=admin, module="contacts", file_name="w.csv", content=body)
        services.import_configure(actor=admin, job=job, columns=job.mapping, dedupe_fields=["email"])
        services.import_start(actor=admin, job=job)  # autocommit: sent at once

        def finished(status):
            return lambda: ImportJob.objects.get(pk=job.pk).status == status

        if not wait_for(finished(ImportJob.Status.DONE)):
            proc.terminate()
            pytest.fail(f"worker did not finish the import:\n{proc.communicate(timeout=20)[0][-4000:]}")
        job.refresh_from_db()
        assert (job.created, job.failed) == (3000, 0)
        assert services.progress_get(job)["done"] == 3000  # written by the worker, read here
        from crm_apps.modules.contacts.models import Contact

        assert Contact.objects.filter(deleted_at__isnull=True).count() == 3000
        services.import_undo_start(actor=admin, job=job)
        assert wait_for(finished(ImportJob.Status.UNDONE))
        assert Contact.objects.filter(deleted_at__isnull=True).count() == 0
