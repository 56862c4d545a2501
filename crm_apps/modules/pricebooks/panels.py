"""The list prices of a price book on its record page (ModuleSpec.panels)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from crm_apps.access.models import Member
from crm_apps.modules.pricebooks.models import PriceBook, PriceBookEntry

SHOWN = 500


def prices_panel(book: PriceBook, member: Member, request: HttpRequest) -> dict[str, Any]:
    """The book's prices (the first 500, by position), products and services by name."""
    entries = (
        PriceBookEntry.objects.filter(price_book=book).select_related("product", "service").order_by("position", "id")
    )
    total = entries.count()
    return {"entries": list(entries[:SHOWN]), "total": total, "shown": SHOWN}
