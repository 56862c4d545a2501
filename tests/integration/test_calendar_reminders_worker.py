"""A real Celery worker delivers a reminder exactly once, even when the scan runs several times at once
and after the worker restarts (the claim is a unique row in the tenant's database)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from conftest import make_user
from crm_apps.access.models import Member
from saas.celery import app
from tenants.services import tenant_provision
from tests.integration.helpers import child_env

pytestmark = pytest.mark.slow


def start_worker(queue: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "saas",
            "worker",
            "--pool",
            "prefork",
            "-c",
            "2",
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


def stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    try:
        return proc.communicate(timeout=30)[0]
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.communicate()[0]


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.3)
    return False


def test_reminder_is_delivered_exactly_once_by_real_workers(committed):
    from crm_apps.modules.calendar.models import ReminderDelivery
    from crm_apps.modules.calendar.services import event_create
    from crm_apps.modules.calendar.tasks import reminders_send_task

    admin_user = make_user(committed.email())
    tenant = tenant_provision(slug=committed.slug("rem"), name="Reminders", admin=admin_user)
    start = dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)
    with tenant_context(tenant):
        admin = Member.objects.get(user=admin_user)
        event = event_create(
            actor=admin,
            data={"subject": "Pitch", "start": start.isoformat(), "end": (start + dt.timedelta(hours=1)).isoformat()},
            reminders=[15],
        )
    due = (start - dt.timedelta(minutes=15)).isoformat()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    proc = start_worker(queue)
    try:
        with tenant_context(tenant):
            for _ in range(4):  # four scans at the same moment, on two worker processes
                reminders_send_task.apply_async(args=(due,), queue=queue)

        def delivered() -> int:
            with tenant_context(tenant):
                return ReminderDelivery.objects.filter(event=event).count()

        if not wait_for(lambda: delivered() >= 1):
            pytest.fail("no reminder delivered:\n" + stop(proc)[-4000:])
        time.sleep(3)  # let the other three scans finish
        output = stop(proc)
        assert output.count("calendar.reminders_send_task") >= 4, output[-4000:]
        assert delivered() == 1

        # A restarted worker scanning the same moment again sends nothing more.
        proc = start_worker(queue)
        with tenant_context(tenant):
            reminders_send_task.apply_async(args=(due,), queue=queue)
        lines: list[str] = []

        def ran() -> bool:
            line = proc.stdout.readline() if proc.stdout else ""
            lines.append(line)
            return "calendar.reminders_send_task" in line and "succeeded" in line

        assert wait_for(ran, timeout=90), "".join(lines)[-4000:]
        stop(proc)
        assert delivered() == 1
        with tenant_context(tenant):
            row = ReminderDelivery.objects.get(event=event)
        assert (row.occurrence_start, row.minutes_before, row.member_id) == (start, 15, admin.pk)
    finally:
        app.conf.task_always_eager = previous
        if proc.poll() is None:
            stop(proc)
        # The reminder emails were queued for the default queue, which no test worker consumes.
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")
