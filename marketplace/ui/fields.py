"""Field types contributed by installed apps (manifest `field_types`): an address with a map, a geo point.

- An administrator adds a field of an app's type to a module (`app_field_add`): it becomes an ordinary
  custom field of the engine's `structured` type, its parts copied from the manifest and
  `options["source"] = "app:<extension>.<type>"`. The engine stores and validates every value (parts,
  types, bounds, required) on every path: forms, API, imports, this module's endpoint. No partner code
  runs here; the app only sees what the context gives it and sends values back to be validated.
- On the record page each such field gets a frame of the type's `panel.url` (a record panel), whose signed
  context carries `field`, `value` and `can_edit` (the member may change the record, the field is not
  read-only or hidden for them, and the installation holds `<module>:write`; a hidden field gets no frame).
- The app saves a value with `POST /marketplace/app/field/value {"context", "value"}` (server to server):
  the context is the credential; the change is made as the context's member through `record_update`, so
  rights, field access, audit and timeline apply, acting via the app (its name in the trail, plus an
  `api_call` event) and within the app's per-minute budget; 400 names the part that is wrong, 403 when
  the installation lacks `<module>:write` or the member may not change the field, 404 for a deleted record.
- Uninstalled or suspended: no frame, no saves; the field and its values stay the workspace's (edited in
  the record form, one input per part; shown as text through the type's `display` template).
A field keeps the parts it was created with; a new version's parts apply to fields added after it.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.grants import HIDDEN, READ_ONLY
from crm_apps.access.models import Member
from crm_apps.engine import metadata, registry
from crm_apps.engine.models import CustomField, FieldType
from crm_apps.engine.services.custom_fields import custom_field_create
from crm_apps.engine.spec import ModuleSpec
from marketplace.ui.panels import InstalledApp, active_apps


def source_of(app: InstalledApp, type_key: str) -> str:
    return f"app:{app.slug}.{type_key}"


def app_field_types() -> list[tuple[InstalledApp, dict[str, Any]]]:
    """The field types the active apps of this workspace declare."""
    return [(app, item) for app in active_apps() for item in app.manifest.get("field_types") or []]


def app_field_add(
    *,
    actor: Member,
    installation_id: int,
    type_key: str,
    module: str,
    key: str,
    label: str,
    required: bool = False,
) -> CustomField:
    """An administrator adds a custom field of an installed app's field type to a module (rights, plan,
    key and label rules are the engine's `custom_field_create`)."""
    found = next(
        (
            (app, item)
            for app, item in app_field_types()
            if app.installation_id == installation_id and item["key"] == type_key
        ),
        None,
    )
    if found is None:
        raise ValidationError({"field_type": [_("Choose a field type of an installed app.")]})
    app, item = found
    if module not in item["modules"]:
        raise ValidationError({"module": [_("This field type is not offered for that module.")]})
    try:
        spec = registry.get(module)
    except registry.UnknownModule:
        raise ValidationError({"module": [_("This field type is not offered for that module.")]}) from None
    return custom_field_create(
        actor=actor,
        spec=spec,
        key=key,
        label=label,
        type=FieldType.STRUCTURED,
        required=required,
        options={"parts": item["parts"], "display": item.get("display", ""), "source": source_of(app, type_key)},
    )


def app_fields(app: InstalledApp, spec: ModuleSpec) -> list[tuple[CustomField, dict[str, Any]]]:
    """The live custom fields of `spec` made from this app's field types, with the type's declaration."""
    declared = {source_of(app, item["key"]): item for item in app.manifest.get("field_types") or []}
    return [
        (field, declared[field.options.get("source", "")])
        for field in metadata.custom_fields(spec.key)
        if field.type == FieldType.STRUCTURED and field.options.get("source", "") in declared
    ]


def app_may_write(app: InstalledApp, module: str) -> bool:
    """Whether the installation's scopes let the app write `module` (needed to save a field's value; an
    installation made before manifests were required to ask for it may hold only `<module>:read`)."""
    return f"{module}:write" in set(app.manifest.get("scopes") or [])


def field_context_extra(
    *,
    app: InstalledApp,
    field: CustomField,
    spec: ModuleSpec,
    record: Any,
    member: Member,
    access: dict[str, str] | None = None,
    record_editable: bool | None = None,
) -> dict[str, Any] | None:
    """What a field's frame context adds (the value, whether the member may change it through the app);
    None when the member's profile hides the field. Callers showing several fields of one record pass
    `access` (visibility.field_access) and `record_editable` (visibility.can_edit) computed once."""
    if access is None:
        access = visibility.field_access(actor=member, spec=spec)
    field_access = access.get(f"custom.{field.key}")
    if field_access == HIDDEN:
        return None
    can_edit = field_access != READ_ONLY and app_may_write(app, spec.key)
    if can_edit:
        if record_editable is None:
            record_editable = visibility.can_edit(actor=member, spec=spec, record=record)
        can_edit = record_editable
    return {"field": field.key, "value": (record.custom_data or {}).get(field.key), "can_edit": can_edit}
