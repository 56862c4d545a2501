"""ModuleSpec: the data that describes a CRM module to the engine. Behaviour lives in services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet
from django.utils.functional import Promise

if TYPE_CHECKING:
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
    # Rows of a shared model that belong to this module (a tenant's custom module keeps its records in
    # one generic table: {"module_key": "equipment"}). Every read and write goes through `records()`,
    # and new records get these values, so two modules on one table never see each other's rows.
    scope: dict[str, Any] = field(default_factory=dict)
    # Defined by the tenant at runtime (crm_apps.custom_modules), not by code.
    custom: bool = False

    def records(self) -> QuerySet[Any]:
        """Every row of this module (deleted ones too): the start of any queryset of its records."""
        manager = self.model.objects
        return manager.filter(**self.scope) if self.scope else manager.all()

    @property
    def form_fields(self) -> tuple[str, ...]:
        seen: list[str] = []
        for block in self.blocks:
            for name in block.fields:
                if name not in seen and name not in self.readonly_fields:
                    seen.append(name)
        return tuple(seen)
