"""Reading list prices: what a document line costs from a price book or from the catalogue."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.selectors import _base
from crm_apps.finance import selectors as finance
from crm_apps.modules.pricebooks.models import PriceBook, PriceBookEntry


class PriceBookCurrencyMismatch(ValueError):
    """The price book is in another currency than the one asked for."""


def _entry_filter(item: Any) -> dict[str, Any]:
    from crm_apps.modules.products.models import Product

    return {"product": item.pk} if isinstance(item, Product) else {"service": item.pk}


def list_price(item: Any, price_book: PriceBook | None = None, currency: str | None = None) -> Decimal | None:
    """The list price of a product or service. With a price book: its entry for the item (None when the
    book does not list it; PriceBookCurrencyMismatch when `currency` is not the book's). Without one: the
    item's unit price, converted to `currency` at today's rates when it is priced in another currency
    (finance.selectors.UnknownCurrency when the workspace has no rate for either)."""
    if price_book is not None:
        if currency and currency.upper() != price_book.currency:
            raise PriceBookCurrencyMismatch(price_book.currency)
        found = (
            PriceBookEntry.objects.filter(price_book=price_book, **_entry_filter(item))
            .values_list("list_price", flat=True)
            .first()
        )
        return found
    price = Decimal(item.unit_price or 0)
    if not currency or currency.upper() == item.currency:
        return price
    return finance.convert(price, from_code=item.currency, to_code=currency)


def price_books_for(*, actor: Member, item: Any, currency: str | None = None) -> list[tuple[PriceBook, Decimal]]:
    """The active price books the actor can see that list `item` (in `currency` when given), with its price."""
    books = _base(registry.get("price-books"), actor).filter(active=True)
    if currency:
        books = books.filter(currency=currency.upper())
    entries = PriceBookEntry.objects.filter(price_book__in=books, **_entry_filter(item)).select_related("price_book")
    return [(e.price_book, e.list_price) for e in entries.order_by("price_book__name", "price_book_id")]
