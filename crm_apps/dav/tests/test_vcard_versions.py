"""vCard 4.0 on request (Accept / address-data version, RFC 6352) with 3.0 the default, and custom fields as
X-KESTREL-* properties that round-trip through record_update (validation, field rights, audit)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
import vobject
from django_tenants.utils import schema_context

from crm_apps.audit.models import AuditEvent
from crm_apps.dav.carddav import wants_vcard4
from crm_apps.engine import registry
from crm_apps.engine.services import custom_field_create, record_create
from crm_apps.modules.contacts.models import Contact

pytestmark = pytest.mark.django_db

D = "{DAV:}"
C = "{urn:ietf:params:xml:ns:carddav}"
BOOK = "/dav/addressbooks/contacts/"


@pytest.fixture
def contact(tenant_a, admin_of):
    """A contact with an organisation, two emails, three phones, two addresses, a note and custom values."""
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        spec = registry.get("contacts")
        custom_field_create(actor=admin, spec=spec, key="loyalty_tier", label="Tier", type="text")
        custom_field_create(actor=admin, spec=spec, key="seats", label="Seats", type="integer")
        custom_field_create(actor=admin, spec=spec, key="vip", label="VIP", type="checkbox")
        org = record_create(spec=registry.get("organizations"), actor=admin, data={"name": "Initech"})
        return record_create(
            spec=spec,
            actor=admin,
            data={
                "first_name": "Ada",
                "last_name": "Lovelace",
                "organization": str(org.pk),
                "department": "Analytics",
                "title": "Chief Engineer",
                "email": "ada@initech.example",
                "secondary_email": "ada@home.example",
                "phone": "+1 415 555 0100",
                "mobile": "+1 415 555 0101",
                "fax": "+1 415 555 0102",
                "mailing_street": "1 Engine Way",
                "mailing_city": "London",
                "mailing_country": "UK",
                "other_city": "Oxford",
                "birthday": "1815-12-10",
                "description": "Prefers email",
            },
            custom={"loyalty_tier": "gold", "seats": 12, "vip": True},
        )


def test_the_default_is_vcard_3_with_every_field_and_custom_values(tenant_a, admin_of, dav_client, contact):
    dav = dav_client(tenant_a, admin_of(tenant_a))

    got = dav.request("GET", f"{BOOK}{contact.pk}.vcf")

    assert got.status_code == 200
    assert got["Content-Type"] == "text/vcard; charset=utf-8"
    card = vobject.readOne(got.content.decode())
    assert card.version.value == "3.0"
    assert card.org.value == ["Initech", "Analytics"]
    assert card.title.value == "Chief Engineer"
    emails = {e.value: sorted(e.params["TYPE"]) for e in card.contents["email"]}
    assert emails == {"ada@initech.example": ["INTERNET", "PREF"], "ada@home.example": ["INTERNET"]}
    assert {t.value: t.params["TYPE"][0] for t in card.contents["tel"]} == {
        "+1 415 555 0100": "WORK",
        "+1 415 555 0101": "CELL",
        "+1 415 555 0102": "FAX",
    }
    assert sorted(a.params["TYPE"][0] for a in card.contents["adr"]) == ["HOME", "WORK"]
    assert card.note.value == "Prefers email"
    assert card.contents["x-kestrel-loyalty-tier"][0].value == "gold"
    assert card.contents["x-kestrel-seats"][0].value == "12"
    assert card.contents["x-kestrel-vip"][0].value == "true"
    assert "photo" not in card.contents  # contacts have no photo field


@pytest.mark.parametrize(
    "accept",
    ["text/vcard; version=4.0", "text/vcard;version=4.0, text/vcard;charset=utf-8;q=0.8"],
)
def test_vcard_4_when_the_accept_header_prefers_it(tenant_a, admin_of, dav_client, contact, accept):
    dav = dav_client(tenant_a, admin_of(tenant_a))
    three = dav.request("GET", f"{BOOK}{contact.pk}.vcf")

    got = dav.request("GET", f"{BOOK}{contact.pk}.vcf", Accept=accept)

    assert got["Content-Type"] == "text/vcard; charset=utf-8; version=4.0"
    assert got["ETag"] == three["ETag"]
    card = vobject.readOne(got.content.decode())
    assert card.version.value == "4.0"
    assert card.kind.value == "individual"
    pref = [e for e in card.contents["email"] if e.params.get("PREF") == ["1"]]
    assert [e.value for e in pref] == ["ada@initech.example"]
    assert all("internet" not in e.params.get("TYPE", []) for e in card.contents["email"])
    assert {t.value: t.params["TYPE"] for t in card.contents["tel"]}["+1 415 555 0101"] == ["cell"]
    assert card.bday.value == "18151210"
    assert card.contents["x-kestrel-loyalty-tier"][0].value == "gold"


def test_accept_negotiation_rules():
    assert not wants_vcard4("")
    assert not wants_vcard4("*/*")
    assert not wants_vcard4("text/vcard")
    assert not wants_vcard4("text/vcard;version=4.0;q=0.5, text/vcard;version=3.0")
    assert wants_vcard4('text/vcard; version="4.0"')
    assert wants_vcard4("text/vcard;version=3.0;q=0.5, text/vcard;version=4.0")


def test_reports_serve_4_0_when_address_data_asks_and_advertise_both(tenant_a, admin_of, dav_client, contact):
    dav = dav_client(tenant_a, admin_of(tenant_a))
    href = f"{BOOK}{contact.pk}.vcf"
    multiget = f"""<c:addressbook-multiget xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav">
      <d:prop><d:getetag/><c:address-data content-type="text/vcard" version="{{v}}"/></d:prop>
      <d:href>{href}</d:href></c:addressbook-multiget>"""
    sync = """<d:sync-collection xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav">
      <d:sync-token/><d:sync-level>1</d:sync-level>
      <d:prop><d:getetag/><c:address-data content-type="text/vcard" version="4.0"/></d:prop></d:sync-collection>"""
    supported = """<d:propfind xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:carddav">
      <d:prop><c:supported-address-data/></d:prop></d:propfind>"""

    def versions(answer):
        root = ET.fromstring(answer.content)
        return [vobject.readOne(e.text).version.value for e in root.iter(f"{C}address-data")]

    four = dav.request("REPORT", BOOK, multiget.format(v="4.0"), Depth="1")
    three = dav.request("REPORT", BOOK, multiget.format(v="3.0"), Depth="1")
    synced = dav.request("REPORT", BOOK, sync, Depth="1")
    props = ET.fromstring(dav.request("PROPFIND", BOOK, supported, Depth="0").content)

    assert versions(four) == ["4.0"]
    assert versions(three) == ["3.0"]
    assert versions(synced) == ["4.0"]
    assert sorted(e.get("version") or "" for e in props.iter(f"{C}address-data-type")) == ["3.0", "4.0"]


def test_a_changed_x_value_updates_the_custom_field_with_audit(tenant_a, admin_of, dav_client, contact):
    dav = dav_client(tenant_a, admin_of(tenant_a))
    url = f"{BOOK}{contact.pk}.vcf"
    got = dav.request("GET", url, Accept="text/vcard; version=4.0")  # a 4.0 client edits and sends 4.0 back
    card = vobject.readOne(got.content.decode())
    card.contents["x-kestrel-loyalty-tier"][0].value = "platinum"
    card.contents["x-kestrel-seats"][0].value = ""  # an empty value clears the field
    del card.contents["x-kestrel-vip"]  # a dropped property leaves the field as it is

    put = dav.request("PUT", url, card.serialize(), content_type="text/vcard", If_Match=got["ETag"])

    assert put.status_code == 204, put.content
    with schema_context("alpha"):
        stored = Contact.objects.get(pk=contact.pk)
        assert stored.custom_data == {"loyalty_tier": "platinum", "vip": True}
        assert stored.email == "ada@initech.example"
        assert stored.organization.name == "Initech"
        logged = AuditEvent.objects.filter(action="record_updated", record_id=str(contact.pk)).latest("id")
        assert "loyalty_tier" in str(logged.changes)
    again = vobject.readOne(dav.request("GET", url).content.decode())
    assert again.contents["x-kestrel-loyalty-tier"][0].value == "platinum"
    assert "x-kestrel-seats" not in again.contents


def test_a_bad_x_value_is_a_400_naming_the_field_and_nothing_changes(tenant_a, admin_of, dav_client, contact):
    dav = dav_client(tenant_a, admin_of(tenant_a))
    url = f"{BOOK}{contact.pk}.vcf"
    body = dav.request("GET", url).content.decode().replace("X-KESTREL-SEATS:12", "X-KESTREL-SEATS:many")

    put = dav.request("PUT", url, body, content_type="text/vcard")

    assert put.status_code == 400
    assert "custom.seats" in put.content.decode()
    with schema_context("alpha"):
        assert Contact.objects.get(pk=contact.pk).custom_data["seats"] == 12


def test_a_hidden_custom_field_is_neither_sent_nor_written(tenant_a, admin_of, member, dav_client, contact):
    from crm_apps.access.models import Role
    from crm_apps.access.services import profile_save, profile_set_fields, role_create

    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        profile = profile_save(actor=admin, profile=None, name="No tiers", flags={})
        profile_set_fields(actor=admin, profile=profile, module="contacts", access={"custom.loyalty_tier": "hidden"})
        role = role_create(
            actor=admin, name="Tierless", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    dav = dav_client(tenant_a, member(tenant_a, role=role))
    url = f"{BOOK}{contact.pk}.vcf"
    got = dav.request("GET", url)
    body = got.content.decode().replace("END:VCARD", "X-KESTREL-LOYALTY-TIER:bronze\r\nEND:VCARD")

    put = dav.request("PUT", url, body, content_type="text/vcard")

    assert got.status_code == 200
    assert b"X-KESTREL-LOYALTY-TIER" not in got.content
    assert b"X-KESTREL-SEATS:12" in got.content
    assert put.status_code == 204  # the hidden field's property is ignored, like a hidden standard field
    with schema_context("alpha"):
        assert Contact.objects.get(pk=contact.pk).custom_data["loyalty_tier"] == "gold"


def test_a_new_card_with_x_values_creates_the_contact_with_them(tenant_a, admin_of, dav_client, contact):
    dav = dav_client(tenant_a, admin_of(tenant_a))
    card = "\r\n".join(
        [
            "BEGIN:VCARD",
            "VERSION:4.0",
            "UID:urn:uuid:4fbe8971-0bc3-424c-9c26-36c3e1eff6b1",
            "N:Hopper;Grace;;;",
            "FN:Grace Hopper",
            "EMAIL;TYPE=work;PREF=1:grace@navy.example",
            "EMAIL;TYPE=home:grace@home.example",
            "TEL;VALUE=uri;TYPE=cell:tel:+1-202-555-0199",
            "X-KESTREL-LOYALTY-TIER:silver",
            "X-KESTREL-VIP:yes",
            "END:VCARD",
            "",
        ]
    )

    put = dav.request("PUT", f"{BOOK}grace.vcf", card, content_type="text/vcard", If_None_Match="*")

    assert put.status_code == 201, put.content
    with schema_context("alpha"):
        grace = Contact.objects.get(last_name="Hopper")
        assert (grace.email, grace.secondary_email) == ("grace@navy.example", "grace@home.example")
        assert grace.custom_data == {"loyalty_tier": "silver", "vip": True}


@pytest.mark.parametrize(
    ("value", "number"),
    [("tel:+1-202-555-0199", "+1-202-555-0199"), ("tel:+1-202-555-0199;ext=12", "+1-202-555-0199 ext. 12")],
)
def test_a_vcard_4_tel_uri_is_read_as_a_number(value, number):
    from crm_apps.dav.carddav import _tel_text

    card = vobject.readOne(f"BEGIN:VCARD\r\nVERSION:4.0\r\nFN:x\r\nTEL;VALUE=uri:{value}\r\nEND:VCARD\r\n")

    assert _tel_text(card.tel) == number
