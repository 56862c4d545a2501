"""Generic writes for every module: create, update, delete/restore/purge, mass actions, merge,
comments, follows, numbering, picklists, custom fields. Every entry path (UI, API, imports,
workflows, extensions) calls these, so one set of rules applies everywhere."""

from __future__ import annotations

import contextvars
import functools
import json
import re
import unicodedata
import uuid
from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

from django.contrib.postgres.search import SearchVector
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.db.models import Func, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import entitlements
from crm_apps.access import visibility
from crm_apps.access.models import Group, Member
from crm_apps.access.privileges import Privilege
from crm_apps.audit import services as audit
from crm_apps.engine import children as child_tables
from crm_apps.engine import events as record_events
from crm_apps.engine import field_types, links, metadata, registry
from crm_apps.engine.models import (
    Comment,
    CrmRecord,
    CustomField,
    FieldType,
    Follow,
    LayoutOverride,
    NumberingSequence,
    Picklist,
    PicklistValue,
    TimelineEntry,
)
from crm_apps.engine.spec import ModuleSpec
from saas.bulk import copy_insert
from tenants.services import text_problem

TAG_RE = re.compile(r"^[\w .&+-]{1,50}$")
MENTION_RE = re.compile(r"@([\w.+-]+@[\w-]+(?:\.[\w-]+)+)")
# Fields every module accepts besides its form fields.
COMMON_FIELDS = ("owner", "owner_group", "tags")


F = TypeVar("F", bound=Callable[..., Any])


def _clears_metadata(fn: F) -> F:
    """Writes of definitions (fields, picklists, layouts) drop the metadata memos (metadata.py)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        metadata.metadata_changed()
        try:
            return fn(*args, **kwargs)
        finally:
            metadata.metadata_changed()

    return wrapper  # type: ignore[return-value]


class ConflictError(Exception):
    """The record changed since the client read it (optimistic concurrency)."""


# ---------------------------------------------------------------------------------------------
# Numbering


def numbering_ensure(spec: ModuleSpec) -> NumberingSequence:
    sequence, _created = NumberingSequence.objects.get_or_create(
        module=spec.key, defaults={"prefix": spec.number_prefix, "next_number": 1}
    )
    return sequence


def numbers_allocate(spec: ModuleSpec, count: int) -> list[str]:
    """Take `count` consecutive numbers of the module in one statement (the row stays locked until
    commit, so concurrent creators get the numbers after the block)."""
    if count <= 0:
        return []
    for _attempt in range(2):
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE engine_numberingsequence SET next_number = next_number + %s "
                "WHERE module = %s RETURNING prefix, next_number - %s",
                [count, spec.key, count],
            )
            row = cursor.fetchone()
        if row is not None:
            prefix, first = row
            return [f"{prefix}{n}" for n in range(first, first + count)]
        try:
            with transaction.atomic():
                numbering_ensure(spec)
        except IntegrityError:
            pass
    raise RuntimeError(f"Could not allocate a number for {spec.key}")


def number_allocate(spec: ModuleSpec) -> str:
    """Take the next number of the module atomically (row lock until commit)."""
    return numbers_allocate(spec, 1)[0]


def numbering_update(*, actor: Member, spec: ModuleSpec, prefix: str, next_number: int) -> NumberingSequence:
    """Admins change a module's prefix and next number; numbers already used cannot be reissued."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    prefix = (prefix or "").strip().upper()
    errors: dict[str, list[str]] = {}
    if not re.fullmatch(r"[A-Z][A-Z0-9-]{0,9}", prefix):
        errors["prefix"] = [_("Use 1-10 capital letters, digits or hyphens, starting with a letter.")]
    if not isinstance(next_number, int) or next_number < 1 or next_number > 10**12:
        errors["next_number"] = [_("Enter a whole number of at least 1.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        sequence = NumberingSequence.objects.select_for_update().get(pk=numbering_ensure(spec).pk)
        taken = spec.records().filter(number__startswith=prefix).values_list("number", flat=True)
        used = [int(n[len(prefix) :]) for n in taken if n[len(prefix) :].isdigit()]
        if used and next_number <= max(used):
            raise ValidationError(
                {"next_number": [_("Numbers up to %(n)s are already used with this prefix.") % {"n": max(used)}]}
            )
        changes = {
            name: [old, new]
            for name, old, new in (
                ("prefix", sequence.prefix, prefix),
                ("next_number", sequence.next_number, next_number),
            )
            if old != new
        }
        sequence.prefix = prefix
        sequence.next_number = next_number
        sequence.save()
        if changes:
            audit.audit_log(
                action=audit.SETTINGS_CHANGED,
                actor=actor,
                module=spec.key,
                changes=changes,
                details={"setting": "numbering"},
            )
    return sequence


# ---------------------------------------------------------------------------------------------
# Picklists


def _clean_label(label: Any) -> str:
    """A label of a picklist value or custom field: 1-100 characters, no NUL."""
    label = label.strip() if isinstance(label, str) else ""
    if not label or len(label) > 100 or "\x00" in label:
        raise ValidationError({"label": [_("Enter a label of 1-100 characters.")]})
    return label


@_clears_metadata
def picklist_ensure(name: str, values: Iterable[str]) -> Picklist:
    """Create a picklist with default values if it does not exist yet (never touches an existing one)."""
    picklist, created = Picklist.objects.get_or_create(name=name)
    if created:
        PicklistValue.objects.bulk_create(
            [PicklistValue(picklist=picklist, value=v, label=v, position=i) for i, v in enumerate(values)]
        )
    return picklist


def _picklist_module(name: str) -> str:
    """The module of a custom field's own picklist (`cf:<module>:<key>`); standard ones are shared."""
    return name.split(":")[1] if name.startswith("cf:") and name.count(":") == 2 else ""


@_clears_metadata
def picklist_value_add(*, actor: Member, name: str, label: str) -> PicklistValue:
    """Admins add a value at the end of a picklist."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    label = _clean_label(label)
    picklist = Picklist.objects.get(name=name)
    if picklist.values.filter(value__iexact=label).exists():
        raise ValidationError({"label": [_("This value already exists.")]})
    position = (picklist.values.aggregate(m=models.Max("position"))["m"] or 0) + 1
    with transaction.atomic():
        value = PicklistValue.objects.create(picklist=picklist, value=label, label=label, position=position)
        audit.audit_log(
            action=audit.SETTINGS_CHANGED,
            actor=actor,
            module=_picklist_module(name),
            changes={"value": [None, label]},
            details={"setting": "picklist_value_added", "picklist": name},
        )
    return value


@_clears_metadata
def picklist_value_update(
    *,
    actor: Member,
    value: PicklistValue,
    label: str | None = None,
    retired: bool | None = None,
    position: int | None = None,
) -> PicklistValue:
    """Rename (records keep the stable value), retire/restore or move a picklist value."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    before = {"label": value.label, "retired": value.retired, "position": value.position}
    if label is not None:
        value.label = _clean_label(label)
    if retired is not None:
        if retired and not value.picklist.values.exclude(pk=value.pk).filter(retired=False).exists():
            raise ValidationError({"retired": [_("A picklist needs at least one active value.")]})
        value.retired = retired
    with transaction.atomic():
        if position is not None:
            siblings = list(value.picklist.values.exclude(pk=value.pk).order_by("position", "id"))
            position = max(0, min(position, len(siblings)))
            siblings.insert(position, value)
            for index, item in enumerate(siblings):
                if item.position != index:
                    item.position = index
                    if item.pk != value.pk:
                        item.save(update_fields=["position"])
        value.save()
        after = {"label": value.label, "retired": value.retired, "position": value.position}
        if before != after:
            audit.audit_log(
                action=audit.SETTINGS_CHANGED,
                actor=actor,
                module=_picklist_module(value.picklist.name),
                changes={k: [before[k], after[k]] for k in before if before[k] != after[k]},
                details={"setting": "picklist_value_changed", "picklist": value.picklist.name, "value": value.value},
            )
    return value


# ---------------------------------------------------------------------------------------------
# Custom fields

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
    option_names: dict[str, set[str]] = {FieldType.RECORD: {"target"}, FieldType.TEXT: {"max_length"}}
    allowed_options = option_names.get(type, set())
    if set(options) - allowed_options:
        errors["options"] = [_("Unknown option for this field type.")]
    if type == FieldType.RECORD:
        target = options.get("target")
        if not isinstance(target, str) or target not in {s.key for s in registry.all_specs()}:
            errors["options"] = [_("Choose the module the reference points to.")]
    if type == FieldType.TEXT and "max_length" in options:
        max_length = options["max_length"]
        if not isinstance(max_length, int) or isinstance(max_length, bool) or not 1 <= max_length <= 255:
            errors["options"] = [_("The maximum length is a whole number from 1 to 255.")]
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
            if field.required:
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


# ---------------------------------------------------------------------------------------------
# Records


def _field(spec: ModuleSpec, name: str) -> models.Field[Any, Any]:
    return spec.model._meta.get_field(name)  # type: ignore[return-value]


# References a batch has already looked up (visible, live records; None for ids that are not):
# (model, pk) -> instance. Set only while records_create_batch validates its records.
_known_references: contextvars.ContextVar[dict[tuple[Any, Any], Any] | None] = contextvars.ContextVar(
    "known_references", default=None
)


def _references_prefetch(spec: ModuleSpec, actor: Member, items: list[tuple[Any, Any]]) -> dict[tuple[Any, Any], Any]:
    """One visibility-filtered query per reference field for every id a batch names."""
    known: dict[tuple[Any, Any], Any] = {}
    for name in spec.form_fields:
        field: Any = spec.model._meta.get_field(name)
        if not isinstance(field, models.ForeignKey) or not _is_module_model(field.remote_field.model):
            continue
        target = field.remote_field.model
        ids = set()
        for data, _custom in items:
            value = data.get(name) if isinstance(data, dict) else None
            if value in (None, "") or isinstance(value, target):
                continue
            try:
                ids.add(uuid.UUID(str(value)))
            except ValueError:
                continue
        if not ids:
            continue
        qs = target._default_manager.filter(pk__in=ids, deleted_at__isnull=True)
        found = {
            r.pk: r for r in visibility.visible_records(actor=actor, spec=registry.spec_for_model(target), queryset=qs)
        }
        known.update({(target, pk): found.get(pk) for pk in ids})
    return known


def _resolve_fk(actor: Member, field: models.ForeignKey[Any, Any], value: Any) -> Any:
    """An FK value from a form or API: an instance or an id that the actor can see."""
    if value is None or value == "":
        return None
    target: Any = field.remote_field.model
    if isinstance(value, target):
        return value
    found: Any
    if target is Member:
        found = Member.objects.filter(pk=_int_or_zero(value), active=True).first()
    elif target is Group:
        found = Group.objects.filter(pk=_int_or_zero(value)).first()
    elif not _is_module_model(target):
        found = target.objects.filter(pk=_int_or_zero(value)).first()  # pipelines, stages: plain lookups
    else:
        target_spec = registry.spec_for_model(target)
        try:
            pk = uuid.UUID(str(value))
        except ValueError:
            found = None
        else:
            known = _known_references.get()
            if known is not None and (target, pk) in known:
                found = known[(target, pk)]
            else:
                qs = target.objects.filter(pk=pk, deleted_at__isnull=True)
                found = visibility.visible_records(actor=actor, spec=target_spec, queryset=qs).first()
    if found is None:
        raise ValidationError(_("Choose an existing record."))
    return found


def _is_module_model(model: Any) -> bool:
    try:
        registry.spec_for_model(model)
    except registry.UnknownModule:
        return False
    return True


def _int_or_zero(value: Any) -> int:
    """An integer id from user input; 0 (which matches no row) when it is not one."""
    try:
        return int(str(value))
    except ValueError:
        return 0


def _check_text(value: Any) -> None:
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValidationError(problem)


def _apply(*, spec: ModuleSpec, actor: Member, record: CrmRecord, data: dict[str, Any]) -> None:
    """Set standard fields from `data`; unknown fields and bad values raise ValidationError."""
    allowed = set(spec.form_fields) | set(COMMON_FIELDS)
    errors: dict[str, list[str]] = {}
    stored = {name: getattr(record, name) for name in spec.picklists}  # a retired value may stay as it is
    for name, value in data.items():
        if name not in allowed:
            errors[name] = [_("Unknown field.")]
            continue
        field = _field(spec, name)
        try:
            _check_text(value)
            if name == "tags":
                record.tags = _clean_tags(value)
            elif isinstance(field, models.ForeignKey):
                current = getattr(record, field.attname)
                if current is not None and value not in (None, "") and str(getattr(value, "pk", value)) == str(current):
                    continue  # unchanged: may point at a record now in the bin or an inactive owner
                setattr(record, name, _resolve_fk(actor, field, value))
            elif not isinstance(value, str | int | float | bool) and value is not None:
                raise ValidationError(_("Enter a single value."))
            else:
                if isinstance(value, str):
                    value = value.strip()
                if value in ("", None):
                    setattr(record, name, _empty_value(field))
                else:
                    if isinstance(field, models.EmailField) and isinstance(value, str):
                        value = value.lower()
                    if isinstance(field, models.URLField) and isinstance(value, str) and "://" not in value:
                        value = "https://" + value
                    setattr(record, name, field.to_python(value))
        except ValidationError as exc:
            errors[name] = list(exc.messages)
        except (TypeError, ValueError):
            errors[name] = [_("Enter a valid value.")]
    for name, picklist in spec.picklists.items():
        if name in data and name not in errors:
            value = getattr(record, name)
            if value and value != stored[name] and value not in {v.value for v in metadata.picklist_values(picklist)}:
                errors[name] = [_("“%(value)s” is not one of the choices.") % {"value": value}]
    if errors:
        raise ValidationError(errors)


def _empty_value(field: Any) -> Any:
    """What an emptied field stores: False for checkboxes, the default of a non-null field, '' for text,
    NULL otherwise."""
    if isinstance(field, models.BooleanField):
        return False
    if not field.null and field.has_default():
        return field.get_default()
    if isinstance(field, models.CharField | models.TextField) and not field.null:
        return ""
    return None


def _clean_tags(value: Any) -> list[str]:
    items = value if isinstance(value, list) else str(value or "").split(",")
    tags: list[str] = []
    for item in items:
        tag = str(item).strip()
        if not tag:
            continue
        if not TAG_RE.match(tag):
            raise ValidationError(_("Tags are 1-50 letters, digits, spaces or . & + -"))
        if tag.lower() not in {t.lower() for t in tags}:
            tags.append(tag)
    if len(tags) > 20:
        raise ValidationError(_("At most 20 tags."))
    return tags


def _snapshot(spec: ModuleSpec, record: CrmRecord) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for name in (*spec.form_fields, "owner", "owner_group", "tags"):
        field = _field(spec, name)
        if isinstance(field, models.ForeignKey):
            values[name] = getattr(record, field.attname)
        else:
            values[name] = getattr(record, name)
    for key, value in (record.custom_data or {}).items():
        values[f"custom.{key}"] = value
    return values


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return str(value)


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, list[Any]]:
    keys = set(before) | set(after)
    return {
        k: [_jsonable(before.get(k)), _jsonable(after.get(k))] for k in sorted(keys) if before.get(k) != after.get(k)
    }


def _full_clean(spec: ModuleSpec, record: CrmRecord) -> None:
    if spec.hooks.clean:
        spec.hooks.clean(record)
    # References were resolved (and checked for visibility) by _apply, the owner rule is checked below and
    # `number` comes from the sequence: full_clean validates the plain values only.
    references = [f.name for f in spec.model._meta.concrete_fields if isinstance(f, models.ForeignKey)]
    record.full_clean(
        exclude=["number", "custom_data", "search_vector", "version", *references],
        validate_unique=False,
        validate_constraints=False,
    )
    if record.owner_id and record.owner_group_id:
        raise ValidationError({"owner": [_("A record has one owner: a member or a group.")]})


def _search_vector(spec: ModuleSpec, record: CrmRecord) -> SearchVector:
    """The full-text vector of a record, computed from its values so the INSERT/UPDATE writes it at once."""
    text_types = {FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.TEXTAREA}
    parts = [str(getattr(record, name) or "") for name in (*spec.search_fields, "number")]
    custom = record.custom_data or {}
    parts += [str(custom.get(f.key) or "") for f in metadata.custom_fields(spec.key) if f.type in text_types]
    text = " ".join(p for p in parts if p)
    folded = fold_accents(text)
    if folded != text:
        text = f"{text} {folded}"  # "García" is found by "garcía" and by "garcia"
    return SearchVector(Value(text), config="simple")


def fold_accents(text: str) -> str:
    """The text without combining accents (García -> Garcia); indexed next to the original."""
    decomposed = unicodedata.normalize("NFKD", text)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def search_vector_refresh(spec: ModuleSpec, pks: Iterable[Any]) -> None:
    """Recompute the full-text vector of these records from their searchable and custom text fields."""
    text_types = {FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.TEXTAREA}
    custom_keys = [f.key for f in metadata.custom_fields(spec.key) if f.type in text_types]
    text = models.TextField()
    parts: list[Any] = [Coalesce(name, Value(""), output_field=text) for name in (*spec.search_fields, "number")]
    parts += [Coalesce(KeyTextTransform(key, "custom_data"), Value(""), output_field=text) for key in custom_keys]
    folded = [Func(part, function="unaccent", output_field=text) for part in parts]  # as fold_accents does
    spec.records().filter(pk__in=list(pks)).update(search_vector=SearchVector(*parts, *folded, config="simple"))


def _check_new_values(spec: ModuleSpec, actor: Member, data: Any, custom: Any) -> None:
    """A new record may not set fields the actor's profiles hide or make read-only (they get defaults)."""
    names = [k for k, v in data.items() if v not in (None, "", [])] if isinstance(data, dict) else []
    if isinstance(custom, dict):
        names += [f"custom.{k}" for k, v in custom.items() if v not in (None, "", [])]
    visibility.check_field_writes(actor=actor, spec=spec, names=names)


def _timeline(spec: ModuleSpec, record: CrmRecord, kind: str, actor: Member | None, data: dict[str, Any]) -> None:
    TimelineEntry.objects.create(module=spec.key, record_id=record.pk, kind=kind, actor=actor, data=data)


def _new_record(*, spec: ModuleSpec, actor: Member, data: Any, custom: Any) -> Any:
    """A validated, unsaved record (no number yet): the rules of every create path."""
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": [_("Send an object of field values.")]})
    _check_new_values(spec, actor, data, custom)
    record = spec.model(**spec.scope)  # a custom module's record carries its module key
    errors: dict[str, list[str]] = {}
    try:
        _apply(spec=spec, actor=actor, record=record, data=data)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        record.custom_data = custom_data_clean(
            spec=spec, actor=actor, incoming=custom, existing={}, record_id=None, creating=True
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if record.owner_id is None and record.owner_group_id is None:
        record.owner = actor
    record.created_by = record.updated_by = actor
    if not errors:
        try:
            _full_clean(spec, record)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    if spec.hooks.before_save:
        spec.hooks.before_save(record)
    return record


def _created_logs(
    spec: ModuleSpec, actor: Member, records: list[Any], rows: dict[Any, dict[str, list[Any]]] | None = None
) -> None:
    """After INSERT: hooks, the "created" (and "related record added") timeline entries and the audit
    events of new records, each kind in one statement. `rows`: the child-table changes per record id."""
    for record in records:
        if spec.hooks.after_save:
            spec.hooks.after_save(record, actor)
    entries = []
    for record in records:
        entries.append(
            TimelineEntry(module=spec.key, record_id=record.pk, kind=TimelineEntry.Kind.CREATED, actor=actor)
        )
        entries += _timeline_related(spec, record, actor)
    if len(entries) > 1:
        copy_insert(TimelineEntry, entries)
    else:
        TimelineEntry.objects.bulk_create(entries)
    events = []
    for record in records:
        filled = {
            k: v for k, v in _changes({}, _snapshot(spec, record)).items() if v[1] is not False and v[1] not in ("", [])
        }
        filled.update((rows or {}).get(record.pk, {}))
        events.append(
            audit.audit_event(
                action=audit.RECORD_CREATED,
                actor=actor,
                module=spec.key,
                record_id=record.pk,
                record_label=_audit_label(record),
                changes=filled,
            )
        )
    audit.audit_log_many(events)
    record_events.record_event(module=spec.key, event=record_events.CREATED, record_ids=[r.pk for r in records])


@transaction.atomic
def record_create(
    *,
    spec: ModuleSpec,
    actor: Member,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    children: dict[str, Any] | None = None,
) -> Any:
    """Create a record (and its child-table rows): validate, number, index and log it."""
    if not visibility.can_create(actor=actor, spec=spec):
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    record = None
    try:
        record = _new_record(spec=spec, actor=actor, data=data, custom=custom)
    except ValidationError as exc:
        errors.update(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages})
    plans = _children_plans(spec=spec, actor=actor, record=None, children=children, errors=errors)
    if errors or record is None:
        raise ValidationError(errors)
    if plans:
        visibility.check_field_writes(actor=actor, spec=spec, names=[k for k, p in plans.items() if p.rows])
    entitlements.records_check(adding=1)
    record.number = number_allocate(spec)
    record.search_vector = _search_vector(spec, record)
    record.save(force_insert=True)
    rows = child_tables.children_save(record=record, plans=plans)
    totals = [name for name in child_tables.totals_fields(spec) if name in rows]
    if totals:
        record.save(update_fields=totals)
    _created_logs(spec, actor, [record], {record.pk: rows})
    return record


def _children_plans(
    *, spec: ModuleSpec, actor: Member, record: CrmRecord | None, children: Any, errors: dict[str, list[str]]
) -> dict[str, child_tables.RowsPlan]:
    """Validate child-table rows next to the parent's fields, so one answer names every problem."""
    if children is None:
        return {}
    stored = {}
    if record is not None and isinstance(children, dict):
        stored = {c.key: child_tables.rows_of(c, record) for c in spec.children if c.key in children}
    try:
        return child_tables.children_clean(spec=spec, actor=actor, incoming=children, stored=stored)
    except ValidationError as exc:
        errors.update(exc.message_dict)
        return {}


BATCH_LIMIT = 100


@transaction.atomic
def records_create_batch(*, spec: ModuleSpec, actor: Member, items: list[tuple[Any, ...]]) -> list[Any]:
    """Create several records with the same rules as one by one: all of them, or none. Each item is
    (data, custom) or (data, custom, children). Errors name the record by its position and the field:
    {"records.2.email": [...]}, {"records.0.lines.1.quantity": [...]}. Numbers come as one block and the
    records, their timeline entries and audit events are written in one INSERT each."""
    if not visibility.can_create(actor=actor, spec=spec):
        raise PermissionDenied
    records = []
    plans: list[dict[str, child_tables.RowsPlan]] = []
    errors: dict[str, list[str]] = {}
    token = _known_references.set(_references_prefetch(spec, actor, [(item[0], item[1]) for item in items]))
    try:
        for index, item in enumerate(items):
            data, custom = item[0], item[1]
            problems: dict[str, list[str]] = {}
            try:
                records.append(_new_record(spec=spec, actor=actor, data=data, custom=custom))
            except ValidationError as exc:
                problems = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
            plans.append(
                _children_plans(
                    spec=spec, actor=actor, record=None, children=item[2] if len(item) > 2 else None, errors=problems
                )
            )
            errors.update({f"records.{index}.{name}": messages for name, messages in problems.items()})
    finally:
        _known_references.reset(token)
    # Unique custom values are checked against stored records by custom_data_clean; within the batch here.
    for field in metadata.custom_fields(spec.key):
        if not field.unique:
            continue
        seen: dict[Any, int] = {}
        for index, record in enumerate(records):
            value = (record.custom_data or {}).get(field.key)
            if value is None:
                continue
            key = json.dumps(value, sort_keys=True, default=str)
            if key in seen:
                errors[f"records.{index}.custom.{field.key}"] = [_("Another record already has this value.")]
            seen[key] = index
    if errors:
        raise ValidationError(errors)
    tables = {key for table in plans for key, plan in table.items() if plan.rows}
    if tables:
        visibility.check_field_writes(actor=actor, spec=spec, names=sorted(tables))
    entitlements.records_check(adding=len(records))
    for record, number in zip(records, numbers_allocate(spec, len(records)), strict=True):
        record.number = number
        record.search_vector = _search_vector(spec, record)
    spec.model.objects.bulk_create(records)
    rows: dict[Any, dict[str, list[Any]]] = {}
    for record, table in zip(records, plans, strict=True):
        if not table:
            continue
        rows[record.pk] = child_tables.children_save(record=record, plans=table)
        totals = [name for name in child_tables.totals_fields(spec) if name in rows[record.pk]]
        if totals:
            record.save(update_fields=totals)
    _created_logs(spec, actor, records, rows)
    return records


def _audit_label(record: CrmRecord) -> str:
    return f"{record.number} {record}" if record.number and str(record) != record.number else str(record)


def _timeline_related(spec: ModuleSpec, record: CrmRecord, actor: Member) -> list[TimelineEntry]:
    """Entries telling each record this new one points at (its organisation, contact...) that it was added."""
    entries = []
    for name in spec.form_fields:
        field: Any = spec.model._meta.get_field(name)
        if not isinstance(field, models.ForeignKey) or not _is_module_model(field.remote_field.model):
            continue
        target_id = getattr(record, field.attname)
        if target_id is not None and target_id != record.pk:
            target_spec = registry.spec_for_model(field.remote_field.model)
            entries.append(
                TimelineEntry(
                    module=target_spec.key,
                    record_id=target_id,
                    kind=TimelineEntry.Kind.RELATED,
                    actor=actor,
                    data={"module": spec.key, "id": str(record.pk), "label": str(record), "number": record.number},
                )
            )
    return entries


def access_record_for_update(*, spec: ModuleSpec, actor: Member, record_id: Any) -> Any:
    """Lock a live, visible record for an update; the same 'not found' for missing and forbidden."""
    # `of=("self",)`: a parent-visibility condition joins the parent (LEFT JOIN), and PostgreSQL cannot lock
    # the nullable side of an outer join.
    qs = spec.records().select_for_update(of=("self",)).filter(pk=record_id, deleted_at__isnull=True)
    record = visibility.visible_records(actor=actor, spec=spec, queryset=qs).first()
    if record is None:
        raise spec.model.DoesNotExist
    return record


@transaction.atomic
def record_update(
    *,
    spec: ModuleSpec,
    actor: Member,
    record: CrmRecord,
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
    expected_version: int | None = None,
    children: dict[str, Any] | None = None,
) -> Any:
    """Change a record and/or its child-table rows (a table left out of `children` stays untouched); an
    `expected_version` older than the stored one is a conflict, never an overwrite."""
    record = access_record_for_update(spec=spec, actor=actor, record_id=record.pk)
    if not visibility.can_edit(actor=actor, spec=spec, record=record):
        raise PermissionDenied
    if expected_version is not None and expected_version != record.version:
        raise ConflictError
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": [_("Send an object of field values.")]})
    before = _snapshot(spec, record)
    errors: dict[str, list[str]] = {}
    try:
        _apply(spec=spec, actor=actor, record=record, data=data)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if custom is not None:
        try:
            record.custom_data = custom_data_clean(
                spec=spec,
                actor=actor,
                incoming=custom,
                existing=record.custom_data or {},
                record_id=record.pk,
                creating=False,
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
    if not errors:
        try:
            _full_clean(spec, record)
        except ValidationError as exc:
            errors.update(exc.message_dict)
    plans = _children_plans(spec=spec, actor=actor, record=record, children=children, errors=errors)
    if errors:
        raise ValidationError(errors)
    changes = _changes(before, _snapshot(spec, record))
    changes.update(child_tables.changes_before_save(plans))
    if not changes:
        return record
    visibility.check_field_writes(actor=actor, spec=spec, names=changes)
    if spec.hooks.before_save:
        spec.hooks.before_save(record)
    # Rows first: the totals hooks set the parent's derived fields, written by the one save below.
    changes.update(child_tables.children_save(record=record, plans=plans))
    record.updated_by = actor
    record.updated_at = timezone.now()
    record.version += 1
    record.search_vector = _search_vector(spec, record)
    record.save()
    if spec.hooks.after_save:
        spec.hooks.after_save(record, actor)
    _timeline(spec, record, TimelineEntry.Kind.UPDATED, actor, {"changes": changes})
    audit.audit_log(
        action=audit.RECORD_UPDATED,
        actor=actor,
        module=spec.key,
        record_id=record.pk,
        record_label=_audit_label(record),
        changes=changes,
    )
    record_events.record_event(module=spec.key, event=record_events.UPDATED, record_ids=[record.pk])
    return record


@transaction.atomic
def record_delete(*, spec: ModuleSpec, actor: Member, record: CrmRecord) -> None:
    """Move a record to the recycle bin."""
    record = access_record_for_update(spec=spec, actor=actor, record_id=record.pk)
    if not visibility.can_delete(actor=actor, spec=spec, record=record):
        raise PermissionDenied
    spec.records().filter(pk=record.pk).update(deleted_at=timezone.now(), version=models.F("version") + 1)
    _timeline(spec, record, TimelineEntry.Kind.DELETED, actor, {})
    audit.audit_log(
        action=audit.RECORD_DELETED,
        actor=actor,
        module=spec.key,
        record_id=record.pk,
        record_label=_audit_label(record),
    )
    record_events.record_event(module=spec.key, event=record_events.DELETED, record_ids=[record.pk])


@transaction.atomic
def record_restore(*, spec: ModuleSpec, actor: Member, record_id: Any) -> Any:
    """Bring a record back from the recycle bin (the right to delete it is the right to restore it)."""
    qs = spec.records().select_for_update(of=("self",)).filter(pk=record_id, deleted_at__isnull=False)
    record = visibility.visible_records(actor=actor, spec=spec, queryset=qs).first()
    if record is None:
        raise spec.model.DoesNotExist
    # Who may put a record in the bin may take it out; a reader may not undo someone else's delete.
    if not visibility.can_delete(actor=actor, spec=spec, record=record):
        raise PermissionDenied
    # Unique custom values may have been reused while the record was in the bin.
    custom_data_clean(
        spec=spec, actor=actor, incoming={}, existing=record.custom_data or {}, record_id=record.pk, creating=False
    )
    record.deleted_at = None
    record.version += 1
    record.save(update_fields=["deleted_at", "version"])
    _timeline(spec, record, TimelineEntry.Kind.RESTORED, actor, {})
    audit.audit_log(
        action=audit.RECORD_RESTORED,
        actor=actor,
        module=spec.key,
        record_id=record.pk,
        record_label=_audit_label(record),
    )
    return record


def records_purge_deleted(*, older_than: timedelta = timedelta(days=30)) -> dict[str, int]:
    """Delete for good the records that have been in the recycle bin longer than `older_than`."""
    cutoff = timezone.now() - older_than
    purged: dict[str, int] = {}
    for spec in registry.all_specs():
        ids = list(spec.records().filter(deleted_at__lt=cutoff).values_list("pk", flat=True)[:10_000])
        if not ids:
            continue
        with transaction.atomic():
            links.links_purge(module=spec.key, record_ids=ids)
            spec.records().filter(pk__in=ids).delete()  # the collector applies SET_NULL / CASCADE
            audit.audit_log(
                action=audit.RECORD_DELETED,
                module=spec.key,
                details={"purged_from_recycle_bin": len(ids), "older_than_days": older_than.days},
            )
        purged[spec.key] = len(ids)
    return purged


def _references_to(spec: ModuleSpec) -> list[tuple[Any, models.ForeignKey[Any, Any]]]:
    """Every foreign key in the tenant's models that points at `spec`'s model (modules, campaign
    members, stage history...), as (model, field)."""
    found: list[tuple[Any, models.ForeignKey[Any, Any]]] = []
    for relation in spec.model._meta.get_fields(include_hidden=True):  # related_name="+" ones too
        field = getattr(relation, "field", None)
        if relation.auto_created and not relation.concrete and isinstance(field, models.ForeignKey):
            found.append((relation.related_model, field))
    return found


def _move_references(spec: ModuleSpec, from_ids: list[Any], to_id: Any) -> None:
    """Point every reference at `from_ids` to `to_id`; rows that would then clash with a unique
    constraint (the same contact twice in a campaign) are dropped, and a record never points at itself."""
    for model, field in _references_to(spec):
        rows = model.objects.filter(**{f"{field.name}__in": from_ids})
        if model is spec.model:
            rows.filter(pk=to_id).update(**{field.name: None})
            rows = rows.exclude(pk=to_id)
        try:
            with transaction.atomic():
                rows.update(**{field.name: to_id})
        except IntegrityError:
            for row in list(rows):
                try:
                    with transaction.atomic():
                        model.objects.filter(pk=row.pk).update(**{field.name: to_id})
                except IntegrityError:
                    row.delete()


@transaction.atomic
def records_mass_update(
    *,
    spec: ModuleSpec,
    actor: Member,
    ids: list[Any],
    data: dict[str, Any],
    custom: dict[str, Any] | None = None,
) -> int:
    """Apply the same change to many records, each through record_update (all or nothing): if any
    selected record may not be changed by the actor, nothing is, and the error names those records."""
    records = _visible_live(spec, actor, ids)
    _all_allowed(spec, actor, records, visibility.can_edit)
    count = 0
    for record in records:
        record_update(spec=spec, actor=actor, record=record, data=data, custom=custom)
        count += 1
    return count


@transaction.atomic
def records_mass_delete(*, spec: ModuleSpec, actor: Member, ids: list[Any]) -> int:
    """Move many records to the recycle bin: all of them or, if any may not be deleted, none."""
    records = _visible_live(spec, actor, ids)
    _all_allowed(spec, actor, records, visibility.can_delete)
    count = 0
    for record in records:
        record_delete(spec=spec, actor=actor, record=record)
        count += 1
    return count


class RecordsPermissionDenied(PermissionDenied):
    """Some records of a mass action may not be changed by the actor; `records` names them."""

    def __init__(self, records: list[str]) -> None:
        super().__init__(records)
        self.records = records


def _all_allowed(spec: ModuleSpec, actor: Member, records: list[CrmRecord], check: Callable[..., bool]) -> None:
    refused = [f"{r.number} {r}" for r in records if not check(actor=actor, spec=spec, record=r)]
    if refused:
        raise RecordsPermissionDenied(refused)


def _visible_live(spec: ModuleSpec, actor: Member, ids: list[Any]) -> list[CrmRecord]:
    """The selected live records, all visible to the actor; a missing or invisible one is an error
    (without saying which: that would reveal records the actor may not see)."""
    valid = []
    for value in ids[:1000]:
        try:
            valid.append(uuid.UUID(str(value)))
        except ValueError as exc:
            raise ValidationError({"ids": [_("Invalid record id.")]}) from exc
    qs = spec.records().filter(pk__in=valid, deleted_at__isnull=True)
    found = list(visibility.visible_records(actor=actor, spec=spec, queryset=qs))
    missing = len(set(valid)) - len(found)
    if missing:
        raise ValidationError(
            {"ids": [_("%(n)d of the selected records no longer exist or are not visible to you.") % {"n": missing}]}
        )
    return found


@transaction.atomic
def records_merge(
    *, spec: ModuleSpec, actor: Member, primary_id: Any, other_ids: list[Any], choices: dict[str, Any]
) -> Any:
    """Merge duplicates into the primary record: chosen field values are copied, every related record,
    record link (comments, timeline, follows...) and custom reference moves to the primary, the others
    go to the recycle bin."""
    records = {str(r.pk): r for r in _visible_live(spec, actor, [primary_id, *other_ids])}
    primary = records.get(str(primary_id))
    others = [records[str(i)] for i in other_ids if str(i) in records and str(i) != str(primary_id)]
    if primary is None or not others or len(others) != len(set(map(str, other_ids)) - {str(primary_id)}):
        raise ValidationError({"ids": [_("Choose a primary record and at least one other visible record.")]})
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for name, source_id in (choices or {}).items():
        source = records.get(str(source_id))
        if source is None:
            raise ValidationError({name: [_("Choose one of the merged records.")]})
        if name.startswith("custom."):
            custom[name[7:]] = source.custom_data.get(name[7:])
        elif name in spec.form_fields or name in COMMON_FIELDS:
            field = _field(spec, name)
            data[name] = getattr(source, field.attname if isinstance(field, models.ForeignKey) else name)
        else:
            raise ValidationError({name: [_("Unknown field.")]})
    if data or custom:
        primary = record_update(spec=spec, actor=actor, record=primary, data=data, custom=custom or None)
    other_pks = [o.pk for o in others]
    for other in others:
        if not visibility.can_delete(actor=actor, spec=spec, record=other):
            raise PermissionDenied
    _move_references(spec, other_pks, primary.pk)
    links.links_merge(module=spec.key, from_ids=other_pks, to_id=primary.pk)
    spec.records().filter(pk__in=other_pks).update(deleted_at=timezone.now(), version=models.F("version") + 1)
    _timeline(spec, primary, TimelineEntry.Kind.MERGED, actor, {"merged": [o.number for o in others]})
    audit.audit_log(
        action=audit.RECORDS_MERGED,
        actor=actor,
        module=spec.key,
        record_id=primary.pk,
        record_label=_audit_label(primary),
        details={"merged": [{"id": str(o.pk), "label": _audit_label(o)} for o in others]},
    )
    return primary


# ---------------------------------------------------------------------------------------------
# Comments, follows, layout


def _access_linked_record(*, spec: ModuleSpec, actor: Member, record: CrmRecord) -> Any:
    """The live record, if `actor` may see it (links follow their record's visibility); else not found."""
    qs = spec.records().filter(pk=record.pk, deleted_at__isnull=True)
    found = visibility.visible_records(actor=actor, spec=spec, queryset=qs).first()
    if found is None or not visibility.can_view_module(actor=actor, spec=spec):
        raise spec.model.DoesNotExist
    return found


@transaction.atomic
def comment_add(*, spec: ModuleSpec, actor: Member, record: CrmRecord, body: str) -> Comment:
    """Comment on a record the actor can see; `@email` mentions notify those members by email."""
    record = _access_linked_record(spec=spec, actor=actor, record=record)
    body = (body or "").strip()
    if not body:
        raise ValidationError({"body": [_("This field is required.")]})
    if len(body) > 10_000 or "\x00" in body:
        raise ValidationError({"body": [_("Ensure this value has at most %(max)d characters.") % {"max": 10_000}]})
    comment = Comment.objects.create(module=spec.key, record_id=record.pk, author=actor, body=body)
    emails = {m.lower() for m in MENTION_RE.findall(body)}
    mentioned = list(
        Member.objects.select_related("user").filter(user__email__in=emails, active=True).exclude(pk=actor.pk)
    )
    if mentioned:
        comment.mentions.set(mentioned)
        from crm_apps.engine.notifications import mention_notify

        # The email quotes the record's title and the comment: only to those who may see the record.
        readers = [
            m
            for m in mentioned
            if visibility.visible_records(actor=m, spec=spec, queryset=spec.records().filter(pk=record.pk)).exists()
        ]
        if readers:
            mention_notify(spec=spec, record=record, comment=comment, members=readers)
    _timeline(spec, record, TimelineEntry.Kind.COMMENTED, actor, {"comment": comment.pk})
    return comment


def follow_set(*, spec: ModuleSpec, actor: Member, record: CrmRecord, following: bool) -> bool:
    """Follow (star) or unfollow a record the actor can see; repeating either is harmless."""
    record = _access_linked_record(spec=spec, actor=actor, record=record)
    if following:
        Follow.objects.get_or_create(member=actor, module=spec.key, record_id=record.pk)
    else:
        Follow.objects.filter(member=actor, module=spec.key, record_id=record.pk).delete()
    return following


@transaction.atomic
def record_tags_change(
    *,
    spec: ModuleSpec,
    actor: Member,
    record: CrmRecord,
    tags: Any = None,
    add: Any = (),
    remove: Any = (),
    expected_version: int | None = None,
) -> Any:
    """Replace a record's tags (`tags`) or add and remove some against the stored ones (under the row
    lock, so two people tagging at once both keep theirs); a change like any other (rights, version,
    timeline, audit)."""
    locked = access_record_for_update(spec=spec, actor=actor, record_id=record.pk)
    errors: dict[str, list[str]] = {}
    cleaned: dict[str, list[str]] = {}
    for name, value in (("tags", tags), ("add", add), ("remove", remove)):
        if value is None or (name != "tags" and not value):
            continue
        try:
            cleaned[name] = _clean_tags(value)
        except ValidationError as exc:
            errors[name] = exc.messages
    if errors:
        raise ValidationError(errors)
    if "tags" in cleaned and ("add" in cleaned or "remove" in cleaned):
        raise ValidationError({"tags": [_("Send either the whole list of tags or the tags to add and remove.")]})
    if "tags" in cleaned:
        new = cleaned["tags"]
    else:
        dropped = {t.lower() for t in cleaned.get("remove", [])}
        new = [t for t in locked.tags or [] if t.lower() not in dropped]
        new += [t for t in cleaned.get("add", []) if t.lower() not in {n.lower() for n in new}]
    return record_update(spec=spec, actor=actor, record=locked, data={"tags": new}, expected_version=expected_version)


@_clears_metadata
def layout_save(
    *, actor: Member, spec: ModuleSpec, blocks: list[str], fields: dict[str, list[str]], hidden: list[str]
) -> LayoutOverride:
    """Admins reorder blocks and fields and hide optional fields (required ones always show)."""
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    block_keys = {b.key for b in spec.blocks}
    if len(set(blocks)) != len(blocks) or any(len(set(n)) != len(n) for n in fields.values()):
        raise ValidationError({"blocks": [_("A block or field is listed twice.")]})
    if set(blocks) - block_keys:
        raise ValidationError({"blocks": [_("Unknown block.")]})
    for key, names in fields.items():
        block = next((b for b in spec.blocks if b.key == key), None)
        if block is None or set(names) - set(block.fields):
            raise ValidationError({"fields": [_("Unknown field.")]})
    required = {n for n in spec.form_fields if not _field(spec, n).blank}
    if set(hidden) & required:
        raise ValidationError({"hidden": [_("Required fields cannot be hidden.")]})
    if set(hidden) - set(spec.form_fields):
        raise ValidationError({"hidden": [_("Unknown field.")]})
    layout = {"blocks": blocks, "fields": fields, "hidden": hidden}
    with transaction.atomic():
        old = LayoutOverride.objects.filter(module=spec.key).values_list("layout", flat=True).first()
        override, _created = LayoutOverride.objects.update_or_create(
            module=spec.key, defaults={"layout": layout, "updated_at": timezone.now()}
        )
        if old != layout:
            audit.audit_log(
                action=audit.SETTINGS_CHANGED,
                actor=actor,
                module=spec.key,
                changes={"layout": [old, layout]},
                details={"setting": "layout"},
            )
    return override
