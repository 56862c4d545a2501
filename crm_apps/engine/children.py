"""Child tables (line items): rows a record owns, validated, written, versioned and audited with it.

`record_create` / `record_update` call `children_clean` before anything is written and
`children_save` inside their transaction, after the parent row is locked (an update) or inserted
(a create). The parent's row lock serialises every write to its rows, so the rows need no version
of their own: a change to the rows alone bumps the parent's version (ADR 0018-child-tables).

Payload semantics, per child table key (`{"lines": [...]}`):
- the key absent: the rows stay untouched;
- a list: it is the complete new list, in order. A row with an `id` updates that row (only the
  fields it names change), a row without one is a new row, and stored rows the list leaves out
  are deleted. An empty list deletes every row (subject to `min_rows`). Computed values in a row
  are ignored, so a client may send back the rows it read.
Errors name the row by its index in the list and the field: `lines.1.quantity`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from crm_apps.engine.spec import ChildSpec, ModuleSpec

if TYPE_CHECKING:
    from crm_apps.access.models import Member
    from crm_apps.engine.models import CrmRecord


@dataclass
class RowsPlan:
    """The validated new state of one child table: rows in order (new ones unsaved) and rows to delete."""

    child: ChildSpec
    rows: list[Any]
    deleted: list[Any] = field(default_factory=list)
    before: list[dict[str, Any]] = field(default_factory=list)

    @property
    def after(self) -> list[dict[str, Any]]:
        return [row_data(self.child, row) for row in self.rows]

    @property
    def changed(self) -> bool:
        return bool(self.deleted) or self.before != self.after


def _plain(value: Any) -> Any:
    """A row value as JSON stores it (the audit log, the timeline and the API share it)."""
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def row_columns(child: ChildSpec) -> tuple[str, ...]:
    """Every served column of a row: the editable fields, then the computed ones."""
    return (*child.fields, *child.computed_fields)


def row_data(child: ChildSpec, row: Any) -> dict[str, Any]:
    """A row as JSON: its id (None before it is saved) and every served column (references by id)."""
    data: dict[str, Any] = {"id": _plain(row.pk)}
    for name in row_columns(child):
        model_field: Any = child.model._meta.get_field(name)
        attname = model_field.attname if isinstance(model_field, models.ForeignKey) else name
        value = getattr(row, attname)
        if isinstance(model_field, models.DecimalField) and isinstance(value, Decimal) and value.is_finite():
            # As the column stores it: "3" and "3.000" are the same quantity, not a change.
            with contextlib.suppress(InvalidOperation):  # too long: full_clean reports it
                value = value.quantize(Decimal(1).scaleb(-model_field.decimal_places))
        data[name] = _plain(value)
    return data


def rows_of(child: ChildSpec, record: CrmRecord) -> list[Any]:
    """The stored rows of one child table, in order (one query)."""
    if record.pk is None or record._state.adding:
        return []
    return list(child.model._default_manager.filter(**{child.fk: record.pk}).order_by(child.ordering, "pk"))


def rows_summary(rows: Any) -> str:
    """How the timeline shows a table's rows in a change: their count."""
    count = len(rows) if isinstance(rows, list) else 0
    return ngettext("%(count)d row", "%(count)d rows", count) % {"count": count}


def _row_error(child: ChildSpec, index: int, name: str) -> str:
    return f"{child.key}.{index}.{'non_field_errors' if name == '__all__' else name}"


def _set_values(*, child: ChildSpec, actor: Member, row: Any, values: dict[str, Any]) -> dict[str, list[str]]:
    """Set a row's editable fields from `values` as the parent's fields are set; returns errors by field."""
    from crm_apps.engine import services  # the services import this module

    errors: dict[str, list[str]] = {}
    for name, value in values.items():
        if name == "id" or name in child.computed_fields:
            continue  # served values: a client may send back the rows it read
        if name not in child.fields:
            read_only = name in (child.ordering, child.fk)
            errors[name] = [_("This field is read-only.") if read_only else _("Unknown field.")]
            continue
        model_field: Any = child.model._meta.get_field(name)
        try:
            services._check_text(value)
            if isinstance(model_field, models.ForeignKey):
                current = getattr(row, model_field.attname)
                if current is not None and str(getattr(value, "pk", value)) == str(current):
                    continue  # unchanged: may point at a record that is now in the recycle bin
                setattr(row, name, services._resolve_fk(actor, model_field, value))
            elif isinstance(model_field, models.JSONField) and isinstance(value, list | dict):
                setattr(row, name, value)  # structured values: the child model's `clean` checks them
            elif value is not None and not isinstance(value, str | int | float | bool):
                raise ValidationError(_("Enter a single value."))
            else:
                if isinstance(value, str):
                    value = value.strip()
                if value in ("", None):
                    setattr(row, name, services._empty_value(model_field))
                else:
                    setattr(row, name, model_field.to_python(value))
        except ValidationError as exc:
            errors[name] = list(exc.messages)
        except (TypeError, ValueError):
            errors[name] = [_("Enter a valid value.")]
    return errors


def _clean_row(child: ChildSpec, row: Any) -> dict[str, list[str]]:
    """The child model's own rules (`full_clean`, which also runs its `clean` computing derived values).
    The parent key is set on save, references were resolved through the visibility filter already."""
    skip = [child.fk, child.ordering]
    for name in child.fields:
        model_field = child.model._meta.get_field(name)
        if isinstance(model_field, models.ForeignKey) and getattr(row, model_field.attname) is not None:
            skip.append(name)
    try:
        row.full_clean(exclude=skip, validate_unique=False, validate_constraints=False)
    except ValidationError as exc:
        return dict(exc.message_dict)
    return {}


def children_clean(
    *,
    spec: ModuleSpec,
    actor: Member,
    incoming: Any,
    stored: dict[str, list[Any]],
) -> dict[str, RowsPlan]:
    """Validate the rows a create or update sends (see the module docstring); nothing is written.
    `stored` holds the record's current rows per table (empty for a new record)."""
    if incoming is None:
        return {}
    if not isinstance(incoming, dict):
        raise ValidationError({"non_field_errors": [_("Send the rows of each table as a list.")]})
    errors: dict[str, list[str]] = {}
    plans: dict[str, RowsPlan] = {}
    for key, rows in incoming.items():
        child = spec.child(key)
        if child is None:
            errors[key] = [_("Unknown field.")]
            continue
        if not isinstance(rows, list):
            errors[key] = [_("Send a list of rows.")]
            continue
        if len(rows) < child.min_rows:
            errors[key] = [
                ngettext("Add at least %(count)d row.", "Add at least %(count)d rows.", child.min_rows)
                % {"count": child.min_rows}
            ]
            continue
        if len(rows) > child.max_rows:
            errors[key] = [
                ngettext("Send at most %(count)d row.", "Send at most %(count)d rows.", child.max_rows)
                % {"count": child.max_rows}
            ]
            continue
        current = stored.get(key, [])
        by_id = {str(row.pk): row for row in current}
        # Rows are changed in memory only; keep the stored values for the "before" side of the diff.
        before = [row_data(child, row) for row in current]
        used: set[str] = set()
        new_rows: list[Any] = []
        token = _references_known(child, actor, rows)
        try:
            _rows_clean(child, actor, rows, by_id, used, new_rows, errors)
        finally:
            _known_reset(token)
        plans[key] = RowsPlan(
            child=child, rows=new_rows, deleted=[r.pk for r in current if str(r.pk) not in used], before=before
        )
    if errors:
        raise ValidationError(errors)
    return plans


def _references_known(child: ChildSpec, actor: Member, rows: list[Any]) -> Any:
    """Look up the records every row names (one query per reference column) for `_resolve_fk`, on top
    of what an enclosing batch already knows; returns the context token to reset."""
    from crm_apps.engine.services import values  # the services import this module

    known = dict(values._known_references.get() or {})
    known.update(values.references_prefetch(child.model, child.fields, actor, rows))
    return values._known_references.set(known)


def _known_reset(token: Any) -> None:
    from crm_apps.engine.services import values

    values._known_references.reset(token)


def _rows_clean(
    child: ChildSpec,
    actor: Member,
    rows: list[Any],
    by_id: dict[str, Any],
    used: set[str],
    new_rows: list[Any],
    errors: dict[str, list[str]],
) -> None:
    """Set and check each row in memory; errors go to `errors` by `<table>.<index>.<field>`."""
    for index, values in enumerate(rows):
        if not isinstance(values, dict):
            errors[_row_error(child, index, "__all__")] = [_("Send an object of field values.")]
            continue
        row_id = values.get("id")
        if row_id not in (None, ""):
            row = by_id.get(str(row_id))
            if row is None or str(row_id) in used:
                errors[_row_error(child, index, "id")] = [_("This row does not belong to this record.")]
                continue
            used.add(str(row_id))
        else:
            row = child.model()
        problems = _set_values(child=child, actor=actor, row=row, values=values)
        if not problems:
            problems = _clean_row(child, row)
        for name, messages in problems.items():
            errors[_row_error(child, index, name)] = list(messages)
        setattr(row, child.ordering, index)
        new_rows.append(row)


def children_save(*, record: CrmRecord, plans: dict[str, RowsPlan]) -> dict[str, list[Any]]:
    """Write the changed tables of `record` (saved already), run their totals hooks and return the
    changes for the timeline and audit: `{"lines": [old rows, new rows], "subtotal": [old, new]}`.
    The caller saves the parent afterwards (or updates its totals fields, for a create)."""
    changes: dict[str, list[Any]] = {}
    for key, plan in plans.items():
        if not plan.changed:
            continue
        child = plan.child
        manager = child.model._default_manager
        if plan.deleted:
            manager.filter(**{child.fk: record.pk, "pk__in": plan.deleted}).delete()
        existing = [row for row in plan.rows if not row._state.adding]
        if existing:
            manager.bulk_update(existing, [*child.fields, *child.computed_fields, child.ordering])
        created = [row for row in plan.rows if row._state.adding]
        for row in created:
            setattr(row, child.fk, record)
        if created:
            manager.bulk_create(created)
            for row in created:
                row._state.adding = False
        changes[key] = [plan.before, plan.after]
        if child.totals_hook is not None:
            totals_before = {name: getattr(record, name) for name in child.totals_fields}
            child.totals_hook(record, plan.rows)
            for name, old in totals_before.items():
                new = getattr(record, name)
                if new != old:
                    changes[name] = [_plain(old), _plain(new)]
    return changes


def totals_fields(spec: ModuleSpec) -> list[str]:
    """The parent fields the totals hooks of `spec` maintain."""
    return [name for child in spec.children for name in child.totals_fields]


def changes_before_save(plans: dict[str, RowsPlan]) -> dict[str, list[Any]]:
    """The tables whose rows a write changes (new rows without ids yet): decides whether it is a change."""
    return {key: [plan.before, plan.after] for key, plan in plans.items() if plan.changed}
