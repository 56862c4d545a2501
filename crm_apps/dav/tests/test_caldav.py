"""CalDAV over raw requests against a calendar backend on real records (calendar_backend.py)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import icalendar
import pytest
from django_tenants.utils import schema_context

from crm_apps.audit.models import AuditEvent
from crm_apps.dav.tests.calendar_backend import deal_calendars  # noqa: F401 - fixture
from crm_apps.engine import registry
from crm_apps.engine.services import record_create, record_delete, record_update
from crm_apps.modules.deals.models import Deal

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("deal_calendars")]

D = "{DAV:}"
CAL = "{urn:ietf:params:xml:ns:caldav}"
EVENTS = "/dav/calendars/events/"
TASKS = "/dav/calendars/tasks/"

EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Phone//EN
BEGIN:VEVENT
UID:phone-event-1
DTSTAMP:20270101T000000Z
DTSTART;VALUE=DATE:20270310
SUMMARY:Sign with Initech
DESCRIPTION:Bring the contract
END:VEVENT
END:VCALENDAR
"""

QUERY = """<c:calendar-query xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
  <d:prop><d:getetag/><c:calendar-data/></d:prop>
  <c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="{component}">{range}</c:comp-filter>
  </c:comp-filter></c:filter></c:calendar-query>"""


def deal(tenant, owner, name, close_date):
    with schema_context(tenant.schema_name):
        return record_create(spec=registry.get("deals"), actor=owner, data={"name": name, "close_date": close_date})


def hrefs(answer):
    assert answer.status_code == 207, answer.content
    return sorted(r.findtext(f"{D}href") for r in ET.fromstring(answer.content).findall(f"{D}response"))


def test_discovery_lists_an_event_and_a_task_calendar(tenant_a, member, dav_client):
    dav = dav_client(tenant_a, member(tenant_a))
    ask = """<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
      <d:prop><c:calendar-home-set/><d:resourcetype/><c:supported-calendar-component-set/>
      <d:supported-report-set/></d:prop></d:propfind>"""

    principal = ET.fromstring(dav.request("PROPFIND", "/dav/principal/", ask, Depth="0").content)
    home = principal.findtext(f".//{CAL}calendar-home-set/{D}href")
    listing = ET.fromstring(dav.request("PROPFIND", home, ask, Depth="1").content)

    assert home == "/dav/calendars/"
    calendars = {
        r.findtext(f"{D}href"): [c.get("name") for c in r.iter(f"{CAL}comp")]
        for r in listing.findall(f"{D}response")
        if r.find(f".//{CAL}calendar") is not None
    }
    assert calendars == {EVENTS: ["VEVENT"], TASKS: ["VTODO"]}
    reports = {e.tag for e in listing.iter()}
    assert f"{CAL}calendar-query" in reports and f"{CAL}calendar-multiget" in reports


def test_calendar_query_by_time_range(tenant_a, admin_of, dav_client):
    admin = admin_of(tenant_a)
    march = deal(tenant_a, admin, "March close", "2031-03-15")
    deal(tenant_a, admin, "April close", "2031-04-15")
    dav = dav_client(tenant_a, admin)
    span = '<c:time-range start="20310301T000000Z" end="20310401T000000Z"/>'

    events = dav.request("REPORT", EVENTS, QUERY.format(component="VEVENT", range=span), Depth="1")
    tasks = dav.request("REPORT", TASKS, QUERY.format(component="VTODO", range=span), Depth="1")
    wrong_kind = dav.request("REPORT", EVENTS, QUERY.format(component="VTODO", range=""), Depth="1")

    assert hrefs(events) == [f"{EVENTS}{march.pk}.ics"]
    assert hrefs(tasks) == [f"{TASKS}{march.pk}.ics"]  # filtered in Python: this backend has no span filter
    assert hrefs(wrong_kind) == []
    data = ET.fromstring(events.content).findtext(f".//{CAL}calendar-data")
    event = icalendar.Calendar.from_ical(data or "").walk("VEVENT")[0]
    assert (str(event["SUMMARY"]), str(event["UID"])) == ("March close", str(march.pk))


def test_an_event_from_the_client_creates_a_record_and_syncs_back(tenant_a, admin_of, dav_client):
    admin = admin_of(tenant_a)
    dav = dav_client(tenant_a, admin)
    sync = """<d:sync-collection xmlns:d="DAV:"><d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>
      <d:prop><d:getetag/></d:prop></d:sync-collection>"""
    first = ET.fromstring(dav.request("REPORT", EVENTS, sync.format(token="")).content)
    token = first.findtext(f"{D}sync-token")

    put = dav.request("PUT", f"{EVENTS}phone-event-1.ics", EVENT, content_type="text/calendar", If_None_Match="*")
    multiget = f"""<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
      <d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>{EVENTS}phone-event-1.ics</d:href>
      </c:calendar-multiget>"""
    got = ET.fromstring(dav.request("REPORT", EVENTS, multiget, Depth="1").content)
    delta = dav.request("REPORT", EVENTS, sync.format(token=token))

    assert put.status_code == 201
    with schema_context("alpha"):
        created = Deal.objects.get(name="Sign with Initech")
        assert (str(created.close_date), created.description) == ("2027-03-10", "Bring the contract")
        assert AuditEvent.objects.filter(action="record_created", record_id=str(created.pk)).count() == 1
    event = icalendar.Calendar.from_ical(got.findtext(f".//{CAL}calendar-data") or "").walk("VEVENT")[0]
    assert str(event["UID"]) == "phone-event-1"
    assert hrefs(delta) == [f"{EVENTS}phone-event-1.ics"]


def test_stale_etag_on_an_event_is_412(tenant_a, admin_of, dav_client):
    admin = admin_of(tenant_a)
    record = deal(tenant_a, admin, "Contested", "2031-05-01")
    dav = dav_client(tenant_a, admin)
    url = f"{EVENTS}{record.pk}.ics"
    body = dav.request("GET", url).content.decode()
    with schema_context("alpha"):
        record_update(spec=registry.get("deals"), actor=admin, record=record, data={"name": "Changed in the CRM"})

    put = dav.request(
        "PUT", url, body.replace("Contested", "Changed on the phone"), content_type="text/calendar", If_Match='"1"'
    )

    assert put.status_code == 412
    with schema_context("alpha"):
        assert Deal.objects.get(pk=record.pk).name == "Changed in the CRM"


def test_a_task_in_the_event_calendar_is_refused(tenant_a, admin_of, dav_client):
    dav = dav_client(tenant_a, admin_of(tenant_a))
    todo = EVENT.replace("VEVENT", "VTODO")

    answer = dav.request("PUT", f"{EVENTS}todo.ics", todo, content_type="text/calendar")

    assert (answer.status_code, answer.content.decode()) == (400, "This calendar takes VEVENT objects only.")


def test_deleted_and_cross_tenant_events(tenant_a, tenant_b, admin_of, member, dav_client):
    admin = admin_of(tenant_a)
    record = deal(tenant_a, admin, "Gone soon", "2031-06-01")
    dav = dav_client(tenant_a, admin)
    other = dav_client(tenant_b, member(tenant_b))

    foreign = other.request("GET", f"{EVENTS}{record.pk}.ics")
    foreign_delete = other.request("DELETE", f"{EVENTS}{record.pk}.ics")
    with schema_context("alpha"):
        record_delete(spec=registry.get("deals"), actor=admin, record=record)
    gone = dav.request("GET", f"{EVENTS}{record.pk}.ics")

    assert (foreign.status_code, foreign_delete.status_code, gone.status_code) == (404, 404, 404)
