"""The deals' boxes on the home page (ModuleSpec.home_widgets): my open deals by stage, and my deals
expected to close this month. Amounts are summed per currency and shown in the workspace's base currency
at the stored rate (`engine.currency.convert`, as the board does); a currency without a rate is named, never
added at 1; without a base currency the per-currency sums are shown as they are."""

from __future__ import annotations

import calendar
from decimal import Decimal
from typing import Any

from django.db import models
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import currency, registry, selectors
from crm_apps.engine.display import record_url
from crm_apps.modules.deals.services import default_pipeline

CLOSING_SHOWN = 6


def open_deals_widget(member: Member, request: HttpRequest) -> dict[str, Any]:
    """The member's open deals per stage of the default pipeline: count and amount per currency."""
    spec = registry.get("deals")
    pipeline = default_pipeline()
    qs = selectors.list_queryset(spec=spec, actor=member, default_view=False).filter(owner=member, pipeline=pipeline)
    show_amounts = "amount" not in visibility.hidden_fields(actor=member, spec=spec)
    grouped = (
        qs.order_by()
        .values("stage_id", "currency")
        .annotate(count=models.Count("pk"), total=models.Sum("amount"))
        .order_by("stage_id", "currency")
    )
    by_stage: dict[Any, list[dict[str, Any]]] = {}
    for row in grouped:
        by_stage.setdefault(row["stage_id"], []).append(row)
    rates = _rates(request)
    rows = []
    for stage in pipeline.stages.filter(is_won=False, is_lost=False).order_by("position"):
        found = by_stage.get(stage.pk, [])
        totals = [{"currency": r["currency"], "total": r["total"] or Decimal(0)} for r in found] if show_amounts else []
        rows.append(
            {
                "stage": stage,
                "count": sum(r["count"] for r in found),
                "totals": totals,
                "converted": _converted(totals, rates) if show_amounts else None,
            }
        )
    return {
        "base_currency": rates.base,
        "rows": rows,
        "any": any(r["count"] for r in rows),
        "show_amounts": show_amounts,
        "board_url": reverse("deals:board"),
        "create_url": reverse("engine:create", args=["deals"])
        if visibility.can_create(actor=member, spec=spec)
        else "",
    }


def closing_this_month_widget(member: Member, request: HttpRequest) -> dict[str, Any]:
    """The member's open deals whose expected close date falls in this month (of their time zone), the
    soonest first, with the total per currency."""
    spec = registry.get("deals")
    today = timezone.localdate()
    first = today.replace(day=1)
    last = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    qs = (
        selectors.list_queryset(spec=spec, actor=member, default_view=False)
        .filter(owner=member, close_date__gte=first, close_date__lte=last)
        .exclude(stage__is_won=True)
        .exclude(stage__is_lost=True)
    )
    show_amounts = "amount" not in visibility.hidden_fields(actor=member, spec=spec)
    deals = list(qs.order_by("close_date", "id").only("id", "name", "amount", "currency", "close_date")[:CLOSING_SHOWN])
    grouped = list(
        qs.order_by()
        .values("currency")
        .annotate(count=models.Count("pk"), total=models.Sum("amount"))
        .order_by("currency")
    )
    count = sum(g["count"] for g in grouped)
    # Summed per currency, then converted at the stored rates: EUR and USD are never added as they are.
    totals = [{"currency": g["currency"], "total": g["total"] or Decimal(0)} for g in grouped] if show_amounts else []
    rates = _rates(request)
    return {
        "converted": _converted(totals, rates) if show_amounts else None,
        "base_currency": rates.base,
        "deals": [
            {
                "url": record_url(spec, d),
                "name": d.name,
                "close_date": d.close_date,
                "overdue": d.close_date < today,
                "amount": d.amount if show_amounts else None,
                "currency": d.currency,
            }
            for d in deals
        ],
        "count": count,
        "more": max(count - len(deals), 0),
        "totals": totals,
        "month": first,
        "list_url": reverse("engine:list", args=["deals"]),
        "create_url": reverse("engine:create", args=["deals"])
        if visibility.can_create(actor=member, spec=spec)
        else "",
    }


def _converted(totals: list[dict[str, Any]], rates: currency.Rates) -> currency.Converted:
    """Per-currency sums as one amount in the base currency (None without a base currency)."""
    amounts: dict[str, Decimal] = {}
    for t in totals:
        amounts[t["currency"]] = amounts.get(t["currency"], Decimal(0)) + t["total"]
    return currency.convert(amounts, rates)


def _rates(request: HttpRequest) -> currency.Rates:
    """The workspace's rates, read once per request for both deal boxes."""
    found: currency.Rates | None = getattr(request, "_deal_rates", None)
    if found is None:
        found = currency.rates()
        request._deal_rates = found  # type: ignore[attr-defined]
    return found
