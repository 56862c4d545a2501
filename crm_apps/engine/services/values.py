"""Field values of a record: resolve references, apply form data, snapshot/diff for audit and
timeline, full-text search vectors."""

from __future__ import annotations

import contextvars
import unicodedata
import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.search import SearchVector
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Func, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Group, Member
from crm_apps.engine import metadata, registry
from crm_apps.engine.models import CrmRecord, FieldType, TimelineEntry
from crm_apps.engine.services._common import COMMON_FIELDS, TAG_RE
from crm_apps.engine.spec import ModuleSpec
from tenants.services import text_problem


def _field(spec: ModuleSpec, name: str) -> models.Field[Any, Any]:
    return spec.model._meta.get_field(name)  # type: ignore[return-value]


# References a batch has already looked up (visible, live records; None for ids that are not):
# (model, pk) -> instance. Set only while records_create_batch validates its records.
_known_references: contextvars.ContextVar[dict[tuple[Any, Any], Any] | None] = contextvars.ContextVar(
    "known_references", default=None
)


def _references_prefetch(spec: ModuleSpec, actor: Member, items: list[tuple[Any, Any]]) -> dict[tuple[Any, Any], Any]:
    """One visibility-filtered query per reference field for every id a batch names."""
    return references_prefetch(spec.model, spec.form_fields, actor, [data for data, _custom in items])


def references_prefetch(model: Any, names: Iterable[str], actor: Member, rows: list[Any]) -> dict[tuple[Any, Any], Any]:
    """(target model, pk) -> the visible live record (or None) for every module reference the `rows`
    (dicts of field values of `model`) name in the fields `names`: one query per reference field. Used by
    batch creates and by child tables (50 lines naming products cost one query, not 50)."""
    known: dict[tuple[Any, Any], Any] = {}
    for name in names:
        field: Any = model._meta.get_field(name)
        if not isinstance(field, models.ForeignKey) or not _is_module_model(field.remote_field.model):
            continue
        target = field.remote_field.model
        ids = set()
        for data in rows:
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
        found = Member.objects.filter(pk=_int_or_zero(_unprefixed(value, "m:")), active=True).first()
    elif target is Group:
        found = Group.objects.filter(pk=_int_or_zero(_unprefixed(value, "g:"))).first()
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


def _unprefixed(value: Any, prefix: str) -> Any:
    """A member or group choice of the forms ("m:5", "g:3", forms.owner_choices) as its id; a choice of the
    other kind stays as it is (and matches nothing)."""
    text = str(value)
    return text[len(prefix) :] if text.startswith(prefix) else value


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
            elif isinstance(field, ArrayField):
                setattr(record, name, _clean_list(field, value))
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
    errors.update(_mandatory_missing(spec=spec, actor=actor, record=record, data=data, errors=errors))
    if errors:
        raise ValidationError(errors)


def _mandatory_missing(
    *, spec: ModuleSpec, actor: Member, record: CrmRecord, data: dict[str, Any], errors: dict[str, list[str]]
) -> dict[str, list[str]]:
    """Fields the tenant made mandatory in the layout editor: a new record needs them, a change may not
    empty them. A field the actor's profile hides or makes read-only is not asked of them."""
    mandatory = metadata.layout_mandatory(spec)
    locked = visibility.field_access(actor=actor, spec=spec) if mandatory else {}
    missing: dict[str, list[str]] = {}
    for name in mandatory:
        if name in errors or name not in spec.form_fields or name in locked:
            continue
        if not record._state.adding and name not in data:
            continue
        if getattr(record, _field(spec, name).attname) in (None, ""):
            missing[name] = [_("This field is required.")]
    return missing


def _clean_list(field: ArrayField[Any, Any], value: Any) -> list[Any]:
    """A list column (a task's dependencies): a JSON list of plain values, or text separated by commas
    (forms); each item cleaned by the column's base field, duplicates and blanks dropped."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    cleaned: list[Any] = []
    for item in items:
        if not isinstance(item, str | int | uuid.UUID):
            raise ValidationError(_("Enter a list of values."))
        text = str(item).strip()
        if text:
            clean = field.base_field.to_python(text)
            if clean not in cleaned:
                cleaned.append(clean)
    if field.size is not None and len(cleaned) > field.size:
        raise ValidationError(_("At most %(n)d values.") % {"n": field.size})
    return cleaned


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


def _audit_label(record: CrmRecord) -> str:
    return f"{record.number} {record}" if record.number and str(record) != record.number else str(record)
