"""Stock follows the documents: the ledger, the set-based stock update, reversal and low-stock notices."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django_tenants.utils import tenant_context

from crm_apps.inventory.tests.conftest import post

pytestmark = pytest.mark.django_db


def _invoice(api, catalogue, quantity="4", status="Created"):
    response = post(
        api,
        "/api/v1/invoices/",
        {
            "subject": "Stock",
            "status": status,
            "lines": [
                {"product": str(catalogue.hammock.pk), "quantity": quantity},
                {"service": str(catalogue.install.pk), "quantity": "1"},
                {"description": "Free text", "quantity": "1", "list_price": "1"},
            ],
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _stock(tenant, product):
    with tenant_context(tenant):
        product.refresh_from_db()
        return product.qty_in_stock


def _set_status(api, module, doc, status):
    current = api.get(f"/api/v1/{module}/{doc['id']}/").json()
    response = api.patch(
        f"/api/v1/{module}/{doc['id']}/",
        {"status": status, "version": current["version"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    return response.json()


def test_invoice_takes_stock_out_at_its_status_and_cancel_puts_it_back(api, catalogue, tenant_a):
    from crm_apps.inventory.models import StockMovement

    invoice = _invoice(api, catalogue)
    assert _stock(tenant_a, catalogue.hammock) == Decimal(10)  # "Created" does not ship
    _set_status(api, "invoices", invoice, "Approved")
    assert _stock(tenant_a, catalogue.hammock) == Decimal(6)
    _set_status(api, "invoices", invoice, "Sent")  # still shipped, not twice
    assert _stock(tenant_a, catalogue.hammock) == Decimal(6)
    _set_status(api, "invoices", invoice, "Cancel")
    assert _stock(tenant_a, catalogue.hammock) == Decimal(10)
    with tenant_context(tenant_a):
        ledger = list(StockMovement.objects.filter(product=catalogue.hammock).order_by("created_at", "id"))
        assert [(m.kind, m.quantity) for m in ledger] == [("out", Decimal(-4)), ("reversal", Decimal(4))]
        assert ledger[0].document_number == invoice["number"]
        # The ledger sums to the change of stock on hand.
        assert sum(m.quantity for m in ledger) == Decimal(0)


def test_invoice_created_at_the_stock_status_ships_at_once_and_deleting_reverses(api, catalogue, tenant_a):
    invoice = _invoice(api, catalogue, quantity="2", status="Approved")
    assert _stock(tenant_a, catalogue.hammock) == Decimal(8)
    assert api.delete(f"/api/v1/invoices/{invoice['id']}/").status_code == 204
    assert _stock(tenant_a, catalogue.hammock) == Decimal(10)
    # restored from the recycle bin: shipped again
    assert api.post(f"/api/v1/invoices/{invoice['id']}/restore").status_code == 200
    assert _stock(tenant_a, catalogue.hammock) == Decimal(8)


def test_received_purchase_order_puts_stock_in(api, catalogue, tenant_a):
    order = post(
        api,
        "/api/v1/purchase-orders/",
        {
            "subject": "Restock",
            "vendor": str(catalogue.vendor2.pk),
            "lines": [{"product": str(catalogue.hammock.pk), "quantity": "5", "list_price": "60"}],
        },
    ).json()
    _set_status(api, "purchase-orders", order, "Received Shipment")
    assert _stock(tenant_a, catalogue.hammock) == Decimal(15)
    _set_status(api, "purchase-orders", order, "Cancelled")
    assert _stock(tenant_a, catalogue.hammock) == Decimal(10)


def test_configurable_stock_status(api, catalogue, tenant_a, admin_of):
    from crm_apps.inventory.settings import document_settings_update

    with tenant_context(tenant_a):
        document_settings_update(actor=admin_of(tenant_a), module="invoices", terms_conditions="", stock_status="Sent")
    invoice = _invoice(api, catalogue, quantity="1")
    _set_status(api, "invoices", invoice, "Approved")
    assert _stock(tenant_a, catalogue.hammock) == Decimal(10)
    _set_status(api, "invoices", invoice, "Sent")
    assert _stock(tenant_a, catalogue.hammock) == Decimal(9)


def test_reaching_the_reorder_level_flags_and_notifies_the_owner(api, catalogue, tenant_a, member, admin_of):
    from crm_apps.notifications.models import Notification

    owner = member(tenant_a)
    with tenant_context(tenant_a):
        type(catalogue.hammock).objects.filter(pk=catalogue.hammock.pk).update(owner=owner)
    _invoice(api, catalogue, quantity="7", status="Approved")  # 10 -> 3, the reorder level
    with tenant_context(tenant_a):
        catalogue.hammock.refresh_from_db()
        assert catalogue.hammock.qty_in_stock == Decimal(3)
        assert catalogue.hammock.below_reorder_level
        notes = list(Notification.objects.filter(recipient=owner, kind="low_stock"))
        assert len(notes) == 1 and notes[0].record_id == catalogue.hammock.pk
    _invoice(api, catalogue, quantity="1", status="Approved")  # already below: no second notice
    with tenant_context(tenant_a):
        assert Notification.objects.filter(recipient=owner, kind="low_stock").count() == 1


def test_a_bundle_moves_its_products_too_and_the_reversal_puts_them_back(api, catalogue, tenant_a):
    from crm_apps.modules.products.models import Product, ProductBundleItem

    with tenant_context(tenant_a):
        kit = Product.objects.create(
            number="PRO-T9", name="Garden kit", unit_price=Decimal("150"), currency="EUR", qty_in_stock=Decimal(5)
        )
        ProductBundleItem.objects.create(bundle=kit, product=catalogue.hammock, quantity=Decimal(1))
        ProductBundleItem.objects.create(bundle=kit, product=catalogue.rope, quantity=Decimal(2))
        box = Product.objects.create(number="PRO-T8", name="Gift box", unit_price=Decimal("300"), currency="EUR")
        ProductBundleItem.objects.create(bundle=box, product=kit, quantity=Decimal(1))
    response = post(
        api,
        "/api/v1/invoices/",
        {
            "subject": "Kits",
            "status": "Approved",
            "lines": [
                {"product": str(kit.pk), "quantity": "2"},
                {"product": str(box.pk), "quantity": "1"},
                {"product": str(catalogue.rope.pk), "quantity": "1"},
            ],
        },
    )
    assert response.status_code == 201, response.json()

    shipped = {p.name: _stock(tenant_a, p) for p in (kit, box, catalogue.hammock, catalogue.rope)}
    _set_status(api, "invoices", response.json(), "Cancel")
    back = {p.name: _stock(tenant_a, p) for p in (kit, box, catalogue.hammock, catalogue.rope)}

    # kits: 2 sold + 1 inside the box; hammocks: 1 per kit; rope: 2 per kit + 1 sold alone
    assert shipped == {"Garden kit": Decimal(2), "Gift box": Decimal(-1), "Hammock": Decimal(7), "Rope": Decimal(-7)}
    assert back == {"Garden kit": Decimal(5), "Gift box": Decimal(0), "Hammock": Decimal(10), "Rope": Decimal(0)}


def test_editing_the_lines_of_a_shipped_invoice_moves_the_difference(api, catalogue, tenant_a):
    from crm_apps.inventory.models import StockMovement

    invoice = _set_status(api, "invoices", _invoice(api, catalogue, quantity="4"), "Approved")
    assert _stock(tenant_a, catalogue.hammock) == Decimal(6)
    lines = [
        {"id": row["id"], "product": row["product"], "service": row["service"], "quantity": "6"}
        if row["product"]
        else {"id": row["id"]}
        for row in invoice["lines"]
    ]
    response = api.patch(
        f"/api/v1/invoices/{invoice['id']}/",
        {"lines": lines, "version": invoice["version"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    assert _stock(tenant_a, catalogue.hammock) == Decimal(4)  # two more went out
    edited = response.json()
    # dropping the product line gives everything back; cancelling afterwards moves nothing more
    response = api.patch(
        f"/api/v1/invoices/{invoice['id']}/",
        {"lines": [{"id": row["id"]} for row in edited["lines"] if not row["product"]], "version": edited["version"]},
        content_type="application/json",
    )
    assert response.status_code == 200, response.json()
    assert _stock(tenant_a, catalogue.hammock) == Decimal(10)
    _set_status(api, "invoices", response.json(), "Cancel")
    assert _stock(tenant_a, catalogue.hammock) == Decimal(10)
    with tenant_context(tenant_a):
        ledger = StockMovement.objects.filter(product=catalogue.hammock).order_by("created_at", "id")
        assert [(m.kind, m.quantity) for m in ledger] == [
            ("out", Decimal(-4)),
            ("adjustment", Decimal(-2)),
            ("adjustment", Decimal(6)),
        ]
