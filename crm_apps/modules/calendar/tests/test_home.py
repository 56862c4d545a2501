"""The calendar's boxes on the home page: my events today and tomorrow, my overdue and due tasks."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import tenant_context

from crm_apps.modules.calendar.services import event_create, task_create

pytestmark = pytest.mark.django_db


def test_my_day_shows_my_events_today_and_tomorrow_and_my_tasks_due(client_for, tenant_a, member):
    rep, other = member(tenant_a), member(tenant_a)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    today = now.date()
    with tenant_context(tenant_a):
        for subject, owner, day in (
            ("Standup today", rep, 0),
            ("Pitch tomorrow", rep, 1),
            ("Next week", rep, 7),
            ("Someone else's", other, 0),
        ):
            start = dt.datetime.combine(today + dt.timedelta(days=day), dt.time(12, 0), tzinfo=dt.UTC)
            event_create(
                actor=owner,
                data={
                    "subject": subject,
                    "start": start.isoformat(),
                    "end": (start + dt.timedelta(hours=1)).isoformat(),
                    "owner": owner.pk,
                },
            )
        for subject, owner, day in (
            ("Send the quote", rep, -2),
            ("Call back", rep, 0),
            ("Later", rep, 3),
            ("Not mine", other, -1),
        ):
            task_create(
                actor=owner,
                data={"subject": subject, "due_date": (today + dt.timedelta(days=day)).isoformat(), "owner": owner.pk},
            )

    page = client_for(tenant_a, rep).get("/").content.decode()

    assert 'data-widget="events-mine"' in page and 'data-widget="tasks-due"' in page
    assert "Standup today" in page and "Pitch tomorrow" in page
    assert "Next week" not in page and "Someone else&#x27;s" not in page
    assert "Send the quote" in page and "Overdue since" in page and "Call back" in page
    assert "Later" not in page and "Not mine" not in page


def test_an_empty_day_offers_to_schedule_and_to_add_a_task(client_for, tenant_a, member):
    page = client_for(tenant_a, member(tenant_a)).get("/").content.decode()

    assert "No meetings or calls today or tomorrow." in page and 'href="/m/events/new/"' in page
    assert "Nothing due today." in page and 'href="/m/tasks/new/"' in page
