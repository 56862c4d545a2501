"""Turning stored values into what people read: picklist labels, links to referenced records, yes/no."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import models
from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext as _

from crm_apps.access.models import Group, Member
from crm_apps.engine import field_types, metadata, registry
from crm_apps.engine.models import CrmRecord, CustomField
from crm_apps.engine.spec import ModuleSpec


@dataclass
class Shown:
    label: str
    text: str
    url: str | None = None
    # A picklist value's colour ("#rrggbb"): lists show the value as a badge of that colour.
    color: str = ""


HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


# Links for plain stored values that feature apps contribute (click-to-call on phone fields):
# (model field, value) -> URL or None. Added at start-up; the first URL returned wins. A linker may say which
# model fields it can link at all (`applies`): a list page asks for every cell's link, and a linker that
# looks at the field first (is it an email field?) cost as much as the rest of the cell (issue 25).
ValueLinker = Callable[[Any, Any], str | None]
_value_linkers: list[tuple[ValueLinker, Callable[[Any], bool] | None]] = []
# model field -> the linkers that apply to it (model fields live as long as the process); None -> every linker
# (a custom field's).
_field_linkers: dict[Any, list[ValueLinker]] = {}


def value_linker_add(linker: ValueLinker, *, applies: Callable[[models.Field[Any, Any]], bool] | None = None) -> None:
    """Add `linker`; `applies(model_field)`, if given, is whether it can give a link for that model field's
    values at all (asked once per field; custom fields always go to the linker itself)."""
    if all(known is not linker for known, _applies in _value_linkers):
        _value_linkers.append((linker, applies))
        _field_linkers.clear()


def _linkers_for(field: Any) -> list[ValueLinker]:
    model_field = isinstance(field, models.Field)  # else a custom field (a row that can change): every linker
    key = field if model_field else None
    found = _field_linkers.get(key)
    if found is None:
        found = _field_linkers[key] = [
            linker for linker, applies in _value_linkers if applies is None or not model_field or applies(field)
        ]
    return found


def value_link(field: Any, value: Any) -> str | None:
    """The URL a linker gives this value of `field`, if any (never for empty values)."""
    if value in (None, ""):
        return None
    for linker in _linkers_for(field):
        url = linker(field, value)
        if url:
            return url
    return None


_URL_SENTINEL = "00000000-0000-0000-0000-000000000000"
_url_patterns: dict[tuple[str, str, str | None], str] = {}
_plain_urls: dict[tuple[str, str, str | None], str] = {}


def _record_url_pattern(spec: ModuleSpec) -> str:
    from django.urls import get_script_prefix, get_urlconf

    key = (spec.key, get_script_prefix(), get_urlconf())
    pattern = _url_patterns.get(key)
    if pattern is None:
        pattern = _url_patterns[key] = reverse("engine:detail", args=[spec.key, _URL_SENTINEL])
    return pattern


def record_url(spec: ModuleSpec, record: Any) -> str:
    """The record's page. URL reversing is slow and a list shows dozens of links: the module's
    pattern is reversed once per script prefix and URLconf, and only the id changes."""
    return _record_url_pattern(spec).replace(_URL_SENTINEL, str(record.pk))


def record_urls(spec: ModuleSpec) -> Callable[[Any], str]:
    """`record_url` for the many records of one module on one page (a board's 200 cards): the script prefix
    and URLconf (thread-local look-ups) read once."""
    pattern = _record_url_pattern(spec)
    return lambda record: pattern.replace(_URL_SENTINEL, str(record.pk))


_field_labels: dict[tuple[type, str, str], str] = {}


def field_label(model: type, name: str, language: str | None = None) -> str:
    """The model field's label, translated into the active language and capitalised; worked out once per
    process and language (a list page showed ~150 labels, each a lazy translation resolved anew). A caller
    asking for many labels passes the active `language` (`get_language()`), read once."""
    if language is None:
        from django.utils.translation import get_language

        language = get_language() or ""
    key = (model, name, language)
    found = _field_labels.get(key)
    if found is None:
        field: Any = model._meta.get_field(name)  # type: ignore[attr-defined]
        found = _field_labels[key] = str(field.verbose_name).capitalize()
    return found


def url_of(name: str) -> str:
    """`reverse(name)` for a route without arguments, reversed once per script prefix and URLconf (value
    linkers call it for every cell of a list)."""
    from django.urls import get_script_prefix, get_urlconf

    key = (name, get_script_prefix(), get_urlconf())
    found = _plain_urls.get(key)
    if found is None:
        found = _plain_urls[key] = reverse(name)
    return found


class Displayer:
    """Formats values of one module; loads each picklist once."""

    def __init__(self, spec: ModuleSpec) -> None:
        self.spec = spec
        by_name = metadata.picklist_map(list(spec.picklists.values()))  # read once per request
        self.values = {field: by_name.get(name, []) for field, name in spec.picklists.items()}
        self.labels = {field: {v.value: v.label for v in values} for field, values in self.values.items()}
        self.colors = {
            field: {v.value: v.color for v in values if HEX_COLOR.match(v.color or "")}
            for field, values in self.values.items()
        }
        self._field_labels: dict[str, str] = {}
        self._plans: dict[str, tuple[Any, str, str, list[ValueLinker]]] = {}

    def label(self, name: str) -> str:
        """The field's translated label, worked out once per page rather than once per cell."""
        found = self._field_labels.get(name)
        if found is None:
            found = self._field_labels[name] = field_label(self.spec.model, name)
        return found

    def _plan(self, name: str) -> tuple[Any, str, str, list[ValueLinker]]:
        """(model field, label, kind, linkers) of a field, worked out once per page: a list asks for ~150 cells."""
        found = self._plans.get(name)
        if found is None:
            field: Any = self.spec.model._meta.get_field(name)
            if name == "owner":
                kind, label = "owner", _("Owner")
            else:
                label = self.label(name)
                if isinstance(field, models.ForeignKey):
                    kind = "reference"
                elif name in self.labels:
                    kind = "picklist"
                elif isinstance(field, models.URLField):
                    kind = "url"
                else:
                    kind = "plain"
            found = self._plans[name] = (field, label, kind, _linkers_for(field))
        return found

    def value(self, record: CrmRecord, name: str) -> Shown:
        field, label, kind, linkers = self._plan(name)
        if kind == "owner":
            return Shown(label, owner_label(record))
        if kind == "reference":
            if getattr(record, field.attname) is None:
                return Shown(label, "")
            target = getattr(record, name)
            if isinstance(target, Member):
                return Shown(label, target.user.name)
            if isinstance(target, Group):
                return Shown(label, target.name)
            try:
                target_spec = registry.spec_for_model(type(target))
            except registry.UnknownModule:  # pipelines, stages: their (possibly translated) name
                return Shown(label, str(getattr(target, "display_name", target)))
            if target.deleted_at is not None:
                return Shown(label, _("%(record)s (in the recycle bin)") % {"record": target})
            return Shown(label, str(target), record_url(target_spec, target))
        raw = getattr(record, name)
        if kind == "picklist":
            return Shown(label, self.labels[name].get(raw, raw or ""), color=self.colors[name].get(raw, ""))
        if kind == "url":
            return Shown(label, plain(raw), raw or value_link(field, raw))
        url = None
        if linkers and raw is not None and raw != "":
            url = next((found for linker in linkers if (found := linker(field, raw))), None)
        return Shown(label, plain(raw), url)


def plain(value: Any) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dt.datetime):
        return formats.date_format(value, "SHORT_DATETIME_FORMAT")
    if isinstance(value, dt.date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    if isinstance(value, Decimal):
        return formats.number_format(value, decimal_pos=2, use_l10n=True, force_grouping=True)
    if isinstance(value, list | tuple):
        return ", ".join(plain(item) for item in value)
    return str(value)


def owner_label(record: CrmRecord) -> str:
    if record.owner_group is not None:
        return record.owner_group.name
    if record.owner is not None:
        return record.owner.user.name
    return ""


def custom_shown(field: CustomField, record: CrmRecord) -> Shown:
    value = (record.custom_data or {}).get(field.key)
    return Shown(field.label, field_types.display_value(field, value), value_link(field, value))
