"""Stock follows the documents: an invoice at the configured status takes its products out, a purchase
order at "Received Shipment" puts them in, cancelling (or deleting) either reverses what it applied.

Every change is a `StockMovement` row and one set-based UPDATE of the products' `qty_in_stock`
(`qty_in_stock = qty_in_stock + CASE id WHEN ... END`), in the document's transaction. What a document
applied is kept in `DocumentStockState`, so applying twice or reversing twice is impossible and a
reversal puts back exactly what was taken. Editing the lines of a document that has moved stock moves the
difference (an "adjustment" row), so its stock always matches its lines. A product that reaches its
reorder level is flagged (Product.below_reorder_level) and its stock handler (else owner) notified."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Case, F, Value, When

from crm_apps.access.models import Member
from crm_apps.inventory.models import DocumentStockState, StockMovement
from crm_apps.inventory.notifications import LOW_STOCK
from crm_apps.inventory.settings import document_settings

CANCELLED = {"invoices": "Cancel", "purchase-orders": "Cancelled"}
SIGN = {"invoices": Decimal(-1), "purchase-orders": Decimal(1)}


BUNDLE_DEPTH = 5  # bundles inside bundles are followed this deep (a bundle never contains itself)


def _quantities(record: Any) -> dict[str, Decimal]:
    """Product id -> quantity on the document's product lines (services and free text do not move stock).
    A bundle moves itself and its products, `quantity per bundle x bundles` each (as vtiger does for a
    product with sub-products), bundles inside bundles too; one query per level."""
    from crm_apps.modules.products.models import ProductBundleItem

    totals: dict[str, Decimal] = {}
    for product_id, quantity in record.lines.filter(product__isnull=False).values_list("product_id", "quantity"):
        totals[str(product_id)] = totals.get(str(product_id), Decimal(0)) + quantity
    level = dict(totals)
    for _depth in range(BUNDLE_DEPTH):
        items = ProductBundleItem.objects.filter(bundle_id__in=list(level)).values_list(
            "bundle_id", "product_id", "quantity"
        )
        inner: dict[str, Decimal] = {}
        for bundle_id, product_id, per_bundle in items:
            inner[str(product_id)] = inner.get(str(product_id), Decimal(0)) + per_bundle * level[str(bundle_id)]
        if not inner:
            break
        for product_id, quantity in inner.items():
            totals[product_id] = totals.get(product_id, Decimal(0)) + quantity
        level = inner
    return totals


def stock_follow(*, module: str, record: Any, actor: Member | None, deleted: bool = False) -> None:
    """Apply or reverse the document's stock so that it matches its status (idempotent)."""
    if module not in SIGN:
        return
    # The document's row is locked by the write that called us, so its state row cannot race.
    state = DocumentStockState.objects.filter(module=module, record_id=record.pk).first()
    applied = state is not None and state.applied
    wanted_status = document_settings(module).stock_status
    should_apply = (
        not deleted
        and bool(wanted_status)
        and record.status != CANCELLED[module]
        and (applied or record.status == wanted_status)
    )
    if should_apply and not applied:
        if state is None:
            state = DocumentStockState(module=module, record_id=record.pk)
        quantities = _quantities(record)
        movements = {pid: SIGN[module] * qty for pid, qty in quantities.items() if qty}
        kind = StockMovement.Kind.OUT if module == "invoices" else StockMovement.Kind.IN
        stock_move(movements=movements, kind=kind, module=module, record=record, actor=actor)
        state.applied = True
        state.quantities = {pid: str(qty) for pid, qty in movements.items()}
        state.save()
    elif should_apply and applied and state is not None:
        # Lines edited on a document that has already moved stock: move only the difference, so the
        # document's stock is what its lines say now (and a later reversal still puts back exactly that).
        now = {pid: SIGN[module] * qty for pid, qty in _quantities(record).items() if qty}
        before = {pid: Decimal(qty) for pid, qty in state.quantities.items()}
        difference = {pid: now.get(pid, Decimal(0)) - before.get(pid, Decimal(0)) for pid in {*now, *before}}
        if any(difference.values()):
            stock_move(
                movements=difference, kind=StockMovement.Kind.ADJUSTMENT, module=module, record=record, actor=actor
            )
            state.quantities = {pid: str(qty) for pid, qty in now.items()}
            state.save(update_fields=["quantities"])
    elif not should_apply and applied and state is not None:
        movements = {pid: -Decimal(qty) for pid, qty in state.quantities.items()}
        stock_move(movements=movements, kind=StockMovement.Kind.REVERSAL, module=module, record=record, actor=actor)
        state.applied = False
        state.quantities = {}
        state.save(update_fields=["applied", "quantities"])


def stock_move(*, movements: dict[str, Decimal], kind: str, module: str, record: Any, actor: Member | None) -> None:
    """Write the ledger rows and move the products' stock on hand in one UPDATE; notify low stock."""
    from crm_apps.modules.products.models import Product

    movements = {pid: qty for pid, qty in movements.items() if qty}
    if not movements:
        return
    StockMovement.objects.bulk_create(
        [
            StockMovement(
                product_id=pid,
                quantity=qty,
                kind=kind,
                module=module,
                record_id=record.pk,
                document_number=record.number or "",
                actor=actor,
            )
            for pid, qty in movements.items()
        ]
    )
    before = dict(Product.objects.filter(pk__in=list(movements)).values_list("pk", "qty_in_stock"))
    Product.objects.filter(pk__in=list(movements)).update(
        qty_in_stock=F("qty_in_stock")
        + Case(*[When(pk=pid, then=Value(qty)) for pid, qty in movements.items()], default=Value(Decimal(0)))
    )
    _low_stock_notify(before, actor)


def _low_stock_notify(before: dict[Any, Decimal], actor: Member | None) -> None:
    """Products that just reached their reorder level: one notification to the handler (else owner)."""
    from crm_apps.modules.products.models import Product
    from crm_apps.notifications.services import notification_send

    crossed = Product.objects.filter(pk__in=list(before), reorder_level__gt=0, qty_in_stock__lte=F("reorder_level"))
    for product in crossed.select_related("handler", "owner"):
        if before.get(product.pk, Decimal(0)) <= product.reorder_level:
            continue  # already below: notified when it got there
        recipient = product.handler or product.owner
        if recipient is None:
            continue
        notification_send(
            recipient=recipient,
            kind=LOW_STOCK,
            module="products",
            record_id=product.pk,
            actor=None,
            params={"record": str(product), "stock": str(product.qty_in_stock.normalize())},
            url=f"/m/products/{product.pk}/",
        )


def stock_change_listener(spec: Any, record: Any, changes: dict[str, list[Any]], actor: Member, created: bool) -> None:
    """Engine change listener: a document created at, or moved to, a stock status moves stock; editing the
    lines of a document that has moved stock moves the difference."""
    if spec.key in SIGN and (created or "status" in changes or "lines" in changes):
        stock_follow(module=spec.key, record=record, actor=actor)


def stock_delete_listener(module: str, event: str, ids: list[str]) -> None:
    """Engine record listener: a deleted document gives back what it applied; a restored one applies its
    stock again when its status says so."""
    from crm_apps.engine import registry
    from crm_apps.engine.events import DELETED, RESTORED

    if module not in SIGN:
        return
    spec = registry.get(module)
    if event == RESTORED:
        for record in spec.records().filter(pk__in=ids):
            stock_follow(module=module, record=record, actor=None)
        return
    if event != DELETED:
        return
    applied = DocumentStockState.objects.filter(module=module, record_id__in=ids, applied=True).values_list(
        "record_id", flat=True
    )
    for record in spec.records().filter(pk__in=list(applied)):
        stock_follow(module=module, record=record, actor=None, deleted=True)
