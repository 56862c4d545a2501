"""Custom fields: admins define them per module; records keep their values in custom_data."""

from __future__ import annotations

import re
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import entitlements
from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine import field_types, metadata, registry
from crm_apps.engine.models import CustomField, FieldType
from crm_apps.engine.services._common import _clean_label, _clears_metadata
from crm_apps.engine.services.picklists import picklist_ensure
from crm_apps.engine.spec import ModuleSpec

CUSTOM_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
# Keys that would read as a query lookup inside custom_data__<key>.
RESERVED_CUSTOM_KEYS = (
    frozenset(models.JSONField.get_class_lookups())
    | frozenset(models.CharField.get_class_lookups())
    | {
        "custom",
        "id",
        "number",
        "pk",
    }
)


@_clears_metadata
def custom_field_create(
    *,
    actor: Member,
    spec: ModuleSpec,
    key: str,
    label: str,
    type: str,
    required: bool = False,
    unique: bool = False,
    default: Any = None,
    options: dict[str, Any] | None = None,
    choices: list[str] | None = None,
    help_text: str = "",
) -> CustomField:
    """Admins add a field to a module; picklist types get their own picklist of `choices`."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    entitlements.feature_require(tenant=entitlements.current_tenant(), feature=entitlements.FEATURE_CUSTOM_FIELDS)
    errors: dict[str, list[str]] = {}
    key = key.strip().lower() if isinstance(key, str) else ""
    label = label if isinstance(label, str) else ""
    if not CUSTOM_KEY_RE.match(key) or "__" in key or key in RESERVED_CUSTOM_KEYS:
        errors["key"] = [_("Use 1-40 lowercase letters, digits and underscores, starting with a letter.")]
    elif key in {f.name for f in spec.model._meta.get_fields()} or key in {"custom", "id", "number"}:
        errors["key"] = [_("This name is used by a standard field.")]
    elif CustomField.objects.filter(module=spec.key, key=key).exists():
        errors["key"] = [_("A field with this key already exists (perhaps archived).")]
    label = (label or "").strip()
    if not label or len(label) > 100 or "\x00" in label:
        errors["label"] = [_("Enter a label of 1-100 characters.")]
    if type not in FieldType.values:
        errors["type"] = [_("Choose one of the field types.")]
    options = dict(options or {})
    option_problems = _option_problems(type, options)
    if option_problems:
        errors["options"] = option_problems
    if type in (FieldType.PICKLIST, FieldType.MULTIPICKLIST):
        cleaned_choices = [c.strip() for c in (choices or []) if isinstance(c, str) and c.strip()]
        if not cleaned_choices or any(len(c) > 100 or "\x00" in c for c in cleaned_choices):
            errors["choices"] = [_("Give at least one choice (at most 100 characters each).")]
    if len(help_text or "") > 200 or "\x00" in (help_text or ""):
        errors["help_text"] = [_("Ensure this value has at most %(max)d characters.") % {"max": 200}]
    if errors:
        raise ValidationError(errors)
    field = CustomField(
        module=spec.key,
        key=key,
        label=label,
        type=type,
        required=required,
        unique=unique,
        options=options,
        help_text=help_text or "",
        position=CustomField.objects.filter(module=spec.key).count(),
    )
    with transaction.atomic():
        if type in (FieldType.PICKLIST, FieldType.MULTIPICKLIST):
            picklist_ensure(field.picklist_name, dict.fromkeys(cleaned_choices))
        if default is not None and default != "":
            try:
                field.default = field_types.clean_value(field, default, picklist_values=_allowed_values(field))
            except ValidationError as exc:
                raise ValidationError({"default": exc.messages}) from exc
        field.save()
        audit.audit_log(
            action=audit.SETTINGS_CHANGED,
            actor=actor,
            module=spec.key,
            changes={
                "label": [None, label],
                "type": [None, type],
                "required": [None, required],
                "unique": [None, unique],
            },
            details={"setting": "custom_field_created", "key": key},
        )
    return field


def _option_problems(type: str, options: dict[str, Any]) -> list[str]:
    """Why `options` do not fit the field type (empty when they do)."""
    option_names: dict[str, set[str]] = {
        FieldType.RECORD: {"target"},
        FieldType.TEXT: {"max_length"},
        # `source` names who defined the parts (an installed app's field type: "app:<extension>.<type>").
        FieldType.STRUCTURED: {"parts", "display", "source"},
    }
    if set(options) - option_names.get(type, set()):
        return [_("Unknown option for this field type.")]
    if type == FieldType.RECORD:
        target = options.get("target")
        if not isinstance(target, str) or target not in {s.key for s in registry.all_specs()}:
            return [_("Choose the module the reference points to.")]
    if type == FieldType.TEXT and "max_length" in options:
        max_length = options["max_length"]
        if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= 255:
            return [_("The maximum length is a whole number from 1 to 255.")]
    if type == FieldType.STRUCTURED:
        problems = field_types.structure_problems(options)
        source = options.get("source", "")
        if not isinstance(source, str) or len(source) > 100:
            problems.append(_("The source is text of at most 100 characters."))
        return problems
    return []


@_clears_metadata
def custom_field_update(
    *,
    actor: Member,
    field: CustomField,
    label: str | None = None,
    required: bool | None = None,
    help_text: str | None = None,
    position: int | None = None,
    archived: bool | None = None,
) -> CustomField:
    """Rename, reorder, require or archive a field. Archiving keeps every stored value."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    if archived is not True:  # archiving stays possible on any plan (it keeps the values)
        entitlements.feature_require(tenant=entitlements.current_tenant(), feature=entitlements.FEATURE_CUSTOM_FIELDS)
    tracked = ("label", "required", "help_text", "position", "archived_at")
    before = {name: getattr(field, name) for name in tracked}
    if label is not None:
        field.label = _clean_label(label)
    if required is not None:
        field.required = required
    if help_text is not None:
        if not isinstance(help_text, str):
            raise ValidationError({"help_text": [_("Enter text.")]})
        if len(help_text) > 200 or "\x00" in help_text:
            raise ValidationError(
                {"help_text": [_("Ensure this value has at most %(max)d characters.") % {"max": 200}]}
            )
        field.help_text = help_text
    if position is not None:
        if not isinstance(position, int) or isinstance(position, bool) or not 0 <= position <= 10_000:
            raise ValidationError({"position": [_("Enter a position between 0 and 10000.")]})
        field.position = position
    if archived is not None:
        field.archived_at = timezone.now() if archived else None
    with transaction.atomic():
        field.save()
        changes = {n: [before[n], getattr(field, n)] for n in tracked if before[n] != getattr(field, n)}
        if changes:
            audit.audit_log(
                action=audit.SETTINGS_CHANGED,
                actor=actor,
                module=field.module,
                changes=changes,
                details={"setting": "custom_field_changed", "key": field.key},
            )
    return field


def _allowed_values(field: CustomField) -> set[str] | None:
    if field.type in (FieldType.PICKLIST, FieldType.MULTIPICKLIST):
        return {v.value for v in metadata.picklist_values(field.picklist_name)}
    return None


def _reference_problem(*, actor: Member | None, field: CustomField, value: Any) -> str | None:
    """Why a member or record reference cannot be stored (it names nobody, or nothing the actor sees)."""
    if value is None:
        return None
    if field.type == FieldType.MEMBER and not Member.objects.filter(pk=value).exists():
        return _("Choose a member.")
    if field.type == FieldType.RECORD:
        try:
            target = registry.get(field.options["target"])
        except registry.UnknownModule:  # the target is a custom module that was archived
            return _("The module this field points to is not available.")
        candidates = target.records().filter(pk=value, deleted_at__isnull=True)
        if actor is not None:
            candidates = visibility.visible_records(actor=actor, spec=target, queryset=candidates)
        if not candidates.exists():
            return _("Choose a record.")
    return None


def custom_data_clean(
    *,
    actor: Member | None = None,
    spec: ModuleSpec,
    incoming: dict[str, Any] | None,
    existing: dict[str, Any],
    record_id: Any,
    creating: bool,
) -> dict[str, Any]:
    """Validate custom values against the tenant's field definitions; returns the new custom_data."""
    if incoming is not None and not isinstance(incoming, dict):
        raise ValidationError({"custom": [_("Send an object of custom field values.")]})
    incoming = incoming or {}
    fields = {f.key: f for f in metadata.custom_fields(spec.key, include_archived=True)}
    # Custom fields the layout editor made mandatory: a new record needs them, a change may not empty
    # them; one the actor's profile hides or makes read-only is not asked of them (as standard fields).
    mandatory = {n[len("custom.") :] for n in metadata.layout_mandatory(spec) if n.startswith("custom.")}
    if mandatory and actor is not None:
        locked = visibility.field_access(actor=actor, spec=spec)
        mandatory = {key for key in mandatory if f"custom.{key}" not in locked}
    errors: dict[str, list[str]] = {}
    result = dict(existing)
    for key in incoming:
        field = fields.get(key)
        if field is None or field.archived_at is not None:
            errors[f"custom.{key}"] = [_("Unknown custom field.")]
    for key, field in fields.items():
        if field.archived_at is not None:
            continue  # archived values are kept untouched
        if key in incoming:
            allowed_values = _allowed_values(field)
            if allowed_values is not None:  # values a record already holds stay valid after retirement
                current = existing.get(key)
                allowed_values |= set(current) if isinstance(current, list) else {current} if current else set()
            try:
                value = field_types.clean_value(field, incoming[key], picklist_values=allowed_values)
            except ValidationError as exc:
                errors[f"custom.{key}"] = list(exc.messages)
                continue
            problem = _reference_problem(actor=actor, field=field, value=value)
            if problem is not None:
                errors[f"custom.{key}"] = [problem]
                continue
            result[key] = value
        elif creating and field.default is not None:
            result[key] = field.default
        if result.get(key) is None:
            result.pop(key, None)
            if field.required or (key in mandatory and (creating or key in incoming)):
                errors[f"custom.{key}"] = [_("This field is required.")]
        elif field.unique:
            clash = spec.records().filter(**{f"custom_data__{key}": result[key]}, deleted_at__isnull=True)
            if record_id is not None:
                clash = clash.exclude(pk=record_id)
            if clash.exists():
                errors[f"custom.{key}"] = [_("Another record already has this value.")]
    if errors:
        raise ValidationError(errors)
    return result
