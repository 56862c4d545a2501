"""Records as JSON: one function used by the API list, detail and exports."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from django.db import models

from crm_apps.engine.models import CrmRecord, CustomField
from crm_apps.engine.spec import ModuleSpec

READ_ONLY = ("id", "number", "created_at", "updated_at", "version", "created_by", "updated_by")


def jsonable(value: Any) -> Any:
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
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
    for name in api_fields(spec) if fields is None else fields:
        field = spec.model._meta.get_field(name)
        if isinstance(field, models.ForeignKey):
            data[name] = jsonable(getattr(record, field.attname))
        else:
            data[name] = jsonable(getattr(record, name))
    stored = record.custom_data or {}
    data["custom"] = {f.key: stored.get(f.key) for f in custom_fields}
    return data
