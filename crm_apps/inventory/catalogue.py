"""The documents' one door to the catalogue and finance apps (products, services, price books, taxes,
charges, company details): every read the documents need from them, in one place, one query each."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from crm_apps.engine import currency as engine_currency

ItemKey = tuple[str, Any]


def item_prices(
    *, product_ids: Iterable[Any], service_ids: Iterable[Any], currency: str, price_book_id: Any
) -> dict[ItemKey, Decimal]:
    """List prices of items in the document's currency: the price book's entry when the document names a
    book (of that currency), else the item's unit price converted at the stored rates."""
    from crm_apps.modules.pricebooks.models import PriceBook, PriceBookEntry
    from crm_apps.modules.products.models import Product
    from crm_apps.modules.services.models import Service

    product_ids, service_ids = set(product_ids), set(service_ids)
    found: dict[ItemKey, Decimal] = {}
    if price_book_id is not None:
        book = PriceBook.objects.filter(pk=price_book_id, deleted_at__isnull=True).values("currency").first()
        if book is not None and book["currency"] == currency:
            for entry in PriceBookEntry.objects.filter(price_book_id=price_book_id).filter(
                product_id__in=product_ids
            ) | PriceBookEntry.objects.filter(price_book_id=price_book_id, service_id__in=service_ids):
                key = ("product", entry.product_id) if entry.product_id else ("service", entry.service_id)
                found[key] = entry.list_price
    table = engine_currency.rates()
    for kind, model, ids in (("product", Product, product_ids), ("service", Service, service_ids)):
        missing = [i for i in ids if (kind, i) not in found]
        if not missing:
            continue
        for pk, price, item_currency in model.objects.filter(pk__in=missing).values_list(
            "pk", "unit_price", "currency"
        ):
            found[(kind, pk)] = convert(price or Decimal(0), item_currency, currency, table)
    return found


def convert(amount: Decimal, source: str, target: str, table: engine_currency.Rates) -> Decimal:
    """An amount from one currency to another through the base currency (unrounded)."""
    if not source or source == target or table.base is None:
        return amount
    to_base = amount * (Decimal(1) if source == table.base else table.rates.get(source, Decimal(1)))
    rate = Decimal(1) if target == table.base else table.rates.get(target, Decimal(1))
    return to_base / rate


def item_taxes(
    *, product_ids: Iterable[Any], service_ids: Iterable[Any]
) -> dict[ItemKey, list[tuple[int, Decimal | None]]]:
    """The tax classes of items: (tax id, percent or None for the tax's own), in their order."""
    from crm_apps.modules.products.models import ProductTax
    from crm_apps.modules.services.models import ServiceTax

    found: dict[ItemKey, list[tuple[int, Decimal | None]]] = {}
    product_ids, service_ids = set(product_ids), set(service_ids)
    if product_ids:
        for row in ProductTax.objects.filter(product_id__in=product_ids, tax__active=True).order_by("position", "id"):
            found.setdefault(("product", row.product_id), []).append((row.tax_id, row.percent))
    if service_ids:
        for row in ServiceTax.objects.filter(service_id__in=service_ids, tax__active=True).order_by("position", "id"):
            found.setdefault(("service", row.service_id), []).append((row.tax_id, row.percent))
    return found


def tax_percents(tax_ids: Iterable[int]) -> dict[int, Decimal]:
    """The current percentage of each existing tax among `tax_ids`."""
    from crm_apps.finance.models import Tax

    ids = {int(i) for i in tax_ids}
    if not ids:
        return {}
    return dict(Tax.objects.filter(pk__in=ids).values_list("pk", "percent"))


def tax_names(tax_ids: Iterable[int]) -> dict[int, str]:
    from crm_apps.finance.models import Tax

    ids = {int(i) for i in tax_ids}
    return {tax.pk: tax.display_name for tax in Tax.objects.filter(pk__in=ids)} if ids else {}


def shipping_tax_default() -> Decimal:
    """The taxes of the workspace's first active charge (vtiger's "Shipping & Handling"), summed: the
    shipping tax percentage a new document starts with."""
    from crm_apps.finance.models import Charge

    charge = Charge.objects.filter(active=True).prefetch_related("taxes").order_by("position", "id").first()
    if charge is None:
        return Decimal(0)
    return sum((tax.percent for tax in charge.taxes.all() if tax.active), Decimal(0))


def company_details() -> Any:
    """The workspace's company details row, or None."""
    from crm_apps.finance.models import CompanyDetails

    return CompanyDetails.objects.first()


LOGO_MAX_SIDE = 1200  # pixels: plenty for a logo printed a few centimetres wide
LOGO_INLINE_BYTES = 512 * 1024  # smaller logos go into the PDF as uploaded
LOGO_MAX_PIXELS = 40_000_000  # refuse to decode anything bigger (a decompression bomb)


def _logo_for_pdf(data: bytes, content_type: str) -> tuple[bytes, str]:
    """The logo as the PDF embeds it: as uploaded when small, else scaled down to `LOGO_MAX_SIDE` and
    re-encoded (PNG, or JPEG for photos), so any accepted upload (up to 5 MB) prints whole. (b"", "") when
    the picture cannot be decoded safely."""
    if len(data) <= LOGO_INLINE_BYTES:
        return data, content_type
    import io

    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > LOGO_MAX_PIXELS:
                return b"", ""
            image.thumbnail((LOGO_MAX_SIDE, LOGO_MAX_SIDE))
            out = io.BytesIO()
            if content_type == "image/jpeg":
                image.convert("RGB").save(out, format="JPEG", quality=85)
                return out.getvalue(), "image/jpeg"
            image.save(out, format="PNG", optimize=True)
            return out.getvalue(), "image/png"
    except (OSError, ValueError, Image.DecompressionBombError):
        return b"", ""


def company_logo_data_uri(company: Any) -> str:
    """The company logo as a data: URI for the PDF (nothing is fetched over the network), or ""."""
    import base64

    if company is None or not company.logo_storage_name:
        return ""
    from django.core.files.storage import default_storage  # per tenant: MEDIA_ROOT/<schema>/

    try:
        with default_storage.open(company.logo_storage_name, "rb") as handle:
            data = handle.read(6 * 1024 * 1024)  # uploads are at most 5 MB (crm_apps.finance.files)
    except (OSError, ValueError):
        return ""
    data, content_type = _logo_for_pdf(data, company.logo_content_type or "image/png")
    if not data:
        return ""
    return f"data:{content_type};base64,{base64.b64encode(data).decode()}"
