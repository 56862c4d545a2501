"""A real Celery worker delivers a task reminder exactly once, even when the scan runs several times at
once and after the worker restarts (the claim is a unique `TaskReminderDelivery` row)."""

from __future__ import annotations

import datetime as dt
import time
import uuid

import pytest
from django.conf import settings
from django_tenants.utils import tenant_context

from conftest import make_user
from crm_apps.access.models import Member
from saas.celery import app
from tenants.services import tenant_provision
from tests.integration.test_calendar_reminders_worker import start_worker, stop, wait_for

pytestmark = pytest.mark.slow


def test_task_reminder_is_delivered_exactly_once_by_real_workers(committed):
    from crm_apps.modules.calendar.models import TaskReminderDelivery
    from crm_apps.modules.calendar.services import task_create
    from crm_apps.modules.calendar.tasks import reminders_send_task

    admin_user = make_user(committed.email())
    tenant = tenant_provision(slug=committed.slug("trem"), name="Task reminders", admin=admin_user)
    due = dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)
    with tenant_context(tenant):
        admin = Member.objects.get(user=admin_user)
        Member.objects.filter(pk=admin.pk).update(timezone="UTC")
        admin.refresh_from_db()
        task = task_create(
            actor=admin,
            data={"subject": "Send the proposal", "due_date": "2027-03-01", "due_time": "10:00"},
            reminders=[30],
        )
    moment = (due - dt.timedelta(minutes=30)).isoformat()
    queue = f"test-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    proc = start_worker(queue)
    try:
        with tenant_context(tenant):
            for _ in range(4):  # four scans of the same moment on two worker processes
                reminders_send_task.apply_async(args=(moment,), queue=queue)

        def delivered() -> int:
            with tenant_context(tenant):
                return TaskReminderDelivery.objects.filter(task=task).count()

        if not wait_for(lambda: delivered() >= 1):
            pytest.fail("no task reminder delivered:\n" + stop(proc)[-4000:])
        time.sleep(3)
        output = stop(proc)
        assert output.count("calendar.reminders_send_task") >= 4, output[-4000:]
        assert delivered() == 1

        proc = start_worker(queue)
        with tenant_context(tenant):
            reminders_send_task.apply_async(args=(moment,), queue=queue)
        lines: list[str] = []

        def ran() -> bool:
            line = proc.stdout.readline() if proc.stdout else ""
            lines.append(line)
            return "calendar.reminders_send_task" in line and "succeeded" in line

        assert wait_for(ran, timeout=90), "".join(lines)[-4000:]
        stop(proc)
        assert delivered() == 1
        with tenant_context(tenant):
            row = TaskReminderDelivery.objects.get(task=task)
            from crm_apps.notifications.models import Notification

            assert Notification.objects.filter(recipient=admin, kind="reminder", module="tasks").count() == 1
        assert (row.due_at, row.minutes_before, row.member_id) == (due, 30, admin.pk)
    finally:
        app.conf.task_always_eager = previous
        if proc.poll() is None:
            stop(proc)
        import redis

        redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")
