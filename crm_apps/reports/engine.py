"""Runs a checked report definition as SQL through the ORM: the records of the module the member may see
(the visibility filter), filtered, grouped (GROUP BY, date_trunc in the member's time zone) and aggregated
in PostgreSQL. Rows never come into Python for an aggregate; only the result rows (at most `limit`) do.

Money: sums, averages, minima and maxima of an amount in several currencies are taken of the amount times
the stored rate of its currency to the workspace's base currency (`crm_apps.engine.currency`), inside the
query; amounts in a currency without a rate are left out and named in `meta.currency.missing`."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db import connection
from django.db.models import (
    Avg,
    Case,
    Count,
    DateField,
    DateTimeField,
    DecimalField,
    Exists,
    F,
    Func,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Cast, Trunc
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.grants import grants_for
from crm_apps.access.models import Member
from crm_apps.engine import currency, metadata, registry
from crm_apps.reports import dates
from crm_apps.reports import fields as f
from crm_apps.reports.definition import Aggregate, Condition, Definition, FilterGroup, Group, LinkedCondition
from crm_apps.reports.fields import ReportField

CENT = Decimal("0.01")
MISSING = "m_missing_currencies"
RATE_FIELD = DecimalField(max_digits=30, decimal_places=10)
MONEY_FIELD = DecimalField(max_digits=40, decimal_places=12)


def alias_of(field: ReportField) -> str:
    return "r_" + field.path.replace(".", "_d_")


class Compiler:
    def __init__(self, definition: Definition) -> None:
        self.d = definition
        self.actor = definition.catalogue.actor
        self.spec = definition.catalogue.spec
        self.zone = self.actor.zone
        self.today = dates.today_in(self.zone)
        self.rates = currency.rates()
        self.used: dict[str, ReportField] = {}

    # --- the records -------------------------------------------------------------------------------
    def base(self) -> QuerySet[Any]:
        live = self.spec.records().filter(deleted_at__isnull=True)
        return visibility.visible_records(actor=self.actor, spec=self.spec, queryset=live)

    def _use(self, field: ReportField) -> str:
        self.used[field.path] = field
        return alias_of(field)

    def queryset(self) -> QuerySet[Any]:
        condition = self._group_q(self.d.filters) if self.d.filters else None
        for g in self.d.group_by + ([self.d.pivot] if self.d.pivot else []):
            if g.field.link is None:  # a linked grouping is its own expression (group_expression)
                self._use(g.field)
        for agg in self.d.aggregates:
            if agg.field is not None:
                self._use(agg.field)
        for column in self.d.columns:
            self._use(column)
        qs = self.base()
        expressions = {
            alias_of(fld): ArraySubquery(self.linked_values(fld)) if fld.link else self.d.catalogue.expression(fld)
            for fld in self.used.values()
            if fld.kind != f.MULTI
        }
        if expressions:
            qs = qs.annotate(**expressions)
        if condition is not None:
            qs = qs.filter(condition)
        return qs

    # --- filters ----------------------------------------------------------------------------------
    def _group_q(self, group: FilterGroup) -> Q:
        parts = [
            self._group_q(i)
            if isinstance(i, FilterGroup)
            else self._linked_q(i)
            if isinstance(i, LinkedCondition)
            else self._condition_q(i)
            for i in group.items
        ]
        if not parts:
            return Q()
        out = parts[0]
        for part in parts[1:]:
            out = out & part if group.match == "all" else out | part
        return out

    def _linked_q(self, c: LinkedCondition) -> Q:
        """EXISTS a link row to a record of the linked module that the member may see and that meets the
        condition (the linked module's own compiler: its visibility, its guards)."""
        matching = Compiler(c.definition).queryset().values("pk")
        link = c.link
        link_rows = link.model.objects  # a link table (never a module's own, possibly shared, model)
        if link.own_side:
            rows = link_rows.filter(**{link.fk: OuterRef("pk")}, module=link.target.key, record_id__in=matching)
        else:
            rows = link_rows.filter(**{f"{link.fk}__in": matching}, module=self.spec.key, record_id=OuterRef("pk"))
        return ~Q(Exists(rows)) if c.negate else Q(Exists(rows))

    def linked_values(self, fld: ReportField, granularity: str | None = None) -> QuerySet[Any]:
        """The distinct non-empty values of `fld` (`linked.<module>.<field>`) over the records linked to the
        outer record that the member may see (the linked module's own compiler: its visibility, field-level
        security and reference guards), sorted: one column `v`, for ARRAY(...) per report record."""
        from crm_apps.reports.fields import catalogue

        link, inner = fld.link, fld.inner
        assert link is not None and inner is not None
        sub = Definition(
            module=link.target.key, type="tabular", catalogue=catalogue(spec=link.target, actor=self.actor)
        )
        sub.columns = [inner]
        compiler = Compiler(sub)
        linked = compiler.queryset()
        rows = link.model.objects
        if link.own_side:  # the link rows belong to the report's records and name the linked ones
            to_outer = rows.filter(
                **{link.fk: OuterRef(OuterRef("pk"))}, module=link.target.key, record_id=OuterRef("pk")
            )
        else:  # the link rows belong to the linked records and name the report's ones
            to_outer = rows.filter(
                **{link.fk: OuterRef("pk")}, module=self.spec.key, record_id=OuterRef(OuterRef("pk"))
            )
        value = compiler.group_expression(Group(inner, granularity)) if granularity else F(alias_of(inner))
        linked = linked.filter(Exists(to_outer)).annotate(v=value).filter(v__isnull=False)
        if inner.kind in (f.TEXT, f.CHOICE):
            linked = linked.exclude(v="")
        return linked.order_by("v").values("v").distinct()

    def _date_bounds(self, fld: ReportField, start: dt.date, end: dt.date) -> Q:
        a = self._use(fld)
        if fld.kind == f.DATETIME:
            return Q(**{f"{a}__gte": dates.day_start(start, self.zone)}) & Q(
                **{f"{a}__lt": dates.day_start(end + dt.timedelta(days=1), self.zone)}
            )
        return Q(**{f"{a}__gte": start}) & Q(**{f"{a}__lte": end})

    def _moment(self, value: Any, *, end: bool = False) -> Any:
        """A datetime filter value: a date means its first instant in the zone (or the next day's for `end`)."""
        if isinstance(value, dt.datetime):
            return value if timezone.is_aware(value) else value.replace(tzinfo=self.zone)
        return dates.day_start(value + dt.timedelta(days=1) if end else value, self.zone)

    def _condition_q(self, c: Condition) -> Q:
        fld, op, value = c.field, c.op, c.value
        if fld.kind == f.MULTI:
            key = f"{fld.lookup}"
            if op == "contains":
                return Q(**{f"{key}__contains": [value]})
            empty = Q(**{f"{key}__isnull": True}) | Q(**{key: []})
            return empty if op == "empty" else ~empty
        a = self._use(fld)
        isnull = Q(**{f"{a}__isnull": True})
        text = fld.kind in (f.TEXT, f.CHOICE)
        if op == "empty":
            return isnull | Q(**{a: ""}) if text else isnull
        if op == "not_empty":
            return ~isnull & ~Q(**{a: ""}) if text else ~isnull
        if op == "is_true":
            return Q(**{a: True})
        if op == "is_false":
            return Q(**{a: False}) | isnull
        if op == "me":
            return Q(**{a: self.actor.pk})
        if op == "my_team":
            team = {self.actor.pk, *grants_for(self.actor).subordinate_ids}
            return Q(**{f"{a}__in": sorted(team)})
        if op == "relative":
            start, end = dates.relative_range(value, self.today)
            return self._date_bounds(fld, start, end)
        if fld.kind == f.DATETIME:
            if op == "on":
                day = value.astimezone(self.zone).date() if isinstance(value, dt.datetime) else value
                return self._date_bounds(fld, day, day)
            if op == "before":
                return Q(**{f"{a}__lt": self._moment(value)})
            if op == "after":
                return Q(**{f"{a}__gte": self._moment(value, end=True)})
            if op == "between":
                return Q(**{f"{a}__gte": self._moment(value[0])}) & Q(**{f"{a}__lt": self._moment(value[1], end=True)})
        if op == "between":
            return Q(**{f"{a}__gte": value[0]}) & Q(**{f"{a}__lte": value[1]})
        lookups = {"lt": "lt", "lte": "lte", "gt": "gt", "gte": "gte", "before": "lt", "after": "gt"}
        if op in lookups:
            return Q(**{f"{a}__{lookups[op]}": value})
        if op in ("contains", "not_contains", "starts_with", "ends_with"):
            lookup = {"contains": "icontains", "not_contains": "icontains", "starts_with": "istartswith"}.get(
                op, "iendswith"
            )
            q = Q(**{f"{a}__{lookup}": value})
            return (~q | isnull) if op == "not_contains" else q
        if op in ("in", "not_in"):
            q = Q(**{f"{a}__in": value})
            return (~q | isnull) if op == "not_in" else q
        q = Q(**{f"{a}__iexact": value}) if fld.kind == f.TEXT else Q(**{a: value})
        return (~q | isnull) if op == "neq" else q

    # --- groupings and aggregates -----------------------------------------------------------------
    def group_expression(self, group: Group) -> Any:
        if group.field.link is not None:
            # One row per distinct linked value of the record (a record without one: one row, NULL).
            return Unnest(LinkedGroupValues(self.linked_values(group.field, group.granularity)))
        alias = F(alias_of(group.field))
        if group.granularity is None:
            return alias
        if group.field.kind == f.DATETIME:
            return Trunc(alias, group.granularity, output_field=DateTimeField(), tzinfo=self.zone)
        return DateTrunc(alias, group.granularity)

    def _rate_case(self, fld: ReportField) -> Any:
        lookup = str(fld.currency_lookup)
        whens = [When(Q(**{lookup: code}), then=Value(rate)) for code, rate in self.rates.rates.items()]
        if not whens:
            return Value(None, output_field=RATE_FIELD)
        return Case(*whens, default=Value(None), output_field=RATE_FIELD)

    def converts(self, fld: ReportField | None) -> bool:
        return fld is not None and fld.kind == f.MONEY and self.rates.base is not None

    def aggregate_expressions(self) -> dict[str, Any]:
        fns = {"count": Count, "sum": Sum, "avg": Avg, "min": Min, "max": Max, "weighted": Sum}
        return {
            sql: Count("pk") if value is None else fns[op](value)
            for sql, (op, value) in self.aggregate_inputs().items()
        }

    def aggregate_inputs(self) -> dict[str, tuple[str, Any]]:
        """Per aggregate: its operation and the per-record value it aggregates (None: count the records)."""
        out: dict[str, tuple[str, Any]] = {}
        for agg in self.d.aggregates:
            if agg.field is None:
                out[agg.sql] = ("count", None)
                continue
            value: Any = F(alias_of(agg.field))
            if self.converts(agg.field):
                value = ExpressionWrapperMoney(value, self._rate_case(agg.field))
            if agg.op == "weighted":  # the amount times the record's probability (%): the weighted pipeline
                prefix = agg.field.lookup.rpartition("__")[0]
                probability = Cast(F(f"{prefix}__probability" if prefix else "probability"), RATE_FIELD)
                value = ExpressionWrapperMoney(value, probability / Value(Decimal(100), output_field=RATE_FIELD))
            out[agg.sql] = (agg.op, value)
        return out


class DateTrunc(Func):
    """`date_trunc` of a date column as a date: `date_trunc('month', close_date::timestamp)::date`. Django's
    Trunc passes the date to the timestamptz overload (a time-zone conversion per row, then one back); a
    date has no zone, so the plain timestamp overload gives the same buckets for less work per row."""

    output_field = DateField()

    def __init__(self, expression: Any, granularity: str) -> None:
        if granularity not in dates.GRANULARITIES:  # checked by the definition already; never interpolated raw
            raise ValueError(granularity)
        super().__init__(expression)
        self.granularity = granularity

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> Any:  # type: ignore[override]
        return super().as_sql(
            compiler, connection, template=f"(DATE_TRUNC('{self.granularity}', %(expressions)s::timestamp))::date"
        )


class LinkedGroupValues(ArraySubquery):
    """ARRAY(the distinct linked values), or {NULL} when there is none (the record's "(empty)" group)."""

    template = "COALESCE(NULLIF(ARRAY(%(subquery)s), '{}'), '{NULL}')"


class Unnest(Func):
    """One row per element of an array (a set-returning function: only in a query that does not aggregate)."""

    function = "UNNEST"

    def _resolve_output_field(self) -> Any:
        return self.source_expressions[0].output_field.base_field  # type: ignore[attr-defined]


def ExpressionWrapperMoney(amount: Any, rate: Any) -> Any:
    from django.db.models import ExpressionWrapper

    return ExpressionWrapper(amount * rate, output_field=MONEY_FIELD)


# --- labels --------------------------------------------------------------------------------------------


def _member_labels(ids: Iterable[Any]) -> dict[Any, str]:
    found = {}
    for m in Member.objects.filter(pk__in=[i for i in ids if i is not None]).select_related("user"):
        found[m.pk] = m.user.name or m.user.email
    return found


def value_labels(fld: ReportField, values: Iterable[Any], actor: Member) -> dict[Any, str]:
    """Display labels of the distinct values of one field (one query per field at most)."""
    values = [v for v in set(values) if v is not None]
    if not values:
        return {}
    if fld.kind == f.MEMBER:
        return _member_labels(values)
    if fld.kind == f.CHOICE:
        if fld.picklist:
            table = metadata.picklist_labels(fld.picklist)
            return {v: table.get(v, v) for v in values}
        if fld.custom is not None:
            return {v: v for v in values}
        model_field: Any = fld.spec.model._meta.get_field(fld.name)
        choices = {k: str(v) for k, v in (model_field.choices or [])}
        return {v: choices.get(v, v) for v in values}
    if fld.kind == f.LOOKUP and fld.target is not None:
        return {o.pk: str(getattr(o, "display_name", None) or o) for o in fld.target.objects.filter(pk__in=values)}
    if fld.kind == f.REFERENCE and fld.target is not None and fld.custom is None:
        target = registry.spec_for_model(fld.target)
        live = target.records().filter(deleted_at__isnull=True, pk__in=values)
        shown = {}
        for record in visibility.visible_records(actor=actor, spec=target, queryset=live).only(*target.title_fields):
            shown[record.pk] = " ".join(str(getattr(record, n) or "") for n in target.title_fields).strip()
        return {v: shown.get(v, str(_("Restricted record"))) for v in values}
    if fld.kind == f.BOOLEAN:
        return {v: str(_("Yes") if v else _("No")) for v in values}
    return {v: str(v) for v in values}


def plain(value: Any, *, money: bool = False) -> Any:
    """A JSON value: decimals as strings (money rounded to cents), dates in ISO form, ids as strings."""
    if isinstance(value, Decimal):
        if money:
            return format(value.quantize(CENT), "f")
        return format(value.quantize(Decimal("0.0001")).normalize(), "f")
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


# --- running -------------------------------------------------------------------------------------------


class Runner:
    def __init__(self, definition: Definition) -> None:
        self.d = definition
        self.c = Compiler(definition)
        self.actor = self.c.actor
        self.missing_count = 0

    def _agg_out(self, agg: Aggregate, value: Any) -> Any:
        if value is None:
            return None if agg.op != "count" else 0
        if agg.op == "count":
            return int(value)
        kind = agg.field.kind if agg.field else None
        if agg.op in ("avg", "weighted") or kind == f.MONEY:
            return plain(Decimal(value), money=True)
        return plain(value)

    def _aggs(self, row: dict[str, Any]) -> dict[str, Any]:
        return {a.key: self._agg_out(a, row.get(a.sql)) for a in self.d.aggregates}

    def _group_value(self, group: Group, value: Any) -> Any:
        if group.granularity and isinstance(value, dt.datetime):
            return value.astimezone(self.c.zone).date()
        return value

    def _cell(self, group: Group, value: Any, labels: dict[Any, str]) -> dict[str, Any]:
        if value is None:
            return {"value": None, "label": str(_("(empty)"))}
        if group.granularity:
            return {"value": value.isoformat(), "label": dates.bucket_label(value, group.granularity)}
        if group.field.kind in (f.TEXT,) and value == "":
            return {"value": "", "label": str(_("(empty)"))}
        return {"value": plain(value), "label": labels.get(value, str(plain(value)))}

    def drill(self, group: Group, value: Any) -> dict[str, Any]:
        """The condition selecting a group's records (added to the report's filters for a drill-down)."""
        path = group.field.path
        if value is None or value == "":
            return {"field": path, "op": "empty"}
        if group.granularity:
            end = dates.bucket_end(value, group.granularity)
            return {"field": path, "op": "between", "value": [value.isoformat(), end.isoformat()]}
        if group.field.kind == f.BOOLEAN:
            return {"field": path, "op": "is_true" if value else "is_false"}
        return {"field": path, "op": "eq", "value": plain(value)}

    def _order(self, groups: list[Group], agg_keys: set[str]) -> list[Any]:
        order: list[Any] = []
        sql = {g.key: g.sql for g in groups} | {a.key: a.sql for a in self.d.aggregates}
        for name, desc in self.d.sort:
            if name in sql:
                column = sql.get(name, name)
                order.append(F(column).desc(nulls_last=True) if desc else F(column).asc(nulls_last=True))
        for g in groups:
            order.append(F(g.sql).asc(nulls_last=True))
        return order

    def _lacking(self) -> tuple[str, Q] | None:
        """The currency lookup of the aggregated amounts and the condition of an amount without a stored rate."""
        money = [a.field for a in self.d.aggregates if a.field is not None and a.field.kind == f.MONEY]
        rates = self.c.rates
        if not money or rates.base is None or not money[0].currency_lookup:
            return None
        lookup = money[0].currency_lookup
        return lookup, Q(**{f"{alias_of(money[0])}__isnull": False}) & ~Q(**{f"{lookup}__in": list(rates.rates)})

    def missing_expression(self) -> dict[str, Any]:
        """How many aggregated amounts have no stored rate, as one more aggregate (a FILTERed count, no DISTINCT,
        so the grouping stays one hash aggregate) of the query that runs anyway: the usual case - every
        currency has a rate - costs no scan of its own; only when some lack one are their codes looked up."""
        lacking = self._lacking()
        return {} if lacking is None else {MISSING: Count("pk", filter=lacking[1])}

    def _note_missing(self, rows: Iterable[dict[str, Any]]) -> None:
        self.missing_count += sum(int(row.get(MISSING) or 0) for row in rows)

    def _missing_codes(self, qs: QuerySet[Any]) -> list[str]:
        lacking = self._lacking()
        if lacking is None or not self.missing_count:
            return []
        lookup, condition = lacking
        codes = qs.filter(condition).order_by().values_list(lookup, flat=True).distinct()[:20]
        return sorted(c for c in codes if c)

    def meta(self, qs: QuerySet[Any]) -> dict[str, Any]:
        money = [a.field for a in self.d.aggregates if a.field is not None and a.field.kind == f.MONEY]
        out: dict[str, Any] = {
            "module": self.d.module,
            "type": self.d.type,
            "computed_at": timezone.now().isoformat(),
            "time_zone": str(self.c.zone),
            "omitted": self.d.omitted,
            "chart": self.d.chart,
        }
        if money:
            rates = self.c.rates
            missing = self._missing_codes(qs)
            out["currency"] = {
                "base": rates.base,
                "converted": rates.base is not None,
                "rates": {k: str(v) for k, v in sorted(rates.rates.items())},
                "missing": missing,
                "note": (
                    _("Amounts converted to %(base)s at the stored exchange rates.") % {"base": rates.base}
                    if rates.base
                    else _("No base currency is set: amounts in different currencies are added as they are.")
                ),
            }
        return out

    def columns_meta(self) -> list[dict[str, Any]]:
        cols = []
        for g in self.d.group_by:
            cols.append(
                {
                    "key": g.key,
                    "label": g.field.label,
                    "kind": g.field.kind,
                    "granularity": g.granularity,
                    "role": "group",
                }
            )
        for column in self.d.columns if self.d.type == "tabular" else []:
            cols.append({"key": column.path, "label": column.label, "kind": column.kind, "role": "column"})
        for a in self.d.aggregates:
            label = _("Count") if a.field is None else f"{AGG_LABELS[a.op]()}: {a.field.label}"
            kind = "number" if a.op == "count" else (a.field.kind if a.field else "number")
            cols.append({"key": a.key, "label": str(label), "kind": kind, "role": "aggregate", "op": a.op})
        return cols

    def run(self) -> dict[str, Any]:
        qs = self.c.queryset()
        if self.d.type == "tabular":
            result = self.tabular(qs)
        elif self.d.type == "summary":
            result = self.summary(qs)
        else:
            result = self.matrix(qs)
        result["meta"] = self.meta(qs)
        return result

    # tabular -------------------------------------------------------------------------------------
    def tabular(self, qs: QuerySet[Any]) -> dict[str, Any]:
        aliases = {c.path: alias_of(c) for c in self.d.columns}
        order: list[Any] = []
        for name, desc in self.d.sort:
            a = aliases.get(name)
            if a:
                order.append(F(a).desc(nulls_last=True) if desc else F(a).asc(nulls_last=True))
        order.append(F("pk").asc())
        data = list(qs.order_by(*order).values("pk", *aliases.values())[: self.d.limit + 1])
        truncated = len(data) > self.d.limit
        data = data[: self.d.limit]
        labels = {
            c.path: value_labels(
                c, (v for r in data for v in (r[aliases[c.path]] if c.link else [r[aliases[c.path]]])), self.actor
            )
            for c in self.d.columns
            if c.kind in (f.MEMBER, f.CHOICE, f.LOOKUP, f.REFERENCE)
        }
        from crm_apps.engine.display import record_url

        rows = []
        for r in data:
            row: dict[str, Any] = {"id": str(r["pk"]), "url": record_url(self.c.spec, _Pk(r["pk"]))}
            for c in self.d.columns:
                value = r[aliases[c.path]]
                if c.link is not None:  # the distinct values of the linked records the member may see
                    row[c.path] = [self._column_value(c, v, labels) for v in value or []]
                    continue
                if c.path in labels and value is not None:
                    row[c.path] = labels[c.path].get(value, str(plain(value)))
                elif c.kind == f.DATETIME and isinstance(value, dt.datetime):
                    row[c.path] = value.astimezone(self.c.zone).isoformat()
                else:
                    row[c.path] = plain(value, money=c.kind == f.MONEY and isinstance(value, Decimal))
            rows.append(row)
        totals = qs.order_by().aggregate(
            _count=Count("pk"), **self.c.aggregate_expressions(), **self.missing_expression()
        )
        self._note_missing([totals])
        out_totals = {"count": totals.pop("_count"), **self._aggs(totals)}
        return {
            "columns": self.columns_meta(),
            "rows": rows,
            "groups": [],
            "totals": out_totals,
            "truncated": truncated,
        }

    def _column_value(self, c: ReportField, value: Any, labels: dict[str, dict[Any, str]]) -> Any:
        if c.path in labels:
            return labels[c.path].get(value, str(plain(value)))
        if c.kind == f.DATETIME and isinstance(value, dt.datetime):
            return value.astimezone(self.c.zone).isoformat()
        return plain(value, money=c.kind == f.MONEY and isinstance(value, Decimal))

    # summary -------------------------------------------------------------------------------------
    def _level(
        self, qs: QuerySet[Any], groups: list[Group], limit: int, *, missing: bool = False
    ) -> list[dict[str, Any]]:
        if any(g.field.link is not None for g in groups):
            return self._level_linked(qs, groups, limit)
        keys = [g.sql for g in groups]
        aggs = self.c.aggregate_expressions() | (self.missing_expression() if missing else {})
        grouped = qs.annotate(**{g.sql: self.c.group_expression(g) for g in groups}).values(*keys).annotate(**aggs)
        return list(grouped.order_by(*self._order(groups, set(aggs)))[:limit])

    def _level_linked(self, qs: QuerySet[Any], groups: list[Group], limit: int) -> list[dict[str, Any]]:
        """A level grouped by a field of linked records: the records (one row per distinct linked value,
        UNNEST) are the FROM of an outer GROUP BY, so each record counts once in each of its values' groups,
        and its own amounts are added once per group (never once per link). PostgreSQL does not group by a
        set-returning function, hence the outer query."""
        quote = connection.ops.quote_name
        keys = [g.sql for g in groups]
        inputs = self.c.aggregate_inputs()
        names = {sql: f"i_{sql}" for sql, (_op, value) in inputs.items() if value is not None}
        inner = (
            qs.order_by()
            .annotate(**{g.sql: self.c.group_expression(g) for g in groups})
            .annotate(**{names[sql]: value for sql, (_op, value) in inputs.items() if value is not None})
            .values(*keys, *names.values())
        )
        sql, params = inner.query.sql_with_params()
        functions = {"count": "COUNT", "sum": "SUM", "avg": "AVG", "min": "MIN", "max": "MAX", "weighted": "SUM"}
        select = [quote(k) for k in keys] + [
            f"{functions[op]}({quote(names[a])}) AS {quote(a)}" if a in names else f"COUNT(*) AS {quote(a)}"
            for a, (op, _value) in inputs.items()
        ]
        order = []
        sortable = {g.key: g.sql for g in groups} | {a.key: a.sql for a in self.d.aggregates}
        for name, desc in self.d.sort:
            if name in sortable:
                order.append(f"{quote(sortable[name])} {'DESC' if desc else 'ASC'} NULLS LAST")
        order += [f"{quote(k)} ASC NULLS LAST" for k in keys]
        grouped = ", ".join(quote(k) for k in keys)
        statement = (
            f"SELECT {', '.join(select)} FROM ({sql}) AS linked_rows "  # noqa: S608 - aliases are ours, quoted
            f"GROUP BY {grouped} ORDER BY {', '.join(order)} LIMIT %s"
        )
        with connection.cursor() as cursor:
            cursor.execute(statement, [*params, limit])
            columns = [c.name for c in cursor.description]
            return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]

    def _labels(self, groups: list[Group], rows: list[dict[str, Any]]) -> dict[str, dict[Any, str]]:
        return {
            g.key: value_labels(g.field, (r[g.sql] for r in rows if g.sql in r), self.actor)
            for g in groups
            if not g.granularity
        }

    def _rolled_up(self, leaf: list[dict[str, Any]], depth: int) -> list[dict[str, Any]]:
        """The groups of the first `depth` groupings (0: the totals) merged from the leaf groups, in the
        order of their first leaf (the leaf rows come sorted by the grouping keys, in SQL's collation).
        Only for aggregates that merge exactly: count, sum, weighted, min, max."""
        keys = [g.sql for g in self.d.group_by[:depth]]
        merged: dict[tuple[Any, ...], dict[str, Any]] = {}
        for row in leaf:
            path = tuple(row[k] for k in keys)
            target = merged.get(path)
            if target is None:
                merged[path] = {**{k: row[k] for k in keys}, **{a.sql: row[a.sql] for a in self.d.aggregates}}
                continue
            for a in self.d.aggregates:
                old, new = target[a.sql], row[a.sql]
                if new is None or old is None:
                    target[a.sql] = old if new is None else new
                elif a.op == "min":
                    target[a.sql] = min(old, new)
                elif a.op == "max":
                    target[a.sql] = max(old, new)
                else:
                    target[a.sql] = old + new
        return list(merged.values())

    def summary(self, qs: QuerySet[Any]) -> dict[str, Any]:
        groups = self.d.group_by
        # Subtotals merge from the leaf groups only when every record is in one leaf: not with a linked grouping.
        mergeable = (
            not self.d.sort
            and all(a.op != "avg" for a in self.d.aggregates)
            and all(g.field.link is None for g in groups)
        )
        leaf = self._level(qs, groups, self.d.limit + 1, missing=mergeable)
        rolled_totals: dict[str, Any] | None = None
        if mergeable and len(leaf) <= self.d.limit:
            self._note_missing(leaf)
            # One GROUP BY of the deepest level; subtotals and totals merged from its groups (never records).
            levels = [self._rolled_up(leaf, i + 1) for i in range(len(groups) - 1)] + [leaf]
            rolled = self._rolled_up(leaf, 0)
            rolled_totals = (
                rolled[0] if rolled else {a.sql: (0 if a.op == "count" else None) for a in self.d.aggregates}
            )
        else:
            levels = [self._level(qs, groups[: i + 1], self.d.limit + 1) for i in range(len(groups) - 1)] + [leaf]
        truncated = any(len(level) > self.d.limit for level in levels)
        levels = [level[: self.d.limit] for level in levels]
        labels = self._labels(groups, [r for level in levels for r in level])
        nodes: dict[tuple[Any, ...], dict[str, Any]] = {}
        tree: list[dict[str, Any]] = []
        for depth, level in enumerate(levels):
            group = groups[depth]
            for r in level:
                value = self._group_value(group, r[group.sql])
                path = tuple(self._group_value(groups[i], r[groups[i].sql]) for i in range(depth + 1))
                parent = nodes.get(path[:-1]) if depth else None
                node = {
                    "key": group.key,
                    **self._cell(group, value, labels.get(group.key, {})),
                    "aggregates": self._aggs(r),
                    "drill": [*(parent["drill"] if parent else []), self.drill(group, value)],
                    "groups": [],
                }
                nodes[path] = node
                if depth == 0:
                    tree.append(node)
                elif parent is not None:
                    parent["groups"].append(node)
        rows = []
        for r in levels[-1]:
            row: dict[str, Any] = {}
            for g in groups:
                row[g.key] = self._cell(g, self._group_value(g, r[g.sql]), labels.get(g.key, {}))
            row.update(self._aggs(r))
            path = tuple(self._group_value(g, r[g.sql]) for g in groups)
            row["drill"] = nodes[path]["drill"] if path in nodes else []
            rows.append(row)
        if rolled_totals is not None:
            totals = self._aggs(rolled_totals)
        else:
            raw_totals = qs.order_by().aggregate(**self.c.aggregate_expressions(), **self.missing_expression())
            self._note_missing([raw_totals])
            totals = self._aggs(raw_totals)
        return {"columns": self.columns_meta(), "rows": rows, "groups": tree, "totals": totals, "truncated": truncated}

    # matrix --------------------------------------------------------------------------------------
    def matrix(self, qs: QuerySet[Any]) -> dict[str, Any]:
        assert self.d.pivot is not None
        pivot, groups = self.d.pivot, self.d.group_by
        cells = self._level(qs, [*groups, pivot], MATRIX_CELLS + 1)
        row_totals = self._level(qs, groups, self.d.limit + 1)
        col_totals = self._level(qs, [pivot], MAX_PIVOT_COLUMNS + 1)
        truncated = len(cells) > MATRIX_CELLS or len(row_totals) > self.d.limit or len(col_totals) > MAX_PIVOT_COLUMNS
        cells, row_totals, col_totals = cells[:MATRIX_CELLS], row_totals[: self.d.limit], col_totals[:MAX_PIVOT_COLUMNS]
        labels = self._labels([*groups, pivot], [*cells, *row_totals, *col_totals])
        plabels = labels.get(pivot.key, {})

        def pkey(value: Any) -> str:
            v = self._group_value(pivot, value)
            return "" if v is None else str(v.isoformat() if isinstance(v, dt.date) else plain(v))

        pivot_columns = []
        column_totals: dict[str, Any] = {}
        for r in col_totals:
            v = self._group_value(pivot, r[pivot.sql])
            pivot_columns.append(
                {"key": pkey(r[pivot.sql]), **self._cell(pivot, v, plabels), "drill": self.drill(pivot, v)}
            )
            column_totals[pkey(r[pivot.sql])] = self._aggs(r)
        by_row: dict[tuple[Any, ...], dict[str, Any]] = {}
        for r in cells:
            path = tuple(r[g.sql] for g in groups)
            by_row.setdefault(path, {})[pkey(r[pivot.sql])] = self._aggs(r)
        rows = []
        for r in row_totals:
            path = tuple(r[g.sql] for g in groups)
            row: dict[str, Any] = {}
            for g in groups:
                row[g.key] = self._cell(g, self._group_value(g, r[g.sql]), labels.get(g.key, {}))
            row["cells"] = by_row.get(path, {})
            row["total"] = self._aggs(r)
            row["drill"] = [self.drill(g, self._group_value(g, r[g.sql])) for g in groups]
            rows.append(row)
        raw_totals = qs.order_by().aggregate(**self.c.aggregate_expressions(), **self.missing_expression())
        self._note_missing([raw_totals])
        totals = self._aggs(raw_totals)
        columns = self.columns_meta()
        return {
            "columns": columns,
            "pivot": {"key": pivot.key, "label": pivot.field.label, "values": pivot_columns},
            "rows": rows,
            "groups": [],
            "totals": {**totals, "cells": column_totals},
            "truncated": truncated,
        }


class _Pk:
    def __init__(self, pk: Any) -> None:
        self.pk = pk


MATRIX_CELLS = 20_000
MAX_PIVOT_COLUMNS = 200


AGG_LABELS = {
    "count": lambda: _("Count"),
    "sum": lambda: _("Sum"),
    "avg": lambda: _("Average"),
    "min": lambda: _("Minimum"),
    "max": lambda: _("Maximum"),
    "weighted": lambda: _("Weighted"),
}


def run(definition: Definition) -> dict[str, Any]:
    """{"columns", "rows", "groups", "totals", "meta"} of a checked definition, for its member."""
    return Runner(definition).run()
