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

import contextlib
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.core.exceptions import ImproperlyConfigured
from django.db import models
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from crm_apps.access.models import Member
from crm_apps.engine import currency, metadata, record_versions, selectors
from crm_apps.engine.display import record_urls
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.models import BoardColumnSetting, CrmRecord, TimelineEntry
from crm_apps.engine.spec import ModuleSpec
from saas.prepared import Compiled

# Cards a column shows at first and per "Load more" (the rest: the button, or the list filtered by the column).
CARDS_PER_COLUMN = 20


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


def card_ordering(spec: ModuleSpec, layout: BoardLayout, name: str) -> list[str]:
    """The order of the cards in a column (the layout's, else the module's default), ending with the id so
    that "load more" can continue after the last card shown (keyset)."""
    terms = list(layout.ordering if name == spec.kanban_field and layout.ordering else spec.default_ordering)
    if not any(t.lstrip("-") == "id" for t in terms):
        terms.append("-id" if terms and terms[-1].startswith("-") else "id")
    return terms


def _keyset_ready(spec: ModuleSpec, ordering: list[str]) -> bool:
    """Whether the next cards can be found after the last one: only when no sort key can be NULL."""
    return all(not getattr(spec.model._meta.get_field(t.lstrip("-")), "null", False) for t in ordering)


def _card_queryset(spec: ModuleSpec, base: Any, key: str, value: Any, ordering: list[str]) -> Any:
    """The cards of one column in card order, reading only what a card shows (title, owner, amount and
    currency, date, days in the column) and the sort keys: a board reads 210 of them, each column's read is
    compiled on its own, and the full rows with their references cost more to build than to fetch."""
    names = {f.name: f for f in spec.model._meta.concrete_fields}
    board_name = next((f.name for f in names.values() if f.attname == key), key)
    wanted = ["id", "number", "created_at", "owner", "owner_group", board_name]
    wanted += [t.lstrip("-") for t in ordering] + list(spec.title_fields)
    wanted += [n for n in ("amount", "currency") if n in names]
    date_field = card_date_field(spec)
    if date_field:
        wanted.append(date_field)
    # A title made of a reference (rare) shows the referenced record's own title: joined whole.
    references = [n for n in spec.title_fields if isinstance(names.get(n), models.ForeignKey) and n != "owner"]
    only = [n for n in dict.fromkeys(wanted) if n in names]
    related_fields = ["owner__user__name", "owner_group__name"]
    related_fields += [f"{n}__{f.name}" for n in references for f in names[n].related_model._meta.concrete_fields]  # type: ignore[union-attr]
    qs = base.filter(**{key: value}).order_by(*ordering).select_related("owner__user", "owner_group", *references)
    if spec.model.__str__ is not CrmRecord.__str__:
        # The model writes its own title (calls: direction and number) from columns a card does not name:
        # read the whole row, or each card would fetch them one query at a time.
        return qs.defer("search_vector")
    return qs.only(*only, *related_fields)


def first_cards(
    *,
    spec: ModuleSpec,
    base: Any,
    key: str,
    values: list[Any],
    ordering: list[str],
    limit: int,
    member: Member | None = None,
    base_parts: tuple[Any, ...] | None = None,
) -> dict[Any, list[Any]]:
    """Column value -> its first `limit` + 1 cards (the extra one says there are more), every column in one
    statement: a UNION ALL of one ordered, limited read per column, so each stops after its first cards
    (an index on the field and the card order serves it) instead of numbering every visible record.

    With `member` and `base_parts` (everything `base` was made from besides the member: the search, the
    layout's scope) the statement is kept per process like a list's (`selectors._statement_key`) and runs
    prepared: planning the union of ten column reads was 7.5 ms of PostgreSQL per board at the full size."""
    if not values:
        return {}

    def build() -> Any:
        parts = [_card_queryset(spec, base, key, value, ordering)[: limit + 1] for value in values]
        return parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]

    records: Any
    statement_key = None
    if member is not None and base_parts is not None:
        arguments = ("board", key, tuple(values), tuple(ordering), limit, base_parts)
        statement_key = selectors._statement_key(spec, member, arguments)
    if statement_key is None:
        records = build()
    else:
        statement = selectors._statement_get(statement_key, spec)
        if statement is None:
            try:
                statement = selectors._ListStatement(spec, Compiled(build()), list(ordering), "n")
            except ValueError:  # a shape Compiled does not run: the queryset, as it is
                statement = None
            if statement is not None:
                selectors._statement_put(statement_key, statement)
        records = statement.compiled.run() if statement is not None else build()
    cards: dict[Any, list[Any]] = {}
    for record in records:
        cards.setdefault(getattr(record, key), []).append(record)
    # UNION ALL keeps each part's order in practice, but SQL does not promise it: sort each column again.
    for records in cards.values():
        for term in reversed(ordering):
            sort_field: Any = spec.model._meta.get_field(term.lstrip("-"))
            attname: str = sort_field.attname

            def sort_key(record: Any, a: str = attname) -> tuple[bool, Any]:
                return (getattr(record, a) is None, getattr(record, a))

            records.sort(key=sort_key, reverse=term.startswith("-"))
    return cards


def _card_cursor(record: Any, ordering: list[str]) -> str:
    return selectors._encode(["n", *[getattr(record, record._meta.get_field(t.lstrip("-")).attname) for t in ordering]])


def _card_info(
    *,
    spec: ModuleSpec,
    records: list[Any],
    days: dict[Any, int],
    threshold: int | None,
    amount_shown: bool,
    date_field: str | None,
    url: Callable[[Any], str] | None = None,
) -> list[dict[str, Any]]:
    url = url or record_urls(spec)
    return [
        {
            "record": r,
            "url": url(r),
            "days": days.get(r.pk, 0),
            "rotting": threshold is not None and days.get(r.pk, 0) > threshold,
            "amount": getattr(r, "amount", None) if amount_shown else None,
            "currency": getattr(r, "currency", "") if amount_shown else "",
            "date": getattr(r, date_field) if date_field else None,
        }
        for r in records
    ]


def _card_fields(spec: ModuleSpec, member: Member) -> tuple[bool, str | None]:
    """(amount shown, date field shown) on the member's cards."""
    rules = field_rules(actor=member, spec=spec)
    amount_shown = _has(spec, "amount") and rules.shows("amount")
    date_field = card_date_field(spec)
    if date_field and not rules.shows(date_field):
        date_field = None
    return amount_shown, date_field


def _base_and_key(
    *, spec: ModuleSpec, member: Member, request: HttpRequest, search: str, name: str
) -> tuple[BoardLayout, Any, str]:
    layout = board_layout(spec, request, member, name)
    model_field: Any = spec.model._meta.get_field(name)
    key = model_field.attname if isinstance(model_field, models.ForeignKey) else name
    base = selectors.list_queryset(spec=spec, actor=member, search=search).filter(**layout.scope)
    return layout, base, key


def column_totals(
    *, spec: ModuleSpec, member: Member, base: Any, name: str, layout: BoardLayout, search: str
) -> dict[Any, dict[str, Any]]:
    """Count and sums per column over the member's visible records (`selectors.kanban_columns`, which
    reads every one of them: a second for a manager's 100,000 deals at 1M contacts on a busy machine),
    cached per member for the records' current state (`record_versions`): any write to the module or to
    the modules its visibility follows, any change of access, gives a new key."""
    scope = sorted((k, str(getattr(v, "pk", v))) for k, v in layout.scope.items())
    key = record_versions.cache_key("board-totals", spec=spec, member=member, parts=[name, scope, search])
    if key is not None:
        try:
            cached = cache.get(key)
        except Exception:  # the cache went away between the stamps and now: compute
            cached, key = None, None
        if cached is not None:
            return dict(cached)
    totals = selectors.kanban_columns(spec=spec, actor=member, queryset=base, field_name=name)
    if key is not None:
        with contextlib.suppress(Exception):  # a result that could not be cached is still the right one
            cache.set(key, totals, record_versions.CACHE_SECONDS)
    return totals


def board_context(
    *, spec: ModuleSpec, member: Member, request: HttpRequest, search: str = "", field_name: str | None = None
) -> dict[str, Any]:
    """Columns with count, totals (per currency and converted) and their first cards, over visible records only."""
    name = field_name or spec.kanban_field
    assert name is not None
    layout, base, key = _base_and_key(spec=spec, member=member, request=request, search=search, name=name)
    totals = column_totals(spec=spec, member=member, base=base, name=name, layout=layout, search=search)
    ordering = card_ordering(spec, layout, name)
    more_ready = _keyset_ready(spec, ordering)
    scope = tuple(sorted((k, str(getattr(v, "pk", v))) for k, v in layout.scope.items()))
    cards = first_cards(
        spec=spec,
        base=base,
        key=key,
        values=[c.value for c in layout.columns],
        ordering=ordering,
        limit=CARDS_PER_COLUMN,
        member=member,
        base_parts=(name, search, scope),
    )
    more: dict[Any, str] = {}
    for value, records in cards.items():
        if len(records) > CARDS_PER_COLUMN:
            del records[CARDS_PER_COLUMN:]
            if more_ready:
                more[value] = _card_cursor(records[-1], ordering)
    shown = [r for records in cards.values() for r in records]
    days = days_in_column(spec=spec, name=name, records=shown)
    thresholds = rotting_thresholds(spec=spec, name=name)
    rates = currency.rates()
    amount_shown, date_field = _card_fields(spec, member)
    columns = []
    url = record_urls(spec)
    for column in layout.columns:
        row = totals.get(column.value, {})
        threshold = thresholds.get(str(column.value))
        card_info = _card_info(
            spec=spec,
            records=cards.get(column.value, []),
            days=days,
            threshold=threshold,
            amount_shown=amount_shown,
            date_field=date_field,
            url=url,
        )
        by_currency: dict[str, Decimal] = row.get("by_currency", {})
        converted = currency.convert(by_currency, rates)
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
                "cards": [(card["record"], card["url"]) for card in card_info],
                "card_info": card_info,
                # The cursor after the column's last card when it has more (the "Load more" button).
                "more": more.get(column.value),
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


def column_cards(
    *,
    spec: ModuleSpec,
    member: Member,
    request: HttpRequest,
    field_name: str,
    value: str,
    after: str,
    search: str = "",
) -> dict[str, Any]:
    """The next cards of one column after the card `after` names (the "Load more" button): the same visible
    records, order and card details as the board. A column the board does not have, or a cursor that does not
    fit its order, is a ValidationError."""
    from django.core.exceptions import ValidationError
    from django.utils.translation import gettext as _

    layout, base, key = _base_and_key(spec=spec, member=member, request=request, search=search, name=field_name)
    column = next((c for c in layout.columns if str(c.value) == value), None)
    if column is None:
        raise ValidationError({"value": [_("This board has no such column.")]})
    ordering = card_ordering(spec, layout, field_name)
    if not _keyset_ready(spec, ordering):
        raise ValidationError({"after": [_("Invalid cursor.")]})
    direction, values = selectors._decode(after)
    try:
        fields: list[Any] = [spec.model._meta.get_field(t.lstrip("-")) for t in ordering]
        if (
            direction != "n"
            or len(values) != len(fields)
            or any(v is None or isinstance(v, list | dict) for v in values)
        ):
            raise ValueError
        typed = [f.to_python(v) for f, v in zip(fields, values, strict=True)]
    except (ValidationError, TypeError, ValueError) as exc:
        raise ValidationError({"after": [_("Invalid cursor.")]}) from exc
    query = _card_queryset(spec, base, key, column.value, ordering).filter(selectors._keyset_q(ordering, typed, "n"))
    records = list(query[: CARDS_PER_COLUMN + 1])
    more = None
    if len(records) > CARDS_PER_COLUMN:
        del records[CARDS_PER_COLUMN:]
        more = _card_cursor(records[-1], ordering)
    threshold = rotting_thresholds(spec=spec, name=field_name).get(str(column.value))
    amount_shown, date_field = _card_fields(spec, member)
    card_info = _card_info(
        spec=spec,
        records=records,
        days=days_in_column(spec=spec, name=field_name, records=records),
        threshold=threshold,
        amount_shown=amount_shown,
        date_field=date_field,
    )
    columns = [{"value": c.value, "label": c.label} for c in layout.columns]
    return {
        "spec": spec,
        "col": {"value": column.value, "label": column.label, "card_info": card_info, "more": more},
        "columns": columns,
        "board_field": field_name,
        "search": search,
        "amount_field": amount_shown,
        "date_field": date_field,
        **layout.context,
    }
