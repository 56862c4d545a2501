"""ModuleSpec: the data that describes a CRM module to the engine. Behaviour lives in services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.signals import setting_changed
from django.db.models import QuerySet
from django.dispatch import receiver
from django.utils.functional import Promise

if TYPE_CHECKING:
    from django.db import models
    from django.http import HttpRequest

    from crm_apps.access.models import Member
    from crm_apps.engine.models import CrmRecord
    from crm_apps.engine.sample_data import SampleContext

# (module, page) -> the template that renders it (ModuleSpec.template_for); emptied when the template
# settings change (tests).
_templates_found: dict[tuple[str, str], str] = {}


@receiver(setting_changed)
def _forget_templates(*, setting: str, **_kwargs: Any) -> None:
    if setting == "TEMPLATES":
        _templates_found.clear()


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


# Menu groups of the navigation, in the order they are shown. Labels live in `crm_apps.engine.menu`.
MENU_GROUPS = ("sales", "inventory", "support", "marketing", "projects", "tools", "settings")


@dataclass(frozen=True)
class Menu:
    """Where the module sits in the navigation: a group of MENU_GROUPS and its position inside it."""

    group: str = "tools"
    position: int = 100


@dataclass(frozen=True)
class Panel:
    """A box on the record's detail page: `template` rendered with the page's context plus whatever
    `context(record, member, request)` returns. `slot` is where: "top" (above the field blocks: what
    changes the record's state), "main" (after the related lists: lists of records) or "side" (the side
    column, between the comments and the activity timeline: feeds such as activities, emails,
    documents). The page's full layout is drawn in crm_apps/engine/README.md ("Record page layout")."""

    key: str
    template: str
    context: Callable[[Any, Member, HttpRequest], dict[str, Any]] | None = None  # (record of the module, ...)
    slot: str = "main"
    # Optional: `linked(spec)` -> {name: queryset} of the rows the panel lists for a record of `spec`, correlated
    # to the record by OuterRef("pk") and *before* any visibility filter. The record page reads whether each
    # has rows in the record's own statement (EXISTS); the context skips a read that can only come back empty
    # (`extensions.may_have_rows`), and still applies every check when there are rows.
    linked: Callable[[ModuleSpec], dict[str, QuerySet[Any]]] | None = None


@dataclass(frozen=True)
class HomeWidget:
    """A box on the member's home page ("my day"): `template` rendered with `widget` = what
    `context(member, request)` returns (None: the box is left out for this member). `position` orders the
    boxes of every module and of the home page itself (lower first); a module's boxes are shown only to
    members whose profiles open the module. The context must read through the selectors (visibility)."""

    key: str
    title: str | Promise
    template: str
    context: Callable[[Member, HttpRequest], dict[str, Any] | None]
    position: int = 100


@dataclass(frozen=True)
class Action:
    """A button leading to one of the module's own views. Record actions reverse `url_name` with the
    record's id, list actions without arguments. `requires` is "view", "create", "edit", "delete"
    (rights on the module or the record) or a `Privilege` (crm_apps.access.privileges); `condition`
    hides a record action for records it does not apply to (a converted lead cannot be converted)."""

    key: str
    label: str | Promise
    url_name: str
    requires: str = "edit"
    condition: Callable[[Any], bool] | None = None  # (record of the module) -> shown?
    method: str = "get"
    primary: bool = False


@dataclass(frozen=True)
class SettingsPage:
    """A tenant-admin screen of the module, listed on the module settings screens (the URL name is
    reversed without arguments and must be one of the module's own `urls`)."""

    key: str
    label: str | Promise
    url_name: str
    description: str | Promise = ""


@dataclass(frozen=True)
class RowField:
    """A child-table column its module draws itself in the edit form and on the record page, for a value
    the generic row form cannot edit (a line's taxes: a JSON list, chosen in the form from a list).
    `prepare(actor)` runs once per table (load the choices); the form's value is a string."""

    prepare: Callable[[Any], Any]
    # (prepared, form value) -> the form field of one row (its choices may depend on the value)
    field: Callable[[Any, str], Any]
    # (prepared, stored value) -> the form's value
    to_form: Callable[[Any, Any], str]
    # form value -> (send?, value for the services); not sent: the row keeps its stored value
    to_service: Callable[[str], tuple[bool, Any]]
    # (prepared, stored value) -> the text of the record page's cell
    display: Callable[[Any, Any], str]


@dataclass(frozen=True)
class ChildSpec:
    """Rows a record owns (quote lines): saved, versioned, audited and served with the record
    (ADR 0018-child-tables). Each row is validated by the child model's `full_clean`."""

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
    # The fields the edit form shows, when not all of `fields` (a JSON column the API sets, such as a
    # line's taxes, that keeps its stored value when the form saves the row). None: every field.
    form_fields: tuple[str, ...] | None = None
    # Columns of `form_fields` the module draws itself (RowField), by field name.
    row_fields: dict[str, RowField] = field(default_factory=dict, hash=False, compare=False)

    @property
    def shown_fields(self) -> tuple[str, ...]:
        return self.fields if self.form_fields is None else self.form_fields


@dataclass(frozen=True)
class RowFlag:
    """A state a list row shows as a badge: `key` names it in `data-flags` (and for tests), `tone` is
    the badge colour (info, warning, danger, ok)."""

    key: str
    label: str | Promise
    tone: str = "danger"


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

    # --- Extension points: data and template names, read by the generic screens (engine README). ---
    menu: Menu = Menu()
    panels: tuple[Panel, ...] = ()
    # Boxes on the home page (today's events, deals closing this month...), see HomeWidget.
    home_widgets: tuple[HomeWidget, ...] = ()
    record_actions: tuple[Action, ...] = ()
    list_actions: tuple[Action, ...] = ()
    # Dotted paths of the module's own URLconfs, included by the tenant URLconf and the API router.
    urls: str | None = None
    api_urls: str | None = None
    settings_pages: tuple[SettingsPage, ...] = ()
    # The board's columns when they are not the kanban field's picklist values (deals: the stages of
    # the chosen pipeline): (request, member) -> BoardLayout (crm_apps.engine.board).
    board_columns: Callable[[HttpRequest, Member], Any] | None = None
    # The module's domain action for a card moved on the board: (actor, record, column value) -> record.
    # Without it a move is a plain record_update of the kanban field (deals: probability follows the stage).
    board_move: Callable[[Member, Any, Any], Any] | None = None
    # Creates the module's demo records (`manage.py seed_demo`), after the modules in `sample_data_after`.
    sample_data: Callable[[SampleContext], None] | None = None
    sample_data_after: tuple[str, ...] = ()
    # What import, the vtiger-compatible webservice and the vtiger migration need (issue 17): the
    # module's vtiger name ("Contacts", "Potentials", "HelpDesk"; "" = not exposed under a vtiger name)
    # and its fields' vtiger names, field -> vtiger field ("first_name" -> "firstname"). Fields not
    # listed keep their own name; custom fields are `cf_<key>`.
    vtiger_module: str = ""
    vtiger_fields: dict[str, str] = field(default_factory=dict)
    # OpenAPI only: the keys the module's own API adds to its records beyond the model's fields (events:
    # `related_to`, `invitees`, `reminders`...), as () -> {key: DRF serializer field}.
    api_extra_fields: Callable[[], dict[str, Any]] | None = None
    # Flags the list shows on a row (tasks: overdue; tickets: SLA breached), from the record's own fields
    # only (no queries): record -> [RowFlag(key, label, tone)]. The row gets `data-flags` and a badge
    # per flag next to its number. `row_flag_fields` names the fields it reads: the list loads them
    # even when their columns are hidden.
    row_flags: Callable[[Any], list[RowFlag]] | None = None
    row_flag_fields: tuple[str, ...] = ()
    # Fields one of the module's own panels shows formatted on the record page (FAQ: the answer as rich
    # text): the field blocks of the record page leave them out; the edit form keeps them.
    shown_by_panel: tuple[str, ...] = ()

    def template_names(self, page: str) -> list[str]:
        """`<module>/<page>.html` before `engine/<page>.html`: a module overrides a generic screen by
        shipping a template of that name (in its package's `templates/` folder)."""
        return [f"{self.key}/{page}.html", f"engine/{page}.html"]

    def template_for(self, page: str) -> str:
        """The one of `template_names(page)` that exists, looked up once per process. Handing the renderer
        both names made it look for the module's own first on every request: a TemplateDoesNotExist whose
        traceback holds every frame of the request (its rows, records, context) in a reference cycle, so
        about 1,200 objects of a list page waited for the garbage collector instead of being freed on return
        (issue 25)."""
        key = (self.key, page)
        found = _templates_found.get(key)
        if found is None:
            from django.template import TemplateDoesNotExist
            from django.template.loader import get_template

            own, generic = self.template_names(page)
            try:
                get_template(own)
            except TemplateDoesNotExist:
                found = generic
            else:
                found = own
            _templates_found[key] = found
        return found

    @cached_property
    def form_fields(self) -> tuple[str, ...]:
        # Computed once per spec (blocks and read-only fields never change); an import reads it per row.
        seen: list[str] = []
        for block in self.blocks:
            for name in block.fields:
                if name not in seen and name not in self.readonly_fields:
                    seen.append(name)
        return tuple(seen)

    @cached_property
    def column_fields(self) -> tuple[str, ...]:
        """The fields a list can show as columns, in the column picker's order: the list columns, then the
        form's other fields; text areas left out. Once per spec (the list page asked twice per request)."""
        from django.db import models

        names: list[str] = []
        for name in [*self.list_columns, *self.form_fields]:
            if name not in names and not isinstance(self.model._meta.get_field(name), models.TextField):
                names.append(name)
        return tuple(names)

    @cached_property
    def mass_edit_fields(self) -> tuple[str, ...]:
        """The form's plain fields (references left out), which a list's selection can set on many records."""
        from django.db import models

        return tuple(n for n in self.form_fields if not isinstance(self.model._meta.get_field(n), models.ForeignKey))

    def child(self, key: str) -> ChildSpec | None:
        return next((c for c in self.children if c.key == key), None)
