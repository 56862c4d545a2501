"""A real Celery worker process on the real broker runs tenant tasks inside the sender's schema."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
import uuid

import pytest
from django_tenants.utils import tenant_context

from conftest import make_user
from crm_apps.access.services import member_create
from saas.celery import app
from tenants.models import WorkspaceMembership
from tenants.services import tenant_provision
from tests.integration.helpers import child_env

pytestmark = pytest.mark.slow


@pytest.fixture
def worker_queue():
    queue = f"test-{uuid.uuid4().hex[:8]}"
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
        env=child_env(),
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


def wait_for(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_worker_runs_task_in_sender_tenant_only(committed, worker_queue):
    from crm_apps.access.tasks import member_directory_sync_task

    queue, proc = worker_queue
    tenants = {}
    for key in ("a", "b"):
        admin = make_user(committed.email())
        tenants[key] = tenant_provision(slug=committed.slug(f"w{key}"), name=f"Worker {key}", admin=admin)
        with tenant_context(tenants[key]):
            for _ in range(2):
                member_create(tenant=tenants[key], user=make_user(committed.email()))
    WorkspaceMembership.objects.filter(tenant__in=tenants.values()).delete()

    with tenant_context(tenants["a"]):
        member_directory_sync_task.apply_async(queue=queue)

    done = wait_for(lambda: WorkspaceMembership.objects.filter(tenant=tenants["a"]).count() == 3)
    if not done:
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
        pytest.fail(f"worker did not run the task:\n{output[-4000:]}")
    time.sleep(0.5)
    assert WorkspaceMembership.objects.filter(tenant=tenants["b"]).count() == 0


def test_worker_refuses_a_tenant_task_sent_without_a_tenant(committed, worker_queue):
    from crm_apps.access.tasks import member_directory_sync_task

    queue, proc = worker_queue
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    member_directory_sync_task.apply_async(queue=queue)
    # A loaded machine may need many seconds to start the worker: wait for the refusal, not a fixed time.
    refused = wait_for(lambda: any("needs a tenant and was sent without one" in line for line in lines), timeout=60)
    proc.terminate()
    reader.join(timeout=20)

    assert refused, "".join(lines)[-4000:]
