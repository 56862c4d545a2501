"""The board (kanban) of any module, by its `kanban_field` or by any of its picklist fields (`?field=`): one
column per value of that field, with count and totals of the visible records and the first cards of
every column in one query.

Columns are the field's picklist values (or its choices) unless the module's spec gives a
`board_columns(request, member)` hook for its kanban field (deals: the stages of the chosen pipeline).
Moving a card is a plain `record_update` of the field, or the module's `board_move` domain action for
its kanban field (deals: `deal_set_stage`, where the probability follows the stage).

Totals: the sum of `amount` per column and currency (models with a `currency` column), converted into
the workspace's base currency with Decimal at the stored rate (`crm_apps.engine.currency`); the
per-currency sums stay available for the tooltip. Days in a column: since the last timeline entry that
changed the field (else since the record was created); a card is "rotting" when that exceeds the
column's threshold (`BoardColumnSetting.rotting_days`, set by tenant admins on the board).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import F, Max, Window
from django.db.models.functions import RowNumber
from django.http import HttpRequest
from django.utils import timezone

from crm_apps.access.models import Member
from crm_apps.engine import currency, metadata, selectors
from crm_apps.engine.display import record_url
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.models import BoardColumnSetting, TimelineEntry
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


def board_fields(spec: ModuleSpec) -> list[str]:
    """Fields a board can group by: the kanban field first, then every picklist field."""
    return [n for n in dict.fromkeys([spec.kanban_field, *spec.picklists]) if n]


def board_field(spec: ModuleSpec, requested: str | None) -> str | None:
    """The field the board groups by: the requested one when it can, else the kanban field, else None."""
    choices = board_fields(spec)
    if requested and requested in choices:
        return requested
    return spec.kanban_field


def default_layout(spec: ModuleSpec, name: str | None = None) -> BoardLayout:
    """The field's picklist values (retired ones left out), else the field's choices."""
    name = name or spec.kanban_field
    assert name is not None
    if name in spec.picklists:
        values = metadata.picklist_values(spec.picklists[name])
        return BoardLayout([BoardColumn(v.value, v.label) for v in values if not v.retired])
    model_field: Any = spec.model._meta.get_field(name)
    if model_field.choices:
        return BoardLayout([BoardColumn(value, str(label)) for value, label in model_field.choices])
    raise ImproperlyConfigured(f"module {spec.key!r}: the kanban field needs a picklist, choices or board_columns")


def board_layout(spec: ModuleSpec, request: HttpRequest, member: Member, name: str | None = None) -> BoardLayout:
    name = name or spec.kanban_field
    if spec.board_columns and name == spec.kanban_field:
        return spec.board_columns(request, member)
    return default_layout(spec, name)


def _has(spec: ModuleSpec, name: str) -> bool:
    return any(f.name == name for f in spec.model._meta.get_fields())


def card_date_field(spec: ModuleSpec) -> str | None:
    """The date a card shows and quick-edits (deals: the expected close date): the form's first date field."""
    for name in spec.form_fields:
        model_field: Any = spec.model._meta.get_field(name)
        if isinstance(model_field, models.DateField) and not isinstance(model_field, models.DateTimeField):
            return name
    return None


def days_in_column(*, spec: ModuleSpec, name: str, records: list[Any]) -> dict[Any, int]:
    """Record id -> whole days since the field last changed (the timeline's latest change of it), else
    since the record was created. One query for all the cards."""
    if not records:
        return {}
    changed = dict(
        TimelineEntry.objects.filter(
            module=spec.key, record_id__in=[r.pk for r in records], data__changes__has_key=name
        )
        .order_by()
        .values("record_id")
        .annotate(last=Max("created_at"))
        .values_list("record_id", "last")
    )
    now = timezone.now()
    out = {}
    for record in records:
        since: dt.datetime = changed.get(record.pk) or record.created_at
        out[record.pk] = max(0, (now - since).days)
    return out


def rotting_thresholds(*, spec: ModuleSpec, name: str) -> dict[str, int]:
    """Column value (as text) -> days after which its cards are rotting."""
    rows = BoardColumnSetting.objects.filter(module=spec.key, field=name, rotting_days__isnull=False)
    return {row.value: row.rotting_days for row in rows if row.rotting_days is not None}


def board_context(
    *, spec: ModuleSpec, member: Member, request: HttpRequest, search: str = "", field_name: str | None = None
) -> dict[str, Any]:
    """Columns with count, totals (per currency and converted) and their first cards, over visible records only."""
    name = field_name or spec.kanban_field
    assert name is not None
    layout = board_layout(spec, request, member, name)
    model_field: Any = spec.model._meta.get_field(name)
    key = model_field.attname if isinstance(model_field, models.ForeignKey) else name
    base = selectors.list_queryset(spec=spec, actor=member, search=search).filter(**layout.scope)
    totals = selectors.kanban_columns(spec=spec, actor=member, queryset=base, field_name=name)
    order = [
        F(n[1:]).desc() if n.startswith("-") else F(n).asc()
        for n in (layout.ordering if name == spec.kanban_field and layout.ordering else spec.default_ordering)
    ]
    ranked = base.annotate(_row=Window(RowNumber(), partition_by=[F(key)], order_by=[*order, F("id").asc()]))
    references = [
        f.name
        for f in spec.model._meta.get_fields()
        if isinstance(f, models.ForeignKey) and f.name in spec.list_columns and f.name != "owner"
    ]
    cards: dict[Any, list[Any]] = {}
    shown = list(ranked.filter(_row__lte=CARDS_PER_COLUMN).select_related("owner__user", "owner_group", *references))
    for record in shown:
        cards.setdefault(getattr(record, key), []).append(record)  # every column's first cards in one query
    days = days_in_column(spec=spec, name=name, records=shown)
    thresholds = rotting_thresholds(spec=spec, name=name)
    rates = currency.rates()
    rules = field_rules(actor=member, spec=spec)
    amount_shown = _has(spec, "amount") and rules.shows("amount")
    date_field = card_date_field(spec)
    if date_field and not rules.shows(date_field):
        date_field = None
    columns = []
    for column in layout.columns:
        row = totals.get(column.value, {})
        by_currency: dict[str, Decimal] = row.get("by_currency", {})
        converted = currency.convert(by_currency, rates)
        threshold = thresholds.get(str(column.value))
        columns.append(
            {
                "value": column.value,
                "label": column.label,
                "item": column.item,
                # The templates and tests of a module read the column's object by the field's name.
                name: column.item if column.item is not None else column.value,
                "count": row.get("count", 0),
                "total": row.get("total") or Decimal(0),
                "weighted": (row.get("weighted") or Decimal(0)).quantize(Decimal("0.01")),
                # The weighted sum in the base currency (None without one: then per currency, as the total).
                "weighted_converted": currency.convert(row.get("weighted_by_currency", {}), rates),
                "weighted_by_currency": sorted(
                    (code, amount.quantize(Decimal("0.01")))
                    for code, amount in row.get("weighted_by_currency", {}).items()
                ),
                "has_totals": "total" in row,
                "by_currency": sorted(by_currency.items()),
                "converted": converted,
                "rotting_days": threshold,
                "cards": [(r, record_url(spec, r)) for r in cards.get(column.value, [])],
                "card_info": [
                    {
                        "record": r,
                        "url": record_url(spec, r),
                        "days": days.get(r.pk, 0),
                        "rotting": threshold is not None and days.get(r.pk, 0) > threshold,
                        "amount": getattr(r, "amount", None) if amount_shown else None,
                        "currency": getattr(r, "currency", "") if amount_shown else "",
                        "date": getattr(r, date_field) if date_field else None,
                    }
                    for r in cards.get(column.value, [])
                ],
            }
        )
    return {
        "spec": spec,
        "columns": columns,
        "layout": layout,
        "search": search,
        "board_field": name,
        # "All N records" links to the list filtered by the column, where the list can filter by that field.
        "list_filterable": name in spec.filter_fields,
        "base_currency": rates.base,
        "amount_field": amount_shown,
        "date_field": date_field,
        **layout.context,
    }
