"""Dashboard widgets: a saved report's chart, or a built-in question asked as a report definition, so every
number is computed by the report engine over the records the viewing member may see. Each widget's data
carries the time it was computed; the page refreshes widgets without reloading."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.reports import charts, dates, selectors
from crm_apps.reports.definition import parse
from crm_apps.reports.engine import run
from crm_apps.reports.models import Dashboard, Quota, Widget

OPEN = [{"field": "stage.is_won", "op": "is_false"}, {"field": "stage.is_lost", "op": "is_false"}]


def _pipeline_funnel(config: dict[str, Any], actor: Member) -> dict[str, Any]:
    op = "weighted" if config.get("weighted") else "sum"
    return {
        "module": "deals",
        "type": "summary",
        "group_by": ["stage"],
        "aggregates": [{"field": "amount", "op": op}, {"op": "count"}],
        "filters": {"match": "all", "conditions": OPEN},
        "chart": {"type": "funnel", "aggregate": f"{op}_amount"},
    }


def _pipeline_by_owner(config: dict[str, Any], actor: Member) -> dict[str, Any]:
    return {
        "module": "deals",
        "type": "summary",
        "group_by": ["owner"],
        "aggregates": [{"field": "amount", "op": "sum"}],
        "filters": {"match": "all", "conditions": OPEN},
        "sort": [{"field": "sum_amount", "dir": "desc"}],
        "chart": {"type": "bar"},
    }


def _won_by_month(config: dict[str, Any], actor: Member) -> dict[str, Any]:
    return {
        "module": "deals",
        "type": "summary",
        "group_by": [{"field": "close_date", "granularity": "month"}],
        "aggregates": [{"field": "amount", "op": "sum"}],
        "filters": {
            "match": "all",
            "conditions": [
                {"field": "stage.is_won", "op": "is_true"},
                {"field": "close_date", "op": "relative", "value": "this_year"},
            ],
        },
        "chart": {"type": "line"},
    }


def _forecast(config: dict[str, Any], actor: Member) -> dict[str, Any]:
    return {
        "module": "deals",
        "type": "summary",
        "group_by": [{"field": "close_date", "granularity": "month"}],
        "aggregates": [{"field": "amount", "op": "weighted"}, {"field": "amount", "op": "sum"}],
        "filters": {
            "match": "all",
            "conditions": [
                {"field": "stage.is_lost", "op": "is_false"},
                {
                    "match": "any",
                    "conditions": [
                        {"field": "close_date", "op": "relative", "value": "this_quarter"},
                        {"field": "close_date", "op": "relative", "value": "next_quarter"},
                    ],
                },
            ],
        },
        "chart": {"type": "bar", "aggregate": "weighted_amount"},
    }


def _by(module: str, fields: list[str], chart: str) -> Callable[[dict[str, Any], Member], dict[str, Any]]:
    def build(config: dict[str, Any], actor: Member) -> dict[str, Any]:
        return {
            "module": module,
            "type": "summary",
            "group_by": fields,
            "aggregates": [{"op": "count"}],
            "chart": {"type": chart},
        }

    return build


def _overdue(config: dict[str, Any], actor: Member) -> dict[str, Any]:
    today = dates.today_in(actor.zone).isoformat()
    return {
        "module": "tasks",
        "type": "summary",
        "group_by": ["owner"],
        "aggregates": [{"op": "count"}],
        "filters": {
            "match": "all",
            "conditions": [
                {"field": "due_date", "op": "before", "value": today},
                {"field": "status", "op": "not_in", "value": ["completed", "deferred"]},
            ],
        },
        "chart": {"type": "bar"},
    }


BUILT_IN: dict[str, tuple[Any, Callable[[dict[str, Any], Member], dict[str, Any]]]] = {
    "pipeline_funnel": (gettext_lazy("Pipeline by stage"), _pipeline_funnel),
    "pipeline_by_owner": (gettext_lazy("Pipeline by owner"), _pipeline_by_owner),
    "won_by_month": (gettext_lazy("Won revenue by month"), _won_by_month),
    "forecast": (gettext_lazy("Forecast by close month (weighted)"), _forecast),
    "leads_by_source": (gettext_lazy("Leads by source"), _by("leads", ["source"], "pie")),
    "leads_by_status": (gettext_lazy("Leads by status"), _by("leads", ["status"], "donut")),
    "tickets_by_status": (
        gettext_lazy("Tickets by status and priority"),
        _by("tickets", ["status", "priority"], "stacked_bar"),
    ),
    "tickets_by_sla": (gettext_lazy("Tickets by SLA status"), _by("tickets", ["sla_status"], "pie")),
    "overdue_activities": (gettext_lazy("Overdue tasks by owner"), _overdue),
}
KINDS = {
    **{k: v[0] for k, v in BUILT_IN.items()},
    "report": gettext_lazy("Saved report"),
    "quota": gettext_lazy("Quota attainment this quarter"),
}

DEFAULT_LAYOUT: list[tuple[str, int, int, int, int, dict[str, Any]]] = [
    ("pipeline_funnel", 0, 0, 6, 4, {}),
    ("won_by_month", 6, 0, 6, 4, {}),
    ("quota", 0, 4, 6, 4, {}),
    ("pipeline_by_owner", 6, 4, 6, 4, {}),
    ("leads_by_source", 0, 8, 4, 4, {}),
    ("tickets_by_status", 4, 8, 4, 4, {}),
    ("overdue_activities", 8, 8, 4, 4, {}),
]


def default_dashboard() -> Dashboard:
    """The workspace's shared "Sales overview", created the first time anyone opens dashboards."""
    found = Dashboard.objects.filter(shared=True).order_by("position", "id").first()
    if found is not None:
        return found
    board = Dashboard.objects.create(name=str(_("Sales overview")), shared=True)
    Widget.objects.bulk_create(
        [Widget(dashboard=board, kind=k, x=x, y=y, w=w, h=h, config=c) for k, x, y, w, h, c in DEFAULT_LAYOUT]
    )
    return board


def _quarter_quota(widget: Widget, actor: Member) -> dict[str, Any]:
    """Won amount this quarter per owner (the engine, over visible deals) against the members' quotas."""
    today = dates.today_in(actor.zone)
    start, end = dates.relative_range("this_quarter", today)
    definition = {
        "module": "deals",
        "type": "summary",
        "group_by": ["owner"],
        "aggregates": [{"field": "amount", "op": "sum"}],
        "filters": {
            "match": "all",
            "conditions": [
                {"field": "stage.is_won", "op": "is_true"},
                {"field": "close_date", "op": "relative", "value": "this_quarter"},
            ],
        },
    }
    result = run(parse(definition, actor=actor))
    won = {row["owner"]["value"]: (row["owner"]["label"], Decimal(row["sum_amount"] or 0)) for row in result["rows"]}
    quotas = dict(
        Quota.objects.filter(month__gte=start, month__lte=end)
        .values("member_id")
        .annotate(total=Sum("amount"))
        .values_list("member_id", "total")
    )
    from crm_apps.reports.engine import value_labels
    from crm_apps.reports.fields import catalogue

    owner_field = catalogue(spec=registry.get("deals"), actor=actor).fields["owner"]
    labels = value_labels(owner_field, quotas.keys(), actor)
    rows = []
    for member_id in sorted(set(won) | set(quotas), key=lambda m: -(won.get(m, ("", Decimal(0)))[1])):
        label, amount = won.get(member_id, (labels.get(member_id, str(member_id)), Decimal(0)))
        quota = quotas.get(member_id)
        rows.append(
            {
                "owner": label,
                "won": format(amount, "f"),
                "quota": format(quota, "f") if quota is not None else None,
                "attainment": round(float(amount / quota * 100), 1) if quota else None,
            }
        )
    return {
        "type": "quota",
        "rows": rows,
        "currency": (result["meta"].get("currency") or {}).get("base"),
        "computed_at": result["meta"]["computed_at"],
        "period": [start.isoformat(), end.isoformat()],
    }


def widget_title(widget: Widget) -> str:
    if widget.title:
        return widget.title
    if widget.kind == "report" and widget.report is not None:
        return widget.report.name
    return str(KINDS.get(widget.kind, widget.kind))


def widget_data(widget: Widget, actor: Member) -> dict[str, Any]:
    """What a widget shows for `actor`: chart data (Chart.js) or the quota table, with `computed_at`. A
    widget over a module or report the member may not open says so instead of failing the dashboard."""
    base = {"id": widget.pk, "title": widget_title(widget), "kind": widget.kind}
    unavailable = {
        **base,
        "type": "unavailable",
        "message": _("You cannot see this widget's records."),
        "computed_at": timezone.now().isoformat(),
    }
    try:
        if widget.kind == "quota":
            if not visibility.can_view_module(actor=actor, spec=registry.get("deals")):
                return unavailable
            return {**base, **_quarter_quota(widget, actor)}
        if widget.kind == "report":
            report = selectors.report_get(actor=actor, report_id=widget.report_id) if widget.report_id else None
            if report is None:
                return unavailable
            definition = dict(report.definition)
            report_id: int | None = report.pk
            saved = True
        elif widget.kind in BUILT_IN:
            definition = BUILT_IN[widget.kind][1](widget.config, actor)
            report_id, saved = None, False
        else:
            return unavailable
        if not definition.get("chart"):
            definition["chart"] = {"type": "kpi"} if definition.get("type") == "tabular" else {"type": "bar"}
        result = run(parse(definition, actor=actor, saved=saved))
    except (ValidationError, registry.UnknownModule):
        return unavailable
    chart = charts.chart_data(result, report_id)
    if widget.kind == "won_by_month" and widget.config.get("target") and chart:
        target = float(widget.config["target"])
        chart["datasets"].append({"label": str(_("Target")), "data": [target] * len(chart["labels"]), "drill": []})
    return {
        **base,
        "type": "chart",
        "chart": chart,
        "currency": (result["meta"].get("currency") or {}).get("note"),
        "computed_at": result["meta"]["computed_at"],
    }
