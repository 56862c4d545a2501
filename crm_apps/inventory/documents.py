"""What the four document modules share: the totals hook, defaults on create, and the spec factory.

`document_spec(...)` builds a module's `ModuleSpec` with the two child tables (`lines`, and `taxes` for
group mode), the header/totals/address/terms blocks, the hooks and the PDF/send/convert actions, so a
document module is its models, its specific fields and its services."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy

from crm_apps.engine import currency as engine_currency
from crm_apps.engine.spec import Action, Block, ChildSpec, Menu, ModuleHooks, ModuleSpec, Panel, Related
from crm_apps.inventory import catalogue
from crm_apps.inventory.fields import MoneyField
from crm_apps.inventory.line_taxes import LINE_TAXES
from crm_apps.inventory.models import InventoryDocument
from crm_apps.inventory.totals import DocumentInput, LineInput, TaxRate, compute_totals, minor_unit, money_round

LINE_FIELDS = (
    "product",
    "service",
    "description",
    "quantity",
    "list_price",
    "discount_percent",
    "discount_amount",
    "taxes",
)
TOTALS_FIELDS = ("subtotal", "discount_total", "tax_total", "grand_total")
DEFAULT_CURRENCY = "EUR"


def _rows(model: type[models.Model], fk: str, record: Any) -> list[Any]:
    if record.pk is None or record._state.adding:
        return []
    return list(model._default_manager.filter(**{fk: record.pk}).order_by("position", "pk"))


def document_totals_apply(
    record: InventoryDocument, lines: list[Any] | None = None, taxes: list[Any] | None = None
) -> None:
    """Fill the lines' defaults (list price, taxes from the item), compute every amount with
    `compute_totals` and set them on the rows (saved here) and on the record (saved by the caller).
    Raises ValidationError naming the row (`lines.2.taxes`) for a tax that does not exist."""
    spec_lines = record.line_child  # type: ignore[attr-defined]
    spec_taxes = record.tax_child  # type: ignore[attr-defined]
    if lines is None:
        lines = _rows(spec_lines.model, spec_lines.fk, record)
    if taxes is None:
        taxes = _rows(spec_taxes.model, spec_taxes.fk, record)
    currency = record.currency or DEFAULT_CURRENCY
    places = minor_unit(currency)

    # Prices and tax classes of the items, one query per kind.
    missing_price = [line for line in lines if line.list_price is None]
    if missing_price:
        prices = catalogue.item_prices(
            product_ids={line.product_id for line in missing_price if line.product_id},
            service_ids={line.service_id for line in missing_price if line.service_id},
            currency=currency,
            price_book_id=record.price_book_id,
        )
        for line in missing_price:
            key = ("product", line.product_id) if line.product_id else ("service", line.service_id)
            price = prices.get(key)
            line.list_price = money_round(price, places) if price is not None else Decimal(0)
    no_taxes = [line for line in lines if line.taxes is None]
    if no_taxes:
        classes = catalogue.item_taxes(
            product_ids={line.product_id for line in no_taxes if line.product_id},
            service_ids={line.service_id for line in no_taxes if line.service_id},
        )
        for line in no_taxes:
            key = ("product", line.product_id) if line.product_id else ("service", line.service_id)
            line.taxes = [
                {"tax": tax_id, "percent": None if rate is None else plain_percent(rate)}
                for tax_id, rate in classes.get(key, [])
            ]

    # Every tax named, one query: unknown ids are refused, an empty percentage takes the tax's own.
    tax_ids = {item["tax"] for line in lines for item in (line.taxes or [])} | {
        row.tax_id for row in taxes if row.tax_id is not None
    }
    known = catalogue.tax_percents(tax_ids)
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        for item in line.taxes or []:
            if item["tax"] not in known:
                errors[f"lines.{index}.taxes"] = [_("Choose an existing tax.")]
            elif item.get("percent") in (None, ""):
                item["percent"] = plain_percent(known[item["tax"]])
    if errors:
        raise ValidationError(errors)
    for row in taxes:
        if row.percent is None:
            row.percent = known.get(row.tax_id, Decimal(0))

    doc = DocumentInput(
        currency=currency,
        tax_mode=record.tax_mode,
        lines=[
            LineInput(
                quantity=line.quantity,
                list_price=line.list_price,
                discount_percent=line.discount_percent,
                discount_amount=line.discount_amount,
                taxes=[TaxRate(str(item["tax"]), Decimal(str(item["percent"]))) for item in line.taxes or []],
            )
            for line in lines
        ],
        taxes=[TaxRate(str(row.tax_id or f"name:{row.name}"), Decimal(row.percent)) for row in taxes],
        discount_percent=record.discount_percent,
        discount_amount=record.discount_amount,
        shipping=record.shipping or Decimal(0),
        shipping_taxes=[TaxRate("shipping", Decimal(record.shipping_tax_percent or 0))],
        adjustment=record.adjustment or Decimal(0),
    )
    totals = compute_totals(doc)
    for line, amounts in zip(lines, totals.lines, strict=True):
        line.net_amount = amounts.net
        line.tax_amount = money_round(amounts.tax, places)
        for item, amount in zip(line.taxes or [], amounts.taxes, strict=True):
            item["amount"] = str(amount)
    for row, amount in zip(taxes, totals.group_taxes, strict=True):
        row.amount = amount
    saved_lines = [line for line in lines if line.pk is not None]
    if saved_lines:
        spec_lines.model._default_manager.bulk_update(saved_lines, ["list_price", "taxes", "net_amount", "tax_amount"])
    saved_taxes = [row for row in taxes if row.pk is not None]
    if saved_taxes:
        spec_taxes.model._default_manager.bulk_update(saved_taxes, ["percent", "amount"])
    record.subtotal = totals.subtotal
    record.discount_total = totals.discount_total
    record.tax_total = totals.tax_total
    record.grand_total = totals.grand_total
    if hasattr(record, "balance"):  # invoices: what is left to pay follows the total
        record.balance = money_round(totals.grand_total - Decimal(getattr(record, "received", 0) or 0), places)


def plain_percent(value: Decimal) -> str:
    """A percentage as a short decimal string: 20.000 -> "20", 8.875 -> "8.875"."""
    return format(Decimal(value).normalize(), "f")


def _lines_hook(record: Any, rows: list[Any]) -> None:
    document_totals_apply(record, lines=rows)


def _taxes_hook(record: Any, rows: list[Any]) -> None:
    document_totals_apply(record, taxes=rows)


def document_defaults(record: InventoryDocument) -> None:
    """A new document: the base currency, the exchange rate of the day, the module's default terms and
    the addresses of its organisation (or contact) where the client left them empty."""
    from crm_apps.inventory.settings import document_settings

    if not record.currency:
        record.currency = engine_currency.base_currency() or DEFAULT_CURRENCY
    if not record.status:
        record.status = record.default_status  # type: ignore[attr-defined]
    table = engine_currency.rates()
    if table.base is None or record.currency == table.base:
        record.exchange_rate = Decimal(1)
    else:
        record.exchange_rate = table.rates.get(record.currency, Decimal(1))
    if not record.terms_conditions:
        record.terms_conditions = document_settings(record.module_key).terms_conditions  # type: ignore[attr-defined]
    addresses_fill(record)


def addresses_fill(record: InventoryDocument) -> None:
    """Copy billing/shipping addresses from the organisation, else the contact's mailing address, into
    the blocks the document leaves empty (they stay editable on the document)."""
    parts = ("street", "city", "state", "postal_code", "country")
    source = record.organization if record.organization_id else None
    contact = record.contact if record.contact_id else None
    for which in ("billing", "shipping"):
        if any(getattr(record, f"{which}_{p}") for p in (*parts, "po_box")):
            continue
        for part in parts:
            value = ""
            if source is not None:
                value = getattr(source, f"{which}_{part}", "") or ""
            if not value and contact is not None:
                value = getattr(contact, f"mailing_{part}", "") or ""
            setattr(record, f"{which}_{part}", value)


def document_before_save(record: Any) -> None:
    """The invariant of every save: inputs at the currency's minor unit and totals from the stored rows
    (the totals hooks recompute them once changed rows are written)."""
    if record._state.adding:
        document_defaults(record)
    places = minor_unit(record.currency or DEFAULT_CURRENCY)
    for name in ("discount_amount", "shipping", "adjustment"):
        value = getattr(record, name)
        if value is not None:
            setattr(record, name, money_round(Decimal(value), places))
    document_totals_apply(record)
    # Decimals as their column stores them ("0.000", "1.0000000000"), so the answer to a write is what a
    # read returns; amounts (MoneyField) keep the currency's scale.
    for field in record._meta.concrete_fields:
        value = getattr(record, field.attname)
        if isinstance(field, models.DecimalField) and not isinstance(field, MoneyField) and value is not None:
            setattr(record, field.attname, Decimal(value).quantize(Decimal(1).scaleb(-field.decimal_places)))


def document_spec(
    *,
    key: str,
    model: type[InventoryDocument],
    line_model: type[models.Model],
    tax_model: type[models.Model],
    fk: str,
    label: Any,
    label_plural: Any,
    prefix: str,
    icon: str,
    vtiger_module: str,
    status_picklist: str,
    statuses: Sequence[str],
    header: Sequence[str],
    list_columns: Sequence[str],
    filters: Sequence[str],
    extra_blocks: Sequence[Block] = (),
    related: Sequence[Related] = (),
    record_actions: Sequence[Action] = (),
    panels: Sequence[Panel] = (),
    readonly: Sequence[str] = (),
    menu_position: int = 50,
    example: dict[str, Any] | None = None,
    vtiger_fields: dict[str, str] | None = None,
    after_save: Callable[[Any, Any], None] | None = None,
    sample_data: Any = None,
    sample_after: tuple[str, ...] = ("organizations", "contacts", "deals"),
    settings_pages: Sequence[Any] = (),
    extra_picklists: dict[str, str] | None = None,
    extra_totals: tuple[str, ...] = (),
) -> ModuleSpec:
    lines = ChildSpec(
        key="lines",
        model=line_model,
        fk=fk,
        fields=LINE_FIELDS,
        label=_lazy("Items"),
        computed_fields=("net_amount", "tax_amount"),
        min_rows=0,
        max_rows=200,
        totals_hook=_lines_hook,
        totals_fields=(*TOTALS_FIELDS, *extra_totals),
        row_amount=("quantity", "list_price"),
        row_fields={"taxes": LINE_TAXES},
    )
    taxes = ChildSpec(
        key="taxes",
        model=tax_model,
        fk=fk,
        fields=("tax", "name", "percent"),
        label=_lazy("Taxes on the total (group mode)"),
        computed_fields=("amount",),
        max_rows=10,
        totals_hook=_taxes_hook,
        totals_fields=(*TOTALS_FIELDS, *extra_totals),
    )
    model.line_child = lines  # type: ignore[attr-defined]
    model.tax_child = taxes  # type: ignore[attr-defined]
    model.module_key = key  # type: ignore[attr-defined]
    model.default_status = "Created" if "Created" in statuses else statuses[0]  # type: ignore[attr-defined]
    address = tuple(
        f"{w}_{p}"
        for w in ("billing", "shipping")
        for p in ("street", "po_box", "city", "state", "postal_code", "country")
    )
    return ModuleSpec(
        key=key,
        model=model,
        label=label,
        label_plural=label_plural,
        icon=icon,
        number_prefix=prefix,
        title_fields=("subject",),
        blocks=(
            Block("main", label, tuple(header)),
            *extra_blocks,
            Block(
                "totals",
                _lazy("Totals"),
                (
                    "currency",
                    "price_book",
                    "tax_mode",
                    "discount_percent",
                    "discount_amount",
                    "shipping",
                    "shipping_tax_percent",
                    "adjustment",
                    "subtotal",
                    "discount_total",
                    "tax_total",
                    "grand_total",
                    "exchange_rate",
                ),
            ),
            Block("address", _lazy("Addresses"), address),
            Block("terms", _lazy("Terms and conditions"), ("terms_conditions",)),
            Block("description", _lazy("Description"), ("description",)),
        ),
        list_columns=tuple(list_columns),
        search_fields=("subject",),
        filter_fields=tuple(filters),
        picklists={"status": status_picklist, "carrier": "inventory_carrier", **(extra_picklists or {})},
        default_picklists={status_picklist: list(statuses), "inventory_carrier": list(CARRIERS)},
        readonly_fields=(*TOTALS_FIELDS, "exchange_rate", *readonly),
        hooks=ModuleHooks(before_save=document_before_save, after_save=after_save),
        children=(lines, taxes),
        example=example or {"subject": "Hammocks for Globex", "currency": "EUR"},
        example_children={
            "lines": [
                {"description": "Hammock, blue", "quantity": "2", "list_price": "120.00"},
                {"description": "Installation", "quantity": "1", "list_price": "50.00", "discount_percent": "10"},
            ],
            "taxes": [{"name": "VAT", "percent": "20"}, {"name": "Eco fee", "percent": "1.5"}],
        },
        related=tuple(related),
        record_actions=tuple(record_actions),
        panels=tuple(panels),
        menu=Menu(group="inventory", position=menu_position),
        urls=f"crm_apps.modules.{key.replace('-', '')}.urls",
        api_urls=f"crm_apps.modules.{key.replace('-', '')}.api_urls",
        vtiger_module=vtiger_module,
        vtiger_fields=vtiger_fields or {},
        sample_data=sample_data,
        sample_data_after=sample_after,
        settings_pages=tuple(settings_pages),
    )


CARRIERS = ("FedEx", "UPS", "USPS", "DHL", "BlueDart")

# vtiger's names of the shared document fields (issue 17's import and webservice read them).
VTIGER_FIELDS = {
    "subject": "subject",
    "organization": "account_id",
    "contact": "contact_id",
    "deal": "potential_id",
    "carrier": "carrier",
    "currency": "currency_id",
    "exchange_rate": "conversion_rate",
    "tax_mode": "hdnTaxType",
    "discount_percent": "hdnDiscountPercent",
    "discount_amount": "hdnDiscountAmount",
    "shipping": "hdnS_H_Amount",
    "adjustment": "txtAdjustment",
    "subtotal": "hdnSubTotal",
    "grand_total": "hdnGrandTotal",
    "terms_conditions": "terms_conditions",
    "description": "description",
    "billing_street": "bill_street",
    "billing_city": "bill_city",
    "billing_state": "bill_state",
    "billing_postal_code": "bill_code",
    "billing_country": "bill_country",
    "billing_po_box": "bill_pobox",
    "shipping_street": "ship_street",
    "shipping_city": "ship_city",
    "shipping_state": "ship_state",
    "shipping_postal_code": "ship_code",
    "shipping_country": "ship_country",
    "shipping_po_box": "ship_pobox",
}
