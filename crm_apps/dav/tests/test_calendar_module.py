"""The events and tasks calendars over the calendar module (calendar_module.py). They run once that module
is installed (the calendar branch); on a checkout without it they are skipped."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import icalendar
import pytest
from django.apps import apps
from django_tenants.utils import schema_context

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not apps.is_installed("crm_apps.modules.calendar"), reason="the calendar module is not installed"
    ),
]

D = "{DAV:}"
EVENTS = "/dav/calendars/events/"
TASKS = "/dav/calendars/tasks/"

SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Phone//EN
BEGIN:VEVENT
UID:phone-series-1
DTSTAMP:20310101T000000Z
DTSTART:20310106T090000Z
DTEND:20310106T093000Z
RRULE:FREQ=WEEKLY;BYDAY=MO
SUMMARY:Weekly pipeline review
BEGIN:VALARM
ACTION:DISPLAY
DESCRIPTION:Weekly pipeline review
TRIGGER:-PT15M
END:VALARM
END:VEVENT
END:VCALENDAR
"""

TODO = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Phone//EN
BEGIN:VTODO
UID:phone-task-1
DTSTAMP:20310101T000000Z
DUE;VALUE=DATE:20310110
SUMMARY:Send the quote
PRIORITY:1
END:VTODO
END:VCALENDAR
"""


def test_a_series_from_the_client_is_created_through_the_calendar_services(tenant_a, admin_of, dav_client):
    from crm_apps.modules.calendar.models import Event

    dav = dav_client(tenant_a, admin_of(tenant_a))

    put = dav.request("PUT", f"{EVENTS}phone-series-1.ics", SERIES, content_type="text/calendar")
    got = dav.request("GET", f"{EVENTS}phone-series-1.ics")
    with_exdate = SERIES.replace("RRULE:", "EXDATE:20310113T090000Z\nRRULE:")
    excluded = dav.request("PUT", f"{EVENTS}phone-series-1.ics", with_exdate, content_type="text/calendar")

    assert put.status_code == 201
    assert excluded.status_code == 204
    with schema_context("alpha"):
        event = Event.objects.get(subject="Weekly pipeline review")
        assert event.rrule == "FREQ=WEEKLY;BYDAY=MO"
        assert list(event.reminders.values_list("minutes_before", flat=True)) == [15]
        assert [x.isoformat() for x in event.exdates] == ["2031-01-13T09:00:00+00:00"]
    vevent = icalendar.Calendar.from_ical(got.content).walk("VEVENT")[0]
    assert str(vevent["UID"]) == "phone-series-1"


def test_editing_one_occurrence_from_a_client_is_refused(tenant_a, admin_of, dav_client):
    dav = dav_client(tenant_a, admin_of(tenant_a))
    dav.request("PUT", f"{EVENTS}phone-series-1.ics", SERIES, content_type="text/calendar")
    moved = SERIES.replace(
        "END:VCALENDAR",
        "BEGIN:VEVENT\nUID:phone-series-1\nDTSTAMP:20310101T000000Z\nRECURRENCE-ID:20310113T090000Z\n"
        "DTSTART:20310113T100000Z\nDTEND:20310113T103000Z\nSUMMARY:Moved\nEND:VEVENT\nEND:VCALENDAR",
    )

    answer = dav.request("PUT", f"{EVENTS}phone-series-1.ics", moved, content_type="text/calendar")

    assert (answer.status_code, answer.content.decode()) == (
        400,
        "Change single occurrences of a repeating event in the CRM.",
    )


def test_a_task_from_the_client_and_the_time_range_query(tenant_a, admin_of, dav_client):
    from crm_apps.modules.calendar.models import Task

    dav = dav_client(tenant_a, admin_of(tenant_a))
    query = """<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
      <d:prop><d:getetag/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VTODO">
      <c:time-range start="20310101T000000Z" end="20310201T000000Z"/></c:comp-filter></c:comp-filter></c:filter>
      </c:calendar-query>"""

    put = dav.request("PUT", f"{TASKS}phone-task-1.ics", TODO, content_type="text/calendar")
    found = ET.fromstring(dav.request("REPORT", TASKS, query, Depth="1").content)

    assert put.status_code == 201
    with schema_context("alpha"):
        task = Task.objects.get(subject="Send the quote")
        assert (str(task.due_date), task.priority) == ("2031-01-10", "high")
    assert f"{TASKS}phone-task-1.ics" in [r.findtext(f"{D}href") for r in found.findall(f"{D}response")]
