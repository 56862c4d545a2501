"""Records in vtiger's shape: every value a string, references and owners as `<prefix>x<id>`, dates
`YYYY-MM-DD`, times of day and moments `YYYY-MM-DD HH:MM:SS` (UTC), checkboxes "1"/"0", multi-select
values joined by " |##| ". And back: a vtiger element to the engine's `data` and `custom` values."""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.engine import registry
from crm_apps.engine.fieldaccess import FieldRules
from crm_apps.engine.models import FieldType
from crm_apps.vtiger import catalog, errors, ids
from crm_apps.vtiger.catalog import GROUPS, STANDARD_IDS, USERS, WsField, WsModule
from crm_apps.vtiger.errors import WsError

MULTI_SEPARATOR = " |##| "
USER_PREFIX = STANDARD_IDS[USERS]
GROUP_PREFIX = STANDARD_IDS[GROUPS]
TRUE_WORDS = {"1", "true", "on", "yes"}
FALSE_WORDS = {"0", "false", "off", "no", ""}


def member_id(member_pk: Any) -> str:
    return f"{USER_PREFIX}x{member_pk}" if member_pk else ""


def _text(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, dt.datetime):
        return (
            timezone.localtime(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
            if timezone.is_aware(value)
            else (value.strftime("%Y-%m-%d %H:%M:%S"))
        )
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(str(v) for v in value)
    return str(value)


def serialize(
    ws: WsModule, records: list[Any], rules: FieldRules, columns: list[str] | None = None
) -> list[dict[str, str]]:
    """The records as vtiger elements, with the fields the member may see (only `columns` when given)."""
    spec = ws.spec
    assert spec is not None
    fields = catalog.visible_fields(ws, rules)
    if columns is not None:
        fields = {n: fields[n] for n in columns if n in fields}
    own = ids.crmids_for(spec.key, [r.pk for r in records])
    # References: one crmid statement per target module, one lookup per named-value table.
    wanted: dict[str, set[Any]] = defaultdict(set)
    named: dict[str, dict[Any, str]] = {}
    for f in fields.values():
        if f.type == "reference" and f.target:
            for r in records:
                value = (r.custom_data or {}).get(f.attr) if f.custom else getattr(r, f.model_field.attname)
                if value:
                    wanted[f.target].add(value)
        elif f.type == "picklist" and isinstance(f.model_field, models.ForeignKey):
            keys = {getattr(r, f.model_field.attname) for r in records} - {None}
            named_model: Any = f.model_field.remote_field.model
            named[f.name] = {
                pk: str(getattr(obj, "name", obj)) for pk, obj in named_model.objects.in_bulk(list(keys)).items()
            }
    refs: dict[str, dict[uuid.UUID, int]] = {}
    for target, values in wanted.items():
        refs[target] = ids.crmids_for(target, values)
    prefixes = {target: catalog.prefix_of(registry.get(target)) for target in refs}
    out = []
    for record in records:
        element: dict[str, str] = {"id": f"{ws.prefix}x{own[record.pk]}"}
        custom = record.custom_data or {}
        for name, f in fields.items():
            if f.custom:
                value = custom.get(f.attr)
                if f.type == "reference" and value:
                    number = refs.get(f.target, {}).get(uuid.UUID(str(value)))
                    element[name] = f"{prefixes[f.target]}x{number}" if number else ""
                elif f.type == "owner":
                    element[name] = member_id(value)
                else:
                    element[name] = _text(value, f.type)
                continue
            if f.attr == "owner":
                if record.owner_group_id:
                    element[name] = f"{GROUP_PREFIX}x{record.owner_group_id}"
                else:
                    element[name] = member_id(record.owner_id)
                continue
            mf = f.model_field
            if isinstance(mf, models.ForeignKey):
                raw = getattr(record, mf.attname)
                if f.type == "reference":
                    number = refs.get(f.target, {}).get(raw) if raw else None
                    element[name] = f"{prefixes[f.target]}x{number}" if number else ""
                elif f.type == "owner":
                    element[name] = member_id(raw) if USERS in f.refers_to else (f"{GROUP_PREFIX}x{raw}" if raw else "")
                else:
                    element[name] = named.get(name, {}).get(raw, "") if raw else ""
                continue
            element[name] = _text(getattr(record, f.attr), f.type)
        out.append(element)
    return out


def serialize_member(member: Any) -> dict[str, str]:
    name = (member.user.name or "").strip()
    first, _sep, last = name.rpartition(" ")
    return {
        "id": member_id(member.pk),
        "user_name": member.user.email,
        "email1": member.user.email,
        "first_name": first,
        "last_name": last or name,
        "status": "Active" if member.active else "Inactive",
        "is_admin": "on" if member.is_admin else "off",
        "language": member.language,
        "time_zone": member.timezone,
        "roleid": member.role.name if member.role_id else "",
    }


def serialize_group(group: Any) -> dict[str, str]:
    return {"id": f"{GROUP_PREFIX}x{group.pk}", "groupname": group.name, "description": group.description}


# ---------------------------------------------------------------------------------------------
# Input


def record_uuid(ws: WsModule, value: Any) -> uuid.UUID | None:
    """The UUID of a record of `ws` named by a vtiger id; None when it is not one of this module's ids
    (or names no record)."""
    parsed = ids.parse(value)
    if parsed is None or parsed[0] != ws.prefix or ws.spec is None:
        return None
    return ids.records_for(ws.spec.key, [parsed[1]]).get(parsed[1])


def _reference(f: WsField, value: Any) -> str:
    if value in (None, ""):
        return ""
    parsed = ids.parse(value)
    if parsed is None:
        raise WsError(
            errors.REFERENCE_INVALID,
            _("%(field)s: “%(value)s” is not a record id.") % {"field": f.name, "value": value},
        )
    target = registry.get(f.target)
    if parsed[0] != catalog.prefix_of(target):
        raise WsError(
            errors.REFERENCE_INVALID,
            _("%(field)s: “%(value)s” is not a record of %(module)s.")
            % {"field": f.name, "value": value, "module": catalog.name_of(target)},
        )
    found = ids.records_for(target.key, [parsed[1]]).get(parsed[1])
    if found is None:
        raise WsError(
            errors.REFERENCE_INVALID, _("%(field)s: no record %(value)s.") % {"field": f.name, "value": value}
        )
    return str(found)


def _member_number(f: WsField, value: Any, prefix: int = USER_PREFIX) -> int | None:
    if value in (None, ""):
        return None
    parsed = ids.parse(value)
    if parsed is None or parsed[0] != prefix:
        raise WsError(
            errors.REFERENCE_INVALID, _("%(field)s: “%(value)s” is not a user id.") % {"field": f.name, "value": value}
        )
    return parsed[1]


def _boolean(f: WsField, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value if value is not None else "").strip().lower()
    if text in TRUE_WORDS:
        return True
    if text in FALSE_WORDS:
        return False
    raise WsError(errors.FAILED_TO_UPDATE, _("%(field)s: enter 1 or 0.") % {"field": f.name})


def _moment(value: Any) -> Any:
    if isinstance(value, str) and value.strip():
        text = value.strip().replace("T", " ")
        for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
            try:
                return dt.datetime.strptime(text[:19], pattern).replace(tzinfo=dt.UTC)
            except ValueError:
                continue
    return value


def _named_value(f: WsField, value: Any) -> Any:
    """A pipeline, stage or folder named by its name (or its integer id)."""
    if value in (None, ""):
        return ""
    target = f.model_field.remote_field.model
    text = str(value).strip()
    if text.isdigit():
        found = target.objects.filter(pk=int(text)).first()
    else:
        found = target.objects.filter(name=text).order_by("pk").first() if hasattr(target, "name") else None
    if found is None:
        raise WsError(
            errors.FAILED_TO_UPDATE,
            _("%(field)s: “%(value)s” is not one of the choices.") % {"field": f.name, "value": value},
        )
    return found


def deserialize(ws: WsModule, element: dict[str, Any], rules: FieldRules) -> tuple[dict[str, Any], dict[str, Any]]:
    """(data, custom) for the engine's services from a vtiger element. Fields the module does not have
    and read-only fields (record_no, createdtime ...) are ignored, as vtiger does; the services refuse
    fields the member may not write."""
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, value in element.items():
        f = ws.fields.get(name)
        if f is None or not f.editable:
            continue
        if isinstance(value, dict | list) and not (f.custom and f.type == "multipicklist" and isinstance(value, list)):
            raise WsError(errors.FAILED_TO_UPDATE, _("%(field)s: send a single value.") % {"field": name})
        if f.custom:
            custom[f.attr] = _custom_value(f, value)
            continue
        if f.attr == "owner":
            parsed = ids.parse(value)
            if parsed is not None and parsed[0] == GROUP_PREFIX:
                data["owner"], data["owner_group"] = None, parsed[1]
            else:
                data["owner"], data["owner_group"] = _member_number(f, value), None
            continue
        if f.type == "reference":
            data[f.attr] = _reference(f, value)
        elif f.type == "owner":
            data[f.attr] = _member_number(f, value)
        elif f.type == "picklist" and isinstance(f.model_field, models.ForeignKey):
            data[f.attr] = _named_value(f, value)
        elif f.type == "boolean":
            data[f.attr] = _boolean(f, value)
        elif f.type == "datetime":
            data[f.attr] = _moment(value)
        else:
            data[f.attr] = "" if value is None else value
    return data, custom


def _custom_value(f: WsField, value: Any) -> Any:
    cf = f.custom_field
    assert cf is not None
    if value in (None, ""):
        return None
    if cf.type == FieldType.RECORD:
        return _reference(f, value)
    if cf.type == FieldType.MEMBER:
        return _member_number(f, value)
    if cf.type == FieldType.CHECKBOX:
        return _boolean(f, value)
    if cf.type == FieldType.MULTIPICKLIST:
        return [v.strip() for v in value.split("|##|")] if isinstance(value, str) else value
    return value


def emptied(ws: WsModule, element: dict[str, Any], rules: FieldRules) -> tuple[dict[str, Any], dict[str, Any]]:
    """For `update` (a full record): the editable fields left out, emptied, as vtiger does. Fields the
    model cannot store empty (a deal's pipeline) and fields the member may not write are kept."""
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, f in ws.fields.items():
        if name in element or not f.editable or f.attr == "owner":
            continue
        if not rules.editable(f"custom.{f.attr}" if f.custom else f.attr):
            continue
        if f.custom:
            custom[f.attr] = None
        elif f.model_field is not None and (f.model_field.blank or f.model_field.null):
            data[f.attr] = False if f.type == "boolean" else ""
    return data, custom


def validation_error(ws: WsModule, exc: ValidationError, code: str) -> WsError:
    """A service's ValidationError as vtiger's error: MANDATORY_FIELDS_MISSING when a required value is
    missing, else `code`; the message names the fields by their vtiger names."""
    by_attr = {("custom." + f.attr if f.custom else f.attr): n for n, f in ws.fields.items()}
    required_texts = {_("This field is required."), _("This field cannot be blank."), _("This field cannot be null.")}
    missing = False
    parts: list[str] = []
    items = exc.error_dict.items() if hasattr(exc, "error_dict") else [("", exc.error_list)]
    for key, problems in items:
        label = by_attr.get(key, key if key not in ("__all__", "non_field_errors") else "")
        for problem in problems:
            for message in problem.messages if hasattr(problem, "messages") else [str(problem)]:
                if getattr(problem, "code", None) in ("required", "blank", "null") or message in required_texts:
                    missing = True
                parts.append(f"{label}: {message}" if label else message)
    return WsError(errors.MANDATORY_FIELDS_MISSING if missing else code, " ".join(parts) or code)
