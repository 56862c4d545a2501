"""The contacts address book: every contact the member can see, as vCard 3.0, two-way.

Fields map one to one (N, FN, ORG with the department, TITLE, two EMAILs, six kinds of TEL, the mailing
and other ADR, BDAY, NOTE, UID). ORG is matched to an existing organisation the member can see by its
name; an unknown organisation name leaves the contact's organisation as it was (a client never creates
organisations). Fields hidden from the member are neither sent nor written; a PUT that would change a
read-only field is refused like any other write.
"""

from __future__ import annotations

import datetime
from typing import Any

import vobject
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.dav.collections import ADDRESSBOOK, UnsupportedData
from crm_apps.dav.records import RecordCollection
from crm_apps.engine import registry

TEL_FIELDS = (
    ("phone", "WORK"),
    ("mobile", "CELL"),
    ("home_phone", "HOME"),
    ("fax", "FAX"),
    ("other_phone", "OTHER"),
    ("assistant_phone", "X-ASSISTANT"),
)
ADR_FIELDS = (("mailing", "WORK"), ("other", "HOME"))
ADR_PARTS = ("street", "city", "state", "postal_code", "country")


def _types(prop: Any) -> set[str]:
    found: set[str] = set()
    for value in prop.params.get("TYPE", []):
        found.update(part.strip().upper() for part in str(value).split(","))
    return found


class ContactsBackend(RecordCollection):
    key = "contacts"
    kind = ADDRESSBOOK
    module = "contacts"
    extension = ".vcf"
    content_type = "text/vcard; charset=utf-8"
    select_related = ("organization",)

    def render(self, record: Any, *, uid: str, hidden: set[str]) -> str:
        return vcard_render(record, uid=uid, hidden=hidden)

    def parse(self, body: str) -> Any:
        return vcard_parse(body)

    def uid_of(self, parsed: Any) -> str | None:
        return str(parsed.uid.value) if hasattr(parsed, "uid") else None

    def to_data(self, parsed: Any, *, actor: Member, hidden: set[str], record: Any) -> dict[str, Any]:
        return vcard_to_data(parsed, actor=actor, hidden=hidden)


def vcard_render(record: Any, *, uid: str, hidden: set[str]) -> str:
    """The contact as a vCard 3.0 (fields hidden from the member are left out)."""

    def shown(field: str) -> str:
        if field in hidden:
            return ""
        value = getattr(record, field)
        return "" if value is None else str(value)

    card = vobject.vCard()
    card.add("uid").value = uid
    card.add("n").value = vobject.vcard.Name(
        family=shown("last_name"), given=shown("first_name"), prefix=shown("salutation")
    )
    card.add("fn").value = " ".join(p for p in (shown("first_name"), shown("last_name")) if p) or uid
    org = "" if "organization" in hidden or record.organization is None else record.organization.name
    if org or shown("department"):
        card.add("org").value = [org, shown("department")] if shown("department") else [org]
    if shown("title"):
        card.add("title").value = shown("title")
    for position, field in enumerate(("email", "secondary_email")):
        if shown(field):
            prop = card.add("email")
            prop.value = shown(field)
            prop.type_param = ["INTERNET", "PREF"] if position == 0 else ["INTERNET"]
    for field, kind in TEL_FIELDS:
        if shown(field):
            prop = card.add("tel")
            prop.value = shown(field)
            prop.type_param = ["WORK", "VOICE"] if kind == "WORK" else [kind]
    for prefix, kind in ADR_FIELDS:
        parts = {p: shown(f"{prefix}_{p}") for p in ADR_PARTS}
        if any(parts.values()):
            prop = card.add("adr")
            prop.value = vobject.vcard.Address(
                street=parts["street"],
                city=parts["city"],
                region=parts["state"],
                code=parts["postal_code"],
                country=parts["country"],
            )
            prop.type_param = [kind]
    if "birthday" not in hidden and record.birthday:
        card.add("bday").value = record.birthday.isoformat()
    if shown("description"):
        card.add("note").value = shown("description")
    card.add("rev").value = record.updated_at.strftime("%Y%m%dT%H%M%SZ")
    return str(card.serialize())


def vcard_parse(body: str) -> Any:
    """One VCARD object, or UnsupportedData saying why not."""
    try:
        card = vobject.readOne(body)
    except Exception as exc:  # vobject raises several kinds (ParseError, ValueError...) for bad input
        raise UnsupportedData(_("The body is not a valid vCard.")) from exc
    if card.name != "VCARD":
        raise UnsupportedData(_("The body is not a valid vCard."))
    return card


def _organization_id(name: str, actor: Member) -> str | None:
    spec = registry.get("organizations")
    qs = spec.records().filter(deleted_at__isnull=True, name__iexact=name.strip())
    found = visibility.visible_records(actor=actor, spec=spec, queryset=qs).order_by("created_at").first()
    return None if found is None else str(found.pk)


def _bday(value: Any) -> str | None:
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return datetime.datetime.strptime(text[:10] if "-" in text else text[:8], pattern).date().isoformat()
        except ValueError:
            continue
    return None  # "--0415" (no year) and other forms: not stored


def vcard_to_data(card: Any, *, actor: Member, hidden: set[str]) -> dict[str, Any]:
    """The contact fields a vCard sets (every mapped field: absent means empty), minus hidden ones."""
    data: dict[str, Any] = {}
    if hasattr(card, "n"):
        data["first_name"] = str(card.n.value.given or "").strip()
        data["last_name"] = str(card.n.value.family or "").strip()
    if not data.get("last_name") and hasattr(card, "fn"):
        first, _sep, last = str(card.fn.value).strip().rpartition(" ")
        data["first_name"], data["last_name"] = (first, last) if first else (data.get("first_name", ""), last)
    if not data.get("last_name"):
        raise ValidationError({"last_name": [_("The vCard has no name (N or FN).")]})
    org, department = "", ""
    if hasattr(card, "org"):
        parts = list(card.org.value) if isinstance(card.org.value, list | tuple) else [str(card.org.value)]
        org = str(parts[0]).strip() if parts else ""
        department = str(parts[1]).strip() if len(parts) > 1 else ""
    if org:
        found = _organization_id(org, actor)
        if found is not None:
            data["organization"] = found
    else:
        data["organization"] = None
    data["department"] = department
    data["title"] = str(card.title.value).strip() if hasattr(card, "title") else ""
    emails = [str(p.value).strip() for p in card.contents.get("email", []) if str(p.value).strip()]
    pref = [str(p.value).strip() for p in card.contents.get("email", []) if "PREF" in _types(p)]
    if pref and pref[0] in emails:
        emails.remove(pref[0])
        emails.insert(0, pref[0])
    data["email"] = emails[0] if emails else ""
    data["secondary_email"] = emails[1] if len(emails) > 1 else ""
    phones = {field: "" for field, _kind in TEL_FIELDS}
    for prop in card.contents.get("tel", []):
        value, kinds = str(prop.value).strip(), _types(prop)
        field = next((f for f, kind in TEL_FIELDS if kind != "WORK" and kind in kinds), "phone")
        if phones[field]:
            field = "other_phone" if not phones["other_phone"] else field
        if not phones[field]:
            phones[field] = value
    data.update(phones)
    addresses: list[tuple[set[str], Any]] = [(_types(p), p.value) for p in card.contents.get("adr", [])]
    slots: dict[str, Any] = {}
    for kinds, value in addresses:
        prefix = "other" if "HOME" in kinds or "mailing" in slots else "mailing"
        slots.setdefault(prefix, value)
    for prefix, _kind in ADR_FIELDS:
        adr: Any = slots.get(prefix)
        street = adr.street if adr is not None else ""
        data[f"{prefix}_street"] = " ".join(street) if isinstance(street, list) else str(street or "")
        data[f"{prefix}_city"] = str(adr.city or "") if adr is not None else ""
        data[f"{prefix}_state"] = str(adr.region or "") if adr is not None else ""
        data[f"{prefix}_postal_code"] = str(adr.code or "") if adr is not None else ""
        data[f"{prefix}_country"] = str(adr.country or "") if adr is not None else ""
    data["birthday"] = _bday(card.bday.value) if hasattr(card, "bday") else None
    data["description"] = str(card.note.value) if hasattr(card, "note") else ""
    return {k: v for k, v in data.items() if k not in hidden}
