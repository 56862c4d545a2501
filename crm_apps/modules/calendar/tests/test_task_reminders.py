"""Task reminders: minutes before the due moment, exactly once, to the owner, re-planned when the due
time moves, never for completed, deferred or deleted tasks; settable through the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.services import record_delete
from crm_apps.modules.calendar.models import TaskReminder, TaskReminderDelivery
from crm_apps.modules.calendar.reminders import task_reminders_send_due
from crm_apps.modules.calendar.services import task_complete, task_create, task_update

pytestmark = pytest.mark.django_db

DUE = dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def admin(tenant_a, admin_of):
    member = admin_of(tenant_a)
    with tenant_context(tenant_a):
        Member.objects.filter(pk=member.pk).update(timezone="UTC")
        member.refresh_from_db()
    return member


def call_task(actor, *, due=DUE, reminders=(15, 60), **extra):
    return task_create(
        actor=actor,
        data={"subject": "Call Globex", "due_date": due.date().isoformat(), "due_time": due.strftime("%H:%M")},
        reminders=list(reminders),
        **extra,
    )


def test_task_reminders_fire_once_each_at_their_moment(tenant_a, admin, django_capture_on_commit_callbacks):
    with tenant_context(tenant_a):
        task = call_task(admin)
        assert list(task.reminders.values_list("minutes_before", flat=True)) == [15, 60]
        mail.outbox.clear()

        with django_capture_on_commit_callbacks(execute=True):
            counts = [
                task_reminders_send_due(now=DUE - dt.timedelta(minutes=61)),
                task_reminders_send_due(now=DUE - dt.timedelta(minutes=60)),
                task_reminders_send_due(now=DUE - dt.timedelta(minutes=59)),
                task_reminders_send_due(now=DUE - dt.timedelta(minutes=15)),
                task_reminders_send_due(now=DUE - dt.timedelta(minutes=10)),
            ]

        assert counts == [0, 1, 0, 1, 0]
        assert [m.to[0] for m in mail.outbox] == [admin.user.email] * 2
        assert mail.outbox[0].subject.startswith("Task due: Call Globex")
        rows = TaskReminderDelivery.objects.order_by("minutes_before")
        assert [(r.due_at, r.minutes_before, r.member_id) for r in rows] == [
            (DUE, 15, admin.pk),
            (DUE, 60, admin.pk),
        ]


def test_task_due_time_is_the_owners_local_time_and_date_only_tasks_count_from_nine(tenant_a, admin):
    with tenant_context(tenant_a):
        Member.objects.filter(pk=admin.pk).update(timezone="Europe/Berlin")
        admin.refresh_from_db()
        call_task(admin, reminders=[30])  # 10:00 Berlin = 09:00 UTC in winter
        task_create(actor=admin, data={"subject": "Renewal", "due_date": "2027-03-02"}, reminders=[0])

        assert task_reminders_send_due(now=dt.datetime(2027, 3, 1, 9, 30, tzinfo=dt.UTC)) == 0
        assert task_reminders_send_due(now=dt.datetime(2027, 3, 1, 8, 30, tzinfo=dt.UTC)) == 1
        # 2 March 09:00 Berlin is 08:00 UTC.
        assert task_reminders_send_due(now=dt.datetime(2027, 3, 2, 8, 0, tzinfo=dt.UTC)) == 1


def test_no_reminders_for_completed_deferred_or_deleted_tasks(tenant_a, admin):
    with tenant_context(tenant_a):
        done = call_task(admin, reminders=[15])
        task_complete(actor=admin, task=done)
        deferred = call_task(admin, reminders=[15])
        task_update(actor=admin, task=deferred, data={"status": "deferred"})
        deleted = call_task(admin, reminders=[15])
        record_delete(spec=registry.get("tasks"), actor=admin, record=deleted)

        assert task_reminders_send_due(now=DUE - dt.timedelta(minutes=15)) == 0
        assert TaskReminderDelivery.objects.count() == 0


def test_a_moved_due_time_replans_the_reminder(tenant_a, admin):
    with tenant_context(tenant_a):
        task = call_task(admin, reminders=[15])
        task_update(actor=admin, task=task, data={"due_time": "14:00"})
        later = DUE.replace(hour=14)

        assert task_reminders_send_due(now=DUE - dt.timedelta(minutes=15)) == 0
        assert task_reminders_send_due(now=later - dt.timedelta(minutes=15)) == 1
        # Moved again after it fired: the new moment reminds once more, the old one never again.
        task_update(actor=admin, task=task, data={"due_date": "2027-03-02"})
        assert task_reminders_send_due(now=later - dt.timedelta(minutes=15)) == 0
        assert task_reminders_send_due(now=later + dt.timedelta(days=1, minutes=-15)) == 1


def test_task_reminder_follows_the_members_choice(tenant_a, admin, django_capture_on_commit_callbacks):
    from crm_apps.notifications import kinds
    from crm_apps.notifications.models import Notification
    from crm_apps.notifications.services import preferences_set

    with tenant_context(tenant_a):
        preferences_set(member=admin, channels={kinds.REMINDER: kinds.INAPP})
        task = call_task(admin, reminders=[15])
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            assert task_reminders_send_due(now=DUE - dt.timedelta(minutes=15)) == 1

        note = Notification.objects.get(kind=kinds.REMINDER)
        assert (note.recipient_id, note.module, note.url) == (admin.pk, "tasks", f"/m/tasks/{task.pk}/")
        assert mail.outbox == []

        preferences_set(member=admin, channels={kinds.REMINDER: kinds.OFF})
        call_task(admin, due=DUE + dt.timedelta(hours=1), reminders=[15])
        assert task_reminders_send_due(now=DUE + dt.timedelta(minutes=45)) == 1  # claimed, nothing sent
        assert Notification.objects.filter(kind=kinds.REMINDER).count() == 1


def test_task_reminders_through_the_api(client_for, tenant_a, tenant_b, admin, admin_of):
    api = client_for(tenant_a, admin)
    created = api.post(
        "/api/v1/tasks/",
        {"subject": "Send proposal", "due_date": "2027-03-05", "due_time": "09:00", "reminders": [1440, 15, 15]},
        content_type="application/json",
    )
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["reminders"] == [15, 1440]

    changed = api.patch(f"/api/v1/tasks/{body['id']}/", {"reminders": [60]}, content_type="application/json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["reminders"] == [60]
    kept = api.patch(f"/api/v1/tasks/{body['id']}/", {"priority": "high"}, content_type="application/json")
    assert kept.json()["reminders"] == [60]

    bad = api.post(
        "/api/v1/tasks/", {"subject": "X", "due_date": "2027-03-05", "reminders": [-5]}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert "reminders" in bad.json()
    too_many = api.post(
        "/api/v1/tasks/",
        {"subject": "X", "due_date": "2027-03-05", "reminders": [1, 2, 3, 4, 5, 6]},
        content_type="application/json",
    )
    assert too_many.status_code == 400
    with tenant_context(tenant_a):
        assert TaskReminder.objects.filter(task__subject="X").count() == 0

    # Another tenant's client cannot read or change the task.
    other = client_for(tenant_b, admin_of(tenant_b))
    assert (
        other.patch(f"/api/v1/tasks/{body['id']}/", {"reminders": [5]}, content_type="application/json").status_code
        == 404
    )


def test_completing_keeps_reminders_on_the_follow_up(tenant_a, admin):
    with tenant_context(tenant_a):
        task = call_task(admin, reminders=[15, 60])
        _done, follow_up = task_complete(
            actor=admin, task=task, follow_up={"subject": "Call again", "due_date": "2027-03-08", "due_time": "10:00"}
        )
        assert follow_up is not None
        assert list(follow_up.reminders.values_list("minutes_before", flat=True)) == [15, 60]
