"""Writes of price books' list prices: the whole list (API PUT), one price (the record page), and adding many
products or services at once (the products list's "Add to price book"). Each is a change of the price book
(edit right, version, timeline, audit) through `products.linked.linked_rows_write`."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from crm_apps.access.models import Member
from crm_apps.engine import registry, selectors
from crm_apps.finance import selectors as finance
from crm_apps.finance.currencies import quantum
from crm_apps.modules.pricebooks.models import PriceBook, PriceBookEntry
from crm_apps.modules.products.linked import linked_rows_write

MAX_PRICES = 5000
KINDS = ("product", "service")


def _spec() -> Any:
    return registry.get("price-books")


def prices_read(price_book: PriceBook) -> list[dict[str, Any]]:
    """The book's prices as the API serves them, in order (products and services by name)."""
    entries = (
        PriceBookEntry.objects.filter(price_book=price_book)
        .select_related("product", "service")
        .order_by("position", "id")
    )
    return [
        {
            "id": e.pk,
            "product": str(e.product_id) if e.product_id else None,
            "service": str(e.service_id) if e.service_id else None,
            "name": (e.product or e.service).name if (e.product or e.service) else "",
            "list_price": str(e.list_price),
        }
        for e in entries
    ]


def _price(value: Any) -> Decimal:
    try:
        price = Decimal(str(value).strip().replace(",", "."))
        if not price.is_finite() or price < 0 or price >= Decimal(10) ** 14 or price != price.quantize(Decimal("0.01")):
            raise InvalidOperation
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(_("Enter a price of 0 or more with at most 2 decimals.")) from exc
    return price.quantize(Decimal("0.01"))


def _item(actor: Member, kind: str, value: Any) -> Any:
    found = selectors.access_record(
        spec=registry.get("products" if kind == "product" else "services"), actor=actor, record_id=value
    )
    if found is None:
        raise ValidationError(_("Choose an existing record."))
    return found


def price_book_prices_set(*, actor: Member, price_book_id: Any, prices: Any) -> PriceBook:
    """Replace the book's prices: `[{"product": id} or {"service": id}, "list_price": "9.90"}]`, each item
    once; products and services the actor can see."""
    if not isinstance(prices, list):
        raise ValidationError({"prices": [_("Send a list of rows.")]})
    if len(prices) > MAX_PRICES:
        raise ValidationError({"prices": [_("Send at most %(count)d rows.") % {"count": MAX_PRICES}]})

    def write(book: PriceBook) -> None:
        errors: dict[str, list[str]] = {}
        rows: list[PriceBookEntry] = []
        seen: set[tuple[str, Any]] = set()
        for index, row in enumerate(prices):
            at = f"prices.{index}"
            if not isinstance(row, dict):
                errors[at] = [_("Send an object of field values.")]
                continue
            for field in set(row) - {"product", "service", "list_price", "id", "name"}:
                errors[f"{at}.{field}"] = [_("Unknown field.")]
            kinds = [k for k in KINDS if row.get(k) not in (None, "")]
            if len(kinds) != 1:
                errors[at] = [_("Choose a product or a service (one of them).")]
                continue
            kind = kinds[0]
            try:
                item = _item(actor, kind, row[kind])
            except ValidationError as exc:
                errors[f"{at}.{kind}"] = list(exc.messages)
                continue
            if (kind, item.pk) in seen:
                errors[f"{at}.{kind}"] = [_("This item already has a price in this book.")]
                continue
            seen.add((kind, item.pk))
            try:
                price = _price(row.get("list_price"))
            except ValidationError as exc:
                errors[f"{at}.list_price"] = list(exc.messages)
                continue
            rows.append(PriceBookEntry(price_book=book, position=index, list_price=price, **{kind: item}))
        if errors:
            raise ValidationError(errors)
        PriceBookEntry.objects.filter(price_book=book).delete()
        PriceBookEntry.objects.bulk_create(rows)

    book: PriceBook = linked_rows_write(
        spec=_spec(), actor=actor, record_id=price_book_id, key="prices", read=prices_read, write=write
    )
    return book


def price_book_price_set(*, actor: Member, price_book_id: Any, kind: str, item_id: Any, list_price: Any) -> PriceBook:
    """Add one product or service to the book at `list_price`, or change its price there."""
    if kind not in KINDS:
        raise ValidationError({"kind": [_("Choose a product or a service.")]})
    try:
        price = _price(list_price)
    except ValidationError as exc:
        raise ValidationError({"list_price": list(exc.messages)}) from exc
    try:
        item = _item(actor, kind, item_id)
    except ValidationError as exc:
        raise ValidationError({kind: list(exc.messages)}) from exc

    def write(book: PriceBook) -> None:
        entry = PriceBookEntry.objects.filter(price_book=book, **{kind: item}).first()
        if entry is None:
            PriceBookEntry.objects.create(
                price_book=book,
                list_price=price,
                position=PriceBookEntry.objects.filter(price_book=book).count(),
                **{kind: item},
            )
        elif entry.list_price != price:
            entry.list_price = price
            entry.save(update_fields=["list_price"])

    book: PriceBook = linked_rows_write(
        spec=_spec(), actor=actor, record_id=price_book_id, key="prices", read=prices_read, write=write
    )
    return book


def price_book_price_remove(*, actor: Member, price_book_id: Any, entry_id: Any) -> PriceBook:
    """Take one product or service out of the book."""

    def write(book: PriceBook) -> None:
        try:
            pk = int(str(entry_id))
        except ValueError:
            pk = 0
        if not PriceBookEntry.objects.filter(price_book=book, pk=pk).delete()[0]:
            raise ValidationError({"entry": [_("This price does not belong to this price book.")]})

    book: PriceBook = linked_rows_write(
        spec=_spec(), actor=actor, record_id=price_book_id, key="prices", read=prices_read, write=write
    )
    return book


def price_book_items_add(
    *,
    actor: Member,
    price_book_id: Any,
    items: list[Any],
    adjust_percent: Any = "0",
    replace_existing: bool = False,
) -> dict[str, int]:
    """Add many products or services (records the caller read through the selectors) to a book at their
    unit price converted to the book's currency and adjusted by `adjust_percent` (-10 = 10 % off, 15 =
    15 % markup), rounded half-up to the currency's minor unit. Items already in the book keep their price
    unless `replace_existing`. Returns {"added", "updated", "skipped"}."""
    try:
        adjust = Decimal(str(adjust_percent or "0").strip().replace(",", "."))
        if not adjust.is_finite() or not Decimal(-100) <= adjust <= Decimal(1000):
            raise InvalidOperation
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError({"adjust_percent": [_("Enter a percentage between -100 and 1000.")]}) from exc
    if len(items) > MAX_PRICES:
        raise ValidationError({"items": [_("Send at most %(count)d rows.") % {"count": MAX_PRICES}]})
    counts = {"added": 0, "updated": 0, "skipped": 0}

    def write(book: PriceBook) -> None:
        from crm_apps.modules.products.models import Product

        existing = {
            (("product", e.product_id) if e.product_id else ("service", e.service_id)): e
            for e in PriceBookEntry.objects.filter(price_book=book)
        }
        position = len(existing)
        new: list[PriceBookEntry] = []
        changed: list[PriceBookEntry] = []
        for item in items:
            kind = "product" if isinstance(item, Product) else "service"
            try:
                base = finance.convert(Decimal(item.unit_price or 0), from_code=item.currency, to_code=book.currency)
            except finance.UnknownCurrency as exc:
                raise ValidationError(
                    {"currency": [_("Add a rate for %(code)s in the finance settings first.") % {"code": exc.args[0]}]}
                ) from exc
            price = (base * (Decimal(100) + adjust) / Decimal(100)).quantize(
                quantum(book.currency), rounding=ROUND_HALF_UP
            )
            price = price.quantize(Decimal("0.01"))
            entry = existing.get((kind, item.pk))
            if entry is None:
                new.append(PriceBookEntry(price_book=book, position=position, list_price=price, **{kind: item}))
                existing[(kind, item.pk)] = new[-1]
                position += 1
                counts["added"] += 1
            elif replace_existing and entry.pk and entry.list_price != price:
                entry.list_price = price
                changed.append(entry)
                counts["updated"] += 1
            else:
                counts["skipped"] += 1
        PriceBookEntry.objects.bulk_create(new)
        if changed:
            PriceBookEntry.objects.bulk_update(changed, ["list_price"])

    linked_rows_write(spec=_spec(), actor=actor, record_id=price_book_id, key="prices", read=prices_read, write=write)
    return counts
