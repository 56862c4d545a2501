"""The contacts address book: every contact the member can see, as vCard 3.0 (4.0 when the client asks), two-way.

Fields map one to one (N, FN, ORG with the department, TITLE, two EMAILs, six kinds of TEL, the mailing
and other ADR, BDAY, NOTE, UID). ORG is matched to an existing organisation the member can see by its
name; an unknown organisation name leaves the contact's organisation as it was (a client never creates
organisations). Fields hidden from the member are neither sent nor written; a PUT that would change a
read-only field is refused like any other write.

Custom fields travel as `X-KESTREL-<KEY>` properties (the key upper-cased, `_` as `-`); a client's changed
value is written through `record_update(custom=...)` (the field's type validation, field rights, audit).
A client that drops an X- property leaves the field as it is; an empty value clears it.

vCard 4.0 (RFC 6350): `vcard_v4` turns the 3.0 card into 4.0 for a client that asks for it (an Accept header
with `version=4.0`, or `address-data version="4.0"` in a REPORT, RFC 6352 10.4); 3.0 stays the default.
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
from crm_apps.engine import metadata, registry
from crm_apps.engine.services import record_create, record_update

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


X_PREFIX = "X-KESTREL-"
_UNCOMPARED = object()


def custom_property(key: str) -> str:
    """The vCard property name of a custom field (vCard names take letters, digits and hyphens only)."""
    return X_PREFIX + key.upper().replace("_", "-")


def custom_text(value: Any) -> str:
    """A stored custom value as the text a vCard carries (what the field's validation reads back)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def _custom_fields(hidden: set[str]) -> dict[str, Any]:
    """{property name: field} of the contacts' live custom fields the member may see; two keys that would
    share a property name ("a_b", "a-b") are left out (neither could round-trip)."""
    found: dict[str, list[Any]] = {}
    for field in metadata.custom_fields("contacts"):
        if f"custom.{field.key}" not in hidden:
            found.setdefault(custom_property(field.key), []).append(field)
    return {name: fields[0] for name, fields in found.items() if len(fields) == 1}


def contact_write(actor: Member, record: Any, data: dict[str, Any], expected_version: int | None) -> Any:
    """The engine's services with the custom values (`data["custom"]`) passed as `custom=`."""
    spec = registry.get("contacts")
    fields = {k: v for k, v in data.items() if k != "custom"}
    custom = data.get("custom") or None
    if record is None:
        return record_create(spec=spec, actor=actor, data=fields, custom=custom)
    return record_update(
        spec=spec, actor=actor, record=record, data=fields, custom=custom, expected_version=expected_version
    )


class ContactsBackend(RecordCollection):
    key = "contacts"
    kind = ADDRESSBOOK
    module = "contacts"
    extension = ".vcf"
    content_type = "text/vcard; charset=utf-8"
    select_related = ("organization",)
    write = staticmethod(contact_write)

    def render(self, record: Any, *, uid: str, hidden: set[str]) -> str:
        return vcard_render(record, uid=uid, hidden=hidden)

    def parse(self, body: str) -> Any:
        return vcard_parse(body)

    def uid_of(self, parsed: Any) -> str | None:
        return str(parsed.uid.value) if hasattr(parsed, "uid") else None

    def to_data(self, parsed: Any, *, actor: Member, hidden: set[str], record: Any) -> dict[str, Any]:
        data = vcard_to_data(parsed, actor=actor, hidden=hidden)
        custom = vcard_custom(parsed, record=record, hidden=hidden)
        if custom:
            data["custom"] = custom
        return data

    def current(self, record: Any, name: str) -> Any:
        if name == "custom":
            return _UNCOMPARED  # `vcard_custom` gave only the changed values
        return super().current(record, name)


def vcard_custom(card: Any, *, record: Any, hidden: set[str]) -> dict[str, Any]:
    """{custom field key: text} of the X-KESTREL-* values that differ from the record's ("" clears)."""
    fields = _custom_fields(hidden)
    stored = (getattr(record, "custom_data", None) or {}) if record is not None else {}
    changed: dict[str, Any] = {}
    for name, props in card.contents.items():
        field = fields.get(name.upper())
        if field is None or not props:
            continue
        text = str(props[0].value).strip()
        if text != custom_text(stored.get(field.key)):
            changed[field.key] = text or None
    return changed


def _v4_types(prop: Any, *, drop: set[str]) -> None:
    kinds = [k for k in (t.lower() for t in _types(prop)) if k.upper() not in drop]
    prop.params.pop("TYPE", None)
    if kinds:
        prop.params["TYPE"] = sorted(kinds)


def vcard_v4(body: str) -> str:
    """A vCard 3.0 as sent by `vcard_render`, as vCard 4.0 (RFC 6350): VERSION 4.0, KIND, PREF=1 instead of
    TYPE=PREF, lower-case types without INTERNET, TEL as text, BDAY in the basic date format."""
    card = vobject.readOne(body)
    card.version.value = "4.0"
    card.add("kind").value = "individual"
    for prop in card.contents.get("email", []):
        preferred = "PREF" in _types(prop)
        _v4_types(prop, drop={"INTERNET", "PREF"})
        if preferred:
            prop.params["PREF"] = ["1"]
    for prop in card.contents.get("tel", []):
        _v4_types(prop, drop={"PREF"})
        prop.params["VALUE"] = ["text"]
    for prop in card.contents.get("adr", []):
        _v4_types(prop, drop=set())
    if hasattr(card, "bday"):
        card.bday.value = str(card.bday.value).replace("-", "")
    return str(card.serialize())


def _q_value(params: list[str]) -> float:
    for param in params:
        name, _sep, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return float(value)
            except ValueError:
                return 0.0
    return 1.0


def wants_vcard4(accept: str) -> bool:
    """Whether an Accept header prefers `text/vcard; version=4.0` to 3.0 (RFC 6352 5.1.1): the best quality
    of a 4.0 range at least that of any other text/vcard range. 3.0 when nothing says so."""
    best4, best_other = -1.0, -1.0
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        if media.lower() not in ("text/vcard", "text/x-vcard"):
            continue
        version = next((p.partition("=")[2].strip().strip('"') for p in params if p.lower().startswith("version=")), "")
        quality = _q_value(params)
        if version == "4.0":
            best4 = max(best4, quality)
        else:
            best_other = max(best_other, quality)
    return best4 > 0 and best4 >= best_other


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
    values = getattr(record, "custom_data", None) or {}
    for name, field in _custom_fields(hidden).items():
        text = custom_text(values.get(field.key))
        if text:
            card.add(name.lower()).value = text
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


def _tel_text(prop: Any) -> str:
    """A TEL value as a number: vCard 4.0 sends a `tel:` URI (RFC 3966), whose extension is kept as ` ext. `."""
    value = str(prop.value).strip()
    if value.lower().startswith("tel:"):
        number, _sep, params = value[4:].partition(";")
        extension = next((p[4:] for p in params.split(";") if p.lower().startswith("ext=")), "")
        value = number + (f" ext. {extension}" if extension else "")
    return value


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
    pref = [
        str(p.value).strip()
        for p in card.contents.get("email", [])
        if "PREF" in _types(p) or p.params.get("PREF")  # 3.0 TYPE=PREF, 4.0 PREF=1
    ]
    if pref and pref[0] in emails:
        emails.remove(pref[0])
        emails.insert(0, pref[0])
    data["email"] = emails[0] if emails else ""
    data["secondary_email"] = emails[1] if len(emails) > 1 else ""
    phones = {field: "" for field, _kind in TEL_FIELDS}
    for prop in card.contents.get("tel", []):
        value, kinds = _tel_text(prop), _types(prop)
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
