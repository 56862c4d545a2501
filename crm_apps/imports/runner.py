"""Running an import: every row through the engine's record rules, then set-based writes.

Two phases inside one transaction (the caller's):

1. **Check** every row: the mapped cells become the engine's `data` and `custom` values (defaults for empty
   cells, picklist values mapped, references resolved by number, name or email through the visibility
   filter, the owner by email or name); dedupe keys (emails lower-cased, phones in E.164, name +
   organisation, custom values) find the existing record, in the workspace (visible to the importer,
   locked) or earlier in the file. A new record is validated exactly as `record_create` validates one
   (`_check_new_values`, `_apply`, `custom_data_clean`, `_full_clean`, the module's hooks); a matched one
   as `record_update` does (rights on the record, field rules on what changes). A row that fails is
   reported with its errors and changes nothing.
2. **Write** what passed with COPY into a staging table and one `INSERT ... SELECT` (new records: numbers
   from the module's sequence in one block, the search vector computed by `to_tsvector` in the same
   statement) or `UPDATE ... FROM` (changed records, their version bumped); timeline entries per record,
   webhook events, and one audit event for the import as a whole. Every created or changed record is
   remembered in `ImportEntry` with its values before, which is what undo restores.

A dry run is the same function with the transaction rolled back at the end, so its report is the run's
outcome by construction (unless someone changes the data in between).
"""

from __future__ import annotations

import copy
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, models
from django.db.models.functions import Concat, Lower
from django.utils import timezone
from django.utils.translation import gettext as _
from psycopg import sql

from billing import entitlements
from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import events as record_events
from crm_apps.engine import metadata, registry
from crm_apps.engine.models import FieldType, TimelineEntry
from crm_apps.engine.services.custom_fields import custom_data_clean
from crm_apps.engine.services.numbering import numbers_allocate
from crm_apps.engine.services.picklists import picklist_value_add
from crm_apps.engine.services.records import _timeline_related
from crm_apps.engine.services.values import (
    _apply,
    _changes,
    _check_new_values,
    _full_clean,
    _snapshot,
    fold_accents,
)
from crm_apps.engine.spec import ModuleSpec
from crm_apps.imports import mapping as mapping_mod
from crm_apps.imports.mapping import OWNER, Target
from crm_apps.imports.models import DedupeMode, ImportEntry, ImportJob
from saas.bulk import copy_insert

CHUNK = 2000
PROGRESS_EVERY = 2000


class Cancelled(Exception):
    """The importer cancelled the run: the transaction is rolled back, nothing is written."""


@dataclass
class RowError:
    row: int  # 1-based data row (the header is row 0)
    messages: dict[str, list[str]]

    def text(self) -> str:
        parts = []
        for name, messages in self.messages.items():
            prefix = "" if name in ("non_field_errors", "__all__") else f"{name}: "
            parts.append(prefix + " ".join(str(m) for m in messages))
        return "; ".join(parts)


@dataclass
class Outcome:
    created: int = 0
    updated: int = 0
    merged: int = 0
    skipped: int = 0
    failed: int = 0
    references_created: int = 0
    values_created: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    skipped_rows: list[tuple[int, str]] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "merged": self.merged,
            "skipped": self.skipped,
            "failed": self.failed,
            "references_created": self.references_created,
        }

    def report(self, limit: int = 500) -> dict[str, Any]:
        return {
            **self.counts(),
            "values_created": self.values_created[:100],
            "errors": [{"row": e.row, "errors": e.messages} for e in self.errors[:limit]],
            "skipped_rows": [{"row": r, "reason": reason} for r, reason in self.skipped_rows[:limit]],
        }


Progress = Callable[[str, int, int], None]


@dataclass
class _Pending:
    """One record the import will write: new (`before is None`) or existing (with its values before)."""

    record: Any
    row: int
    action: str  # ImportEntry.CREATED / UPDATED / MERGED
    before: dict[str, Any] | None = None
    changes: dict[str, list[Any]] = field(default_factory=dict)


class Importer:
    def __init__(
        self, *, job: ImportJob, actor: Member, rows: list[list[str]], progress: Progress | None = None
    ) -> None:
        self.job = job
        self.actor = actor
        self.rows = rows
        self.progress = progress or (lambda phase, done, total: None)
        self.spec: ModuleSpec = registry.get(job.module)
        self.targets = mapping_mod.targets(self.spec)
        self.mapping = {int(k): v for k, v in (job.mapping or {}).items() if v and v in self.targets}
        self.defaults = {k: v for k, v in (job.defaults or {}).items() if k in self.targets and v not in ("", None)}
        self.value_map: dict[str, dict[str, str]] = job.value_map or {}
        self.options = job.options or {}
        self.mode = job.dedupe_mode
        self.dedupe_fields = [f for f in (job.dedupe_fields or []) if f]
        self.outcome = Outcome()
        self.region = _phone_region()
        self._references: dict[str, dict[str, Any]] = {}
        self._new_references: dict[tuple[str, str], Any] = {}
        self._owners: dict[str, Member | None] = {}
        self._fixed_owner: Member | None = None
        self._canonical: dict[tuple[str, str], str] = {}
        if self.options.get("owner_id"):
            self._fixed_owner = Member.objects.filter(pk=self.options["owner_id"], active=True).first()

    # --- entry point ----------------------------------------------------------------------------------

    def run(self) -> Outcome:
        """Check every row, then write; raises PermissionDenied / ValidationError before touching anything
        when the importer may not import here at all (or the plan's limit would be crossed)."""
        self._check_rights()
        self._create_missing_values()
        self._resolve_references()
        pending = self._check_rows()
        self._write(pending)
        return self.outcome

    # --- rights -----------------------------------------------------------------------------------------

    def _check_rights(self) -> None:
        from crm_apps.access.privileges import Privilege

        if not visibility.has_privilege(actor=self.actor, privilege=Privilege.CAN_IMPORT):
            raise PermissionDenied(_("You may not import records."))
        if not visibility.can_view_module(actor=self.actor, spec=self.spec):
            raise PermissionDenied(_("You may not use this module."))
        if not self.mapping:
            raise ValidationError({"mapping": [_("Map at least one column to a field.")]})

    # --- picklist values --------------------------------------------------------------------------------

    def _picklist_targets(self) -> list[Target]:
        names = set(self.mapping.values()) | set(self.defaults)
        return [t for n, t in self.targets.items() if n in names and t.picklist]

    def _create_missing_values(self) -> None:
        """ "Create missing values" (administrators): values in the file that the picklist lacks are added
        before the rows are checked (so a dry run shows them as fine, and the run has them)."""
        if not self.options.get("create_values"):
            return
        from crm_apps.access.privileges import Privilege

        if not visibility.has_privilege(actor=self.actor, privilege=Privilege.MANAGE_SETTINGS):
            raise PermissionDenied(_("Only administrators may create picklist values."))
        for target in self._picklist_targets():
            known = {v.value.casefold() for v in metadata.picklist_values(target.picklist, include_retired=True)}
            wanted: dict[str, str] = {}
            for value in self._column_values(target.name):
                for part in self._split_multi(target, value):
                    mapped = self.value_map.get(target.name, {}).get(part, part).strip()
                    if mapped and mapped.casefold() not in known and len(mapped) <= 100:
                        wanted.setdefault(mapped.casefold(), mapped)
            for label in wanted.values():
                picklist_value_add(actor=self.actor, name=target.picklist, label=label)
                self.outcome.values_created.append(f"{target.label}: {label}")

    def _split_multi(self, target: Target, value: str) -> list[str]:
        if target.custom_field is not None and target.custom_field.type == FieldType.MULTIPICKLIST:
            return [p.strip() for p in value.replace("|", ";").replace(",", ";").split(";") if p.strip()]
        return [value.strip()] if value.strip() else []

    def _column_values(self, name: str) -> set[str]:
        columns = [i for i, n in self.mapping.items() if n == name]
        values = {row[i].strip() for row in self.rows for i in columns if i < len(row) and row[i].strip()}
        if name in self.defaults:
            values.add(str(self.defaults[name]).strip())
        return values

    # --- references and owners -------------------------------------------------------------------------

    def _resolve_references(self) -> None:
        """One visibility-filtered look-up per reference column for all the file's values: by number, by
        email (for modules with one), or by name (case-insensitive); organisations named in the file that do
        not exist are created first when the importer asked for it."""
        for name, target in self.targets.items():
            if target.kind != "reference":
                continue
            values = self._column_values(name)
            if not values:
                continue
            model = target.model_field.remote_field.model
            try:
                target_spec = registry.spec_for_model(model)
            except registry.UnknownModule:
                self._references[name] = _plain_lookup(model, values)
                continue
            found = _lookup_records(self.actor, target_spec, values)
            missing = sorted(v for v in values if v.casefold() not in found)
            if missing and self.options.get("create_references") and _creatable(target_spec):
                created = self._create_references(target_spec, missing)
                found.update(created)
            self._references[name] = found
        owners = self._column_values(OWNER)
        if owners:
            self._owners = _lookup_members(owners)

    def _create_references(self, target_spec: ModuleSpec, names: list[str]) -> dict[str, Any]:
        """Missing referenced records (organisations) named by the file, created with the same rules and
        the same bulk path as the import's own records, and undone with it."""
        if not visibility.can_create(actor=self.actor, spec=target_spec):
            return {}
        title = target_spec.title_fields[0]
        created: dict[str, Any] = {}
        pending = []
        for label in names:
            record = target_spec.model(**target_spec.scope)
            try:
                _check_new_values(target_spec, self.actor, {title: label}, None)
                _apply(spec=target_spec, actor=self.actor, record=record, data={title: label})
                record.custom_data = custom_data_clean(
                    spec=target_spec, actor=self.actor, incoming={}, existing={}, record_id=None, creating=True
                )
                record.owner = self.actor
                record.created_by = record.updated_by = self.actor
                _full_clean(target_spec, record)
            except (ValidationError, PermissionDenied):
                continue  # the rows naming it fail with "Choose an existing record."
            pending.append(_Pending(record=record, row=0, action=ImportEntry.CREATED))
            created[label.casefold()] = record
        if pending:
            entitlements.records_check(adding=len(pending))
            _insert(target_spec, [p.record for p in pending])
            _log_created(target_spec, self.actor, [p.record for p in pending], self.job)
            _remember(self.job, target_spec, pending)
            self.outcome.references_created += len(pending)
        return created

    # --- rows -------------------------------------------------------------------------------------------

    def _row_values(self, row: list[str]) -> dict[str, str]:
        values: dict[str, str] = {}
        for index, name in self.mapping.items():
            cell = row[index].strip() if index < len(row) else ""
            if cell and not values.get(name):
                values[name] = cell
        for name, default in self.defaults.items():
            if not values.get(name):
                values[name] = str(default)
        return values

    def _split(self, values: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any], dict[str, list[str]]]:
        """Cells -> the engine's (data, custom) and the problems found on the way (unknown references,
        owners)."""
        data: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        errors: dict[str, list[str]] = {}
        for name, raw in values.items():
            target = self.targets[name]
            if target.picklist:
                table = self.value_map.get(name, {})
                parts = [table.get(p, p) for p in self._split_multi(target, raw)]
                raw = ";".join(parts) if len(parts) > 1 else (parts[0] if parts else "")
                if target.custom_field is None:
                    key = (target.picklist, raw)
                    if key not in self._canonical:
                        self._canonical[key] = _canonical_picklist(target.picklist, raw)
                    raw = self._canonical[key]
            if target.kind == "reference":
                found = self._references.get(name, {}).get(raw.casefold())
                if found is None:
                    errors[name] = [_("No record “%(value)s” found.") % {"value": raw}]
                elif found is _AMBIGUOUS:
                    errors[name] = [_("Several records match “%(value)s”; use the number.") % {"value": raw}]
                else:
                    data[name] = found
            elif target.kind == "owner":
                owner = self._owners.get(raw.casefold())
                if owner is None:
                    errors[name] = [_("No active member “%(value)s”.") % {"value": raw}]
                else:
                    data["owner"] = owner
            elif target.kind == "custom":
                assert target.custom_field is not None
                custom[target.custom_field.key] = _custom_value(target, raw)
            elif target.kind == "tags":
                data["tags"] = raw
            else:
                data[name] = _field_value(target, raw)
        if "owner" not in data and self._fixed_owner is not None:
            data["owner"] = self._fixed_owner
        return data, custom, errors

    def _dedupe_key(
        self, data: dict[str, Any], custom: dict[str, Any], values: dict[str, str]
    ) -> tuple[Any, ...] | None:
        if not self.dedupe_fields:
            return None
        parts: list[Any] = []
        for name in self.dedupe_fields:
            part = self._key_part(name, data, custom, values)
            if part in (None, ""):
                return None
            parts.append(part)
        return tuple(parts)

    def _key_part(self, name: str, data: dict[str, Any], custom: dict[str, Any], values: dict[str, str]) -> Any:
        if name == "number":
            return (values.get("number") or "").strip().upper() or None
        if name == "name":
            return _name_key(self.spec, data)
        target = self.targets.get(name)
        if target is None:
            return None
        raw = custom.get(target.custom_field.key) if target.custom_field is not None else data.get(name)
        return _normal(target, raw, self.region)

    def _existing_index(self) -> dict[tuple[Any, ...], Any]:
        """Dedupe key -> id of the live records the importer can see (one query over the key columns)."""
        if not self.dedupe_fields:
            return {}
        spec = self.spec
        columns: list[Any] = ["pk"]
        for name in self.dedupe_fields:
            if name == "name":
                columns += list(mapping_mod.name_fields(spec))
                org = mapping_mod.org_field(spec)
                if org:
                    columns.append(org + ("_id" if org != "company" else ""))
            elif name == "number":
                columns.append("number")
            elif name.startswith("custom."):
                columns.append("custom_data")
            else:
                columns.append(name)
        columns = list(dict.fromkeys(columns))
        qs = visibility.visible_records(
            actor=self.actor, spec=spec, queryset=spec.records().filter(deleted_at__isnull=True)
        )
        index: dict[tuple[Any, ...], Any] = {}
        for values in qs.values(*columns).iterator(chunk_size=5000):
            key = self._stored_key(values)
            if key is not None and key not in index:
                index[key] = values["pk"]
        return index

    def _stored_key(self, values: dict[str, Any]) -> tuple[Any, ...] | None:
        parts: list[Any] = []
        for name in self.dedupe_fields:
            if name == "number":
                part: Any = (values.get("number") or "").upper() or None
            elif name == "name":
                org = mapping_mod.org_field(self.spec)
                data = {n: values.get(n) for n in mapping_mod.name_fields(self.spec)}
                if org:
                    data[org] = values.get(org + ("_id" if org != "company" else ""))
                part = _name_key(self.spec, data)
            else:
                target = self.targets.get(name)
                if target is None:
                    return None
                if target.custom_field is not None:
                    raw = (values.get("custom_data") or {}).get(target.custom_field.key)
                else:
                    raw = values.get(name)
                part = _normal(target, raw, self.region)
            if part in (None, ""):
                return None
            parts.append(part)
        return tuple(parts)

    def _check_rows(self) -> list[_Pending]:
        spec, actor = self.spec, self.actor
        existing = self._existing_index() if self.dedupe_fields else {}
        can_create = visibility.can_create(actor=actor, spec=spec)
        # Matched records, loaded (and locked) in blocks as the rows need them.
        matched_ids = []
        prepared = []
        total = len(self.rows)
        for row in self.rows:
            values = self._row_values(row)
            data, custom, problems = self._split(values)
            key = self._dedupe_key(data, custom, values)
            prepared.append((values, data, custom, problems, key))
            if key is not None and key in existing:
                matched_ids.append(existing[key])
        loaded = self._load_matched(matched_ids) if self.mode != DedupeMode.SKIP else {}
        pending: dict[Any, _Pending] = {}  # record id -> what will be written
        by_key: dict[tuple[Any, ...], _Pending] = {}
        order: list[_Pending] = []
        started = time.monotonic()
        for position, (_values, data, custom, problems, key) in enumerate(prepared):
            row_number = position + 1
            if position % PROGRESS_EVERY == 0:
                self._cancel_check()
                self.progress("checking", position, total)
            if problems:
                self._fail(row_number, problems)
                continue
            if self._duplicate_row(
                self._merge_into, spec, row_number, key, data, custom, existing, loaded, pending, by_key, order
            ):
                continue
            if not can_create:
                self._fail(row_number, {"non_field_errors": [_("You may not create records in this module.")]})
                continue
            try:
                record = self._new(data, custom)
            except ValidationError as exc:
                self._fail(row_number, _messages(exc))
                continue
            except visibility.FieldPermissionDenied as exc:
                self._fail(row_number, {f: [_("You may not change this field.")] for f in exc.fields})
                continue
            item = _Pending(record=record, row=row_number, action=ImportEntry.CREATED)
            self.outcome.created += 1
            pending[record.pk] = item
            order.append(item)
            if key is not None:
                by_key[key] = item
        self.progress("checking", total, total)
        self._last_check_seconds = time.monotonic() - started
        return order

    def _load_matched(self, ids: list[Any]) -> dict[Any, Any]:
        """The matched records the importer may edit, locked for the rest of the transaction."""
        found: dict[Any, Any] = {}
        unique = list(dict.fromkeys(ids))
        for start in range(0, len(unique), 5000):
            block = unique[start : start + 5000]
            qs = self.spec.records().select_for_update(of=("self",)).filter(pk__in=block, deleted_at__isnull=True)
            for record in visibility.visible_records(actor=self.actor, spec=self.spec, queryset=qs):
                if visibility.can_edit(actor=self.actor, spec=self.spec, record=record):
                    found[record.pk] = record
        return found

    def _new(self, data: dict[str, Any], custom: dict[str, Any]) -> Any:
        """A validated new record: the rules of `record_create` (engine.services.records._new_record)."""
        spec, actor = self.spec, self.actor
        _check_new_values(spec, actor, data, custom)
        record = spec.model(**spec.scope)
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

    def _duplicate_row(
        self,
        merge: Any,
        spec: ModuleSpec,
        row_number: int,
        key: tuple[Any, ...] | None,
        data: dict[str, Any],
        custom: dict[str, Any],
        existing: dict[Any, Any],
        loaded: dict[Any, Any],
        pending: dict[Any, _Pending],
        by_key: dict[tuple[Any, ...], _Pending],
        order: list[_Pending],
    ) -> bool:
        """A row matching a stored record or an earlier row: skipped, refused, or merged into what will be
        written (by `merge`, the importer's own merge), per the dedupe mode. False for a row to create."""
        stored_id = existing.get(key) if key is not None else None
        earlier = by_key.get(key) if key is not None else None
        if earlier is None and stored_id is not None:
            earlier = pending.get(stored_id)
        if earlier is None and stored_id is None:
            return False
        if self.mode == DedupeMode.SKIP:
            if stored_id is None and earlier is not None:
                reason = _("Same as row %(row)d of the file.") % {"row": earlier.row}
            else:
                reason = _("A matching record exists.")
            self._skip(row_number, reason)
            return True
        if earlier is None:
            record = loaded.get(stored_id)
            if record is None:
                self._fail(row_number, {"non_field_errors": [_("You may not change the matching record.")]})
                return True
            earlier = _Pending(record=record, row=row_number, action="", before=_snapshot(spec, record))
        if merge(earlier, data, custom, row_number) is None:
            return True
        if earlier.record.pk not in pending:
            pending[earlier.record.pk] = earlier
            order.append(earlier)
        assert key is not None
        by_key[key] = earlier
        return True

    def _merge_into(self, item: _Pending, data: dict[str, Any], custom: dict[str, Any], row: int) -> _Pending | None:
        """Apply a row to a record it matched (stored, or new from an earlier row): every value
        (overwrite) or only the record's empty fields (fill); validated like `record_update`."""
        spec, actor = self.spec, self.actor
        record = copy.copy(item.record)
        record.custom_data = dict(item.record.custom_data or {})
        if self.mode == DedupeMode.FILL:
            data = {k: v for k, v in data.items() if _is_empty(getattr(record, _attname(spec, k), None))}
            custom = {k: v for k, v in custom.items() if _is_empty(record.custom_data.get(k))}
        current = _snapshot(spec, record)
        try:
            _apply(spec=spec, actor=actor, record=record, data=data)
            record.custom_data = custom_data_clean(
                spec=spec,
                actor=actor,
                incoming=custom,
                existing=record.custom_data,
                record_id=None if item.action == ImportEntry.CREATED else record.pk,
                creating=False,
            )
            _full_clean(spec, record)
            changes = _changes(current, _snapshot(spec, record))
            if item.action != ImportEntry.CREATED:
                visibility.check_field_writes(actor=actor, spec=spec, names=changes)
                record_events.write_check(spec=spec, record=item.record, fields=list(changes), actor=actor)
            elif changes:
                _check_new_values(spec, actor, data, custom)
        except ValidationError as exc:
            self._fail(row, _messages(exc))
            return None
        except visibility.FieldPermissionDenied as exc:
            self._fail(row, {f: [_("You may not change this field.")] for f in exc.fields})
            return None
        if not changes:
            self._skip(row, _("Same values as the matching record."))
            return None
        if spec.hooks.before_save:
            spec.hooks.before_save(record)
        item.record = record
        if self.mode == DedupeMode.FILL:
            self.outcome.merged += 1
        else:
            self.outcome.updated += 1
        if item.action != ImportEntry.CREATED:
            item.action = ImportEntry.MERGED if self.mode == DedupeMode.FILL else ImportEntry.UPDATED
            item.changes = _changes(item.before or {}, _snapshot(spec, record))
        return item

    def _fail(self, row: int, messages: dict[str, list[str]]) -> None:
        self.outcome.failed += 1
        self.outcome.errors.append(RowError(row, {k: [str(m) for m in v] for k, v in messages.items()}))

    def _skip(self, row: int, reason: str) -> None:
        self.outcome.skipped += 1
        self.outcome.skipped_rows.append((row, reason))

    def _cancel_check(self) -> None:
        if self.job.pk and ImportJob.objects.filter(pk=self.job.pk, cancel_requested=True).exists():
            raise Cancelled

    # --- writes -----------------------------------------------------------------------------------------

    def _write(self, pending: list[_Pending]) -> None:
        spec, actor = self.spec, self.actor
        created = [p for p in pending if p.action == ImportEntry.CREATED]
        changed = [p for p in pending if p.action != ImportEntry.CREATED]
        if created:
            entitlements.records_check(adding=len(created))
        total = len(pending)
        done = 0
        for _start, block in _blocks(created, 5000):
            self._cancel_check()
            _insert(spec, [p.record for p in block])
            _log_created(spec, actor, [p.record for p in block], self.job)
            _remember(self.job, spec, block)
            done += len(block)
            self.progress("writing", done, total)
        columns = self._changed_columns()
        for _start, block in _blocks(changed, 5000):
            self._cancel_check()
            _update(spec, [p.record for p in block], columns, actor)
            _log_changed(spec, actor, block, self.job)
            _remember(self.job, spec, block, columns=columns)
            done += len(block)
            self.progress("writing", done, total)

    def _changed_columns(self) -> list[Any]:
        """The model fields an update may change: the mapped and defaulted standard fields (and owner)."""
        names = set(self.mapping.values()) | set(self.defaults)
        if self.options.get("owner_id"):
            names.add(OWNER)
        fields = []
        for name in names:
            target = self.targets.get(name)
            if target is None or target.kind == "custom":
                continue
            fields.append(self.spec.model._meta.get_field("owner" if name == OWNER else name))
            if name == OWNER:
                fields.append(self.spec.model._meta.get_field("owner_group"))
        extra = self.spec.hooks.before_save is not None
        if extra:  # a hook may keep derived fields in step: write every column
            fields = [
                f
                for f in self.spec.model._meta.concrete_fields
                if f.name not in ("id", "number", "created_at", "created_by", "search_vector", "deleted_at")
            ]
        return list(dict.fromkeys(fields))


# --- helpers ------------------------------------------------------------------------------------------


_AMBIGUOUS = object()


def _phone_region() -> str:
    try:
        from crm_apps.modules.calls.models import TelephonySettings

        row = TelephonySettings.objects.first()
        return row.default_region if row else "US"
    except Exception:  # telephony not installed in this deployment
        return "US"


def _normal(target: Target, raw: Any, region: str) -> Any:
    if raw in (None, "", []):
        return None
    text = str(raw).strip()
    if target.is_email:
        return text.lower()
    if target.is_phone:
        from crm_apps.modules.calls.phones import normalise

        return normalise(text, region=region) or "".join(c for c in text if c.isdigit()) or None
    return text.casefold()


def _name_key(spec: ModuleSpec, data: dict[str, Any]) -> Any:
    names = mapping_mod.name_fields(spec)
    if not names:
        return None
    text = " ".join(str(data.get(n) or "").strip() for n in names).strip().casefold()
    if not text:
        return None
    org = mapping_mod.org_field(spec)
    if not org:
        return text
    value = data.get(org)
    org_key = str(getattr(value, "pk", value) or "").casefold()
    return f"{text}\x00{org_key}"


def _attname(spec: ModuleSpec, name: str) -> str:
    if name == "owner":
        return "owner_id"
    field: Any = spec.model._meta.get_field(name)
    return str(field.attname)


def _is_empty(value: Any) -> bool:
    return value in (None, "", [], False)


def _messages(exc: ValidationError) -> dict[str, list[str]]:
    if hasattr(exc, "error_dict"):
        return {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    return {"non_field_errors": [str(m) for m in exc.messages]}


TRUE = {"1", "true", "yes", "y", "x", "да", "on", "истина", "checked"}
FALSE = {"0", "false", "no", "n", "нет", "off", "ложь", ""}


def _field_value(target: Target, raw: str) -> Any:
    field = target.model_field
    if isinstance(field, models.BooleanField):
        lowered = raw.strip().casefold()
        if lowered in TRUE:
            return True
        if lowered in FALSE:
            return False
        return raw  # the engine reports it
    if isinstance(field, models.DateField) and not isinstance(field, models.DateTimeField):
        return _date_text(raw)
    if isinstance(field, models.DecimalField | models.FloatField | models.IntegerField):
        return _number_text(raw)
    return raw


def _custom_value(target: Target, raw: str) -> Any:
    assert target.custom_field is not None
    kind = target.custom_field.type
    if kind == FieldType.CHECKBOX:
        lowered = raw.strip().casefold()
        return True if lowered in TRUE else False if lowered in FALSE else raw
    if kind == FieldType.MULTIPICKLIST:
        return [p.strip() for p in raw.split(";") if p.strip()]
    if kind == FieldType.DATE:
        return _date_text(raw)
    if kind in (FieldType.INTEGER, FieldType.DECIMAL, FieldType.CURRENCY, FieldType.PERCENT):
        return _number_text(raw)
    return raw


def _date_text(raw: str) -> str:
    """Dates as spreadsheets write them: ISO, 31.12.2024, 31/12/2024 (day first), a datetime's date."""
    import re

    text = raw.strip()
    match = re.fullmatch(r"(\d{1,2})[./](\d{1,2})[./](\d{4})", text)
    if match:
        day, month, year = match.groups()
        return f"{year}-{int(month):02d}-{int(day):02d}"
    match = re.fullmatch(r"(\d{4}-\d{2}-\d{2})[T ].*", text)
    if match:
        return match.group(1)
    return text


def _number_text(raw: str) -> str:
    text = raw.strip().replace("\u00a0", "").replace(" ", "")
    if text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")
    return text


def _canonical_picklist(name: str, raw: str) -> str:
    """A picklist value in the file's spelling ("hot" for "Hot") or as its translated label."""
    if not raw:
        return raw
    for value in metadata.picklist_values(name, include_retired=False):
        if raw.casefold() in (value.value.casefold(), str(value.label).casefold()):
            return str(value.value)
    return raw


def _creatable(spec: ModuleSpec) -> bool:
    return len(mapping_mod.name_fields(spec)) == 1


def _plain_lookup(model: Any, values: set[str]) -> dict[str, Any]:
    """Non-record references (a pipeline, a stage): by name."""
    found: dict[str, Any] = {}
    names = [f.name for f in model._meta.concrete_fields]
    if "name" not in names:
        return found
    for item in model.objects.filter(name__in=list(values)):
        key = str(item.name).casefold()
        found[key] = _AMBIGUOUS if key in found else item
    return found


def _lookup_records(actor: Member, spec: ModuleSpec, values: set[str]) -> dict[str, Any]:
    """Visible live records of `spec` named by the values: number, email or title (case-insensitive);
    a name two records share is ambiguous."""
    found: dict[str, Any] = {}
    base = visibility.visible_records(actor=actor, spec=spec, queryset=spec.records().filter(deleted_at__isnull=True))
    lowered = sorted({v.casefold() for v in values})
    for start in range(0, len(lowered), 5000):
        block = lowered[start : start + 5000]
        upper = [v.upper() for v in block]
        for record in base.filter(number__in=upper):
            found[record.number.casefold()] = record
        model_fields = {f.name for f in spec.model._meta.concrete_fields}
        if "email" in model_fields:
            for record in base.annotate(_email=Lower("email")).filter(_email__in=block):
                key = record.email.casefold()
                found[key] = _AMBIGUOUS if key in found and found[key].pk != record.pk else record
        titles = mapping_mod.name_fields(spec)
        if titles:
            if len(titles) == 1:
                expression: Any = Lower(titles[0])
            else:
                parts: list[Any] = []
                for name in titles:
                    parts += [name, models.Value(" ")]
                expression = Lower(Concat(*parts[:-1], output_field=models.CharField()))
            for record in base.annotate(_title=expression).filter(_title__in=block):
                key = record._title.strip()
                if key in found and found[key] is not _AMBIGUOUS and found[key].pk != record.pk:
                    found[key] = _AMBIGUOUS
                else:
                    found.setdefault(key, record)
    return found


def _lookup_members(values: set[str]) -> dict[str, Member | None]:
    found: dict[str, Member | None] = {}
    for member in Member.objects.filter(active=True).select_related("user"):
        for key in (member.user.email.casefold(), member.user.name.strip().casefold()):
            if key in found and found[key] is not None and found[key] != member:
                found[key] = None  # two members of that name: ask for the email
            else:
                found.setdefault(key, member)
    return {k: v for k, v in found.items() if k in {x.casefold() for x in values}}


def _blocks(items: list[Any], size: int) -> Any:
    iterator = iter(items)
    start = 0
    while block := list(itertools.islice(iterator, size)):
        yield start, block
        start += len(block)


def _search_text(spec: ModuleSpec, record: Any, custom_keys: list[str]) -> str:
    """What the engine indexes (services.values._search_vector): search fields, number, custom text."""
    parts = [str(getattr(record, name) or "") for name in (*spec.search_fields, "number")]
    custom = record.custom_data or {}
    parts += [str(custom.get(key) or "") for key in custom_keys]
    text = " ".join(p for p in parts if p)
    folded = fold_accents(text)
    return f"{text} {folded}" if folded != text else text


def _text_custom_keys(spec: ModuleSpec) -> list[str]:
    kinds = {FieldType.TEXT, FieldType.EMAIL, FieldType.PHONE, FieldType.TEXTAREA}
    return [f.key for f in metadata.custom_fields(spec.key) if f.type in kinds]


_stage_counter = itertools.count()


def _stage(fields: list[Any], rows: list[list[Any]]) -> str:
    """A temporary table (dropped at commit) holding `rows` for `fields` plus the search text, by COPY."""
    name = f"_import_stage_{next(_stage_counter)}"
    columns: list[sql.Composable] = [
        sql.SQL("{} {}").format(sql.Identifier(f.column), sql.SQL(f.db_type(connection))) for f in fields
    ]
    columns.append(sql.SQL("_search text"))
    with connection.cursor() as cursor:
        raw: Any = cursor.cursor
        raw.execute(
            sql.SQL("CREATE TEMP TABLE {} ({}) ON COMMIT DROP").format(
                sql.Identifier(name), sql.SQL(", ").join(columns)
            )
        )
        names = [sql.Identifier(f.column) for f in fields] + [sql.Identifier("_search")]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(name), sql.SQL(", ").join(names))
        with raw.copy(statement) as stream:
            for row in rows:
                stream.write_row(row)
    return name


def _db_type_fields(spec: ModuleSpec) -> list[Any]:
    return [f for f in spec.model._meta.concrete_fields if f.column != "search_vector"]


def _insert(spec: ModuleSpec, records: list[Any]) -> None:
    """New records: numbers in one block, then COPY into a staging table and one INSERT ... SELECT that
    computes the search vector like the engine (`to_tsvector('simple', ...)`)."""
    if not records:
        return
    for record, number in zip(records, numbers_allocate(spec, len(records)), strict=True):
        record.number = number
    fields = _db_type_fields(spec)
    keys = _text_custom_keys(spec)
    rows = []
    for record in records:
        row = [f.get_db_prep_save(f.pre_save(record, add=True), connection) for f in fields]
        row.append(_search_text(spec, record, keys))
        rows.append(row)
    stage = _stage(fields, rows)
    columns = sql.SQL(", ").join(sql.Identifier(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.cursor.execute(
            sql.SQL(
                "INSERT INTO {table} ({columns}, search_vector) "
                "SELECT {columns}, to_tsvector('simple'::regconfig, COALESCE(_search, '')) FROM {stage}"
            ).format(table=sql.Identifier(spec.model._meta.db_table), columns=columns, stage=sql.Identifier(stage))
        )
        cursor.cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(stage)))
    for record in records:
        record._state.adding = False
        record._state.db = connection.alias


def _update(spec: ModuleSpec, records: list[Any], columns: list[Any], actor: Member) -> None:
    """Changed records: COPY their new values into a staging table and one UPDATE ... FROM."""
    if not records:
        return
    model = spec.model
    now = timezone.now()
    meta = model._meta
    fields = list(
        dict.fromkeys(
            [
                meta.get_field("id"),
                *columns,
                meta.get_field("custom_data"),
                meta.get_field("updated_by"),
                meta.get_field("updated_at"),
                meta.get_field("version"),
            ]
        )
    )
    keys = _text_custom_keys(spec)
    rows = []
    for record in records:
        record.updated_by = actor
        record.updated_at = now
        record.version += 1
        row = [f.get_db_prep_save(getattr(record, f.attname), connection) for f in fields]
        row.append(_search_text(spec, record, keys))
        rows.append(row)
    stage = _stage(fields, rows)
    sets: list[sql.Composable] = [
        sql.SQL("{col} = s.{col}").format(col=sql.Identifier(f.column)) for f in fields if f.column != "id"
    ]
    sets.append(sql.SQL("search_vector = to_tsvector('simple'::regconfig, COALESCE(s._search, ''))"))
    with connection.cursor() as cursor:
        cursor.cursor.execute(
            sql.SQL("UPDATE {table} t SET {sets} FROM {stage} s WHERE t.id = s.id").format(
                table=sql.Identifier(meta.db_table), sets=sql.SQL(", ").join(sets), stage=sql.Identifier(stage)
            )
        )
        cursor.cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(stage)))


def _log_created(spec: ModuleSpec, actor: Member, records: list[Any], job: ImportJob) -> None:
    """Hooks and the timeline of new records (each "created", and "related record added" on the records
    they point at), and the webhooks' event; the audit trail gets one event for the whole import."""
    entries = []
    for record in records:
        if spec.hooks.after_save:
            spec.hooks.after_save(record, actor)
        entries.append(
            TimelineEntry(
                module=spec.key,
                record_id=record.pk,
                kind=TimelineEntry.Kind.CREATED,
                actor=actor,
                data={"import": job.pk},
            )
        )
        entries += _timeline_related(spec, record, actor)
    copy_insert(TimelineEntry, entries)
    record_events.record_event(module=spec.key, event=record_events.CREATED, record_ids=[r.pk for r in records])


def _log_changed(spec: ModuleSpec, actor: Member, items: list[_Pending], job: ImportJob) -> None:
    entries = []
    for item in items:
        if spec.hooks.after_save:
            spec.hooks.after_save(item.record, actor)
        entries.append(
            TimelineEntry(
                module=spec.key,
                record_id=item.record.pk,
                kind=TimelineEntry.Kind.UPDATED,
                actor=actor,
                data={"changes": item.changes, "import": job.pk},
            )
        )
    copy_insert(TimelineEntry, entries)
    record_events.record_event(module=spec.key, event=record_events.UPDATED, record_ids=[i.record.pk for i in items])


def _json_value(field: Any, value: Any) -> Any:
    """A column's value as jsonb_populate_record reads it back."""
    if value is None or isinstance(value, bool | int | float | str | list | dict):
        return value
    return str(value)


def _remember(
    job: ImportJob, spec: ModuleSpec, items: list[_Pending], columns: list[Any] | None = None, versions: bool = False
) -> None:
    """One ImportEntry per written record; changed ones keep their values before (the imported columns
    and the custom keys the import touched), for undo. `versions`: the records' `version` is what the
    import leaves (else the job's end reads it from the table)."""
    entries = []
    for item in items:
        before = None
        if item.action != ImportEntry.CREATED and item.before is not None and columns is not None:
            stored = item.before
            cols = {}
            for f in columns:
                if f.name in stored:
                    cols[f.column] = _json_value(f, stored[f.name])
            custom_keys = sorted({k[len("custom.") :] for k in item.changes if k.startswith("custom.")})
            before = {
                "cols": cols,
                "custom": {k: stored[f"custom.{k}"] for k in custom_keys if f"custom.{k}" in stored},
                "custom_keys": custom_keys,
            }
        written: Any = item.record.stored if versions else None
        entries.append(
            ImportEntry(
                job=job,
                module=spec.key,
                record_id=item.record.pk,
                action=item.action,
                before=before,
                version_after=written.version if written is not None else None,
            )
        )
    copy_insert(ImportEntry, entries)


# --- the column-wise path ----------------------------------------------------------------------------
#
# For modules without hooks or child tables (contacts, organisations, leads, vendors, custom modules...)
# the rows are checked field by field against the same rules without building a model instance per row:
# each cell through the engine's text check, empty value, e-mail/URL normalisation, `to_python` and the
# model field's `clean` (validators, length, choices, blank) exactly as `_apply` + `full_clean` run them;
# picklist membership, layout-mandatory fields, field rights and the owner as in `_apply`; custom values
# through `custom_data_clean`. The unmapped fields get their defaults, checked once. The rows then go to
# COPY as prepared values. Modules with hooks (deals, events) take the per-record path above.


class FastImporter(Importer):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from django.db import DEFAULT_DB_ALIAS, connections

        from crm_apps.engine.services.values import _empty_value

        self.conn = connections[DEFAULT_DB_ALIAS]
        self._empty_value = _empty_value
        spec = self.spec
        self.form = {n: spec.model._meta.get_field(n) for n in spec.form_fields if n not in ("owner_group",)}
        self.picklist_values = {
            name: {v.value for v in metadata.picklist_values(picklist)} for name, picklist in spec.picklists.items()
        }
        self.locked = visibility.field_access(actor=self.actor, spec=spec)
        self.mandatory = {n for n in metadata.layout_mandatory(spec) if n in spec.form_fields and n not in self.locked}
        self.has_custom = bool(metadata.custom_fields(spec.key, include_archived=True))
        self._cache: dict[tuple[str, str], tuple[Any, list[str] | None]] = {}

    @staticmethod
    def eligible(spec: ModuleSpec) -> bool:
        hooks = spec.hooks
        return not (hooks.clean or hooks.before_save or hooks.after_save or spec.children)

    # One cell -> (python value, None) or (None, messages); cached per distinct cell of the column.
    def _clean(self, name: str, value: Any) -> tuple[Any, list[str] | None]:
        key = (name, value) if isinstance(value, str) else None
        if key is not None:
            hit = self._cache.get(key)
            if hit is not None:
                return hit
        result = self._clean_uncached(name, value)
        if key is not None and len(self._cache) < 500_000:
            self._cache[key] = result
        return result

    def _clean_uncached(self, name: str, value: Any) -> tuple[Any, list[str] | None]:
        from crm_apps.engine.services.values import _check_text, _clean_tags

        field: Any = self.form.get(name) or self.spec.model._meta.get_field(name)
        try:
            _check_text(value)
            if name == "tags":
                return _clean_tags(value), None
            if isinstance(field, models.ForeignKey):
                return (value.pk if value is not None else None), None
            if isinstance(value, str):
                value = value.strip()
            if value in ("", None):
                cleaned = self._empty_value(field)
            else:
                if isinstance(field, models.EmailField) and isinstance(value, str):
                    value = value.lower()
                if isinstance(field, models.URLField) and isinstance(value, str) and "://" not in value:
                    value = "https://" + value
                cleaned = field.to_python(value)
            picklist = self.picklist_values.get(name)
            if picklist is not None and cleaned and cleaned not in picklist:
                return None, [_("“%(value)s” is not one of the choices.") % {"value": cleaned}]
            cleaned = field.clean(cleaned, None)
            return cleaned, None
        except ValidationError as exc:
            return None, [str(m) for m in exc.messages]
        except (TypeError, ValueError):
            return None, [_("Enter a valid value.")]

    def _template(self) -> dict[str, Any]:
        """The unmapped fields' values: model defaults (checked once, like full_clean checks them)."""
        record = self.spec.model(**self.spec.scope)
        self._template_values = {name: getattr(record, _attname(self.spec, name)) for name in self.form}
        return self._template_values

    def _row_record(
        self, data: dict[str, Any], template: dict[str, Any], template_errors: dict[str, list[str]]
    ) -> tuple[dict[str, Any], dict[str, list[str]]]:
        values: dict[str, Any] = dict(template)
        errors: dict[str, list[str]] = {k: v for k, v in template_errors.items() if k not in data}
        for name, raw in data.items():
            if name == "owner":
                values["owner"] = raw.pk
                continue
            cleaned, problem = self._clean(name, raw)
            if problem:
                errors[name] = problem
            else:
                values[name] = cleaned
        for name in self.mandatory:
            if name not in errors and values.get(name) in (None, ""):
                errors[name] = [_("This field is required.")]
        return values, errors

    def _check_rows(self) -> list[_Pending]:
        spec, actor = self.spec, self.actor
        # Read now: "create missing values" has just added to the picklists.
        self.picklist_values = {
            name: {v.value for v in metadata.picklist_values(picklist)} for name, picklist in spec.picklists.items()
        }
        existing = self._existing_index() if self.dedupe_fields else {}
        can_create = visibility.can_create(actor=actor, spec=spec)
        template = self._template()
        template_errors: dict[str, list[str]] = {}
        for name in self.form:
            _value, problem = self._clean(name, template[name])
            if problem:
                template_errors[name] = problem
        prepared = []
        matched_ids = []
        for row in self.rows:
            cells = self._row_values(row)
            data, custom, problems = self._split(cells)
            key = self._dedupe_key(data, custom, cells)
            prepared.append((cells, data, custom, problems, key))
            if key is not None and key in existing:
                matched_ids.append(existing[key])
        loaded = self._load_matched(matched_ids) if self.mode != DedupeMode.SKIP else {}
        pending: dict[Any, _Pending] = {}
        by_key: dict[tuple[Any, ...], _Pending] = {}
        order: list[_Pending] = []
        total = len(prepared)
        fixed_owner = self._fixed_owner.pk if self._fixed_owner is not None else actor.pk
        for position, (_values, data, custom, problems, key) in enumerate(prepared):
            row_number = position + 1
            if position % PROGRESS_EVERY == 0:
                self._cancel_check()
                self.progress("checking", position, total)
            if problems:
                self._fail(row_number, problems)
                continue
            if self._duplicate_row(
                self._merge_values, spec, row_number, key, data, custom, existing, loaded, pending, by_key, order
            ):
                continue
            if not can_create:
                self._fail(row_number, {"non_field_errors": [_("You may not create records in this module.")]})
                continue
            denied = [n for n, v in data.items() if n in self.locked and v not in (None, "", [])]
            denied += [
                f"custom.{k}" for k, v in custom.items() if f"custom.{k}" in self.locked and v not in (None, "", [])
            ]
            if denied:
                self._fail(row_number, {f: [_("You may not change this field.")] for f in sorted(denied)})
                continue
            values, errors = self._row_record(data, template, template_errors)
            custom_data: Any = {}
            if self.has_custom or custom:
                try:
                    custom_data = custom_data_clean(
                        spec=spec, actor=actor, incoming=custom, existing={}, record_id=None, creating=True
                    )
                except ValidationError as exc:
                    errors.update(exc.message_dict)
            if errors:
                self._fail(row_number, errors)
                continue
            if "owner" not in data:
                values["owner"] = fixed_owner
            values["custom_data"] = custom_data
            item = _Pending(record=_RowRecord(values), row=row_number, action=ImportEntry.CREATED)
            self.outcome.created += 1
            pending[item.record.pk] = item
            order.append(item)
            if key is not None:
                by_key[key] = item
        self.progress("checking", total, total)
        return order

    def _merge_values(self, item: _Pending, data: dict[str, Any], custom: dict[str, Any], row: int) -> _Pending | None:
        """A row onto the record it matched: its values as dicts (stored records: from the loaded
        instance), the same field rules; then only what changes is written."""
        spec = self.spec
        if item.action == ImportEntry.CREATED:
            current = dict(item.record.values)
            current_custom = dict(current.get("custom_data") or {})
        else:
            current = dict(item.before or {})
            if isinstance(item.record, _RowRecord):
                current.update(item.record.values)
            current_custom = {k[len("custom.") :]: v for k, v in current.items() if k.startswith("custom.")}
            if isinstance(item.record, _RowRecord):
                current_custom = dict(item.record.values.get("custom_data") or current_custom)
        if self.mode == DedupeMode.FILL:
            data = {k: v for k, v in data.items() if _is_empty(current.get(k))}
            custom = {k: v for k, v in custom.items() if _is_empty(current_custom.get(k))}
        errors: dict[str, list[str]] = {}
        new = dict(current)
        for name, raw in data.items():
            if name == "owner":
                new["owner"] = raw.pk
                new["owner_group"] = None
                continue
            cleaned, problem = self._clean(name, raw)
            if problem:
                errors[name] = problem
            else:
                new[name] = cleaned
        try:
            new_custom = (
                custom_data_clean(
                    spec=spec,
                    actor=self.actor,
                    incoming=custom,
                    existing=current_custom,
                    record_id=None if item.action == ImportEntry.CREATED else item.record.pk,
                    creating=False,
                )
                if (custom or self.has_custom)
                else current_custom
            )
        except ValidationError as exc:
            errors.update(exc.message_dict)
            new_custom = current_custom
        if errors:
            self._fail(row, errors)
            return None
        changes = {
            k: [_jsonable_value(current.get(k)), _jsonable_value(new.get(k))]
            for k in new
            if k != "custom_data" and not k.startswith("custom.") and new.get(k) != current.get(k)
        }
        for key in set(current_custom) | set(new_custom):
            if current_custom.get(key) != new_custom.get(key):
                changes[f"custom.{key}"] = [current_custom.get(key), new_custom.get(key)]
        denied = sorted(n for n in changes if n in self.locked)
        if denied:
            self._fail(row, {f: [_("You may not change this field.")] for f in denied})
            return None
        if not changes:
            self._skip(row, _("Same values as the matching record."))
            return None
        if item.action != ImportEntry.CREATED:  # the engine's write guards (a record locked by an approval)
            stored = item.record.stored if isinstance(item.record, _RowRecord) else item.record
            try:
                record_events.write_check(spec=spec, record=stored, fields=list(changes), actor=self.actor)
            except ValidationError as exc:
                self._fail(row, _messages(exc))
                return None
        new["custom_data"] = new_custom
        if item.action == ImportEntry.CREATED:
            item.record.values.update(new)
        else:
            if not isinstance(item.record, _RowRecord):
                item.record = _RowRecord({**_attvalues(spec, item.record), **new}, stored=item.record)
            else:
                item.record.values.update(new)
            item.action = ImportEntry.MERGED if self.mode == DedupeMode.FILL else ImportEntry.UPDATED
            merged = {k: v for k, v in item.record.values.items() if k != "custom_data"}
            after = {**merged, **{f"custom.{k}": v for k, v in new_custom.items()}}
            item.changes = _changes(item.before or {}, {k: after.get(k) for k in set(after) | set(item.before or {})})
        if self.mode == DedupeMode.FILL:
            self.outcome.merged += 1
        else:
            self.outcome.updated += 1
        return item

    def _write(self, pending: list[_Pending]) -> None:
        spec, actor = self.spec, self.actor
        created = [p for p in pending if p.action == ImportEntry.CREATED]
        changed = [p for p in pending if p.action != ImportEntry.CREATED]
        if created:
            entitlements.records_check(adding=len(created))
        total = len(pending)
        done = 0
        keys = _text_custom_keys(spec)
        fields = _db_type_fields(spec)
        now = timezone.now()
        base = self._prepared_template(fields, now)
        self._inserted_version = self.spec.model._meta.get_field("version").get_default()
        template = self._template_values
        wanted = {"id", "number", "owner", "owner_group", "custom_data", *self.mapping.values(), *self.defaults}
        dirty = [(i, f) for i, f in enumerate(fields) if f.name in wanted and f.name not in _TEMPLATE_ONLY]
        related = self._related_fields()
        for _start, block in _blocks(created, 10_000):
            self._cancel_check()
            numbers = numbers_allocate(spec, len(block))
            rows = []
            entries = []
            for item, number in zip(block, numbers, strict=True):
                values = item.record.values
                values["number"] = number
                row = list(base)
                # Only what may differ from the template row is prepared again (mapped cells, id, number...).
                for index, column in dirty:
                    value = values.get(column.name, _MISSING)
                    if value is _MISSING or value is template.get(column.name, _MISSING):
                        continue
                    row[index] = column.get_db_prep_save(value, self.conn)
                row.append(_search_text_values(spec, values, keys))
                rows.append(row)
                for name, target_spec in related:
                    target_id = values.get(name)
                    if target_id is not None:
                        entries.append(_related_entry(spec, target_spec, item.record.pk, values, target_id, actor))
            _insert_rows(spec, fields, rows)
            ids = [item.record.pk for item in block]
            _timeline_bulk(
                spec.key, ids, TimelineEntry.Kind.CREATED, actor.pk, [{"import": self.job.pk}] * len(ids), now
            )
            if entries:
                copy_insert(TimelineEntry, entries)
            _entries_bulk(self.job.pk, spec.key, ids, ImportEntry.CREATED, None, self._inserted_version)
            record_events.record_event(module=spec.key, event=record_events.CREATED, record_ids=ids)
            done += len(block)
            self.progress("writing", done, total)
        columns = self._changed_columns()
        for _start, block in _blocks(changed, 10_000):
            self._cancel_check()
            records = []
            for item in block:
                record = item.record.stored
                for name, value in item.record.values.items():
                    if name == "custom_data":
                        record.custom_data = value
                    elif name in self.form or name in ("owner", "owner_group", "tags"):
                        setattr(record, _attname(spec, name), value)
                records.append(record)
            _update(spec, records, columns, actor)
            _log_changed_bulk(spec, actor, block, self.job, now)
            # `_update` has just counted each record's version up: that is the version the import leaves.
            _remember(self.job, spec, block, columns=columns, versions=True)
            done += len(block)
            self.progress("writing", done, total)

    def _prepared_template(self, fields: list[Any], now: Any) -> list[Any]:
        record = self.spec.model(**self.spec.scope)
        record.created_at = record.updated_at = now
        record.created_by = record.updated_by = self.actor
        record.owner = self.actor
        return [f.get_db_prep_save(f.pre_save(record, add=True), self.conn) for f in fields]

    def _related_fields(self) -> list[tuple[str, ModuleSpec]]:
        """Mapped references to records of a module ("related record added" on those records)."""
        found = []
        names = set(self.mapping.values()) | set(self.defaults)
        for name in names:
            field: Any = self.form.get(name)
            if isinstance(field, models.ForeignKey):
                try:
                    found.append((name, registry.spec_for_model(field.remote_field.model)))
                except registry.UnknownModule:
                    continue
        return found


_MISSING = object()
_TEMPLATE_ONLY = frozenset({"created_at", "updated_at", "created_by", "updated_by"})


class _RowRecord:
    """A record as field values (name -> python value; references as ids), with a fresh id."""

    def __init__(self, values: dict[str, Any], stored: Any = None) -> None:
        import uuid

        self.values = values
        self.stored = stored
        self.pk = stored.pk if stored is not None else uuid.uuid4()
        values.setdefault("id", self.pk)


def _attvalues(spec: ModuleSpec, record: Any) -> dict[str, Any]:
    out = {}
    for name in (*spec.form_fields, "owner", "owner_group"):
        field: Any = spec.model._meta.get_field(name)
        out[name] = getattr(record, field.attname)
    out["custom_data"] = dict(record.custom_data or {})
    return out


def _jsonable_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, list):
        return [_jsonable_value(v) for v in value]
    return str(value)


def _search_text_values(spec: ModuleSpec, values: dict[str, Any], custom_keys: list[str]) -> str:
    parts = [str(values.get(name) or "") for name in (*spec.search_fields, "number")]
    custom = values.get("custom_data") or {}
    parts += [str(custom.get(key) or "") for key in custom_keys]
    text = " ".join(p for p in parts if p)
    if text.isascii():
        return text
    folded = fold_accents(text)
    return f"{text} {folded}" if folded != text else text


def _related_entry(
    spec: ModuleSpec, target_spec: ModuleSpec, record_id: Any, values: dict[str, Any], target_id: Any, actor: Member
) -> TimelineEntry:
    label_record = spec.model(**{n: values.get(n) for n in spec.title_fields if n in values})
    return TimelineEntry(
        module=target_spec.key,
        record_id=target_id,
        kind=TimelineEntry.Kind.RELATED,
        actor=actor,
        data={"module": spec.key, "id": str(record_id), "label": str(label_record), "number": values.get("number")},
    )


def _copy_rows(table: str, columns: list[str], rows: Any) -> None:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
    )
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as stream:
        for row in rows:
            stream.write_row(row)


def _timeline_bulk(module: str, ids: list[Any], kind: str, actor_id: int, data: list[dict[str, Any]], now: Any) -> None:
    from psycopg.types.json import Jsonb

    _copy_rows(
        TimelineEntry._meta.db_table,
        ["module", "record_id", "kind", "actor_id", "created_at", "data"],
        ((module, i, kind, actor_id, now, Jsonb(d)) for i, d in zip(ids, data, strict=True)),
    )


def _entries_bulk(job_id: int, module: str, ids: list[Any], action: str, before: Any, version: int) -> None:
    """The import's entries of new records, with the version they were inserted at (what undo compares)."""
    _copy_rows(
        ImportEntry._meta.db_table,
        ["job_id", "module", "record_id", "action", "version_after"],
        ((job_id, module, i, action, version) for i in ids),
    )


def _log_changed_bulk(spec: ModuleSpec, actor: Member, items: list[_Pending], job: ImportJob, now: Any) -> None:
    ids = [i.record.pk for i in items]
    _timeline_bulk(
        spec.key,
        ids,
        TimelineEntry.Kind.UPDATED,
        actor.pk,
        [{"changes": i.changes, "import": job.pk} for i in items],
        now,
    )
    record_events.record_event(module=spec.key, event=record_events.UPDATED, record_ids=ids)


def _insert_rows(spec: ModuleSpec, fields: list[Any], rows: list[list[Any]]) -> None:
    stage = _stage(fields, rows)
    columns = sql.SQL(", ").join(sql.Identifier(f.column) for f in fields)
    with connection.cursor() as cursor:
        cursor.cursor.execute(
            sql.SQL(
                "INSERT INTO {table} ({columns}, search_vector) "
                "SELECT {columns}, to_tsvector('simple'::regconfig, COALESCE(_search, '')) FROM {stage}"
            ).format(table=sql.Identifier(spec.model._meta.db_table), columns=columns, stage=sql.Identifier(stage))
        )
        cursor.cursor.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(stage)))


def importer_for(*, job: ImportJob, actor: Member, rows: list[list[str]], progress: Progress | None = None) -> Importer:
    """The column-wise importer where the module allows it, else the per-record one."""
    spec = registry.get(job.module)
    cls = FastImporter if FastImporter.eligible(spec) else Importer
    return cls(job=job, actor=actor, rows=rows, progress=progress)
