"""Dashboard widgets: a saved report's chart, or a built-in question asked as a report definition, so every
number is computed by the report engine over the records the viewing member may see. Each widget's data
carries the time it was computed; the page refreshes widgets without reloading."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Q, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.models import SavedView
from crm_apps.reports import cache as report_cache
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


def _overdue_by_owner(module: str, conditions: list[dict[str, Any]], chart: str) -> dict[str, Any]:
    """Count per owner of the module's records matching all `conditions`."""
    return {
        "module": module,
        "type": "summary",
        "group_by": ["owner"],
        "aggregates": [{"op": "count"}],
        "filters": {"match": "all", "conditions": conditions},
        "chart": {"type": chart},
    }


def _overdue(config: dict[str, Any], actor: Member) -> dict[str, Any]:
    today = dates.today_in(actor.zone).isoformat()
    conditions: list[dict[str, Any]] = [
        {"field": "due_date", "op": "before", "value": today},
        {"field": "status", "op": "not_in", "value": ["completed", "deferred"]},
    ]
    return _overdue_by_owner("tasks", conditions, "bar")


def _overdue_events(actor: Member) -> dict[str, Any]:
    """Events that ended before today (the member's) and are still planned: neither held nor marked not held."""
    today = dates.today_in(actor.zone).isoformat()
    conditions: list[dict[str, Any]] = [
        {"field": "end", "op": "before", "value": today},
        {"field": "status", "op": "eq", "value": "planned"},
    ]
    return _overdue_by_owner("events", conditions, "stacked_bar")


def _with_overdue_events(tasks_chart: dict[str, Any], tasks: dict[str, Any], actor: Member) -> dict[str, Any]:
    """Overdue activities by owner: the overdue tasks and the overdue events of each owner, stacked (events left
    out when the member may not open the events module, or may not see a field the question needs - their
    profile hides the events' status or end: the tasks are still shown). Each segment drills down to its
    records."""
    parts = [(str(_("Tasks")), tasks, tasks_chart)]
    try:
        if visibility.can_view_module(actor=actor, spec=registry.get("events")):
            definition = _overdue_events(actor)
            events = run(parse(definition, actor=actor))
            events_chart = charts.chart_data(events, None, definition["filters"])
            if events_chart:
                parts.append((str(_("Events")), events, events_chart))
    except (ValidationError, registry.UnknownModule):
        pass
    owners: dict[Any, str] = {}
    for _label, result, _chart in parts:
        for group in result["groups"]:
            owners.setdefault(group["value"], group["label"])
    datasets = []
    for label, result, chart in parts:
        index = {group["value"]: i for i, group in enumerate(result["groups"])}
        series = chart["datasets"][0]
        datasets.append(
            {
                "label": label,
                "data": [series["data"][index[k]] if k in index else 0.0 for k in owners],
                "drill": [series["drill"][index[k]] if k in index else "" for k in owners],
            }
        )
    return {**tasks_chart, "type": "stacked_bar", "labels": list(owners.values()), "datasets": datasets}


def _conversion_months(actor: Member) -> tuple[dt.date, dt.date]:
    """The last twelve months, this one included, in the member's zone (first day, last day)."""
    today = dates.today_in(actor.zone)
    first = dt.date(today.year - 1 if today.month < 12 else today.year, today.month % 12 + 1, 1)
    return first, dates.relative_range("this_month", today)[1]


def _leads_by_month(field: str, actor: Member, converted: bool) -> dict[str, Any]:
    first, last = _conversion_months(actor)
    conditions: list[dict[str, Any]] = [
        {"field": field, "op": "between", "value": [first.isoformat(), last.isoformat()]}
    ]
    if converted:
        conditions.append({"field": "converted", "op": "is_true"})
    return {
        "module": "leads",
        "type": "summary",
        "group_by": [{"field": field, "granularity": "month"}],
        "aggregates": [{"op": "count"}],
        "filters": {"match": "all", "conditions": conditions},
    }


def _conversion_rate(widget: Widget, actor: Member) -> dict[str, Any]:
    """Leads converted in a month / leads created in that month, for the last twelve months, each count by the
    report engine over the leads the member may see (so the rate is built from visible leads only)."""
    created = run(parse(_leads_by_month("created_at", actor, False), actor=actor))
    converted = run(parse(_leads_by_month("converted_at", actor, True), actor=actor))
    made = {row["created_at__month"]["value"]: int(row["count"]) for row in created["rows"]}
    done = {row["converted_at__month"]["value"]: int(row["count"]) for row in converted["rows"]}
    first, last = _conversion_months(actor)
    labels, rates, made_series, done_series = [], [], [], []
    month = first
    while month <= last:
        key = month.isoformat()
        labels.append(dates.bucket_label(month, "month"))
        made_series.append(made.get(key, 0))
        done_series.append(done.get(key, 0))
        rates.append(round(done.get(key, 0) * 100 / made[key], 1) if made.get(key) else 0.0)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    total_made, total_done = sum(made_series), sum(done_series)
    chart = {
        "type": "line",
        "label": str(_("Conversion rate (%)")),
        "labels": labels,
        "datasets": [{"label": str(_("Conversion rate (%)")), "data": rates, "drill": []}],
        "computed_at": created["meta"]["computed_at"],
    }
    return {
        "type": "chart",
        "chart": chart,
        "series": {"created": made_series, "converted": done_series},
        "note": _("%(converted)d of %(created)d leads converted in twelve months (%(rate)s%%).")
        % {
            "converted": total_done,
            "created": total_made,
            "rate": round(total_done * 100 / total_made, 1) if total_made else 0,
        },
        "computed_at": created["meta"]["computed_at"],
    }


MINI_LIST_ROWS = 5
MINI_LIST_MAX_ROWS = 20


def saved_view_choices(actor: Member) -> list[tuple[int, str]]:
    """The saved list views a member may put on a dashboard (their own and shared ones, of modules they see)."""
    out = []
    for view in (
        SavedView.objects.filter(is_default=False).filter(Q(owner=actor) | Q(shared=True)).order_by("module", "name")
    ):
        try:
            spec = registry.get(view.module)
        except registry.UnknownModule:
            continue
        if visibility.can_view_module(actor=actor, spec=spec):
            out.append((view.pk, f"{spec.label_plural} › {view.display_name}"))
    return out


def _mini_list(widget: Widget, actor: Member) -> dict[str, Any] | None:
    """The first rows of a saved list view, read by the engine's list selector for the viewing member (their
    visibility, their field-level security). None when the view is gone or not theirs to open."""
    from crm_apps.engine import selectors as engine_selectors
    from crm_apps.engine.display import Displayer, record_url

    view = (
        SavedView.objects.filter(pk=widget.config.get("view")).first()
        if str(widget.config.get("view", "")).isdigit()
        else None
    )
    if view is None:
        return None
    try:
        spec = registry.get(view.module)
    except registry.UnknownModule:
        return None
    found = engine_selectors.saved_view_get(spec=spec, actor=actor, view_id=view.pk)
    if found is None or not visibility.can_view_module(actor=actor, spec=spec):
        return None
    rows = widget.config.get("rows", MINI_LIST_ROWS)
    rows = rows if isinstance(rows, int) and 1 <= rows <= MINI_LIST_MAX_ROWS else MINI_LIST_ROWS
    hidden = visibility.hidden_fields(actor=actor, spec=spec)
    model_names = {f.name for f in spec.model._meta.concrete_fields}
    columns = [c for c in spec.list_columns if c in model_names and c not in hidden][:3]
    page = engine_selectors.record_list(
        spec=spec,
        actor=actor,
        filters=dict(found.filters or {}),
        search=found.search,
        ordering=found.ordering or None,
        limit=rows,
        columns=columns,
    )
    shown = Displayer(spec)
    out_rows = []
    for record in page.records:
        title = " ".join(str(getattr(record, n, "") or "") for n in spec.title_fields if n not in hidden).strip()
        out_rows.append(
            {
                "url": record_url(spec, record),
                "title": title or str(record.pk),
                "cells": [str(shown.value(record, c).text) for c in columns if c not in spec.title_fields],
            }
        )
    return {
        "type": "list",
        "columns": [str(_("Record"))] + [shown.label(c) for c in columns if c not in spec.title_fields],
        "rows": out_rows,
        "more": page.next_cursor is not None,
        "view_url": reverse("engine:list", args=[spec.key]) + f"?saved={view.pk}",
        "computed_at": timezone.now().isoformat(),
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
    # Overdue tasks (this definition) and overdue events (`_overdue_events`), stacked per owner.
    "overdue_activities": (gettext_lazy("Overdue activities by owner"), _overdue),
}
KINDS = {
    **{k: v[0] for k, v in BUILT_IN.items()},
    "report": gettext_lazy("Saved report"),
    "quota": gettext_lazy("Quota attainment this quarter"),
    "conversion_rate": gettext_lazy("Lead conversion rate by month"),
    "saved_view": gettext_lazy("Saved list view"),
}

DEFAULT_LAYOUT: list[tuple[str, int, int, int, int, dict[str, Any]]] = [
    ("pipeline_funnel", 0, 0, 6, 4, {}),
    ("won_by_month", 6, 0, 6, 4, {}),
    ("quota", 0, 4, 6, 4, {}),
    ("pipeline_by_owner", 6, 4, 6, 4, {}),
    ("leads_by_source", 0, 8, 4, 4, {}),
    ("tickets_by_status", 4, 8, 4, 4, {}),
    ("overdue_activities", 8, 8, 4, 4, {}),
    ("forecast", 0, 12, 12, 4, {}),
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


def _forecast_quotas(chart: dict[str, Any], result: dict[str, Any], actor: Member) -> str | None:
    """Adds the members' quotas per close month to the forecast chart and says this quarter's attainment (won
    amount of the deals the member may see against the quarter's quotas)."""
    months = [dt.date.fromisoformat(g["value"]) for g in result["groups"] if g.get("value")]
    by_month = dict(
        Quota.objects.filter(month__in=months)
        .values("month")
        .annotate(total=Sum("amount"))
        .values_list("month", "total")
    )
    if by_month:
        chart["datasets"].append(
            {
                "label": str(_("Quota")),
                "data": [float(by_month.get(m, 0)) for m in months],
                "drill": [],
                "type": "line",
            }
        )
    today = dates.today_in(actor.zone)
    start, end = dates.relative_range("this_quarter", today)
    quota = Quota.objects.filter(month__gte=start, month__lte=end).aggregate(total=Sum("amount"))["total"]
    if not quota:
        return None
    won_result = run(parse(_won_this_quarter(), actor=actor))
    won = Decimal(won_result["totals"].get("sum_amount") or 0)
    return _("Won this quarter: %(won)s of %(quota)s quota (%(rate)s%% attainment).") % {
        "won": format(won.quantize(Decimal("0.01")), "f"),
        "quota": format(quota, "f"),
        "rate": round(float(won / quota * 100), 1),
    }


def _won_this_quarter() -> dict[str, Any]:
    return {
        "module": "deals",
        "type": "tabular",
        "columns": ["name"],
        "limit": 1,
        "aggregates": [{"field": "amount", "op": "sum"}],
        "filters": {
            "match": "all",
            "conditions": [
                {"field": "stage.is_won", "op": "is_true"},
                {"field": "close_date", "op": "relative", "value": "this_quarter"},
            ],
        },
    }


def widget_title(widget: Widget) -> str:
    if widget.title:
        return widget.title
    if widget.kind == "report" and widget.report is not None:
        return widget.report.name
    return str(KINDS.get(widget.kind, widget.kind))


def widget_data(widget: Widget, actor: Member) -> dict[str, Any]:
    """What a widget shows for `actor`, from the short-lived widget cache when nothing it depends on changed
    (`crm_apps.reports.cache`: keyed by the workspace, the widget and what it computes, the member, the access
    and data versions); a saved-view list is read afresh (its first rows, no aggregate)."""
    if widget.kind == "saved_view":
        return _widget_data(widget, actor)
    fingerprint: list[Any] = [widget.kind, widget.config, widget.title]
    if widget.kind == "report":
        report = selectors.report_get(actor=actor, report_id=widget.report_id) if widget.report_id else None
        fingerprint.append(None if report is None else [report.pk, report.definition, report.updated_at])
    return report_cache.cached(
        widget_id=widget.pk, fingerprint=fingerprint, actor=actor, compute=lambda: _widget_data(widget, actor)
    )


def _widget_data(widget: Widget, actor: Member) -> dict[str, Any]:
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
        if widget.kind == "conversion_rate":
            if not visibility.can_view_module(actor=actor, spec=registry.get("leads")):
                return unavailable
            return {**base, **_conversion_rate(widget, actor)}
        if widget.kind == "saved_view":
            listed = _mini_list(widget, actor)
            return unavailable if listed is None else {**base, **listed}
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
    # A built-in widget's drill-down carries its definition's filters (a saved report's are added by its page).
    chart = charts.chart_data(result, report_id, None if report_id else definition.get("filters"))
    if widget.kind == "overdue_activities" and chart:
        chart = _with_overdue_events(chart, result, actor)
    if widget.kind == "won_by_month" and widget.config.get("target") and chart:
        target = float(widget.config["target"])
        chart["datasets"].append({"label": str(_("Target")), "data": [target] * len(chart["labels"]), "drill": []})
    note = None
    if widget.kind == "forecast" and chart:
        note = _forecast_quotas(chart, result, actor)
    return {
        **base,
        "type": "chart",
        "chart": chart,
        "note": note,
        "currency": (result["meta"].get("currency") or {}).get("note"),
        "computed_at": result["meta"]["computed_at"],
    }


# Widgets another app contributes, per workspace (an installed marketplace app's frames): the reports app
# never names it. A source has a widget `kind` of its own; `choices(actor)` lists what the member may add
# (ref -> WidgetChoice), stored as Widget(kind=source.kind, config={"ref": ref}); `draw(widget, actor,
# request)` gives {"template", "data"} for the dashboard page, or None when the widget is no longer
# available (its app uninstalled or suspended): the dashboard then leaves it out. Added at start-up.
@dataclass(frozen=True)
class WidgetChoice:
    label: str
    w: int = 6
    h: int = 4


@dataclass(frozen=True)
class WidgetSource:
    kind: str
    choices: Callable[[Member], dict[str, WidgetChoice]]
    draw: Callable[[Widget, Member, Any], dict[str, Any] | None]


_sources: dict[str, WidgetSource] = {}


def widget_source_add(source: WidgetSource) -> None:
    """Register a source of widgets (an app's AppConfig.ready()); the same kind twice keeps the first."""
    _sources.setdefault(source.kind, source)


def widget_source(kind: str) -> WidgetSource | None:
    return _sources.get(kind)


def contributed_choices(actor: Member) -> dict[str, str]:
    """ "<kind>:<ref>" -> label of every contributed widget the member may add (the "add widget" choices)."""
    return {
        f"{source.kind}:{ref}": choice.label
        for source in _sources.values()
        for ref, choice in source.choices(actor).items()
    }
