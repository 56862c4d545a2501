"""Reminders are delivered once, at the right moment, and not for cancelled or moved events."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import mail
from django_tenants.utils import tenant_context

from crm_apps.modules.calendar.models import ReminderDelivery
from crm_apps.modules.calendar.reminders import reminders_send_due
from crm_apps.modules.calendar.services import event_create, event_delete, event_update

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2027, 3, 1, 10, 0, tzinfo=dt.UTC)


@pytest.fixture
def admin(tenant_a, admin_of):
    return admin_of(tenant_a)


def meeting(actor, *, start=T0, **extra):
    return event_create(
        actor=actor,
        data={"subject": "Pitch", "start": start.isoformat(), "end": (start + dt.timedelta(hours=1)).isoformat()},
        reminders=[15],
        **extra,
    )


def test_reminder_fires_once_at_its_moment_for_owner_and_invitees(
    tenant_a, admin, member, django_capture_on_commit_callbacks
):
    colleague = member(tenant_a)
    with tenant_context(tenant_a):
        meeting(admin, invitees=[colleague.pk])
        mail.outbox.clear()

        with django_capture_on_commit_callbacks(execute=True):
            early = reminders_send_due(now=T0 - dt.timedelta(minutes=16))
            due = reminders_send_due(now=T0 - dt.timedelta(minutes=15))
            again = reminders_send_due(now=T0 - dt.timedelta(minutes=14))

        assert (early, due, again) == (0, 2, 0)
        assert sorted(m.to[0] for m in mail.outbox) == sorted([admin.user.email, colleague.user.email])
        assert mail.outbox[0].subject.startswith("Reminder: Pitch")
        assert ReminderDelivery.objects.count() == 2


def test_a_reminder_missed_longer_than_the_grace_is_dropped(tenant_a, admin):
    with tenant_context(tenant_a):
        meeting(admin)

        assert reminders_send_due(now=T0 + dt.timedelta(minutes=5)) == 0


def test_no_reminder_for_cancelled_or_deleted_events(tenant_a, admin):
    with tenant_context(tenant_a):
        cancelled = meeting(admin)
        event_update(actor=admin, event=cancelled, data={"status": "not_held"})
        deleted = meeting(admin, start=T0 + dt.timedelta(minutes=1))
        event_delete(actor=admin, event=deleted)
        mail.outbox.clear()

        assert reminders_send_due(now=T0 - dt.timedelta(minutes=15)) == 0
        assert reminders_send_due(now=T0 - dt.timedelta(minutes=14)) == 0
        assert mail.outbox == []


def test_a_moved_event_reminds_at_its_new_time_only(tenant_a, admin):
    with tenant_context(tenant_a):
        event = meeting(admin)
        later = T0 + dt.timedelta(hours=2)
        event_update(
            actor=admin,
            event=event,
            data={"start": later.isoformat(), "end": (later + dt.timedelta(hours=1)).isoformat()},
        )

        at_old_time = reminders_send_due(now=T0 - dt.timedelta(minutes=15))
        at_new_time = reminders_send_due(now=later - dt.timedelta(minutes=15))

        assert (at_old_time, at_new_time) == (0, 1)
        assert list(ReminderDelivery.objects.values_list("occurrence_start", flat=True)) == [later]


def test_each_occurrence_of_a_series_is_reminded(tenant_a, admin):
    with tenant_context(tenant_a):
        event_create(
            actor=admin,
            data={
                "subject": "Stand-up",
                "start": "2027-03-26T09:00:00+01:00",
                "end": "2027-03-26T09:15:00+01:00",
                "time_zone": "Europe/Berlin",
                "rrule": "FREQ=DAILY;COUNT=5",
            },
            reminders=[10],
        )

        # 29 March is after the DST change: 09:00 Berlin is 07:00 UTC, the reminder at 06:50 UTC.
        assert reminders_send_due(now=dt.datetime(2027, 3, 29, 7, 49, tzinfo=dt.UTC)) == 0
        assert reminders_send_due(now=dt.datetime(2027, 3, 29, 6, 50, tzinfo=dt.UTC)) == 1
        assert reminders_send_due(now=dt.datetime(2027, 3, 29, 6, 55, tzinfo=dt.UTC)) == 0


def test_a_reminder_also_lands_under_the_bell_and_follows_the_members_choice(
    tenant_a, admin, member, django_capture_on_commit_callbacks
):
    from crm_apps.notifications import kinds
    from crm_apps.notifications.models import Notification
    from crm_apps.notifications.services import preferences_set

    quiet, app_only = member(tenant_a), member(tenant_a)
    with tenant_context(tenant_a):
        preferences_set(member=quiet, channels={kinds.REMINDER: kinds.OFF})
        preferences_set(member=app_only, channels={kinds.REMINDER: kinds.INAPP})
        meeting(admin, invitees=[quiet.pk, app_only.pk])
        mail.outbox.clear()

        with django_capture_on_commit_callbacks(execute=True):
            reminders_send_due(now=T0 - dt.timedelta(minutes=15))
            reminders_send_due(now=T0 - dt.timedelta(minutes=14))

        reminded = Notification.objects.filter(kind=kinds.REMINDER)
        assert sorted(reminded.values_list("recipient_id", flat=True)) == sorted([admin.pk, app_only.pk])
        assert {n.params["record"] for n in reminded} == {"Pitch"}
        # Email only for the owner (default "in the app and by email"), and only the reminder's own email.
        assert [m.to[0] for m in mail.outbox] == [admin.user.email]
        assert mail.outbox[0].subject.startswith("Reminder: Pitch")


def test_new_invitees_find_the_invitation_under_the_bell_once(tenant_a, admin, member):
    from crm_apps.notifications import kinds
    from crm_apps.notifications.models import Notification

    colleague = member(tenant_a)
    with tenant_context(tenant_a):
        event = meeting(admin, invitees=[colleague.pk])
        event_update(actor=admin, event=event, data={"location": "Room 2"}, invitees=[colleague.pk])

        invitations = Notification.objects.filter(kind=kinds.INVITATION)
        assert [(n.recipient_id, n.actor_id, n.url) for n in invitations] == [
            (colleague.pk, admin.pk, f"/m/events/{event.pk}/")
        ]
