"""Panels the document modules put on record pages: conversions, stock, a deal's quotes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import extensions, registry
from crm_apps.engine.display import record_url
from crm_apps.engine.spec import ModuleSpec, Panel
from crm_apps.inventory.models import DocumentStockState, StockMovement
from crm_apps.inventory.settings import document_settings


def convert_panel(module: str, targets: Sequence[tuple[str, Any]]) -> Panel:
    """Buttons converting the record ("Create sales order"), for members who may edit it."""

    def context(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
        spec = registry.get(module)
        allowed = visibility.can_edit(actor=member, spec=spec, record=record)
        return {"module": module, "record": record, "targets": list(targets) if allowed else []}

    return Panel(key="convert", template="inventory/_convert_panel.html", context=context, slot="top")


def stock_panel(module: str) -> Panel:
    """What the document did to stock: its ledger rows and whether it is applied."""

    def context(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
        state = DocumentStockState.objects.filter(module=module, record_id=record.pk).first()
        movements = list(
            StockMovement.objects.filter(module=module, record_id=record.pk).select_related("product")[:50]
        )
        return {
            "applied": bool(state and state.applied),
            "status": document_settings(module).stock_status,
            "movements": movements,
        }

    return Panel(key="stock", template="inventory/_stock_panel.html", context=context, slot="side")


def deal_quotes_linked(spec: ModuleSpec) -> dict[str, QuerySet[Any]]:
    """A deal's live quotes, whoever may see them (`Panel.linked`)."""
    return {"quotes": registry.get("quotes").records().filter(deleted_at__isnull=True, deal=OuterRef("pk"))}


def deal_quotes_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    """On a deal: its quotes the member may see and a "Create quote" button (edit right on the deal)."""
    quotes = registry.get("quotes")
    if not visibility.can_view_module(actor=member, spec=quotes):
        return {}  # the template shows nothing
    rows = []
    if extensions.may_have_rows(record, "deal_quotes", "quotes"):
        qs = quotes.records().filter(deal_id=record.pk, deleted_at__isnull=True).order_by("-created_at")
        rows = [
            (record_url(quotes, q), str(q), q.status, q.grand_total, q.currency)
            for q in visibility.visible_records(actor=member, spec=quotes, queryset=qs)[:20]
        ]
    deals = registry.get("deals")
    can_create = visibility.can_create(actor=member, spec=quotes) and visibility.can_edit(
        actor=member, spec=deals, record=record
    )
    return {"rows": rows, "can_create": can_create, "record": record}
