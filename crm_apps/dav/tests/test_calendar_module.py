"""The events and tasks calendars over the calendar module (calendar_module.py). They run once that module
is installed (the calendar branch); on a checkout without it they are skipped."""

from __future__ import annotations

import datetime as dt
from typing import Any
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


def _override(recurrence_id: str, start: str, end: str, summary: str, extra: str = "") -> str:
    return (
        f"BEGIN:VEVENT\nUID:phone-series-1\nDTSTAMP:20310101T000000Z\nRECURRENCE-ID:{recurrence_id}\n"
        f"DTSTART:{start}\nDTEND:{end}\nSUMMARY:{summary}\n{extra}END:VEVENT\n"
    )


def _with(body: str, *components: str, exdates: tuple[str, ...] = ()) -> str:
    for moment in exdates:
        body = body.replace("RRULE:", f"EXDATE:{moment}\nRRULE:")
    return body.replace("END:VCALENDAR", "".join(components) + "END:VCALENDAR")


def _vevents(body: bytes) -> dict[str | None, Any]:
    """The VEVENTs of one resource by RECURRENCE-ID (as UTC "YYYYmmddTHHMMSSZ"; None for the master)."""
    found: dict[str | None, Any] = {}
    for vevent in icalendar.Calendar.from_ical(body).walk("VEVENT"):
        rid = vevent.decoded("RECURRENCE-ID") if "RECURRENCE-ID" in vevent else None
        key = None if rid is None else rid.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        found[key] = vevent
    return found


def _exdates(vevent: Any) -> list[str]:
    raw = vevent.get("EXDATE")
    groups = raw if isinstance(raw, list) else ([raw] if raw is not None else [])
    return sorted(d.dt.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ") for g in groups for d in g.dts)


def test_a_client_moves_one_occurrence_and_gets_it_back_in_the_series_resource(
    tenant_a, admin_of, dav_client, django_capture_on_commit_callbacks
):
    from crm_apps.modules.calendar.models import Event, EventReminder

    dav = dav_client(tenant_a, admin_of(tenant_a))
    url = f"{EVENTS}phone-series-1.ics"
    dav.request("PUT", url, SERIES, content_type="text/calendar")
    first = dav.request("GET", url)["ETag"]
    moved = _with(
        SERIES,
        _override(
            "20310113T090000Z",
            "20310113T100000Z",
            "20310113T103000Z",
            "Moved review",
            "BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:x\nTRIGGER:-PT5M\nEND:VALARM\n",
        ),
    )

    with django_capture_on_commit_callbacks(execute=True):
        put = dav.request("PUT", url, moved, content_type="text/calendar", If_Match=first)
    got = dav.request("GET", url)
    with schema_context("alpha"):
        reminder_rows = sorted(EventReminder.objects.values_list("pk", flat=True))
    again = dav.request("PUT", url, moved, content_type="text/calendar", If_Match=got["ETag"])
    with schema_context("alpha"):
        assert sorted(EventReminder.objects.values_list("pk", flat=True)) == reminder_rows  # not re-armed
    stale = dav.request("PUT", url, moved, content_type="text/calendar", If_Match=first)
    listing = ET.fromstring(
        dav.request(
            "PROPFIND", EVENTS, '<d:propfind xmlns:d="DAV:"><d:prop><d:getetag/></d:prop></d:propfind>', Depth="1"
        ).content
    )

    assert put.status_code == 204
    assert put["ETag"] == got["ETag"] != first
    assert again.status_code == 204
    assert again["ETag"] == got["ETag"]  # the same object again changes nothing
    assert stale.status_code == 412
    with schema_context("alpha"):
        series = Event.objects.get(subject="Weekly pipeline review")
        [exception] = Event.objects.filter(recurrence_parent=series, deleted_at__isnull=True)
        assert exception.subject == "Moved review"
        assert exception.start == dt.datetime(2031, 1, 13, 10, tzinfo=dt.UTC)
        assert exception.recurrence_id == dt.datetime(2031, 1, 13, 9, tzinfo=dt.UTC)
        assert list(exception.reminders.values_list("minutes_before", flat=True)) == [5]
        assert series.exdates == [dt.datetime(2031, 1, 13, 9, tzinfo=dt.UTC)]
    vevents = _vevents(got.content)
    assert set(vevents) == {None, "20310113T090000Z"}
    assert {str(v["UID"]) for v in vevents.values()} == {"phone-series-1"}
    assert _exdates(vevents[None]) == []  # replaced by the override, not left out
    assert str(vevents["20310113T090000Z"]["SUMMARY"]) == "Moved review"
    assert "RRULE" not in vevents["20310113T090000Z"]
    hrefs = [r.findtext(f"{D}href") for r in listing.findall(f"{D}response")]
    assert hrefs == [EVENTS, url]  # the exception is no resource of its own


def test_a_client_changes_then_drops_an_override_and_cancels_and_restores_occurrences(tenant_a, admin_of, dav_client):
    from crm_apps.modules.calendar.models import Event

    dav = dav_client(tenant_a, admin_of(tenant_a))
    url = f"{EVENTS}phone-series-1.ics"
    dav.request("PUT", url, SERIES, content_type="text/calendar")
    override = _override("20310113T090000Z", "20310113T100000Z", "20310113T103000Z", "Moved review")
    dav.request("PUT", url, _with(SERIES, override), content_type="text/calendar")
    with schema_context("alpha"):
        exception = Event.objects.get(subject="Moved review")

    renamed = dav.request(
        "PUT", url, _with(SERIES, override.replace("Moved review", "Renamed review")), content_type="text/calendar"
    )
    with schema_context("alpha"):
        assert Event.objects.get(pk=exception.pk).subject == "Renamed review"
    # The client drops the override and cancels the 20th instead: the 13th is a normal occurrence again.
    cancelled = dav.request("PUT", url, _with(SERIES, exdates=("20310120T090000Z",)), content_type="text/calendar")
    with schema_context("alpha"):
        series = Event.objects.get(subject="Weekly pipeline review")
        assert Event.objects.get(pk=exception.pk).deleted_at is not None
        assert series.exdates == [dt.datetime(2031, 1, 20, 9, tzinfo=dt.UTC)]
    restored = dav.request("PUT", url, SERIES, content_type="text/calendar")
    got = dav.request("GET", url)

    assert (renamed.status_code, cancelled.status_code, restored.status_code) == (204, 204, 204)
    with schema_context("alpha"):
        assert Event.objects.get(pk=series.pk).exdates == []
    assert set(_vevents(got.content)) == {None}
    assert _exdates(_vevents(got.content)[None]) == []


def test_an_override_dropped_with_an_exdate_stays_left_out(tenant_a, admin_of, dav_client):
    from crm_apps.modules.calendar.models import Event

    dav = dav_client(tenant_a, admin_of(tenant_a))
    url = f"{EVENTS}phone-series-1.ics"
    dav.request("PUT", url, SERIES, content_type="text/calendar")
    override = _override("20310113T090000Z", "20310113T100000Z", "20310113T103000Z", "Moved review")
    dav.request("PUT", url, _with(SERIES, override), content_type="text/calendar")

    answer = dav.request("PUT", url, _with(SERIES, exdates=("20310113T090000Z",)), content_type="text/calendar")

    assert answer.status_code == 204
    with schema_context("alpha"):
        assert not Event.objects.filter(subject="Moved review", deleted_at__isnull=True).exists()
        series = Event.objects.get(subject="Weekly pipeline review")
        assert series.exdates == [dt.datetime(2031, 1, 13, 9, tzinfo=dt.UTC)]
    assert _exdates(_vevents(dav.request("GET", url).content)[None]) == ["20310113T090000Z"]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        # Not an occurrence of the series (a Tuesday): nothing is written.
        (_with(SERIES, _override("20310114T090000Z", "20310114T100000Z", "20310114T103000Z", "x")), "occurrence"),
        # Overrides without their series.
        (
            "BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:x\n"
            + _override("20310113T090000Z", "20310113T100000Z", "20310113T103000Z", "x")
            + "END:VCALENDAR\n",
            "repeating event",
        ),
    ],
)
def test_a_bad_override_is_a_400_and_nothing_changes(tenant_a, admin_of, dav_client, body, says):
    from crm_apps.modules.calendar.models import Event

    dav = dav_client(tenant_a, admin_of(tenant_a))
    url = f"{EVENTS}phone-series-1.ics"
    dav.request("PUT", url, SERIES, content_type="text/calendar")
    before = dav.request("GET", url)["ETag"]

    answer = dav.request("PUT", url, body, content_type="text/calendar")

    assert answer.status_code == 400
    assert says in answer.content.decode()
    assert dav.request("GET", url)["ETag"] == before
    with schema_context("alpha"):
        assert Event.objects.count() == 1


def test_an_occurrence_edited_in_the_crm_reaches_the_client_inside_the_series(tenant_a, admin_of, dav_client):
    from crm_apps.modules.calendar import services
    from crm_apps.modules.calendar.models import Event

    admin = admin_of(tenant_a)
    dav = dav_client(tenant_a, admin)
    url = f"{EVENTS}phone-series-1.ics"
    dav.request("PUT", url, SERIES, content_type="text/calendar")
    sync = """<d:sync-collection xmlns:d="DAV:"><d:sync-token>{}</d:sync-token><d:sync-level>1</d:sync-level>
      <d:prop><d:getetag/></d:prop></d:sync-collection>"""
    first = ET.fromstring(dav.request("REPORT", EVENTS, sync.format(""), Depth="1").content)
    token = first.findtext(f"{D}sync-token")
    with schema_context("alpha"):
        series = Event.objects.get(subject="Weekly pipeline review")
        exception = services.event_occurrence_update(
            actor=admin,
            event=series,
            occurrence=series.start + dt.timedelta(days=7),
            scope="this",
            data={"subject": "Moved in the CRM"},
        )
    second = ET.fromstring(dav.request("REPORT", EVENTS, sync.format(token), Depth="1").content)
    etag = dav.request("GET", url)["ETag"]
    with schema_context("alpha"):
        services.event_update(actor=admin, event=Event.objects.get(pk=exception.pk), data={"location": "Room 2"})
    third = ET.fromstring(
        dav.request("REPORT", EVENTS, sync.format(second.findtext(f"{D}sync-token")), Depth="1").content
    )
    got = dav.request("GET", url)

    assert [r.findtext(f"{D}href") for r in second.findall(f"{D}response")] == [url]
    assert [r.findtext(f"{D}href") for r in third.findall(f"{D}response")] == [url]
    assert got["ETag"] != etag
    vevents = _vevents(got.content)
    assert set(vevents) == {None, "20310113T090000Z"}
    assert str(vevents["20310113T090000Z"]["LOCATION"]) == "Room 2"
    # The client sends it back unchanged: nothing new is written.
    assert dav.request("PUT", url, got.content, content_type="text/calendar", If_Match=got["ETag"]).status_code == 204
    with schema_context("alpha"):
        assert Event.objects.filter(deleted_at__isnull=True).count() == 2


def test_deleting_a_series_from_a_client_deletes_its_edited_occurrences(tenant_a, admin_of, dav_client):
    from crm_apps.modules.calendar.models import Event

    dav = dav_client(tenant_a, admin_of(tenant_a))
    url = f"{EVENTS}phone-series-1.ics"
    dav.request("PUT", url, SERIES, content_type="text/calendar")
    override = _override("20310113T090000Z", "20310113T100000Z", "20310113T103000Z", "Moved review")
    dav.request("PUT", url, _with(SERIES, override), content_type="text/calendar")
    etag = dav.request("GET", url)["ETag"]

    stale = dav.request("DELETE", url, If_Match='"1"')
    deleted = dav.request("DELETE", url, If_Match=etag)

    assert (stale.status_code, deleted.status_code) == (412, 204)
    with schema_context("alpha"):
        assert not Event.objects.filter(deleted_at__isnull=True).exists()


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


def test_hidden_event_fields_are_not_sent_by_get_nor_report(tenant_a, admin_of, member, dav_client):
    from crm_apps.access.models import Role
    from crm_apps.access.services import profile_save, profile_set_fields, role_create
    from crm_apps.modules.calendar.models import Event

    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        profile = profile_save(actor=admin, profile=None, name="No places", flags={})
        profile_set_fields(
            actor=admin, profile=profile, module="events", access={"description": "hidden", "location": "hidden"}
        )
        top = Role.objects.get(parent__isnull=True)
        role = role_create(actor=admin, name="Placeless", parent=top, profile_ids=[profile.pk])
    placed = SERIES.replace("SUMMARY:", "LOCATION:Bunker 7\nDESCRIPTION:Bring the codes\nSUMMARY:")
    assert (
        dav_client(tenant_a, admin)
        .request("PUT", f"{EVENTS}phone-series-1.ics", placed, content_type="text/calendar")
        .status_code
        == 201
    )
    with schema_context("alpha"):
        assert Event.objects.filter(location="Bunker 7", description="Bring the codes").count() == 1
    dav = dav_client(tenant_a, member(tenant_a, role=role))
    report = f"""<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
      <d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>{EVENTS}phone-series-1.ics</d:href>
    </c:calendar-multiget>"""

    got = dav.request("GET", f"{EVENTS}phone-series-1.ics")
    multi = dav.request("REPORT", EVENTS, report, Depth="1")

    assert got.status_code == 200
    assert multi.status_code == 207
    assert b"Weekly pipeline review" in got.content
    assert b"Weekly pipeline review" in multi.content
    for body in (got.content, multi.content):
        assert b"Bunker" not in body
        assert b"codes" not in body


def test_deleting_or_editing_one_occurrence_changes_the_etag_and_sync_token(
    tenant_a, admin_of, member, dav_client, django_capture_on_commit_callbacks
):
    from django.core import mail

    from crm_apps.modules.calendar import services
    from crm_apps.modules.calendar.models import Event

    admin = admin_of(tenant_a)
    colleague = member(tenant_a)
    dav = dav_client(tenant_a, admin)
    url = f"{EVENTS}phone-series-1.ics"
    token_prop = """<d:propfind xmlns:d="DAV:"><d:prop><d:sync-token/></d:prop></d:propfind>"""

    def state():
        token = ET.fromstring(dav.request("PROPFIND", EVENTS, token_prop, Depth="0").content)
        return dav.request("GET", url)["ETag"], token.findtext(f".//{D}sync-token")

    dav.request("PUT", url, SERIES, content_type="text/calendar")
    with schema_context("alpha"):
        series = Event.objects.get(subject="Weekly pipeline review")
        services.event_update(actor=admin, event=series, data={}, invitees=[colleague.pk])
    first = state()
    mail.outbox.clear()
    with schema_context("alpha"), django_capture_on_commit_callbacks(execute=True):
        series = services.event_occurrence_delete(
            actor=admin, event=Event.objects.get(pk=series.pk), occurrence=series.start + dt.timedelta(days=7)
        )
    second = state()
    with schema_context("alpha"), django_capture_on_commit_callbacks(execute=True):
        services.event_occurrence_update(
            actor=admin,
            event=Event.objects.get(pk=series.pk),
            occurrence=series.start + dt.timedelta(days=14),
            scope="this",
            data={"subject": "Moved review"},
        )
    third = state()

    assert first[0] != second[0] != third[0]
    assert first[1] != second[1] != third[1]
    with schema_context("alpha"):
        stored = Event.objects.get(pk=series.pk)
        assert third[0].startswith(f'"{stored.version}-')  # the version, and the edited occurrence's
        assert len(stored.exdates) == 2
    series_mails = [
        icalendar.Calendar.from_ical(m.attachments[0][1]).walk("VEVENT")[0]
        for m in mail.outbox
        if m.subject.endswith("Weekly pipeline review")
    ]
    assert [len(v.get("EXDATE") if isinstance(v.get("EXDATE"), list) else [v["EXDATE"]]) for v in series_mails] == [
        1,
        2,
    ]


@pytest.mark.parametrize(
    ("collection", "body", "says"),
    [
        (EVENTS, SERIES.replace("DTSTART:20310106T090000Z\n", ""), "DTSTART"),
        (EVENTS, SERIES.replace("DTSTART:20310106T090000Z", "DTSTART:garbage"), "DTSTART"),
        (TASKS, TODO.replace("PRIORITY:1", "PRIORITY:high"), ""),
    ],
)
def test_a_missing_or_malformed_property_is_a_400_and_nothing_is_written(
    tenant_a, admin_of, dav_client, collection, body, says
):
    from crm_apps.modules.calendar.models import Event, Task

    dav = dav_client(tenant_a, admin_of(tenant_a))

    put = dav.request("PUT", f"{collection}broken.ics", body, content_type="text/calendar")

    assert put.status_code == 400
    assert put.content.strip()
    assert says in put.content.decode()
    with schema_context("alpha"):
        assert not Event.objects.exists()
        assert not Task.objects.exists()
    assert dav.request("GET", f"{collection}broken.ics").status_code == 404


def test_deleting_an_event_from_a_client_sends_the_cancellation(
    tenant_a, admin_of, member, dav_client, django_capture_on_commit_callbacks
):
    from django.core import mail

    from crm_apps.modules.calendar import services
    from crm_apps.modules.calendar.models import Event

    admin = admin_of(tenant_a)
    colleague = member(tenant_a)
    dav = dav_client(tenant_a, admin)
    dav.request("PUT", f"{EVENTS}phone-series-1.ics", SERIES, content_type="text/calendar")
    with schema_context("alpha"):
        event = Event.objects.get(subject="Weekly pipeline review")
        services.event_update(actor=admin, event=event, data={}, invitees=[colleague.pk])
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        deleted = dav.request("DELETE", f"{EVENTS}phone-series-1.ics")

    assert deleted.status_code == 204
    with schema_context("alpha"):
        assert Event.objects.get(pk=event.pk).deleted_at is not None
    [sent] = mail.outbox
    assert sent.to == [colleague.user.email]
    assert str(icalendar.Calendar.from_ical(sent.attachments[0][1])["method"]) == "CANCEL"


def test_a_member_never_syncs_a_series_or_edited_occurrence_they_cannot_see(tenant_a, admin_of, member, dav_client):
    from crm_apps.access.services import sharing_default_set
    from crm_apps.modules.calendar import services
    from crm_apps.modules.calendar.models import Event

    admin = admin_of(tenant_a)
    colleague = member(tenant_a)
    with schema_context("alpha"):
        sharing_default_set(actor=admin, module="events", access="private", follow_parent=False)
    owner_dav = dav_client(tenant_a, admin)
    url = f"{EVENTS}phone-series-1.ics"
    owner_dav.request("PUT", url, SERIES, content_type="text/calendar")
    with schema_context("alpha"):
        series = Event.objects.get(subject="Weekly pipeline review")
        exception = services.event_occurrence_update(
            actor=admin, event=series, occurrence=series.start + dt.timedelta(days=7), scope="this", data={}
        )
    dav = dav_client(tenant_a, colleague)
    sync = """<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav"><d:sync-token/>
      <d:sync-level>1</d:sync-level><d:prop><d:getetag/><c:calendar-data/></d:prop></d:sync-collection>"""
    multiget = f"""<c:calendar-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav">
      <d:prop><d:getetag/><c:calendar-data/></d:prop><d:href>{url}</d:href>
      <d:href>{EVENTS}{exception.pk}.ics</d:href></c:calendar-multiget>"""

    synced = dav.request("REPORT", EVENTS, sync, Depth="1")
    multi = dav.request("REPORT", EVENTS, multiget, Depth="1")
    got = dav.request("GET", url)
    put = dav.request("PUT", url, SERIES.replace("Weekly", "Hijacked"), content_type="text/calendar", If_Match='"1"')
    deleted = dav.request("DELETE", url)

    assert synced.status_code == 207
    assert ET.fromstring(synced.content).findall(f"{D}response") == []
    assert b"Weekly pipeline review" not in multi.content
    assert [s.text for s in ET.fromstring(multi.content).iter(f"{D}status")] == ["HTTP/1.1 404 Not Found"] * 2
    assert (got.status_code, put.status_code, deleted.status_code) == (404, 412, 404)
    with schema_context("alpha"):
        assert Event.objects.filter(deleted_at__isnull=True).count() == 2
        assert not Event.objects.filter(subject__startswith="Hijacked").exists()


ALL_DAY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Phone//EN
BEGIN:VEVENT
UID:phone-all-day-1
DTSTAMP:20310101T000000Z
DTSTART;VALUE=DATE:20310106
DTEND;VALUE=DATE:20310107
RRULE:FREQ=WEEKLY;BYDAY=MO
SUMMARY:Office day
END:VEVENT
END:VCALENDAR
"""


def test_an_all_day_series_round_trips_a_moved_day_with_date_recurrence_ids(tenant_a, admin_of, dav_client):
    from crm_apps.modules.calendar.models import Event

    admin = admin_of(tenant_a)
    dav = dav_client(tenant_a, admin)
    url = f"{EVENTS}phone-all-day-1.ics"
    dav.request("PUT", url, ALL_DAY, content_type="text/calendar")
    moved = ALL_DAY.replace(
        "END:VCALENDAR",
        "BEGIN:VEVENT\nUID:phone-all-day-1\nDTSTAMP:20310101T000000Z\nRECURRENCE-ID;VALUE=DATE:20310113\n"
        "DTSTART;VALUE=DATE:20310114\nDTEND;VALUE=DATE:20310115\nSUMMARY:Office day (Tuesday)\nEND:VEVENT\n"
        "END:VCALENDAR",
    ).replace("RRULE:", "EXDATE;VALUE=DATE:20310120\nRRULE:")

    put = dav.request("PUT", url, moved, content_type="text/calendar")
    got = icalendar.Calendar.from_ical(dav.request("GET", url).content)

    assert put.status_code == 204, put.content
    with schema_context("alpha"):
        series = Event.objects.get(subject="Office day")
        exception = Event.objects.get(subject="Office day (Tuesday)")
        assert exception.all_day and exception.recurrence_parent_id == series.pk
        assert len(series.exdates) == 2
    master, override = sorted(got.walk("VEVENT"), key=lambda v: "RECURRENCE-ID" in v)
    exdate: Any = master["EXDATE"]
    assert override.decoded("RECURRENCE-ID") == dt.date(2031, 1, 13)
    assert override.decoded("DTSTART") == dt.date(2031, 1, 14)
    assert [d.dt for d in exdate.dts] == [dt.date(2031, 1, 20)]
    # The phone sends the same object back: nothing changes.
    again = dav.request("PUT", url, got.to_ical(), content_type="text/calendar")
    assert again.status_code == 204
    with schema_context("alpha"):
        assert Event.objects.filter(deleted_at__isnull=True).count() == 2


def test_task_alarms_out_and_back_relative_to_due_or_from_nine_on_the_due_day():
    import zoneinfo

    from crm_apps.dav.calendar_module import vtodo_alarms_add, vtodo_reminders

    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    timed = icalendar.Todo()
    timed.add("due", dt.datetime(2031, 3, 10, 15, 0, tzinfo=berlin))
    vtodo_alarms_add(timed, [30, 1440], due_date=dt.date(2031, 3, 10), due_time=dt.time(15), zone=berlin, text="x")
    whole_day = icalendar.Todo()
    whole_day.add("due", dt.date(2031, 3, 10))
    vtodo_alarms_add(whole_day, [60], due_date=dt.date(2031, 3, 10), due_time=None, zone=berlin, text="x")
    parsed_timed = icalendar.Calendar.from_ical(
        b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:x\r\n" + timed.to_ical() + b"END:VCALENDAR\r\n"
    ).walk("VTODO")[0]

    assert [str(a["TRIGGER"].params.get("RELATED")) for a in timed.walk("VALARM")] == ["END", "END"]
    assert vtodo_reminders(parsed_timed, zone=berlin) == [30, 1440]
    # A date-only task: an absolute trigger at 08:00 Berlin (09:00 minus an hour), read back as 60 minutes.
    [alarm] = whole_day.walk("VALARM")
    assert alarm.decoded("TRIGGER") == dt.datetime(2031, 3, 10, 7, 0, tzinfo=dt.UTC)
    assert vtodo_reminders(whole_day, zone=berlin) == [60]
    # A client's alarm after the due moment is not a reminder "before".
    late = icalendar.Todo()
    late.add("due", dt.datetime(2031, 3, 10, 15, 0, tzinfo=dt.UTC))
    alarm = icalendar.Alarm()
    alarm.add("trigger", dt.timedelta(minutes=10))
    late.add_component(alarm)
    assert vtodo_reminders(late, zone=berlin) == []


@pytest.mark.skipif(
    not apps.is_installed("crm_apps.modules.calendar")
    or not __import__("crm_apps.dav.calendar_module", fromlist=["x"]).task_reminders_supported(),
    reason="tasks have no reminders in this calendar module yet",
)
def test_a_tasks_reminders_round_trip_as_valarms(tenant_a, admin_of, dav_client):
    from crm_apps.modules.calendar.models import Task

    dav = dav_client(tenant_a, admin_of(tenant_a))
    url = f"{TASKS}phone-task-1.ics"
    alarmed = TODO.replace(
        "END:VTODO",
        "BEGIN:VALARM\nACTION:DISPLAY\nDESCRIPTION:x\nTRIGGER;VALUE=DATE-TIME:20310110T080000Z\nEND:VALARM\nEND:VTODO",
    )

    put = dav.request("PUT", url, alarmed, content_type="text/calendar")
    got = icalendar.Calendar.from_ical(dav.request("GET", url).content).walk("VTODO")[0]

    assert put.status_code == 201, put.content
    with schema_context("alpha"):
        task = Task.objects.get(subject="Send the quote")
        zone_offset = dt.datetime(2031, 1, 10, 9, tzinfo=task.owner.zone).utcoffset() or dt.timedelta()
        expected = 60 - int(zone_offset.total_seconds() // 60)  # 08:00 UTC counted back from the owner's 09:00
        assert list(task.reminders.values_list("minutes_before", flat=True)) == [expected]
    assert len(got.walk("VALARM")) == 1


def test_a_new_series_may_arrive_with_its_overrides_in_one_put(tenant_a, admin_of, dav_client):
    from crm_apps.modules.calendar.models import Event

    dav = dav_client(tenant_a, admin_of(tenant_a))
    url = f"{EVENTS}phone-series-1.ics"
    body = _with(
        SERIES,
        _override("20310120T090000Z", "20310120T140000Z", "20310120T143000Z", "Afternoon review"),
        exdates=("20310113T090000Z",),
    )

    put = dav.request("PUT", url, body, content_type="text/calendar", If_None_Match="*")
    got = _vevents(dav.request("GET", url).content)

    assert put.status_code == 201, put.content
    assert set(got) == {None, "20310120T090000Z"}
    assert _exdates(got[None]) == ["20310113T090000Z"]
    with schema_context("alpha"):
        series = Event.objects.get(subject="Weekly pipeline review")
        assert Event.objects.get(subject="Afternoon review").recurrence_parent_id == series.pk
        assert sorted(series.exdates) == [
            dt.datetime(2031, 1, 13, 9, tzinfo=dt.UTC),
            dt.datetime(2031, 1, 20, 9, tzinfo=dt.UTC),
        ]
