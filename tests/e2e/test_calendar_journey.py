"""Schedule a meeting from a deal, then drag it to another day on the week view."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django_tenants.utils import tenant_context

from conftest import TEST_PASSWORD, make_user
from crm_apps.engine import registry
from crm_apps.engine.services import record_create
from tenants.services import tenant_provision

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def slot_point(page, day: dt.date, time: str) -> tuple[float, float]:
    """The middle of a day's column at a time slot of the week view."""
    column = page.locator(f".fc-timegrid-col[data-date='{day.isoformat()}']").bounding_box()
    row = page.locator(f".fc-timegrid-slot-lane[data-time='{time}']").bounding_box()
    assert column is not None and row is not None
    return column["x"] + column["width"] / 2, row["y"] + row["height"] / 2


def test_schedule_a_meeting_from_a_deal_and_drag_it(live_site, browser, committed):
    from crm_apps.modules.calendar.models import Event, EventLink

    admin = make_user(committed.email(), name="Sam Seller")
    tenant = tenant_provision(slug=committed.slug("cal"), name="Calendar Co", admin=admin)
    with tenant_context(tenant):
        from crm_apps.access.models import Member

        actor = Member.objects.get(user=admin)
        deal = record_create(
            spec=registry.get("deals"), actor=actor, data={"name": "Hammock order", "close_date": "2027-03-31"}
        )
    base = f"http://{tenant.schema_name}.localhost:{live_site}"
    context = browser.new_context(timezone_id="UTC", viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(base + "/accounts/login/")
    page.get_by_label("Email").fill(admin.email)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(base + "/")

    # From the deal's "Activities" panel to the calendar, linked to the deal.
    page.goto(f"{base}/m/deals/{deal.pk}/")
    page.get_by_role("link", name="Schedule a meeting").click()
    page.wait_for_url(re.compile(r".*/calendar/\?related=deals:.*"))
    page.wait_for_selector(".fc-timegrid-col[data-date]")

    today = dt.datetime.now(dt.UTC).date()
    monday = today - dt.timedelta(days=today.weekday())
    tuesday, wednesday = monday + dt.timedelta(days=1), monday + dt.timedelta(days=2)

    # Click Tuesday 10:00: the new-event dialog opens for 10:00-11:00.
    x, y = slot_point(page, tuesday, "10:00:00")
    page.mouse.click(x, y)
    dialog = page.locator("#calendar-dialog")
    dialog.wait_for(state="visible", timeout=15_000)
    assert errors == [], errors
    dialog.get_by_label("Subject").fill("Demo with Globex")
    # The dialog takes several reminders (15 minutes is there already): add one an hour before.
    dialog.get_by_role("button", name="Add a reminder").click()
    dialog.locator("[data-reminder-row]").nth(1).locator("input").fill("1")
    dialog.locator("[data-reminder-row]").nth(1).locator("select").select_option("hours")
    dialog.get_by_role("button", name="Save").click()
    event_box = page.locator(".fc-timegrid-event", has_text="Demo with Globex")
    event_box.wait_for()

    with tenant_context(tenant):
        event = Event.objects.get(subject="Demo with Globex")
        assert event.start == dt.datetime.combine(tuesday, dt.time(10), tzinfo=dt.UTC)
        assert event.end == dt.datetime.combine(tuesday, dt.time(11), tzinfo=dt.UTC)
        assert list(EventLink.objects.filter(event=event).values_list("module", "record_id")) == [("deals", deal.pk)]
        assert list(event.reminders.values_list("minutes_before", flat=True)) == [15, 60]

    # Drag it to Wednesday at the same time.
    box = event_box.bounding_box()
    assert box is not None
    start_x, start_y = box["x"] + box["width"] / 2, box["y"] + 8
    target_x, _target_y = slot_point(page, wednesday, "10:00:00")
    page.mouse.move(start_x, start_y)
    page.mouse.down()
    page.mouse.move(start_x + 10, start_y, steps=3)
    page.mouse.move(target_x, start_y, steps=10)
    page.mouse.up()

    def moved() -> bool:
        with tenant_context(tenant):
            return Event.objects.get(pk=event.pk).start.date() == wednesday

    for _ in range(50):
        if moved():
            break
        page.wait_for_timeout(200)
    with tenant_context(tenant):
        event.refresh_from_db()
    assert (event.start, event.end) == (
        dt.datetime.combine(wednesday, dt.time(10), tzinfo=dt.UTC),
        dt.datetime.combine(wednesday, dt.time(11), tzinfo=dt.UTC),
    )

    # The deal shows the meeting in its upcoming activities and on its timeline.
    page.goto(f"{base}/m/deals/{deal.pk}/")
    panel = page.locator("[data-calendar-panel]")
    assert panel.get_by_role("link", name="Demo with Globex").is_visible()
    context.close()
