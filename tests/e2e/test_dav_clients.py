"""Real clients against a live server: the `caldav` library (CalDAV) and `requests` + `vobject` (CardDAV, as
the `caldav` package does not speak it), on committed tenants, with app passwords.

Names under `.localhost` do not resolve through the system resolver here, so `localhost_names` maps them to
127.0.0.1 for the client libraries (browsers do that themselves)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

import icalendar
import pytest
import requests
import vobject
from caldav.davclient import DAVClient
from caldav.lib.error import AuthorizationError
from django_tenants.utils import tenant_context

from conftest import make_user
from crm_apps.access.services import member_create, sharing_default_set
from crm_apps.audit.models import AuditEvent
from crm_apps.dav.services import app_password_create, app_password_revoke
from crm_apps.dav.tests.calendar_backend import deal_calendars  # noqa: F401 - fixture
from crm_apps.engine import registry
from crm_apps.engine.services import record_create, record_delete, record_update
from crm_apps.modules.contacts.models import Contact
from crm_apps.modules.deals.models import Deal
from tenants.services import tenant_provision

pytestmark = [pytest.mark.slow]

D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:carddav}"


@pytest.fixture
def localhost_names(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def resolve(host: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith(".localhost"):
            host = "127.0.0.1"
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)


@pytest.fixture
def workspace(committed: Any) -> Iterator[Any]:
    admin = make_user(committed.email(), name="Ada Admin")
    tenant = tenant_provision(slug=committed.slug("dav"), name="Dav Co", admin=admin)
    yield tenant


def admin_member(tenant: Any) -> Any:
    from crm_apps.access.models import Member

    with tenant_context(tenant):
        return Member.objects.select_related("user").get(is_admin=True)


def password_for(tenant: Any, member: Any) -> str:
    with tenant_context(tenant):
        return app_password_create(member=member, name="Client")[1]


EVENT = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//caldav test//EN
BEGIN:VEVENT
UID:client-event-1
DTSTAMP:20270101T000000Z
DTSTART;VALUE=DATE:20310310
SUMMARY:Review the Initech contract
END:VEVENT
END:VCALENDAR
"""


@pytest.mark.usefixtures("deal_calendars", "localhost_names")
def test_caldav_library_discovers_writes_searches_syncs_and_conflicts(live_site, workspace, committed):
    admin = admin_member(workspace)
    base = f"http://{workspace.schema_name}.localhost:{live_site}"
    client = DAVClient(
        url=f"{base}/.well-known/caldav",
        username=admin.user.email,
        password=password_for(workspace, admin),
        require_tls=False,
        enable_rfc6764=False,
    )

    calendars = {c.url.path: c for c in client.principal().calendars()}
    events = calendars["/dav/calendars/events/"]
    saved = events.save_event(EVENT)
    found = events.search(start=datetime(2031, 3, 1), end=datetime(2031, 4, 1), event=True)
    collection = events.objects_by_sync_token(load_objects=True)
    with tenant_context(workspace):
        created = Deal.objects.get(name="Review the Initech contract")
        assert AuditEvent.objects.filter(action="record_created", record_id=str(created.pk)).count() == 1
        other = record_create(
            spec=registry.get("deals"), actor=admin, data={"name": "Second", "close_date": "2031-03-20"}
        )
        record_update(spec=registry.get("deals"), actor=admin, record=created, data={"name": "Renamed in the CRM"})
    updated, deleted = collection.sync()
    with tenant_context(workspace):
        record_delete(spec=registry.get("deals"), actor=admin, record=other)
    _updated, deleted_later = collection.sync()
    stale = client.put(str(saved.url), EVENT, headers={"If-Match": '"1"', "Content-Type": "text/calendar"})

    assert set(calendars) == {"/dav/calendars/events/", "/dav/calendars/tasks/"}
    assert [str(icalendar.Calendar.from_ical(e.data).walk("VEVENT")[0]["UID"]) for e in found] == ["client-event-1"]
    assert sorted(str(o.url.path) for o in updated) == sorted(
        ["/dav/calendars/events/client-event-1.ics", f"/dav/calendars/events/{other.pk}.ics"]
    )
    assert list(deleted) == []
    assert [str(o.url.path) for o in deleted_later] == [f"/dav/calendars/events/{other.pk}.ics"]
    assert stale.status == 412
    with tenant_context(workspace):
        assert Deal.objects.get(pk=created.pk).name == "Renamed in the CRM"


def test_caldav_library_with_a_wrong_password_is_refused(live_site, workspace, localhost_names):
    admin = admin_member(workspace)
    client = DAVClient(
        url=f"http://{workspace.schema_name}.localhost:{live_site}/dav/",
        username=admin.user.email,
        password="not-the-password",
        require_tls=False,
        enable_rfc6764=False,
        auth_type="basic",
    )

    with pytest.raises(AuthorizationError):
        client.principal()


def propfind(session: requests.Session, url: str, body: str, depth: str) -> ET.Element:
    answer = session.request("PROPFIND", url, data=body, headers={"Depth": depth, "Content-Type": "application/xml"})
    assert answer.status_code == 207, answer.text
    return ET.fromstring(answer.content)


def sync(session: requests.Session, url: str, token: str = "") -> tuple[dict[str, str], list[str], str]:
    body = f"""<d:sync-collection xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
      <d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>
      <d:prop><d:getetag/><card:address-data/></d:prop></d:sync-collection>"""
    answer = session.request("REPORT", url, data=body, headers={"Content-Type": "application/xml"})
    assert answer.status_code == 207, answer.text
    root = ET.fromstring(answer.content)
    cards, gone = {}, []
    for response in root.findall(f"{D}response"):
        href = response.findtext(f"{D}href") or ""
        if response.find(f"{D}status") is not None:
            gone.append(href)
        else:
            cards[href] = response.findtext(f".//{C}address-data") or ""
    return cards, gone, root.findtext(f"{D}sync-token") or ""


CARD = """BEGIN:VCARD
VERSION:3.0
UID:client-card-1
N:Lindqvist;Maja;;;
FN:Maja Lindqvist
EMAIL;TYPE=INTERNET:maja@example.se
TEL;TYPE=CELL:+46 70 123 45 67
END:VCARD
"""


def test_carddav_round_trip_with_requests_and_vobject(live_site, workspace, committed, localhost_names):
    admin = admin_member(workspace)
    rep_user = make_user(committed.email(), name="Rita Rep")
    with tenant_context(workspace):
        rep = member_create(tenant=workspace, user=rep_user)
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)
        secret = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Secret"})
        mine = record_create(spec=registry.get("contacts"), actor=rep, data={"last_name": "Mine"})
    base = f"http://{workspace.schema_name}.localhost:{live_site}"
    session = requests.Session()
    password = password_for(workspace, rep)
    session.auth = (rep_user.email, password)
    ask = """<d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav"><d:prop>
      <d:current-user-principal/><card:addressbook-home-set/><d:resourcetype/></d:prop></d:propfind>"""

    # Discovery: /.well-known/carddav -> /dav/ -> principal -> home -> the address book.
    root = propfind(session, f"{base}/.well-known/carddav", ask, "0")
    principal = root.findtext(f".//{D}current-user-principal/{D}href")
    home = propfind(session, base + str(principal), ask, "0").findtext(f".//{C}addressbook-home-set/{D}href")
    listing = propfind(session, base + str(home), ask, "1")
    book = next(
        r.findtext(f"{D}href") for r in listing.findall(f"{D}response") if r.find(f".//{C}addressbook") is not None
    )
    url = base + str(book)
    cards, _gone, token = sync(session, url)
    created = session.put(
        url + "client-card-1.vcf", data=CARD.encode(), headers={"Content-Type": "text/vcard", "If-None-Match": "*"}
    )
    with tenant_context(workspace):
        contact = Contact.objects.get(last_name="Lindqvist")
        record_update(spec=registry.get("contacts"), actor=admin, record=mine, data={"title": "Lead buyer"})
        record_delete(spec=registry.get("contacts"), actor=rep, record=contact)
    delta, gone, _token2 = sync(session, url, token)
    stale = session.put(
        url + f"{mine.pk}.vcf", data=CARD.encode(), headers={"Content-Type": "text/vcard", "If-Match": '"1"'}
    )
    hidden = session.get(url + f"{secret.pk}.vcf")
    with tenant_context(workspace):
        revoked = app_password_revoke(member=rep, app_password_id=rep.app_passwords.get().pk)
    after_revoke = session.get(url + f"{mine.pk}.vcf")
    wrong = requests.get(url + f"{mine.pk}.vcf", auth=(rep_user.email, password + "x"), timeout=10)

    assert book == "/dav/addressbooks/contacts/"
    assert list(cards) == [f"/dav/addressbooks/contacts/{mine.pk}.vcf"]  # never the hidden one
    assert vobject.readOne(cards[f"/dav/addressbooks/contacts/{mine.pk}.vcf"]).n.value.family == "Mine"
    assert created.status_code == 201
    assert (contact.first_name, contact.email, contact.mobile) == ("Maja", "maja@example.se", "+46 70 123 45 67")
    assert list(delta) == [f"/dav/addressbooks/contacts/{mine.pk}.vcf"]
    assert vobject.readOne(delta[f"/dav/addressbooks/contacts/{mine.pk}.vcf"]).title.value == "Lead buyer"
    assert gone == []  # created and deleted between two syncs: the client never had it
    assert (stale.status_code, hidden.status_code) == (412, 404)
    assert revoked is True
    assert (after_revoke.status_code, wrong.status_code) == (401, 401)


def test_carddav_read_only_member_and_other_workspace(live_site, workspace, committed, localhost_names):
    from crm_apps.access.models import Role
    from crm_apps.access.services import profile_save, profile_set_modules, role_create

    admin = admin_member(workspace)
    other = tenant_provision(slug=committed.slug("dav"), name="Other Co", admin=make_user(committed.email()))
    reader_user = make_user(committed.email(), name="Rob Reader")
    with tenant_context(workspace):
        profile = profile_save(actor=admin, profile=None, name="Readers", flags={})
        rights = {"contacts": {"view": True, "create": False, "edit": False, "delete": False}}
        profile_set_modules(actor=admin, profile=profile, rights=rights)
        top = Role.objects.get(parent__isnull=True)
        role = role_create(actor=admin, name="Reader", parent=top, profile_ids=[profile.pk])
        reader = member_create(tenant=workspace, user=reader_user, role=role)
        contact = record_create(spec=registry.get("contacts"), actor=admin, data={"last_name": "Guarded"})
    password = password_for(workspace, reader)
    book = f"http://{workspace.schema_name}.localhost:{live_site}/dav/addressbooks/contacts/"
    auth = (reader_user.email, password)

    card = requests.get(book + f"{contact.pk}.vcf", auth=auth, timeout=10)
    put = requests.put(
        book + f"{contact.pk}.vcf",
        data=card.content.replace(b"Guarded", b"Changed"),
        headers={"Content-Type": "text/vcard"},
        auth=auth,
        timeout=10,
    )
    elsewhere = requests.get(
        f"http://{other.schema_name}.localhost:{live_site}/dav/addressbooks/contacts/{contact.pk}.vcf",
        auth=auth,
        timeout=10,
    )

    assert card.status_code == 200
    assert (put.status_code, put.text) == (403, "You may not change this.")
    assert elsewhere.status_code == 401  # the password means nothing on another workspace
    with tenant_context(workspace):
        assert Contact.objects.get(pk=contact.pk).last_name == "Guarded"


SERIES = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//caldav test//EN
BEGIN:VEVENT
UID:client-series-1
DTSTAMP:20270101T000000Z
DTSTART;TZID=Europe/Berlin:20310106T090000
DTEND;TZID=Europe/Berlin:20310106T093000
RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=6
SUMMARY:Weekly pipeline review
END:VEVENT
END:VCALENDAR
"""


def _starts(found: list[Any]) -> dict[str, str]:
    """{start (UTC, ISO): summary} of the occurrences the caldav library expanded."""
    result = {}
    for obj in found:
        for vevent in icalendar.Calendar.from_ical(obj.data).walk("VEVENT"):
            start = vevent.decoded("DTSTART").astimezone(UTC)
            result[start.isoformat()] = str(vevent["SUMMARY"])
    return result


@pytest.mark.usefixtures("localhost_names")
def test_caldav_library_moves_one_occurrence_and_the_crm_edits_another(live_site, workspace, committed):
    from crm_apps.modules.calendar import services as calendar_services
    from crm_apps.modules.calendar.models import Event

    admin = admin_member(workspace)
    base = f"http://{workspace.schema_name}.localhost:{live_site}"
    client = DAVClient(
        url=f"{base}/.well-known/caldav",
        username=admin.user.email,
        password=password_for(workspace, admin),
        require_tls=False,
        enable_rfc6764=False,
    )
    events = {c.url.path: c for c in client.principal().calendars()}["/dav/calendars/events/"]
    saved = events.save_event(SERIES)
    collection = events.objects_by_sync_token(load_objects=True)

    # The phone moves the second occurrence an hour later and renames it (an override with RECURRENCE-ID).
    saved.load()
    calendar = saved.icalendar_instance
    override = icalendar.Event()
    override.add("uid", "client-series-1")
    override.add("dtstamp", datetime(2031, 1, 1, tzinfo=UTC))
    override.add("recurrence-id", datetime(2031, 1, 13, 8, tzinfo=UTC))
    override.add("dtstart", datetime(2031, 1, 13, 9, tzinfo=UTC))
    override.add("dtend", datetime(2031, 1, 13, 9, 30, tzinfo=UTC))
    override.add("summary", "Moved on the phone")
    calendar.add_component(override)
    saved.icalendar_instance = calendar
    saved.save()
    expanded = events.search(start=datetime(2031, 1, 1), end=datetime(2031, 2, 1), event=True, expand=True)
    phone_etag = client.request(str(saved.url), "GET").headers["ETag"]

    with tenant_context(workspace):
        series = Event.objects.get(subject="Weekly pipeline review")
        moved = Event.objects.get(subject="Moved on the phone")
        assert moved.recurrence_parent_id == series.pk
        assert moved.start == datetime(2031, 1, 13, 9, tzinfo=UTC)
        # Meanwhile someone edits the fourth occurrence in the CRM ("this occurrence").
        calendar_services.event_occurrence_update(
            actor=admin,
            event=series,
            occurrence=datetime(2031, 1, 27, 8, tzinfo=UTC),
            scope="this",
            data={"subject": "Edited in the CRM"},
        )
    updated, deleted = collection.sync()
    stale = client.put(str(saved.url), saved.data, headers={"If-Match": phone_etag, "Content-Type": "text/calendar"})

    starts = _starts(expanded)
    assert starts["2031-01-13T09:00:00+00:00"] == "Moved on the phone"
    assert "2031-01-13T08:00:00+00:00" not in starts
    assert len(starts) == 4  # the Mondays of January (COUNT=6 runs into February)
    assert [str(o.url.path) for o in updated] == ["/dav/calendars/events/client-series-1.ics"]
    assert list(deleted) == []
    vevents = icalendar.Calendar.from_ical(next(iter(updated)).data).walk("VEVENT")
    assert sorted(str(v["SUMMARY"]) for v in vevents) == [
        "Edited in the CRM",
        "Moved on the phone",
        "Weekly pipeline review",
    ]
    assert {str(v["UID"]) for v in vevents} == {"client-series-1"}
    assert stale.status == 412  # the phone's copy predates the CRM's edit


@pytest.mark.usefixtures("localhost_names")
def test_carddav_client_asking_for_vcard_4_round_trips_a_custom_field(live_site, workspace, committed):
    from crm_apps.engine.services import custom_field_create

    admin = admin_member(workspace)
    with tenant_context(workspace):
        spec = registry.get("contacts")
        custom_field_create(actor=admin, spec=spec, key="loyalty_tier", label="Tier", type="text")
        contact = record_create(
            spec=spec,
            actor=admin,
            data={
                "first_name": "Ada",
                "last_name": "Lovelace",
                "email": "ada@example.com",
                "mobile": "+44 7700 900123",
            },
            custom={"loyalty_tier": "gold"},
        )
    url = f"http://{workspace.schema_name}.localhost:{live_site}/dav/addressbooks/contacts/{contact.pk}.vcf"
    session = requests.Session()
    session.auth = (admin.user.email, password_for(workspace, admin))

    got = session.get(url, headers={"Accept": "text/vcard; version=4.0, text/vcard; q=0.5"})
    card = vobject.readOne(got.text)
    card.contents["x-kestrel-loyalty-tier"][0].value = "platinum"
    put = session.put(
        url, data=card.serialize().encode(), headers={"Content-Type": "text/vcard", "If-Match": got.headers["ETag"]}
    )
    again = session.put(
        url, data=card.serialize().encode(), headers={"Content-Type": "text/vcard", "If-Match": got.headers["ETag"]}
    )

    assert got.headers["Content-Type"] == "text/vcard; charset=utf-8; version=4.0"
    assert card.version.value == "4.0"
    assert put.status_code == 204
    assert again.status_code == 412
    with tenant_context(workspace):
        stored = Contact.objects.get(pk=contact.pk)
        assert stored.custom_data == {"loyalty_tier": "platinum"}
        assert AuditEvent.objects.filter(action="record_updated", record_id=str(contact.pk)).count() == 1
