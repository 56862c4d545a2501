"""The calendar's pages and panels render for members, with what they may see only."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from crm_apps.modules.calendar.services import event_create, task_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin(tenant_a, admin_of):
    return admin_of(tenant_a)


def test_calendar_team_and_task_pages_render(client_for, tenant_a, admin):
    client = client_for(tenant_a, admin)
    with tenant_context(tenant_a):
        task_create(actor=admin, data={"subject": "Overdue call", "due_date": "2020-01-01"})

    calendar = client.get("/calendar/?related=deals:00000000-0000-0000-0000-000000000000")
    team = client.get("/calendar/team/")
    tasks = client.get("/calendar/tasks/")

    assert calendar.status_code == 200
    assert b"data-calendar" in calendar.content
    assert b'data-related-module="deals"' in calendar.content
    assert team.status_code == 200
    assert b"data-team" in team.content
    assert tasks.status_code == 200
    assert b"task--overdue" in tasks.content
    assert b"Overdue call" in tasks.content


def test_calendar_pages_need_a_signed_in_member(client_for, tenant_a):
    anonymous = client_for(tenant_a)

    assert anonymous.get("/calendar/").status_code == 302
    assert anonymous.get("/calendar/tasks/").status_code == 302


def test_deal_page_shows_its_activities_but_not_those_the_viewer_cannot_see(client_for, tenant_a, admin, member):
    rep = member(tenant_a)
    with tenant_context(tenant_a):
        sharing_default_set(actor=admin, module="events", access="private")
        deal = record_create(
            spec=registry.get("deals"), actor=admin, data={"name": "Hammocks", "close_date": "2027-01-31"}
        )
        related = {"module": "deals", "id": str(deal.pk)}
        event_create(
            actor=admin,
            data={"subject": "Admin-only meeting", "start": "2030-03-01T09:00:00Z", "end": "2030-03-01T10:00:00Z"},
            related_to=related,
        )
        event_create(
            actor=rep,
            data={"subject": "Rep's demo", "start": "2030-03-02T09:00:00Z", "end": "2030-03-02T10:00:00Z"},
            related_to=related,
        )

    as_rep = client_for(tenant_a, rep).get(f"/m/deals/{deal.pk}/")
    as_admin = client_for(tenant_a, admin).get(f"/m/deals/{deal.pk}/")

    assert as_rep.status_code == 200
    assert b"Rep&#x27;s demo" in as_rep.content
    assert b"Admin-only meeting" not in as_rep.content
    assert b"Admin-only meeting" in as_admin.content
    assert b"Schedule a meeting" in as_admin.content


def test_event_page_shows_invitees_reminders_and_the_ics_action(client_for, tenant_a, admin, member):
    colleague = member(tenant_a)
    with tenant_context(tenant_a):
        event = event_create(
            actor=admin,
            data={"subject": "Planning", "start": "2030-03-01T09:00:00Z", "end": "2030-03-01T10:00:00Z"},
            invitees=[colleague.pk],
            reminders=[30],
        )

    page = client_for(tenant_a, admin).get(f"/m/events/{event.pk}/")

    assert page.status_code == 200
    assert b"No answer yet" in page.content
    assert b"30 minutes before" in page.content
    assert f"/calendar/events/{event.pk}.ics".encode() in page.content


def test_the_task_list_flags_overdue_rows_without_a_query_per_row(client_for, tenant_a, admin):
    import datetime as dt

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(tenant_a, admin)
    tomorrow = (dt.date.today() + dt.timedelta(days=2)).isoformat()
    with tenant_context(tenant_a):
        task_create(actor=admin, data={"subject": "Late call", "due_date": "2020-01-01", "due_time": "10:00"})
    client.get("/m/tasks/")  # warm the per-process caches
    with CaptureQueriesContext(connection) as one:
        first = client.get("/m/tasks/").content.decode()
    with tenant_context(tenant_a):
        task_create(actor=admin, data={"subject": "Done late", "due_date": "2020-01-01", "status": "completed"})
        task_create(actor=admin, data={"subject": "Soon", "due_date": tomorrow})
        task_create(actor=admin, data={"subject": "Later", "due_date": tomorrow, "due_time": "09:30"})
    client.get("/m/tasks/")  # the schema switch of tenant_context costs one statement on the next request
    with CaptureQueriesContext(connection) as four:
        page = client.get("/m/tasks/").content.decode()

    assert first.count('data-flag="overdue"') == 1
    assert page.count('data-flags="overdue"') == 1 and page.count('data-flag="overdue"') == 1
    assert len(four) == len(one)
