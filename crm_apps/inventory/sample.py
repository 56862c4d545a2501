"""Demo documents for `manage.py seed_demo`: quotes from the sample deals with catalogue lines, sales
orders and invoices converted from them (one paid in part), a purchase order to a vendor."""

from __future__ import annotations

from typing import Any

from crm_apps.engine import registry
from crm_apps.engine.sample_data import SampleContext
from crm_apps.engine.services import record_create
from crm_apps.inventory.conversions import document_convert


def _lines(ctx: SampleContext) -> list[dict[str, Any]]:
    products = ctx.records.get("products", [])
    services = ctx.records.get("services", [])
    lines: list[dict[str, Any]] = [
        {"product": str(p.pk), "quantity": str(ctx.rng.randint(1, 5))}
        for p in ctx.rng.sample(products, min(2, len(products)))
    ]
    lines += [{"service": str(s.pk), "quantity": "1", "discount_percent": "10"} for s in services[:1]]
    if not lines:
        lines = [{"description": "Consulting day", "quantity": "2", "list_price": "650.00"}]
    return lines


def _keep(ctx: SampleContext, module: str, records: list[Any]) -> None:
    ctx.records.setdefault(module, []).extend(records)


def quotes_sample(ctx: SampleContext) -> None:
    spec = registry.get("quotes")
    for deal in ctx.records.get("deals", [])[:3]:
        data = {"subject": deal.name[:200], "deal": str(deal.pk), "currency": deal.currency, "discount_percent": "5"}
        if deal.organization_id:
            data["organization"] = str(deal.organization_id)
        if deal.contact_id:
            data["contact"] = str(deal.contact_id)
        quote = record_create(spec=spec, actor=ctx.admin, data=data, children={"lines": _lines(ctx)})
        _keep(ctx, "quotes", [quote])


def sales_orders_sample(ctx: SampleContext) -> None:
    for quote in ctx.records.get("quotes", [])[:2]:
        _keep(
            ctx,
            "sales-orders",
            document_convert(actor=ctx.admin, source_module="quotes", source=quote, to="sales_order"),
        )


def invoices_sample(ctx: SampleContext) -> None:
    from crm_apps.modules.invoices.services import payment_record

    for order in ctx.records.get("sales-orders", [])[:1]:
        invoices = document_convert(actor=ctx.admin, source_module="sales-orders", source=order, to="invoice")
        _keep(ctx, "invoices", invoices)
        for invoice in invoices:
            if invoice.grand_total > 1:
                payment_record(
                    actor=ctx.admin,
                    invoice=invoice,
                    amount=str((invoice.grand_total / 2).quantize(invoice.grand_total)),
                )


def purchase_orders_sample(ctx: SampleContext) -> None:
    vendors = ctx.records.get("vendors", [])
    if not vendors:
        return
    spec = registry.get("purchase-orders")
    order = record_create(
        spec=spec,
        actor=ctx.admin,
        data={"subject": "Restock", "vendor": str(vendors[0].pk)},
        children={"lines": _lines(ctx)},
    )
    _keep(ctx, "purchase-orders", [order])
