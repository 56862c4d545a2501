"""A report result as chart data for Chart.js (labels, datasets, the drill-down URL of every point)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.urls import reverse


def drill_url(report_id: int | None, module: str, conditions: list[dict[str, Any]], filters: Any = None) -> str:
    """The records behind a figure: a saved report's drill-down adds the report's own filters on the server; an
    unsaved definition's (the builder's preview, a built-in widget) carries its `filters` as one more group."""
    if report_id is None and filters:
        group = filters if isinstance(filters, dict) else {"match": "all", "conditions": filters}
        conditions = [*conditions, group]
    query = urlencode({"d": json.dumps(conditions, separators=(",", ":"))})
    if report_id is None:
        return f"{reverse('reports:drill_adhoc', args=[module])}?{query}"
    return f"{reverse('reports:drill', args=[report_id])}?{query}"


def chart_data(result: dict[str, Any], report_id: int | None, filters: Any = None) -> dict[str, Any] | None:
    chart = result["meta"].get("chart")
    if not chart:
        return None
    key = chart["aggregate"]
    label = next((c["label"] for c in result["columns"] if c["key"] == key), key)
    module = result["meta"]["module"]
    out: dict[str, Any] = {"type": chart["type"], "label": label, "computed_at": result["meta"]["computed_at"]}
    if chart["type"] == "kpi":
        out["value"] = result["totals"].get(key)
        return out

    def number(value: Any) -> float:
        return float(value) if value not in (None, "") else 0.0

    if result["meta"]["type"] == "matrix":
        rows = result["rows"]
        group_key = next(c["key"] for c in result["columns"] if c["role"] == "group")
        out["labels"] = [r[group_key]["label"] for r in rows]
        out["datasets"] = [
            {
                "label": p["label"],
                "data": [number((r["cells"].get(p["key"]) or {}).get(key)) for r in rows],
                "drill": [drill_url(report_id, module, [*r["drill"], p["drill"]], filters) for r in rows],
            }
            for p in result["pivot"]["values"]
        ]
        return out
    groups = result["groups"]
    out["labels"] = [g["label"] for g in groups]
    nested = any(g["groups"] for g in groups)
    if nested and chart["type"] in ("stacked_bar", "line", "bar"):
        series: dict[str, dict[str, Any]] = {}
        for index, g in enumerate(groups):
            for child in g["groups"]:
                s = series.setdefault(
                    child["label"], {"label": child["label"], "data": [0.0] * len(groups), "drill": [""] * len(groups)}
                )
                s["data"][index] = number(child["aggregates"].get(key))
                s["drill"][index] = drill_url(report_id, module, child["drill"], filters)
        out["datasets"] = list(series.values())
        return out
    out["datasets"] = [
        {
            "label": label,
            "data": [number(g["aggregates"].get(key)) for g in groups],
            "drill": [drill_url(report_id, module, g["drill"], filters) for g in groups],
        }
    ]
    return out
