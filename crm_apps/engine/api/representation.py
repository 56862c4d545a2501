"""Records as JSON: one function used by the API list, detail and exports."""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from decimal import Decimal
from typing import Any

from django.db import models

from crm_apps.engine.models import CrmRecord, CustomField
from crm_apps.engine.spec import ModuleSpec

READ_ONLY = ("id", "number", "created_at", "updated_at", "version", "created_by", "updated_by")


_AS_TEXT = (Decimal, uuid.UUID)
_AS_ISO = (dt.datetime, dt.date)
_PLAIN = (str, int, float, bool, type(None))


def jsonable(value: Any) -> Any:
    if isinstance(value, _PLAIN):  # most values: one check (a list page converts ~700)
        return value
    if isinstance(value, _AS_TEXT):
        return str(value)
    if isinstance(value, _AS_ISO):
        return value.isoformat()
    return value


def api_fields(spec: ModuleSpec) -> list[str]:
    """Standard fields in API order: every field of the blocks (read-only ones included)."""
    names: list[str] = []
    for block in spec.blocks:
        for name in block.fields:
            if name not in names:
                names.append(name)
    return names


def _attributes(spec: ModuleSpec, fields: list[str]) -> tuple[tuple[str, str, bool], ...]:
    """(API name, attribute to read, whether the value needs `jsonable`): a reference is its id (`owner_id`),
    never the related row."""
    return _attributes_of(spec.model, tuple(fields))


# Fields whose values are already JSON as read (str, int, bool, float or None): no conversion per value.
_PLAIN_FIELDS = (
    models.CharField,
    models.TextField,
    models.IntegerField,
    models.BooleanField,
    models.FloatField,
)


@functools.lru_cache(maxsize=512)
def _attributes_of(model: type[models.Model], fields: tuple[str, ...]) -> tuple[tuple[str, str, bool], ...]:
    out = []
    for name in fields:
        field = model._meta.get_field(name)
        if isinstance(field, models.ForeignKey):
            target = field.target_field
            out.append((name, field.attname, not isinstance(target, _PLAIN_FIELDS)))
        else:
            out.append((name, name, not isinstance(field, _PLAIN_FIELDS)))
    return tuple(out)


def record_to_api(
    spec: ModuleSpec, record: CrmRecord, custom_fields: list[CustomField], fields: list[str] | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": str(record.pk),
        "number": record.number,
        "owner": record.owner_id,
        "owner_group": record.owner_group_id,
        "created_at": jsonable(record.created_at),
        "updated_at": jsonable(record.updated_at),
        "version": record.version,
        "tags": list(record.tags or []),
    }
    values = record.__dict__
    for name, attribute, convert in _attributes(spec, api_fields(spec) if fields is None else fields):
        value = values[attribute] if attribute in values else getattr(record, attribute)  # deferred: loaded
        data[name] = jsonable(value) if convert else value
    stored = record.custom_data or {}
    data["custom"] = {f.key: stored.get(f.key) for f in custom_fields}
    return data


def children_to_api(spec: ModuleSpec, record: CrmRecord, hidden: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The record's child tables (one query each), for detail responses; lists leave them out."""
    from crm_apps.engine.children import row_data, rows_of

    return {
        child.key: [row_data(child, row) for row in rows_of(child, record)]
        for child in spec.children
        if child.key not in hidden
    }


def nest_row_errors(spec: ModuleSpec, errors: dict[str, list[str]], children: Any) -> dict[str, Any]:
    """Service errors `lines.1.quantity` as the API answers them: `{"lines": [{}, {"quantity": [...]}]}`
    (one object per row sent, empty for good rows); table-wide errors stay a list of messages."""
    nested: dict[str, Any] = {}
    for name, messages in errors.items():
        key, _dot, rest = name.partition(".")
        index, _dot, field = rest.partition(".")
        if spec.child(key) is None or not index.isdigit() or not field:
            nested[name] = messages
            continue
        if not isinstance(nested.get(key), list):
            sent = children.get(key) if isinstance(children, dict) else None
            nested[key] = [{} for _row in (sent if isinstance(sent, list) else [])]
        rows = nested[key]
        while len(rows) <= int(index):
            rows.append({})
        rows[int(index)][field] = messages
    return nested
