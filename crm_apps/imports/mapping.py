"""What a file's columns can be imported into (a module's fields, custom fields, the owner), and the
first guess of which column is which, from the fields' labels and keys in English and Russian, their vtiger
names, and common spreadsheet/vCard/iCalendar headings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _

from crm_apps.engine import metadata
from crm_apps.engine.models import CustomField, FieldType
from crm_apps.engine.services._common import COMMON_FIELDS
from crm_apps.engine.spec import ModuleSpec

OWNER = "owner"
LANGUAGES = ("en", "ru")


@dataclass(frozen=True)
class Target:
    name: str  # "email", "organization", "custom.vip", "owner"
    label: str
    kind: str  # "field" | "reference" | "custom" | "owner" | "tags"
    required: bool = False
    picklist: str = ""  # the picklist name of a picklist field
    model_field: Any = None
    custom_field: CustomField | None = None

    @property
    def is_email(self) -> bool:
        if self.custom_field is not None:
            return self.custom_field.type == FieldType.EMAIL
        return isinstance(self.model_field, models.EmailField)

    @property
    def is_phone(self) -> bool:
        if self.custom_field is not None:
            return self.custom_field.type == FieldType.PHONE
        return self.kind == "field" and ("phone" in self.name or self.name in ("mobile", "fax"))


def targets(spec: ModuleSpec) -> dict[str, Target]:
    """Every field a column may fill, by name (standard fields in form order, then custom fields)."""
    found: dict[str, Target] = {}
    for name in spec.form_fields:
        if name in COMMON_FIELDS and name != "tags":
            continue
        field: Any = spec.model._meta.get_field(name)
        label = str(field.verbose_name).capitalize()
        kind = "reference" if isinstance(field, models.ForeignKey) else "field"
        required = not field.blank and not field.has_default() and kind == "field"
        found[name] = Target(name, label, kind, required, spec.picklists.get(name, ""), field)
    found[OWNER] = Target(OWNER, _("Owner"), "owner")
    if "tags" not in found:
        found["tags"] = Target("tags", _("Tags"), "tags", model_field=spec.model._meta.get_field("tags"))
    for custom in metadata.custom_fields(spec.key):
        picklist = custom.picklist_name if custom.type in (FieldType.PICKLIST, FieldType.MULTIPICKLIST) else ""
        found[f"custom.{custom.key}"] = Target(
            f"custom.{custom.key}", custom.label, "custom", custom.required, picklist, None, custom
        )
    return found


def _norm(text: Any) -> str:
    return re.sub(r"[\W_]+", "", str(text or "").casefold())


# Headings people and other programs use, beyond the fields' own labels (normalised like _norm).
SYNONYMS: dict[str, tuple[str, ...]] = {
    "first_name": ("firstname", "givenname", "forename", "ngiven", "имя"),
    "last_name": ("lastname", "surname", "familyname", "nfamily", "фамилия"),
    "salutation": ("nprefix", "обращение"),
    "email": ("email", "emailaddress", "mail", "e-mail", "почта", "электроннаяпочта", "емейл"),
    "secondary_email": ("email2", "secondaryemail", "otheremail"),
    "phone": ("tel", "telephone", "phonenumber", "officephone", "workphone", "телефон"),
    "mobile": ("telcell", "mobilephone", "cell", "cellphone", "мобильный", "мобильныйтелефон"),
    "home_phone": ("telhome", "домашнийтелефон"),
    "fax": ("telfax", "факс"),
    "organization": ("org", "company", "account", "accountname", "companyname", "организация", "компания"),
    "title": ("jobtitle", "position", "должность"),
    "birthday": ("bday", "dateofbirth", "деньрождения", "датарождения"),
    "description": ("note", "notes", "comment", "описание", "примечание"),
    "website": ("url", "web", "site", "сайт"),
    "mailing_street": ("adrstreet", "street", "address", "улица", "адрес"),
    "mailing_city": ("adrcity", "city", "город"),
    "mailing_state": ("adrregion", "state", "region", "регион", "область"),
    "mailing_postal_code": ("adrcode", "zip", "zipcode", "postcode", "postalcode", "индекс"),
    "mailing_country": ("adrcountry", "country", "страна"),
    "name": ("name", "название", "наименование"),
    "subject": ("summary", "subject", "тема"),
    "start": ("dtstart", "start", "starts", "начало"),
    "end": ("dtend", "end", "ends", "окончание"),
    "due_date": ("due", "duedate", "срок"),
    "location": ("location", "место"),
    "kind": ("kind", "type", "тип"),
    OWNER: ("owner", "assignedto", "assigneduser", "assigneduserid", "ответственный", "владелец"),
    "tags": ("tags", "labels", "теги", "метки"),
}


def _names_of(spec: ModuleSpec, target: Target) -> set[str]:
    names = {_norm(target.name), _norm(target.label)}
    if target.custom_field is not None:
        names.add(_norm(target.custom_field.key))
        names.add(_norm(f"cf_{target.custom_field.key}"))
    if target.model_field is not None and target.kind != "tags":
        for language in LANGUAGES:
            with translation.override(language):
                names.add(_norm(target.model_field.verbose_name))
    vtiger = getattr(spec, "vtiger_fields", {}) or {}
    if target.name in vtiger:
        names.add(_norm(vtiger[target.name]))
    names.update(_norm(s) for s in SYNONYMS.get(target.name, ()))
    names.discard("")
    return names


def guess(spec: ModuleSpec, headers: list[str]) -> dict[str, str]:
    """column index (text) -> field name, for the columns whose heading names a field; each field is
    taken once (the first column naming it wins)."""
    found = targets(spec)
    index: dict[str, str] = {}
    # Exact names and labels first, then synonyms, so "Email" beats a synonym of another field.
    ordered = sorted(found.values(), key=lambda t: t.kind == "custom")
    for target in ordered:
        for name in _names_of(spec, target):
            index.setdefault(name, target.name)
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for position, header in enumerate(headers):
        field_name = index.get(_norm(header))
        if field_name and field_name not in taken:
            mapping[str(position)] = field_name
            taken.add(field_name)
    return mapping


def from_saved(headers: list[str], columns: dict[str, str], spec: ModuleSpec) -> dict[str, str]:
    """A saved mapping (column heading -> field) applied to this file's headings; fields that no longer
    exist are dropped."""
    known = targets(spec)
    by_heading = {_norm(k): v for k, v in columns.items()}
    mapping = {}
    for position, header in enumerate(headers):
        name = by_heading.get(_norm(header))
        if name and name in known:
            mapping[str(position)] = name
    return mapping


def dedupe_choices(spec: ModuleSpec) -> list[tuple[str, str]]:
    """Fields an import can recognise existing records by: emails, phones (normalised to E.164), the
    name together with the organisation, the number, and custom text/email/phone/number fields."""
    choices: list[tuple[str, str]] = [("number", _("Number"))]
    for target in targets(spec).values():
        if (target.kind == "field" and (target.is_email or target.is_phone)) or (
            target.kind == "custom"
            and target.custom_field is not None
            and target.custom_field.type
            in (
                FieldType.TEXT,
                FieldType.EMAIL,
                FieldType.PHONE,
                FieldType.INTEGER,
            )
        ):
            choices.append((target.name, target.label))
    if name_fields(spec):
        choices.append(("name", _("Name and organisation") if org_field(spec) else _("Name")))
    return choices


def name_fields(spec: ModuleSpec) -> tuple[str, ...]:
    return tuple(n for n in spec.title_fields if n in spec.form_fields)


def org_field(spec: ModuleSpec) -> str:
    """The reference to an organisation, when the module has one (contacts, deals, leads have a text
    company instead, which counts as the organisation)."""
    for name in spec.form_fields:
        field: Any = spec.model._meta.get_field(name)
        if isinstance(field, models.ForeignKey) and getattr(field.remote_field.model._meta, "model_name", "") == (
            "organization"
        ):
            return name
    if "company" in spec.form_fields:
        return "company"
    return ""
