"""Demo price books (`manage.py seed_demo`): a wholesale book with the hardware 15 % off."""

from __future__ import annotations

from crm_apps.engine.sample_data import SampleContext
from crm_apps.modules.pricebooks.services import price_book_items_add


def price_books_sample(ctx: SampleContext) -> None:
    products = [p for p in ctx.records.get("products", []) if p.category == "Hardware"]
    services = ctx.records.get("services", [])
    book = ctx.make("price-books", {"name": "Wholesale", "currency": "EUR", "active": True})
    price_book_items_add(actor=ctx.admin, price_book_id=book.pk, items=[*products, *services[:2]], adjust_percent="-15")
    ctx.make("price-books", {"name": "Retail", "currency": "EUR", "active": True})
