"""ModuleSpec: the data that describes a CRM module to the engine. Behaviour lives in services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.utils.functional import Promise

if TYPE_CHECKING:
    from django.db import models

    from crm_apps.engine.models import CrmRecord


@dataclass(frozen=True)
class Block:
    """A titled group of fields on the detail and edit screens."""

    key: str
    title: str | Promise
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Related:
    """A related list: records of `module` whose FK `via` points at this record."""

    module: str
    via: str
    label: str | Promise | None = None


@dataclass(frozen=True)
class ModuleHooks:
    """Invariants only (recompute a total); never user-visible actions."""

    clean: Callable[[CrmRecord], None] | None = None
    before_save: Callable[[CrmRecord], None] | None = None
    # After every create/update, inside the transaction: keep derived logs (e.g. stage history) true.
    after_save: Callable[[CrmRecord, Any], None] | None = None


@dataclass(frozen=True)
class ChildSpec:
    """Rows a record owns (quote lines): saved, versioned, audited and served with the record
    (ADR 0014-child-tables). Each row is validated by the child model's `full_clean`."""

    # The name of the rows in payloads and forms: `{"lines": [...]}`, `lines-0-quantity`.
    key: str
    model: type[models.Model]
    # The child model's foreign key to the parent record.
    fk: str
    # Fields a person or API client sets on a row, in column order.
    fields: tuple[str, ...]
    label: str | Promise
    # An integer field the engine sets to the row's index (rows are served in this order).
    ordering: str = "position"
    # Values the model computes (in `clean`/`save`), shown and served but never written by clients.
    computed_fields: tuple[str, ...] = ()
    min_rows: int = 0
    max_rows: int = 200
    # After the rows are written, inside the parent's transaction: set derived parent fields
    # (subtotal, grand total) from the saved rows. The engine saves `totals_fields` afterwards.
    totals_hook: Callable[[CrmRecord, list[Any]], None] | None = None
    # Parent fields the hook maintains: read-only on the parent, shown under the rows, in the diff.
    totals_fields: tuple[str, ...] = ()
    # Fields whose product is a row's amount, for the live total the form shows while typing
    # (the server's totals hook stays the authority).
    row_amount: tuple[str, ...] = ()


@dataclass(frozen=True)
class ModuleSpec:
    key: str
    model: type[CrmRecord]
    label: str | Promise
    label_plural: str | Promise
    number_prefix: str
    title_fields: tuple[str, ...]
    blocks: tuple[Block, ...]
    list_columns: tuple[str, ...]
    search_fields: tuple[str, ...]
    filter_fields: tuple[str, ...] = ()
    # Standard fields whose values come from a tenant-editable picklist: field -> picklist name.
    picklists: dict[str, str] = field(default_factory=dict)
    related: tuple[Related, ...] = ()
    kanban_field: str | None = None
    icon: str = "record"
    default_ordering: tuple[str, ...] = ("-created_at",)
    # Duplicate detection: groups of fields that identify the same real-world record.
    duplicate_rules: tuple[tuple[str, ...], ...] = ()
    # Fields that never appear in forms (set by domain actions only).
    readonly_fields: tuple[str, ...] = ()
    # A queryset filter applied to the default list (e.g. converted leads are hidden).
    default_list_filter: dict[str, Any] = field(default_factory=dict)
    hooks: ModuleHooks = ModuleHooks()
    # Picklists this module needs in every tenant: picklist name -> default values (vtiger's).
    default_picklists: dict[str, list[str]] = field(default_factory=dict)
    # Installs other per-tenant defaults (pipelines, mappings); must be idempotent.
    install_defaults: Callable[[], None] | None = None
    # Sharing: the organisation-wide default until a tenant admin changes it (access.SharingDefault values),
    # and the reference whose record this one follows when "visible with the parent" is on (vtiger's
    # related-module sharing: contacts follow their organisation).
    sharing_default: str = "public_read_write_delete"
    sharing_parent: str | None = None
    sharing_follows_parent: bool = False
    # A valid example record (API docs, contract tests, sample data): field -> value.
    example: dict[str, Any] = field(default_factory=dict)
    # Child tables (line items) saved with the record; the example rows feed the contract suite.
    children: tuple[ChildSpec, ...] = ()
    example_children: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    @property
    def form_fields(self) -> tuple[str, ...]:
        seen: list[str] = []
        for block in self.blocks:
            for name in block.fields:
                if name not in seen and name not in self.readonly_fields:
                    seen.append(name)
        return tuple(seen)

    def child(self, key: str) -> ChildSpec | None:
        return next((c for c in self.children if c.key == key), None)
