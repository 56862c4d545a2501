"""The safe template language of email templates (and, later, document templates such as quote PDFs).

Syntax: `{{ group.field }}` and `{{ group.field|default:"text" }}`, nothing else. A value comes only
from the `values` mapping the caller built from whitelisted fields (`record_values`): there is no
attribute access, no call, no loop, no include, and a value is never rendered again, so a record whose
name is "{{ sender.email }}" prints exactly that. Unknown groups and fields render as the default (or
nothing). In HTML mode every value is escaped.

Public function: `render(source, values, html=...)`. `record_values(...)` builds the values of a record,
its organisation and contact, the sending member and the company.
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from collections.abc import Mapping
from typing import Any

from django.db import connection
from django.db import models as dj_models
from django.utils import formats
from django.utils.html import escape

TOKEN = re.compile(
    r"\{\{\s*(?P<group>[a-z][a-z0-9_]{0,40})\.(?P<field>[a-z][a-z0-9_]{0,60})\s*"
    r"(?:\|\s*default\s*:\s*\"(?P<default>[^\"{}]{0,200})\"\s*)?\}\}"
)
Values = Mapping[str, Mapping[str, str]]


def render(source: str, values: Values, *, html: bool = False) -> str:
    """`source` with each `{{ group.field }}` replaced by its value (escaped when `html`)."""

    def substitute(match: re.Match[str]) -> str:
        value = values.get(match["group"], {}).get(match["field"], "")
        if not value:
            value = match["default"] or ""
        return escape(value) if html else value

    return TOKEN.sub(substitute, source or "")


def fields_used(source: str) -> list[str]:
    """The `group.field` names a template uses, in order (for the editor's check)."""
    return [f"{m['group']}.{m['field']}" for m in TOKEN.finditer(source or "")]


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "✓" if value else ""
    if isinstance(value, dt.datetime | dt.date | decimal.Decimal | float):
        return str(formats.localize(value))
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    return str(value)


SKIPPED = {"id", "custom_data", "search_vector", "deleted_at", "version", "tags"}


def model_values(record: Any, *, hidden: set[str] | frozenset[str] = frozenset()) -> dict[str, str]:
    """A record's plain fields as text (references by their title), without the fields `hidden` names."""
    values: dict[str, str] = {}
    if record is None:
        return values
    for f in record._meta.concrete_fields:
        if f.name in SKIPPED or f.name in hidden:
            continue
        if isinstance(f, dj_models.ForeignKey):
            related = getattr(record, f.name, None)
            values[f.name] = str(related) if related is not None else ""
            continue
        if f.choices:
            values[f.name] = _text(getattr(record, f"get_{f.name}_display")())
            continue
        values[f.name] = _text(getattr(record, f.attname, None))
    for key, value in (getattr(record, "custom_data", None) or {}).items():
        if f"custom.{key}" not in hidden:
            values[f"custom_{key}"] = _text(value)
    return values


def record_values(*, spec: Any, record: Any, actor: Any, sender: Any = None) -> dict[str, dict[str, str]]:
    """The groups a template may use for `record`: `record` (and its module's singular key: `contact`,
    `lead`...), `organization` and `contact` when the record has them, `sender` and `company`. Fields the
    actor's profile hides are left out."""
    from crm_apps.access import visibility
    from crm_apps.engine import registry

    values: dict[str, dict[str, str]] = {}
    if record is not None:
        hidden = visibility.hidden_fields(actor=actor, spec=spec)
        own = model_values(record, hidden=hidden)
        values["record"] = own
        values[singular(spec.key)] = own
        for name in ("organization", "contact"):
            related = getattr(record, name, None) if hasattr(record, name) else None
            if not isinstance(related, dj_models.Model):
                continue
            try:
                related_spec = registry.get(name + "s")
            except registry.UnknownModule:
                continue
            # The linked record's fields only when the actor may see that record itself: a template must
            # not read out an organisation or contact that sharing rules hide from its sender.
            if actor is None or not visibility.can_view_module(actor=actor, spec=related_spec):
                continue
            seen = related_spec.records().filter(pk=related.pk)
            if not visibility.visible_records(actor=actor, spec=related_spec, queryset=seen).exists():
                continue
            related_hidden = visibility.hidden_fields(actor=actor, spec=related_spec)
            values[name] = model_values(related, hidden=related_hidden)
    member = sender or actor
    if member is not None:
        values["sender"] = {
            "name": member.user.name or "",
            "email": member.user.email or "",
            "first_name": (member.user.name or "").split(" ")[0],
        }
    tenant = getattr(connection, "tenant", None)
    values["company"] = {"name": str(getattr(tenant, "name", "") or "")}
    return values


def singular(module: str) -> str:
    return {"organizations": "organization", "contacts": "contact", "leads": "lead", "deals": "deal"}.get(
        module, module[:-1] if module.endswith("s") else module
    )
