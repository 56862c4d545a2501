"""`manage.py check` fails on a bad ModuleSpec: fields must exist, keys be unique, relations registered."""

from __future__ import annotations

from typing import Any

from django.core import checks
from django.core.exceptions import FieldDoesNotExist
from django.db import models

from crm_apps.engine import registry
from crm_apps.engine.links import RESERVED_ROUTE_NAMES, link_models, record_index_problem
from crm_apps.engine.models import CrmRecord
from saas.fields import MODULE_KEY_MAX_LENGTH


def spec_errors() -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    specs = registry.builtin_specs()  # declarations in code; a tenant's modules are validated when built
    keys = [s.key for s in specs]
    prefixes = [s.number_prefix for s in specs]
    for spec in specs:
        where = f"module {spec.key!r}"
        if not issubclass(spec.model, CrmRecord):
            errors.append(checks.Error(f"{where}: model must inherit CrmRecord", id="engine.E001"))
            continue
        if keys.count(spec.key) > 1 or prefixes.count(spec.number_prefix) > 1:
            errors.append(checks.Error(f"{where}: key and numbering prefix must be unique", id="engine.E002"))
        if len(spec.key) > MODULE_KEY_MAX_LENGTH:
            errors.append(
                checks.Error(f"{where}: key longer than {MODULE_KEY_MAX_LENGTH} characters", id="engine.E006")
            )
        names = [
            *spec.title_fields,
            *spec.list_columns,
            *spec.search_fields,
            *spec.filter_fields,
            *spec.picklists,
            *[f for b in spec.blocks for f in b.fields],
            *([spec.kanban_field] if spec.kanban_field else []),
        ]
        for name in names:
            try:
                spec.model._meta.get_field(name)
            except FieldDoesNotExist:
                errors.append(checks.Error(f"{where}: unknown field {name!r}", id="engine.E003"))
        for relation in spec.related:
            if relation.module in RESERVED_ROUTE_NAMES:
                errors.append(
                    checks.Error(
                        f"{where}: related list {relation.module!r} would hide the record's link endpoint "
                        f"/api/v1/{spec.key}/<id>/{relation.module}",
                        id="engine.E007",
                    )
                )
            if relation.module not in keys:
                errors.append(
                    checks.Error(f"{where}: related module {relation.module!r} is not registered", id="engine.E004")
                )
                continue
            other = registry.get(relation.module)
            try:
                field: Any = other.model._meta.get_field(relation.via)
            except FieldDoesNotExist:
                field = None
            if not isinstance(field, models.ForeignKey) or field.remote_field.model is not spec.model:
                errors.append(
                    checks.Error(
                        f"{where}: related list {relation.module}.{relation.via} is not a foreign key to this module",
                        id="engine.E005",
                    )
                )
        errors += _children_errors(spec, where)
        errors += _extension_errors(spec, where, keys)
    return errors


def _children_errors(spec: Any, where: str) -> list[checks.CheckMessage]:
    """A child table names real fields: a foreign key to the parent, an integer ordering field, editable
    and computed fields of the child model, totals fields of the parent that forms never write."""
    errors: list[checks.CheckMessage] = []
    keys = [c.key for c in spec.children]
    # Reverse relations (the rows' own related_name) may share the key; the record's fields may not.
    parent_names = {f.name for f in spec.model._meta.get_fields() if f.concrete}
    for child in spec.children:
        at = f"{where}, child table {child.key!r}"
        if keys.count(child.key) > 1 or child.key in parent_names or child.key in {"custom", "version", "id"}:
            errors.append(checks.Error(f"{at}: key must be unique and not a field name", id="engine.E006"))
        fields = {f.name: f for f in child.model._meta.get_fields()}
        fk: Any = fields.get(child.fk)
        if not isinstance(fk, models.ForeignKey) or fk.remote_field.model is not spec.model:
            errors.append(checks.Error(f"{at}: {child.fk!r} is not a foreign key to {spec.key}", id="engine.E007"))
        if not isinstance(fields.get(child.ordering), models.IntegerField):
            errors.append(checks.Error(f"{at}: ordering {child.ordering!r} is not an integer field", id="engine.E008"))
        for name in (*child.fields, *child.computed_fields, *child.row_amount):
            if name not in fields or name in (child.fk, child.ordering, "id"):
                errors.append(checks.Error(f"{at}: {name!r} is not an editable field of the rows", id="engine.E009"))
        for name in child.totals_fields:
            if name not in parent_names or name not in spec.readonly_fields:
                errors.append(
                    checks.Error(
                        f"{at}: totals field {name!r} must be a read-only field of {spec.key}", id="engine.E010"
                    )
                )
        if child.form_fields is not None and not set(child.form_fields) <= set(child.fields):
            errors.append(checks.Error(f"{at}: form_fields must be some of its fields", id="engine.E012"))
        if not set(child.row_fields) <= set(child.shown_fields):
            errors.append(checks.Error(f"{at}: row_fields must be columns of the form", id="engine.E026"))
        if not 0 <= child.min_rows <= child.max_rows:
            errors.append(checks.Error(f"{at}: min_rows must be between 0 and max_rows", id="engine.E011"))
    return errors


def _extension_errors(spec: Any, where: str, keys: list[str]) -> list[checks.CheckMessage]:
    """Extension points name things that exist: a menu group, panel slots, action methods, sample order."""
    from crm_apps.access.privileges import Privilege
    from crm_apps.engine.extensions import PANEL_SLOTS
    from crm_apps.engine.spec import MENU_GROUPS

    errors: list[checks.CheckMessage] = []
    if spec.menu.group not in MENU_GROUPS:
        errors.append(checks.Error(f"{where}: unknown menu group {spec.menu.group!r}", id="engine.E020"))
    for panel in spec.panels:
        if panel.slot not in PANEL_SLOTS:
            errors.append(
                checks.Error(f"{where}: panel {panel.key!r} has unknown slot {panel.slot!r}", id="engine.E021")
            )
    for action in (*spec.record_actions, *spec.list_actions):
        if action.method not in ("get", "post"):
            errors.append(checks.Error(f"{where}: action {action.key!r} method must be get or post", id="engine.E022"))
        if action.requires not in ("view", "create", "edit", "delete") and action.requires not in set(Privilege):
            errors.append(
                checks.Error(f"{where}: action {action.key!r} requires unknown {action.requires!r}", id="engine.E023")
            )
    for other in spec.sample_data_after:
        if other not in keys:
            errors.append(checks.Error(f"{where}: sample_data_after names unknown {other!r}", id="engine.E024"))
    if spec.kanban_field and spec.board_columns is None:
        field: Any = spec.model._meta.get_field(spec.kanban_field)
        if spec.kanban_field not in spec.picklists and not field.choices:
            errors.append(
                checks.Error(
                    f"{where}: the kanban field needs a picklist or choices, or the spec a board_columns hook",
                    id="engine.E025",
                )
            )
    return errors


def link_errors() -> list[checks.CheckMessage]:
    """Every linking model finds its rows by (module, record_id) through an index."""
    return [
        checks.Error(problem, id="engine.E008")
        for problem in map(record_index_problem, link_models())
        if problem is not None
    ]


@checks.register()
def check_module_specs(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    return spec_errors() + link_errors()
