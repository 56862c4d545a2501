"""How a member sees a module's list: which columns in which order and width, the row density and the
page size. Stored in `SavedView.layout` (a saved view's own, or the member's default view of the module,
`is_default`), validated here, read by the list page and the saved-views API.

What it does not protect: a layout names columns, never values; the columns a member's profiles hide
are dropped when the layout is *read* (`layout_for`), so a layout saved by an admin and shared with
everyone never shows a hidden field to a member."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from crm_apps.engine import metadata
from crm_apps.engine.fieldaccess import FieldRules
from crm_apps.engine.spec import ModuleSpec

DENSITIES = ("comfortable", "compact")
PAGE_SIZES = (25, 50, 100)
MIN_WIDTH, MAX_WIDTH = 60, 800
MAX_COLUMNS = 30


@dataclass(frozen=True)
class ListLayout:
    columns: list[str]
    widths: dict[str, int] = field(default_factory=dict)
    density: str = "comfortable"
    page_size: int = 25

    def as_json(self) -> dict[str, Any]:
        return {"columns": self.columns, "widths": self.widths, "density": self.density, "page_size": self.page_size}


def available_columns(spec: ModuleSpec, rules: FieldRules) -> list[tuple[str, str]]:
    """(name, label) of every column the member may add: the module's fields (list columns first, then
    the form's other fields, text areas left out) and the tenant's custom fields as `custom.<key>`."""
    from crm_apps.engine.display import field_label

    language = get_language() or ""
    out = [
        (name, _("Owner") if name == "owner" else field_label(spec.model, name, language))
        for name in spec.column_fields
        if rules.shows(name)
    ]
    out += [(f"custom.{f.key}", str(f.label)) for f in rules.custom(metadata.custom_fields(spec.key))]
    return out


def default_layout(spec: ModuleSpec, *, extra_custom: list[str] | None = None) -> ListLayout:
    return ListLayout(columns=[*spec.list_columns, *[f"custom.{k}" for k in extra_custom or []]])


def layout_from_stored(
    spec: ModuleSpec, stored: dict[str, Any] | None, *, extra_custom: list[str] | None = None
) -> ListLayout:
    """The stored layout, or the module's default columns (plus a saved view's older `columns`)."""
    base = default_layout(spec, extra_custom=extra_custom)
    if not stored:
        return base
    return ListLayout(
        columns=list(stored.get("columns") or base.columns),
        widths=dict(stored.get("widths") or {}),
        density=stored.get("density") or base.density,
        page_size=int(stored.get("page_size") or base.page_size),
    )


def layout_visible(
    spec: ModuleSpec, layout: ListLayout, rules: FieldRules, available: list[tuple[str, str]] | None = None
) -> ListLayout:
    """The layout without columns that no longer exist or that the member's profiles hide (`available`: the
    caller's `available_columns(spec, rules)`, when it has them)."""
    known = {name for name, _label in (available if available is not None else available_columns(spec, rules))}
    columns = [c for c in layout.columns if c in known] or [c for c in spec.list_columns if c in known]
    return ListLayout(
        columns=columns,
        widths={k: v for k, v in layout.widths.items() if k in columns},
        density=layout.density,
        page_size=layout.page_size,
    )


def layout_clean(spec: ModuleSpec, data: Any, *, rules: FieldRules) -> dict[str, Any]:
    """A layout from a form or JSON body: known columns only, widths in range, a known density and page
    size. Errors name the part that is wrong; nothing is stored when there is one."""
    if not isinstance(data, dict):
        raise ValidationError({"layout": [_("Send an object.")]})
    known = {name for name, _label in available_columns(spec, rules)}
    errors: dict[str, list[str]] = {}
    columns = data.get("columns", list(spec.list_columns))
    if (
        not isinstance(columns, list)
        or not columns
        or len(columns) > MAX_COLUMNS
        or not all(isinstance(c, str) for c in columns)
    ):
        errors["columns"] = [_("Choose between 1 and %(n)d columns.") % {"n": MAX_COLUMNS}]
        columns = []
    else:
        unknown = [c for c in columns if c not in known]
        if unknown:
            errors["columns"] = [_("Unknown column: %(names)s.") % {"names": ", ".join(unknown[:5])}]
        columns = list(dict.fromkeys(columns))  # repeated names once, in their first place
    widths = data.get("widths") or {}
    clean_widths: dict[str, int] = {}
    if not isinstance(widths, dict):
        errors["widths"] = [_("Send widths as an object.")]
    else:
        for name, width in widths.items():
            if name not in columns:
                continue
            if not isinstance(width, int) or isinstance(width, bool) or not MIN_WIDTH <= width <= MAX_WIDTH:
                errors["widths"] = [
                    _("A width is a number of pixels from %(min)d to %(max)d.") % {"min": MIN_WIDTH, "max": MAX_WIDTH}
                ]
                break
            clean_widths[name] = width
    density = data.get("density", "comfortable")
    if density not in DENSITIES:
        errors["density"] = [_("Choose comfortable or compact.")]
    page_size = data.get("page_size", PAGE_SIZES[0])
    if isinstance(page_size, str) and page_size.isdigit():
        page_size = int(page_size)
    if page_size not in PAGE_SIZES:
        errors["page_size"] = [_("Choose 25, 50 or 100 rows.")]
    if errors:
        raise ValidationError(errors)
    return {"columns": columns, "widths": clean_widths, "density": density, "page_size": page_size}


def inline_editable(spec: ModuleSpec, name: str, *, readonly: frozenset[str], hidden: frozenset[str]) -> bool:
    """May a member with these field rules edit `name` in place? (The record's own right is checked on save.)"""
    if name in hidden or name in readonly:
        return False
    if name.startswith("custom."):
        return True
    if name in spec.readonly_fields or any(name in c.totals_fields for c in spec.children):
        return False
    return name == "owner" or name in spec.form_fields
