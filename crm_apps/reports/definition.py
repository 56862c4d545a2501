"""A report definition (JSON) checked against the member's field catalogue: every mistake is a field error
(400), never a 500, and a field hidden from the member is as unknown as a field that does not exist.

    {"module": "deals", "type": "summary",                   # tabular | summary | matrix
     "columns": ["name", "amount", "organization.industry"],  # tabular
     "group_by": ["stage", {"field": "close_date", "granularity": "month"}],  # <= 3 (matrix: rows)
     "pivot": {"field": "close_date", "granularity": "quarter"},              # matrix: the columns
     "aggregates": [{"field": "amount", "op": "sum"}, {"op": "count"}],
     "filters": {"match": "all", "conditions": [{"field": "close_date", "op": "relative",
                 "value": "this_quarter"}, {"match": "any", "conditions": [...]}]},
     "sort": [{"field": "sum_amount", "dir": "desc"}], "limit": 100,
     "chart": {"type": "bar", "aggregate": "sum_amount"}}
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.reports import dates
from crm_apps.reports import fields as f
from crm_apps.reports.fields import Catalogue, ReportField

TYPES = {"tabular": gettext_lazy("Tabular"), "summary": gettext_lazy("Summary"), "matrix": gettext_lazy("Matrix")}
CHARTS = {
    "bar": gettext_lazy("Bar"),
    "stacked_bar": gettext_lazy("Stacked bar"),
    "line": gettext_lazy("Line"),
    "pie": gettext_lazy("Pie"),
    "donut": gettext_lazy("Donut"),
    "funnel": gettext_lazy("Funnel"),
    "kpi": gettext_lazy("KPI number"),
}
AGGREGATES = ("count", "sum", "avg", "min", "max", "weighted")
MAX_GROUPS = 3
MAX_COLUMNS = 50
MAX_CONDITIONS = 50
MAX_DEPTH = 3
DEFAULT_LIMIT = 1000
MAX_LIMIT = 5000

COMMON_OPS = ("empty", "not_empty")
OPERATORS: dict[str, tuple[str, ...]] = {
    f.TEXT: ("eq", "neq", "contains", "not_contains", "starts_with", "ends_with", "in", *COMMON_OPS),
    f.CHOICE: ("eq", "neq", "in", "not_in", *COMMON_OPS),
    f.NUMBER: ("eq", "neq", "lt", "lte", "gt", "gte", "between", *COMMON_OPS),
    f.MONEY: ("eq", "neq", "lt", "lte", "gt", "gte", "between", *COMMON_OPS),
    f.DATE: ("eq", "before", "after", "between", "relative", *COMMON_OPS),
    f.DATETIME: ("before", "after", "between", "on", "relative", *COMMON_OPS),
    f.BOOLEAN: ("is_true", "is_false"),
    f.REFERENCE: ("eq", "neq", "in", *COMMON_OPS),
    f.LOOKUP: ("eq", "neq", "in", "not_in", *COMMON_OPS),
    f.MEMBER: ("eq", "neq", "in", "me", "my_team", *COMMON_OPS),
    f.MULTI: ("contains", *COMMON_OPS),
}
NO_VALUE = {"empty", "not_empty", "is_true", "is_false", "me", "my_team"}
LIST_VALUE = {"in", "not_in"}


@dataclass(frozen=True)
class Group:
    field: ReportField
    granularity: str | None = None

    @property
    def key(self) -> str:
        base = self.field.path.replace(".", "__")
        return f"{base}__{self.granularity}" if self.granularity else base

    @property
    def sql(self) -> str:
        """The name of the grouping in SQL (never a model field's name)."""
        return "k_" + self.key.replace("__", "_d_")


@dataclass(frozen=True)
class Aggregate:
    op: str
    field: ReportField | None

    @property
    def key(self) -> str:
        return "count" if self.field is None else f"{self.op}_{self.field.path.replace('.', '__')}"

    @property
    def sql(self) -> str:
        return "a_" + self.key.replace("__", "_d_")


@dataclass(frozen=True)
class Condition:
    field: ReportField
    op: str
    value: Any


@dataclass(frozen=True)
class LinkedCondition:
    """A condition on records linked through a link table: true when at least one linked record of the target
    module, visible to the member, meets `definition`'s filter (compiled as EXISTS)."""

    link: Any  # fields.LinkPath
    definition: Definition
    # `empty` on a linked field: no linked record the member may see has a value (compiled as NOT EXISTS of
    # the `not_empty` condition), so a grouping's "(empty)" group drills down to exactly its records.
    negate: bool = False


@dataclass(frozen=True)
class FilterGroup:
    match: str  # all | any
    items: tuple[Any, ...]  # Condition | FilterGroup


@dataclass
class Definition:
    module: str
    type: str
    catalogue: Catalogue
    columns: list[ReportField] = field(default_factory=list)
    group_by: list[Group] = field(default_factory=list)
    pivot: Group | None = None
    aggregates: list[Aggregate] = field(default_factory=list)
    filters: FilterGroup | None = None
    sort: list[tuple[str, bool]] = field(default_factory=list)  # (key, descending)
    limit: int = DEFAULT_LIMIT
    chart: dict[str, Any] | None = None
    omitted: list[str] = field(default_factory=list)  # saved columns left out: hidden from this member
    raw: dict[str, Any] = field(default_factory=dict)


class _Errors:
    def __init__(self) -> None:
        self.found: dict[str, list[str]] = {}

    def add(self, key: str, message: str) -> None:
        self.found.setdefault(key, []).append(str(message))


def _field(cat: Catalogue, name: Any, key: str, errors: _Errors, *, linked: bool = False) -> ReportField | None:
    """The field `name` for the member, or an error at `key`. `linked`: fields of records linked through a
    link table (`linked.<module>.<field>`) are allowed too (columns and groupings)."""
    if linked and isinstance(name, str) and name.startswith("linked."):
        found = f.linked_field(cat=cat, path=name)
        if found is None:
            errors.add(key, _("Unknown field “%(field)s”.") % {"field": name[:100]})
        return found
    if not isinstance(name, str) or name not in cat.fields:
        errors.add(key, _("Unknown field “%(field)s”.") % {"field": str(name)[:100]})
        return None
    return cat.fields[name]


def _group(cat: Catalogue, raw: Any, key: str, errors: _Errors) -> Group | None:
    granularity = None
    if isinstance(raw, dict):
        name, granularity = raw.get("field"), raw.get("granularity")
    elif isinstance(raw, str) and ":" in raw:
        name, granularity = raw.split(":", 1)
    else:
        name = raw
    found = _field(cat, name, key, errors, linked=True)
    if found is None:
        return None
    if found.kind not in f.GROUPABLE:
        errors.add(key, _("You cannot group by “%(field)s”.") % {"field": found.label})
        return None
    if found.kind in (f.DATE, f.DATETIME):
        granularity = granularity or "day"
        if granularity not in dates.GRANULARITIES:
            errors.add(key, _("Choose day, week, month, quarter or year."))
            return None
    elif granularity:
        errors.add(key, _("Only dates are grouped by day, week, month, quarter or year."))
        return None
    return Group(found, granularity)


def _number(value: Any) -> Decimal:
    if isinstance(value, bool) or value is None:
        raise ValueError
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError from exc
    if not number.is_finite() or abs(number) >= Decimal("1e15"):
        raise ValueError
    return number


def _date(value: Any) -> dt.date:
    parsed = parse_date(value) if isinstance(value, str) else None
    if parsed is None:
        raise ValueError
    return parsed


def _scalar(cond_field: ReportField, value: Any) -> Any:
    """A single filter value converted to the field's type; ValueError when it is not one."""
    kind = cond_field.kind
    if kind in (f.NUMBER, f.MONEY):
        return _number(value)
    if kind == f.DATE:
        return _date(value)
    if kind == f.DATETIME:
        if isinstance(value, str) and len(value) == 10:
            return _date(value)
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None:
            raise ValueError
        return parsed
    if kind == f.REFERENCE and cond_field.custom is None:
        return uuid.UUID(str(value))
    if kind in (f.LOOKUP, f.MEMBER):
        if isinstance(value, bool):
            raise ValueError
        return int(str(value))
    if not isinstance(value, str | int) or isinstance(value, bool) or len(str(value)) > 200 or "\x00" in str(value):
        raise ValueError
    return str(value)


def _linked_condition(cat: Catalogue, raw: dict[str, Any], key: str, errors: _Errors) -> LinkedCondition | None:
    """`{"field": "linked.<module>.<field of that module>", "op", "value"}`: the field is checked against the
    linked module's catalogue for the same member (its hidden fields unknown, its references guarded)."""
    from crm_apps.reports.fields import catalogue, link_paths

    name = str(raw.get("field"))
    prefix, _dot, rest = name[len("linked.") :].partition(".")
    link = link_paths(spec=cat.spec, actor=cat.actor).get(f"linked.{prefix}")
    if link is None or not rest or rest.startswith("linked."):
        errors.add(f"{key}.field", _("Unknown field “%(field)s”.") % {"field": name[:100]})
        return None
    target = catalogue(spec=link.target, actor=cat.actor)
    negate = raw.get("op") == "empty" and rest in target.fields and "not_empty" in OPERATORS[target.fields[rest].kind]
    cond = _condition(target, {**raw, "field": rest, "op": "not_empty" if negate else raw.get("op", "eq")}, key, errors)
    if cond is None:
        return None
    sub = Definition(module=link.target.key, type="tabular", catalogue=target, filters=FilterGroup("all", (cond,)))
    return LinkedCondition(link, sub, negate)


def _condition(cat: Catalogue, raw: dict[str, Any], key: str, errors: _Errors) -> Any:
    if isinstance(raw.get("field"), str) and raw["field"].startswith("linked."):
        return _linked_condition(cat, raw, key, errors)
    found = _field(cat, raw.get("field"), f"{key}.field", errors)
    if found is None:
        return None
    op = raw.get("op", "eq")
    if op not in OPERATORS[found.kind]:
        errors.add(
            f"{key}.op", _("“%(op)s” does not apply to “%(field)s”.") % {"op": str(op)[:40], "field": found.label}
        )
        return None
    value = raw.get("value")
    try:
        if op in NO_VALUE:
            value = None
        elif op == "relative":
            if value not in dates.RELATIVE:
                raise ValueError
        elif op == "between":
            if not isinstance(value, list | tuple) or len(value) != 2:
                raise ValueError
            value = (_scalar(found, value[0]), _scalar(found, value[1]))
        elif op in LIST_VALUE or (op == "in"):
            if not isinstance(value, list) or not 1 <= len(value) <= 200:
                raise ValueError
            value = [_scalar(found, v) for v in value]
        else:
            value = _scalar(found, value)
    except (ValueError, TypeError):
        errors.add(f"{key}.value", _("Enter a valid value for “%(field)s”.") % {"field": found.label})
        return None
    return Condition(found, op, value)


def _filters(
    cat: Catalogue, raw: Any, key: str, errors: _Errors, depth: int = 1, max_depth: int = MAX_DEPTH
) -> FilterGroup | None:
    if raw in (None, {}):
        return None
    if isinstance(raw, list):
        raw = {"match": "all", "conditions": raw}
    if not isinstance(raw, dict):
        errors.add(key, _('Send filters as {"match": "all"|"any", "conditions": [...]}.'))
        return None
    match = raw.get("match", "all")
    if match not in ("all", "any"):
        errors.add(f"{key}.match", _("Choose “all” or “any”."))
    conditions = raw.get("conditions", [])
    if not isinstance(conditions, list) or len(conditions) > MAX_CONDITIONS:
        errors.add(f"{key}.conditions", _("Send at most %(n)d conditions.") % {"n": MAX_CONDITIONS})
        return None
    items: list[Any] = []
    for index, item in enumerate(conditions):
        item_key = f"{key}.conditions.{index}"
        if not isinstance(item, dict):
            errors.add(item_key, _("Send a condition as an object."))
        elif "conditions" in item:
            if depth >= max_depth:
                errors.add(item_key, _("Filter groups nest %(n)d levels at most.") % {"n": MAX_DEPTH})
                continue
            sub = _filters(cat, item, item_key, errors, depth + 1, max_depth)
            if sub is not None:
                items.append(sub)
        else:
            cond = _condition(cat, item, item_key, errors)
            if cond is not None:
                items.append(cond)
    return FilterGroup(match if match in ("all", "any") else "all", tuple(items))


def _list(raw: Any, name: str, errors: _Errors, limit: int) -> list[Any]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        errors.add(name, _("Send a list."))
        return []
    if len(raw) > limit:
        errors.add(name, _("Send at most %(n)d items.") % {"n": limit})
        return []
    return raw


def _spec_of(data: dict[str, Any], actor: Member, errors: _Errors) -> Any:
    module = data.get("module")
    try:
        spec = registry.get(str(module)) if isinstance(module, str) else None
    except registry.UnknownModule:
        spec = None
    if spec is None or not visibility.can_view_module(actor=actor, spec=spec):
        errors.add("module", _("Unknown module."))
        raise ValidationError(errors.found)
    return spec


def _parse_columns(d: Definition, data: dict[str, Any], errors: _Errors, saved: bool) -> None:
    cat = d.catalogue
    for index, name in enumerate(_list(data.get("columns"), "columns", errors, MAX_COLUMNS)):
        if (
            saved
            and isinstance(name, str)
            # A saved column on linked records this member may not see (a hidden field, or a module they
            # cannot open: the link is not theirs) is left out, as a hidden field of the module is.
            and (name in cat.hidden or (name.startswith("linked.") and f.linked_field(cat=cat, path=name) is None))
        ):
            d.omitted.append(name)
            continue
        col = _field(cat, name, f"columns.{index}", errors, linked=True)
        if col is not None:
            d.columns.append(col)
    if d.type == "tabular" and not d.columns and not d.omitted and "columns" not in errors.found:
        errors.add("columns", _("Choose at least one column."))


def _parse_groups(d: Definition, data: dict[str, Any], errors: _Errors) -> None:
    cat = d.catalogue
    for index, raw in enumerate(_list(data.get("group_by"), "group_by", errors, MAX_GROUPS)):
        group = _group(cat, raw, f"group_by.{index}", errors)
        if group is not None:
            d.group_by.append(group)
    grouped = d.type in ("summary", "matrix")
    if grouped and not d.group_by and not any(k.startswith("group_by") for k in errors.found):
        errors.add("group_by", _("Choose at least one field to group by."))
    if d.type == "matrix":
        if len(d.group_by) > 2:
            errors.add("group_by", _("A matrix has at most two row groupings."))
        if data.get("pivot") is None:
            errors.add("pivot", _("Choose the field of the matrix columns."))
        else:
            d.pivot = _group(cat, data["pivot"], "pivot", errors)
    elif data.get("pivot") is not None:
        errors.add("pivot", _("Only a matrix report has columns by a field."))
    # A record is in one group per distinct linked value; two linked groupings would pair values arbitrarily.
    linked = [g for g in [*d.group_by, d.pivot] if g is not None and g.field.link is not None]
    if len(linked) > 1:
        errors.add("group_by", _("Group by one field of linked records at most."))


def _aggregate(d: Definition, raw: Any, key: str, errors: _Errors, saved: bool) -> None:
    cat = d.catalogue
    if not isinstance(raw, dict) or raw.get("op") not in AGGREGATES:
        errors.add(key, _("Choose count, sum, avg, min, max or weighted."))
        return
    op, name = raw["op"], raw.get("field")
    if name is None:
        if op != "count":
            errors.add(f"{key}.field", _("Choose a field."))
        else:
            d.aggregates.append(Aggregate("count", None))
        return
    if saved and name in cat.hidden:
        d.omitted.append(f"{op}:{name}")
        return
    if isinstance(name, str) and name.startswith("linked."):
        errors.add(
            f"{key}.field",
            _("Aggregate a field of the report's module: fields of linked records are columns, groupings and filters."),
        )
        return
    agg_field = _field(cat, name, f"{key}.field", errors)
    if agg_field is None:
        return
    allowed = f.NUMERIC if op in ("sum", "avg") else f.ORDERED if op in ("min", "max") else None
    if op == "weighted":
        probability = f"{agg_field.path.rpartition('.')[0]}.probability".lstrip(".")
        allowed = {f.MONEY} if probability in cat.fields else set()
    if allowed is not None and agg_field.kind not in allowed:
        errors.add(f"{key}.op", _("“%(op)s” does not apply to “%(field)s”.") % {"op": op, "field": agg_field.label})
        return
    d.aggregates.append(Aggregate(op, agg_field))


def _parse_aggregates(d: Definition, data: dict[str, Any], errors: _Errors, saved: bool) -> None:
    for index, raw in enumerate(_list(data.get("aggregates"), "aggregates", errors, 20)):
        _aggregate(d, raw, f"aggregates.{index}", errors, saved)
    if not d.aggregates and d.type in ("summary", "matrix"):
        d.aggregates.append(Aggregate("count", None))
    keys = [a.key for a in d.aggregates]
    if len(set(keys)) != len(keys):
        errors.add("aggregates", _("Each aggregate may appear once."))


def _parse_sort_limit_chart(d: Definition, data: dict[str, Any], errors: _Errors) -> None:
    keys = [a.key for a in d.aggregates]
    sortable = {g.key for g in d.group_by} | set(keys)
    if d.type == "tabular":
        sortable |= {c.path for c in d.columns}
    for index, raw in enumerate(_list(data.get("sort"), "sort", errors, 3)):
        name = raw.get("field") if isinstance(raw, dict) else None
        direction = raw.get("dir", "asc") if isinstance(raw, dict) else None
        if name not in sortable or direction not in ("asc", "desc"):
            errors.add(f"sort.{index}", _("Sort by a column, a grouping or an aggregate of the report."))
            continue
        d.sort.append((str(name), direction == "desc"))
    limit = data.get("limit", DEFAULT_LIMIT)
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        errors.add("limit", _("Enter a whole number between 1 and %(max)d.") % {"max": MAX_LIMIT})
    else:
        d.limit = limit
    chart = data.get("chart")
    if chart is None:
        return
    first = keys[0] if keys else None
    if not isinstance(chart, dict) or chart.get("type") not in CHARTS:
        errors.add("chart.type", _("Choose bar, stacked_bar, line, pie, donut, funnel or kpi."))
    elif chart.get("aggregate", first) not in keys:
        errors.add("chart.aggregate", _("Chart one of the report's aggregates."))
    elif d.type == "tabular" and chart["type"] != "kpi":
        errors.add("chart.type", _("Chart a summary or matrix report (a tabular report has a KPI only)."))
    else:
        d.chart = {"type": chart["type"], "aggregate": chart.get("aggregate", first)}


def parse(data: Any, *, actor: Member, saved: bool = False, drill: bool = False) -> Definition:
    """Check a definition for `actor`. `saved`: a stored report being run, whose columns and aggregates on
    fields now hidden from this member are left out (and named in `omitted`) rather than refused;
    filters, groupings and sorting on them are still refused (they would reveal the values). `drill`: a
    drill-down, whose filters are the group's conditions plus the report's own filters as one group inside
    them - one level more than a report may nest, so a report whose filters use every level still drills."""
    from crm_apps.reports.fields import catalogue

    errors = _Errors()
    if not isinstance(data, dict):
        raise ValidationError({"definition": [_("Send the report definition as a JSON object.")]})
    known = {"module", "type", "columns", "group_by", "pivot", "aggregates", "filters", "sort", "limit", "chart"}
    for extra in sorted(set(data) - known):
        errors.add(str(extra)[:50], _("Unknown key."))
    spec = _spec_of(data, actor, errors)
    report_type = data.get("type", "tabular")
    if report_type not in TYPES:
        errors.add("type", _("Choose tabular, summary or matrix."))
    cat = catalogue(spec=spec, actor=actor)
    definition = Definition(module=spec.key, type=str(report_type), catalogue=cat, raw=data)
    _parse_columns(definition, data, errors, saved)
    _parse_groups(definition, data, errors)
    _parse_aggregates(definition, data, errors, saved)
    definition.filters = _filters(cat, data.get("filters"), "filters", errors, max_depth=MAX_DEPTH + int(drill))
    _parse_sort_limit_chart(definition, data, errors)
    if errors.found:
        raise ValidationError(errors.found)
    return definition
