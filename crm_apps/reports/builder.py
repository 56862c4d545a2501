"""The report builder form as plain query parameters (a GET form: works without JavaScript, on a keyboard and
on a phone), converted to and from a definition. `definition_from_params` never validates: `definition.parse`
does, and its field errors are shown next to the builder's inputs."""

from __future__ import annotations

from typing import Any

from django.http import QueryDict

GROUPS = 3
AGGREGATES = 3
CONDITIONS = 5
LIST_OPS = {"in", "not_in", "between"}


def _group(params: QueryDict, name: str) -> Any:
    field = params.get(name, "").strip()
    if not field:
        return None
    granularity = params.get(f"{name}_by", "").strip()
    return {"field": field, "granularity": granularity} if granularity else field


def _value(op: str, raw: str) -> Any:
    if op in LIST_OPS:
        return [part.strip() for part in raw.split(",") if part.strip()]
    return raw


def definition_from_params(params: QueryDict) -> dict[str, Any]:
    out: dict[str, Any] = {"module": params.get("module", ""), "type": params.get("type", "summary")}
    columns = [c for c in params.getlist("columns") if c]
    if columns:
        out["columns"] = columns
    groups = [g for g in (_group(params, f"group{i}") for i in range(1, GROUPS + 1)) if g]
    if groups:
        out["group_by"] = groups
    pivot = _group(params, "pivot")
    if pivot and out["type"] == "matrix":
        out["pivot"] = pivot
    aggregates = []
    for i in range(1, AGGREGATES + 1):
        op = params.get(f"agg{i}_op", "")
        if op:
            field = params.get(f"agg{i}_field", "")
            aggregates.append({"op": op, "field": field} if field else {"op": op})
    if aggregates:
        out["aggregates"] = aggregates
    conditions = []
    for i in range(1, CONDITIONS + 1):
        field = params.get(f"f{i}_field", "")
        if field:
            op = params.get(f"f{i}_op", "eq")
            conditions.append({"field": field, "op": op, "value": _value(op, params.get(f"f{i}_value", ""))})
    if conditions:
        out["filters"] = {"match": params.get("match", "all"), "conditions": conditions}
    sort = params.get("sort", "")
    if sort:
        out["sort"] = [{"field": sort, "dir": "desc" if params.get("sort_dir") == "desc" else "asc"}]
    limit = params.get("limit", "")
    if limit:
        out["limit"] = int(limit) if limit.isdigit() and len(limit) < 7 else limit
    chart = params.get("chart", "")
    if chart:
        out["chart"] = {"type": chart}
        if params.get("chart_aggregate"):
            out["chart"]["aggregate"] = params["chart_aggregate"]
    return out


def params_from_definition(definition: dict[str, Any]) -> dict[str, Any]:
    """The builder's initial values for a saved definition (the inverse of `definition_from_params`)."""
    params: dict[str, Any] = {"module": definition.get("module", ""), "type": definition.get("type", "summary")}
    params["columns"] = list(definition.get("columns", []))
    for i, group in enumerate(definition.get("group_by", [])[:GROUPS], start=1):
        if isinstance(group, dict):
            params[f"group{i}"], params[f"group{i}_by"] = group.get("field", ""), group.get("granularity", "")
        elif isinstance(group, str) and ":" in group:
            params[f"group{i}"], params[f"group{i}_by"] = group.split(":", 1)
        else:
            params[f"group{i}"] = group
    pivot = definition.get("pivot")
    if isinstance(pivot, dict):
        params["pivot"], params["pivot_by"] = pivot.get("field", ""), pivot.get("granularity", "")
    elif isinstance(pivot, str):
        params["pivot"], _sep, params["pivot_by"] = pivot.partition(":")
    for i, agg in enumerate(definition.get("aggregates", [])[:AGGREGATES], start=1):
        params[f"agg{i}_op"], params[f"agg{i}_field"] = agg.get("op", ""), agg.get("field", "") or ""
    filters = definition.get("filters") or {}
    params["match"] = filters.get("match", "all")
    for i, cond in enumerate([c for c in filters.get("conditions", []) if "field" in c][:CONDITIONS], start=1):
        value = cond.get("value")
        params[f"f{i}_field"], params[f"f{i}_op"] = cond["field"], cond.get("op", "eq")
        params[f"f{i}_value"] = ", ".join(str(v) for v in value) if isinstance(value, list) else value or ""
    sort = definition.get("sort") or []
    if sort:
        params["sort"], params["sort_dir"] = sort[0].get("field", ""), sort[0].get("dir", "asc")
    if "limit" in definition:
        params["limit"] = definition["limit"]
    chart = definition.get("chart") or {}
    params["chart"], params["chart_aggregate"] = chart.get("type", ""), chart.get("aggregate", "")
    return params
