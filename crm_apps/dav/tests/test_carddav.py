"""CardDAV over raw DAV requests (what Apple Contacts, Thunderbird and DAVx5 send), parsed back with vobject."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
import vobject
from django_tenants.utils import schema_context

from crm_apps.access.services import sharing_default_set
from crm_apps.audit.models import AuditEvent
from crm_apps.engine import registry
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import record_create
from crm_apps.modules.contacts.models import Contact

pytestmark = pytest.mark.django_db

D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:carddav}"
BOOK = "/dav/addressbooks/contacts/"

SYNC = """<?xml version="1.0" encoding="utf-8"?>
<d:sync-collection xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
  <d:sync-token>{token}</d:sync-token><d:sync-level>1</d:sync-level>
  <d:prop><d:getetag/>{data}</d:prop>
</d:sync-collection>"""

NEW_CARD = """BEGIN:VCARD
VERSION:3.0
UID:phone-made-1
N:Tanaka;Yuki;;;
FN:Yuki Tanaka
ORG:Alpha Org;Purchasing
TITLE:Buyer
EMAIL;TYPE=INTERNET,PREF:yuki@example.jp
TEL;TYPE=CELL:+81 90 1234 5678
ADR;TYPE=WORK:;;1-2-3 Ginza;Tokyo;;104-0061;Japan
BDAY:1990-04-15
NOTE:Met at the fair
END:VCARD
"""


def contacts():
    return registry.get("contacts")


def add_contact(tenant, owner, **data):
    with schema_context(tenant.schema_name):
        return record_create(spec=contacts(), actor=owner, data={"last_name": "Doe", **data})


def sync(dav, token="", data=True):
    body = SYNC.format(token=token, data="<card:address-data/>" if data else "")
    answer = dav.request("REPORT", BOOK, body, Depth="1")
    assert answer.status_code == 207, answer.content
    root = ET.fromstring(answer.content)
    found, gone = {}, []
    for response in root.findall(f"{D}response"):
        href = response.findtext(f"{D}href")
        if response.find(f"{D}status") is not None:
            gone.append(href)
            continue
        prop = response.find(f"{D}propstat/{D}prop")
        assert prop is not None
        found[href] = (prop.findtext(f"{D}getetag"), prop.findtext(f"{C}address-data"))
    return found, gone, root.findtext(f"{D}sync-token")


def test_options_announce_carddav_and_caldav(tenant_a, client_for):
    answer = client_for(tenant_a).options("/dav/")

    assert answer.status_code == 200
    assert answer["DAV"].startswith("1, 3, addressbook, calendar-access")


@pytest.mark.parametrize("path", ["/.well-known/carddav", "/.well-known/caldav"])
def test_well_known_redirects_to_the_dav_root(tenant_a, client_for, path):
    answer = client_for(tenant_a).generic("PROPFIND", path)

    assert answer.status_code == 301
    assert answer["Location"] == "/dav/"


def test_discovery_from_the_root_to_the_address_book(tenant_a, member, dav_client):
    dav = dav_client(tenant_a, member(tenant_a))
    ask = """<d:propfind xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
      <d:prop><d:current-user-principal/><card:addressbook-home-set/><d:resourcetype/><d:displayname/>
      <d:sync-token/></d:prop></d:propfind>"""

    root = ET.fromstring(dav.request("PROPFIND", "/dav/", ask, Depth="0").content)
    principal = root.findtext(f".//{D}current-user-principal/{D}href")
    home = ET.fromstring(dav.request("PROPFIND", principal, ask, Depth="0").content).findtext(
        f".//{C}addressbook-home-set/{D}href"
    )
    listing = ET.fromstring(dav.request("PROPFIND", home, ask, Depth="1").content)

    assert principal == "/dav/principal/"
    assert home == "/dav/addressbooks/"
    books = [r for r in listing.findall(f"{D}response") if r.find(f".//{C}addressbook") is not None]
    assert [b.findtext(f"{D}href") for b in books] == [BOOK]
    assert books[0].findtext(f".//{D}displayname") == "Contacts"
    assert (books[0].findtext(f".//{D}sync-token") or "").startswith("urn:crm:sync:")


def test_full_then_incremental_sync_with_a_change_and_a_delete(tenant_a, admin_of, member, dav_client):
    admin = admin_of(tenant_a)
    dav = dav_client(tenant_a, admin)
    with schema_context("alpha"):
        before = set(Contact.objects.filter(deleted_at__isnull=True).values_list("id", flat=True))
    kept = add_contact(tenant_a, admin, last_name="Kept", email="kept@example.com")
    changed = add_contact(tenant_a, admin, last_name="Changed")
    removed = add_contact(tenant_a, admin, last_name="Removed")

    full, gone, token = sync(dav)
    with schema_context("alpha"):
        from crm_apps.engine.services import record_delete, record_update

        record_update(spec=contacts(), actor=admin, record=changed, data={"title": "CFO"})
        record_delete(spec=contacts(), actor=admin, record=removed)
    delta, gone_now, token2 = sync(dav, token)
    unchanged, nothing_gone, token3 = sync(dav, token2)

    assert len(full) == len(before) + 3 and gone == []
    card = vobject.readOne(full[f"{BOOK}{kept.pk}.vcf"][1])
    assert card.n.value.family == "Kept"
    assert card.email.value == "kept@example.com"
    assert card.uid.value == str(kept.pk)
    assert list(delta) == [f"{BOOK}{changed.pk}.vcf"]
    assert vobject.readOne(delta[f"{BOOK}{changed.pk}.vcf"][1]).title.value == "CFO"
    assert gone_now == [f"{BOOK}{removed.pk}.vcf"]
    assert (unchanged, nothing_gone, token3) == ({}, [], token2)


def test_an_unknown_sync_token_asks_for_a_full_sync(tenant_a, member, dav_client):
    dav = dav_client(tenant_a, member(tenant_a))

    answer = dav.request("REPORT", BOOK, SYNC.format(token="urn:crm:sync:nope", data=""))

    assert answer.status_code == 403
    assert ET.fromstring(answer.content).find(f"{D}valid-sync-token") is not None


def test_a_card_from_the_client_creates_a_contact_with_audit_and_timeline(tenant_a, admin_of, dav_client):
    admin = admin_of(tenant_a)
    org = None
    with schema_context("alpha"):
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Alpha Org"})
    dav = dav_client(tenant_a, admin)

    put = dav.request("PUT", f"{BOOK}phone-made-1.vcf", NEW_CARD, content_type="text/vcard", If_None_Match="*")
    got = dav.request("GET", f"{BOOK}phone-made-1.vcf")

    assert put.status_code == 201
    assert put["ETag"] == '"1"'
    with schema_context("alpha"):
        contact = Contact.objects.get(last_name="Tanaka")
        assert (contact.first_name, contact.organization_id, contact.department, contact.title) == (
            "Yuki",
            org.pk,
            "Purchasing",
            "Buyer",
        )
        assert (contact.email, contact.mobile, contact.mailing_city, str(contact.birthday)) == (
            "yuki@example.jp",
            "+81 90 1234 5678",
            "Tokyo",
            "1990-04-15",
        )
        assert contact.description == "Met at the fair"
        assert AuditEvent.objects.filter(action="record_created", record_id=str(contact.pk)).count() == 1
        assert TimelineEntry.objects.filter(record_id=contact.pk, kind="created").count() == 1
    assert got.status_code == 200
    assert got["ETag"] == '"1"'
    card = vobject.readOne(got.content.decode())
    assert card.uid.value == "phone-made-1"
    assert card.org.value == ["Alpha Org", "Purchasing"]


def test_stale_etag_is_412_and_nothing_changes(tenant_a, admin_of, dav_client):
    admin = admin_of(tenant_a)
    contact = add_contact(tenant_a, admin, last_name="Stale")
    dav = dav_client(tenant_a, admin)
    url = f"{BOOK}{contact.pk}.vcf"
    card = vobject.readOne(dav.request("GET", url).content.decode())
    card.add("title").value = "First"

    first = dav.request("PUT", url, card.serialize(), content_type="text/vcard", If_Match='"1"')
    card.title.value = "Second"
    second = dav.request("PUT", url, card.serialize(), content_type="text/vcard", If_Match='"1"')
    exists = dav.request("PUT", url, card.serialize(), content_type="text/vcard", If_None_Match="*")
    stale_delete = dav.request("DELETE", url, If_Match='"1"')

    assert (first.status_code, first["ETag"]) == (204, '"2"')
    assert (second.status_code, exists.status_code, stale_delete.status_code) == (412, 412, 412)
    with schema_context("alpha"):
        stored = Contact.objects.get(pk=contact.pk)
        assert (stored.title, stored.version, stored.deleted_at) == ("First", 2, None)


def test_a_bad_card_is_a_400_with_the_reason_and_writes_nothing(tenant_a, admin_of, dav_client):
    dav = dav_client(tenant_a, admin_of(tenant_a))
    with schema_context("alpha"):
        count = Contact.objects.count()

    garbage = dav.request("PUT", f"{BOOK}x.vcf", "not a card", content_type="text/vcard")
    empty = "BEGIN:VCARD\r\nVERSION:3.0\r\nEND:VCARD\r\n"
    nameless = dav.request("PUT", f"{BOOK}y.vcf", empty, content_type="text/vcard")
    bad_email = dav.request(
        "PUT", f"{BOOK}z.vcf", NEW_CARD.replace("yuki@example.jp", "not-an-email"), content_type="text/vcard"
    )

    assert (garbage.status_code, garbage.content.decode()) == (400, "The body is not a valid vCard.")
    assert nameless.status_code == 400 and nameless.content.decode().startswith("last_name:")
    assert bad_email.status_code == 400 and bad_email.content.decode().startswith("email:")
    with schema_context("alpha"):
        assert Contact.objects.count() == count


def test_delete_moves_the_contact_to_the_recycle_bin(tenant_a, admin_of, dav_client):
    admin = admin_of(tenant_a)
    contact = add_contact(tenant_a, admin, last_name="Binned")
    dav = dav_client(tenant_a, admin)

    deleted = dav.request("DELETE", f"{BOOK}{contact.pk}.vcf")
    again = dav.request("GET", f"{BOOK}{contact.pk}.vcf")

    assert (deleted.status_code, again.status_code) == (204, 404)
    with schema_context("alpha"):
        assert Contact.objects.get(pk=contact.pk).deleted_at is not None
        assert AuditEvent.objects.filter(action="record_deleted", record_id=str(contact.pk)).count() == 1


def private_contacts(tenant, admin):
    with schema_context(tenant.schema_name):
        sharing_default_set(actor=admin, module="contacts", access="private", follow_parent=False)


def test_a_hidden_contact_is_never_synced_nor_readable(tenant_a, admin_of, member, dav_client):
    admin = admin_of(tenant_a)
    private_contacts(tenant_a, admin)
    rep = member(tenant_a)
    secret = add_contact(tenant_a, admin, last_name="Secret")
    mine = add_contact(tenant_a, rep, last_name="Mine")
    dav = dav_client(tenant_a, rep)
    multiget = f"""<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
      <d:prop><d:getetag/><card:address-data/></d:prop>
      <d:href>{BOOK}{secret.pk}.vcf</d:href><d:href>{BOOK}{mine.pk}.vcf</d:href></card:addressbook-multiget>"""

    found, _gone, _token = sync(dav)
    listing = dav.request("PROPFIND", BOOK, Depth="1").content.decode()
    got = dav.request("GET", f"{BOOK}{secret.pk}.vcf")
    put = dav.request("PUT", f"{BOOK}{secret.pk}.vcf", NEW_CARD, content_type="text/vcard", If_Match='"1"')
    deleted = dav.request("DELETE", f"{BOOK}{secret.pk}.vcf")
    multi = ET.fromstring(dav.request("REPORT", BOOK, multiget, Depth="1").content)

    assert list(found) == [f"{BOOK}{mine.pk}.vcf"]
    assert str(secret.pk) not in listing
    assert (got.status_code, put.status_code, deleted.status_code) == (404, 412, 404)
    statuses = {r.findtext(f"{D}href"): r.findtext(f"{D}status") for r in multi.findall(f"{D}response")}
    assert statuses == {f"{BOOK}{secret.pk}.vcf": "HTTP/1.1 404 Not Found", f"{BOOK}{mine.pk}.vcf": None}
    with schema_context("alpha"):
        assert Contact.objects.get(pk=secret.pk).last_name == "Secret"


def test_a_contact_that_leaves_the_members_view_syncs_as_deleted(tenant_a, admin_of, member, dav_client):
    admin = admin_of(tenant_a)
    rep = member(tenant_a)
    shared = add_contact(tenant_a, admin, last_name="Shared")
    dav = dav_client(tenant_a, rep)
    _found, _gone, token = sync(dav, data=False)

    private_contacts(tenant_a, admin)
    _delta, gone, _token2 = sync(dav, token, data=False)

    assert f"{BOOK}{shared.pk}.vcf" in gone


def test_a_read_only_member_cannot_write(tenant_a, admin_of, member, dav_client):
    from crm_apps.access.models import Role
    from crm_apps.access.services import profile_save, profile_set_modules, role_create

    admin = admin_of(tenant_a)
    contact = add_contact(tenant_a, admin, last_name="Guarded")
    with schema_context("alpha"):
        profile = profile_save(actor=admin, profile=None, name="Readers", flags={})
        rights = {"contacts": {"view": True, "create": False, "edit": False, "delete": False}}
        profile_set_modules(actor=admin, profile=profile, rights=rights)
        top = Role.objects.get(parent__isnull=True)
        role = role_create(actor=admin, name="Reader", parent=top, profile_ids=[profile.pk])
    reader = member(tenant_a, role=role)
    dav = dav_client(tenant_a, reader)
    url = f"{BOOK}{contact.pk}.vcf"
    card = dav.request("GET", url).content.decode()

    update = dav.request("PUT", url, card.replace("Guarded", "Changed"), content_type="text/vcard")
    create = dav.request("PUT", f"{BOOK}new.vcf", NEW_CARD, content_type="text/vcard")
    delete = dav.request("DELETE", url)

    assert (update.status_code, create.status_code, delete.status_code) == (403, 403, 403)
    with schema_context("alpha"):
        assert Contact.objects.get(pk=contact.pk).last_name == "Guarded"
        assert not Contact.objects.filter(last_name="Tanaka").exists()


def test_another_workspaces_contact_is_a_404(tenant_a, tenant_b, admin_of, member, dav_client):
    contact_a = add_contact(tenant_a, admin_of(tenant_a), last_name="OnlyInAlpha")
    person = member(tenant_b)
    dav = dav_client(tenant_b, person)

    got = dav.request("GET", f"{BOOK}{contact_a.pk}.vcf")
    put = dav.request("PUT", f"{BOOK}{contact_a.pk}.vcf", NEW_CARD, content_type="text/vcard", If_Match='"1"')
    found, _gone, _token = sync(dav)

    assert (got.status_code, put.status_code) == (404, 412)
    assert f"{BOOK}{contact_a.pk}.vcf" not in found
    with schema_context("alpha"):
        assert Contact.objects.get(pk=contact_a.pk).last_name == "OnlyInAlpha"


def test_addressbook_query_filters_by_text(tenant_a, admin_of, dav_client):
    admin = admin_of(tenant_a)
    wanted = add_contact(tenant_a, admin, last_name="Zyxwvut", email="zy@example.com")
    add_contact(tenant_a, admin, last_name="Other")
    dav = dav_client(tenant_a, admin)
    query = """<card:addressbook-query xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
      <d:prop><d:getetag/></d:prop>
      <card:filter><card:prop-filter name="FN"><card:text-match match-type="contains">zyxw</card:text-match>
      </card:prop-filter></card:filter></card:addressbook-query>"""

    root = ET.fromstring(dav.request("REPORT", BOOK, query, Depth="1").content)

    assert [r.findtext(f"{D}href") for r in root.findall(f"{D}response")] == [f"{BOOK}{wanted.pk}.vcf"]


def test_xml_with_entities_is_refused(tenant_a, admin_of, dav_client):
    dav = dav_client(tenant_a, admin_of(tenant_a))
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]>'
        '<d:propfind xmlns:d="DAV:"><d:prop>&a;</d:prop></d:propfind>'
    )

    assert dav.request("PROPFIND", "/dav/", bomb, Depth="0").status_code == 400


def test_a_create_never_takes_the_name_of_a_record_the_member_cannot_see(tenant_a, admin_of, member, dav_client):
    admin = admin_of(tenant_a)
    private_contacts(tenant_a, admin)
    secret = add_contact(tenant_a, admin, last_name="Secret")
    dav = dav_client(tenant_a, member(tenant_a))

    answer = dav.request("PUT", f"{BOOK}{secret.pk}.vcf", NEW_CARD, content_type="text/vcard")

    assert answer.status_code == 412
    with schema_context("alpha"):
        assert not Contact.objects.filter(last_name="Tanaka").exists()


def test_a_client_may_recreate_a_name_it_deleted(tenant_a, admin_of, dav_client):
    dav = dav_client(tenant_a, admin_of(tenant_a))
    url = f"{BOOK}phone-made-1.vcf"

    first = dav.request("PUT", url, NEW_CARD, content_type="text/vcard")
    deleted = dav.request("DELETE", url)
    again = dav.request("PUT", url, NEW_CARD.replace("Tanaka", "Tanaka-Sato"), content_type="text/vcard")
    got = dav.request("GET", url)

    assert (first.status_code, deleted.status_code, again.status_code) == (201, 204, 201)
    assert vobject.readOne(got.content.decode()).n.value.family == "Tanaka-Sato"


def test_hidden_fields_are_neither_sent_nor_written(tenant_a, admin_of, member, dav_client):
    from crm_apps.access.models import Role
    from crm_apps.access.services import profile_save, profile_set_fields, role_create

    admin = admin_of(tenant_a)
    contact = add_contact(tenant_a, admin, last_name="Fielded", mobile="+1 555 0199", title="CTO")
    with schema_context("alpha"):
        profile = profile_save(actor=admin, profile=None, name="No mobiles", flags={})
        profile_set_fields(actor=admin, profile=profile, module="contacts", access={"mobile": "hidden"})
        top = Role.objects.get(parent__isnull=True)
        role = role_create(actor=admin, name="Phoneless", parent=top, profile_ids=[profile.pk])
    dav = dav_client(tenant_a, member(tenant_a, role=role))
    url = f"{BOOK}{contact.pk}.vcf"

    card = dav.request("GET", url).content.decode()
    put = dav.request("PUT", url, card.replace("CTO", "CEO"), content_type="text/vcard", If_Match='"1"')

    assert "+1 555 0199" not in card
    assert put.status_code == 204
    with schema_context("alpha"):
        stored = Contact.objects.get(pk=contact.pk)
        assert (stored.title, stored.mobile) == ("CEO", "+1 555 0199")


def test_sync_and_multiget_take_the_same_queries_for_more_contacts(tenant_a, admin_of, dav_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conftest import statements

    admin = admin_of(tenant_a)
    dav = dav_client(tenant_a, admin)
    few = [add_contact(tenant_a, admin, last_name=f"Few{i}") for i in range(2)]

    def multiget(records):
        hrefs = "".join(f"<d:href>{BOOK}{r.pk}.vcf</d:href>" for r in records)
        body = f"""<card:addressbook-multiget xmlns:d="DAV:" xmlns:card="urn:ietf:params:xml:ns:carddav">
          <d:prop><d:getetag/><card:address-data/></d:prop>{hrefs}</card:addressbook-multiget>"""
        with CaptureQueriesContext(connection) as captured:
            assert dav.request("REPORT", BOOK, body, Depth="1").status_code == 207
        return len(statements(captured))

    def full_sync():
        with CaptureQueriesContext(connection) as captured:
            sync(dav)
        return len(statements(captured))

    multiget(few)  # the first request records the password's use and warms the member's grants
    small = (multiget(few), full_sync())
    many = few + [add_contact(tenant_a, admin, last_name=f"Many{i}") for i in range(12)]
    large = (multiget(many), full_sync())

    assert small == large
    assert small[0] == 4  # password, names, contacts, UIDs


def test_a_read_only_workspace_keeps_syncing_but_refuses_changes(tenant_a, admin_of, dav_client):
    from tenants.models import TenantStatus
    from tenants.services import tenant_set_status

    admin = admin_of(tenant_a)
    contact = add_contact(tenant_a, admin, last_name="Frozen")
    dav = dav_client(tenant_a, admin)
    tenant_set_status(tenant=tenant_a, status=TenantStatus.READ_ONLY)

    found, _gone, _token = sync(dav, data=False)
    put = dav.request("PUT", f"{BOOK}{contact.pk}.vcf", NEW_CARD, content_type="text/vcard")

    assert f"{BOOK}{contact.pk}.vcf" in found
    assert put.status_code == 403
    with schema_context("alpha"):
        assert Contact.objects.get(pk=contact.pk).last_name == "Frozen"
