"""The board (kanban) of any module with a `kanban_field`: one column per value of that field, with
count and totals of the visible records and the first cards of every column in one query.

Columns are the kanban field's picklist values (or its choices) unless the module's spec gives a
`board_columns(request, member)` hook (deals: the stages of the chosen pipeline). Moving a card is a
plain `record_update` of the kanban field, unless a module overrides the board template and posts to
its own domain action (deals: `deals:stage`, where the probability follows the stage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest

from crm_apps.access.models import Member
from crm_apps.engine import metadata, selectors
from crm_apps.engine.display import record_url
from crm_apps.engine.spec import ModuleSpec

CARDS_PER_COLUMN = 50


@dataclass(frozen=True)
class BoardColumn:
    """One column: the stored value of the kanban field, its label and the object behind it (a stage)."""

    value: Any
    label: str
    item: Any = None


@dataclass(frozen=True)
class BoardLayout:
    """What a `board_columns` hook returns: the columns, a filter that scopes the cards (deals: the
    pipeline) and extra context for the module's board template (deals: the pipeline switcher)."""

    columns: list[BoardColumn]
    scope: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    # Card order inside a column; the module's default ordering when empty.
    ordering: tuple[str, ...] = ()


def default_layout(spec: ModuleSpec) -> BoardLayout:
    """The kanban field's picklist values (retired ones left out), else the field's choices."""
    assert spec.kanban_field is not None
    name = spec.kanban_field
    if name in spec.picklists:
        values = metadata.picklist_values(spec.picklists[name])
        return BoardLayout([BoardColumn(v.value, v.label) for v in values if not v.retired])
    model_field: Any = spec.model._meta.get_field(name)
    if model_field.choices:
        return BoardLayout([BoardColumn(value, str(label)) for value, label in model_field.choices])
    raise ImproperlyConfigured(f"module {spec.key!r}: the kanban field needs a picklist, choices or board_columns")


def board_layout(spec: ModuleSpec, request: HttpRequest, member: Member) -> BoardLayout:
    return spec.board_columns(request, member) if spec.board_columns else default_layout(spec)


def board_context(*, spec: ModuleSpec, member: Member, request: HttpRequest, search: str = "") -> dict[str, Any]:
    """Columns with count, total, weighted total and their first cards, over visible records only."""
    assert spec.kanban_field is not None
    layout = board_layout(spec, request, member)
    model_field: Any = spec.model._meta.get_field(spec.kanban_field)
    key = model_field.attname if isinstance(model_field, models.ForeignKey) else spec.kanban_field
    base = selectors.list_queryset(spec=spec, actor=member, search=search).filter(**layout.scope)
    totals = selectors.kanban_columns(spec=spec, actor=member, queryset=base)
    order = [
        F(name[1:]).desc() if name.startswith("-") else F(name).asc()
        for name in layout.ordering or spec.default_ordering
    ]
    ranked = base.annotate(_row=Window(RowNumber(), partition_by=[F(key)], order_by=[*order, F("id").asc()]))
    references = [
        f.name
        for f in spec.model._meta.get_fields()
        if isinstance(f, models.ForeignKey) and f.name in spec.list_columns
    ]
    cards: dict[Any, list[Any]] = {}
    for record in ranked.filter(_row__lte=CARDS_PER_COLUMN).select_related(*references):
        cards.setdefault(getattr(record, key), []).append(record)  # every column's first cards in one query
    columns = []
    for column in layout.columns:
        row = totals.get(column.value, {})
        columns.append(
            {
                "value": column.value,
                "label": column.label,
                "item": column.item,
                # The templates and tests of a module read the column's object by the field's name.
                spec.kanban_field: column.item if column.item is not None else column.value,
                "count": row.get("count", 0),
                "total": row.get("total") or Decimal(0),
                "weighted": (row.get("weighted") or Decimal(0)).quantize(Decimal("0.01")),
                "has_totals": "total" in row,
                "cards": [(r, record_url(spec, r)) for r in cards.get(column.value, [])],
            }
        )
    return {"spec": spec, "columns": columns, "layout": layout, "search": search, **layout.context}
