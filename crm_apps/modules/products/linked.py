"""Rows linked to a catalogue record outside its form (tax classes, bundle items, price-book prices):
written by the module's services as a change of the record, so they get the record's rules.

`linked_rows_write` locks the record (the same "not found" for missing and invisible), checks the edit
right and the field right on the table's name (profiles may make `taxes` read-only like any field), runs
the write, and records one change: version bump, timeline entry and audit event with the rows before and
after. The row lock serialises writers of the same record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.audit import services as audit
from crm_apps.engine.models import TimelineEntry
from crm_apps.engine.services import access_record_for_update
from crm_apps.engine.spec import ModuleSpec

LOGGED_ROWS = 100


def record_for_links(*, spec: ModuleSpec, actor: Member, record_id: Any) -> Any:
    """Lock the record for a change of its linked rows; PermissionDenied without the edit right."""
    record = access_record_for_update(spec=spec, actor=actor, record_id=record_id)
    if not visibility.can_edit(actor=actor, spec=spec, record=record):
        raise PermissionDenied
    return record


@transaction.atomic
def linked_rows_write(
    *,
    spec: ModuleSpec,
    actor: Member,
    record_id: Any,
    key: str,
    read: Callable[[Any], list[dict[str, Any]]],
    write: Callable[[Any], None],
    guarded_by: tuple[str, ...] = (),
) -> Any:
    """Replace some linked rows of a record: `read(record)` gives the rows as JSON (before and after),
    `write(record)` validates (raising ValidationError before writing) and writes. `guarded_by`: fields
    whose field-level right also covers these rows (a member who may not change a product's unit price may
    not change its taxes either). Returns the record."""
    record = record_for_links(spec=spec, actor=actor, record_id=record_id)
    visibility.check_field_writes(actor=actor, spec=spec, names=[key, *guarded_by])
    before = read(record)
    write(record)
    after = read(record)
    if before == after:
        return record
    # Long tables (a price book of thousands) are logged by their size, not row by row.
    changes: dict[str, list[Any]] = (
        {key: [before, after]} if max(len(before), len(after)) <= LOGGED_ROWS else {key: [len(before), len(after)]}
    )
    record.updated_by, record.updated_at = actor, timezone.now()
    record.version += 1
    record.save(update_fields=["updated_by", "updated_at", "version"])
    TimelineEntry.objects.create(
        module=spec.key, record_id=record.pk, kind=TimelineEntry.Kind.UPDATED, actor=actor, data={"changes": changes}
    )
    audit.audit_log(
        action=audit.RECORD_UPDATED,
        actor=actor,
        module=spec.key,
        record_id=record.pk,
        record_label=f"{record.number} {record}",
        changes=changes,
    )
    return record
