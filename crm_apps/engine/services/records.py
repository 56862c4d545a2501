"""Record writes: create (one or a batch), update with optimistic concurrency, delete/restore,
mass update/delete."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import entitlements
from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.engine import children as child_tables
from crm_apps.engine import events as record_events
from crm_apps.engine import metadata, registry
from crm_apps.engine.models import CrmRecord, TimelineEntry
from crm_apps.engine.services.custom_fields import custom_data_clean
from crm_apps.engine.services.numbering import number_allocate, numbers_allocate
from crm_apps.engine.services.values import (
    _apply,
    _audit_label,
    _changes,
    _check_new_values,
    _full_clean,
    _is_module_model,
    _known_references,
    _references_prefetch,
    _search_vector,
    _snapshot,
    _timeline,
)
from crm_apps.engine.spec import ModuleSpec
from saas.bulk import copy_insert


class ConflictError(Exception):
    """The record changed since the client read it (optimistic concurrency)."""


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
        record_events.record_changed(spec=spec, record=record, changes=filled, actor=actor, created=True)
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
    record_events.write_check(spec=spec, record=record, fields=list(changes), actor=actor)
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
    record_events.record_changed(spec=spec, record=record, changes=changes, actor=actor, created=False)
    record_events.record_event(module=spec.key, event=record_events.UPDATED, record_ids=[record.pk])
    return record


@transaction.atomic
def record_delete(*, spec: ModuleSpec, actor: Member, record: CrmRecord) -> None:
    """Move a record to the recycle bin."""
    record = access_record_for_update(spec=spec, actor=actor, record_id=record.pk)
    if not visibility.can_delete(actor=actor, spec=spec, record=record):
        raise PermissionDenied
    record_events.write_check(spec=spec, record=record, fields=None, actor=actor)
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
    record_events.record_event(module=spec.key, event=record_events.RESTORED, record_ids=[record.pk])
    return record


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
