"""Conversions keep lines and amounts and link back; they need the edit right on the source."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.inventory.tests.conftest import post, restricted

pytestmark = pytest.mark.django_db


def _quote(api, catalogue):
    response = post(
        api,
        "/api/v1/quotes/",
        {
            "subject": "Garden",
            "organization": str(catalogue.organization.pk),
            "contact": str(catalogue.contact.pk),
            "discount_percent": "5",
            "shipping": "15",
            "shipping_tax_percent": "20",
            "lines": [
                {"product": str(catalogue.hammock.pk), "quantity": "2"},
                {"product": str(catalogue.rope.pk), "quantity": "10", "discount_amount": "5"},
                {"service": str(catalogue.install.pk), "quantity": "1"},
            ],
        },
    )
    assert response.status_code == 201, response.json()
    return response.json()


def _amounts(doc):
    return {k: doc[k] for k in ("subtotal", "discount_total", "tax_total", "grand_total", "currency")}


def _lines(doc):
    keep = (
        "product",
        "service",
        "description",
        "quantity",
        "list_price",
        "discount_percent",
        "discount_amount",
        "net_amount",
        "tax_amount",
    )
    return [{k: line[k] for k in keep} for line in doc["lines"]]


def test_quote_to_sales_order_to_invoice_keeps_lines_and_amounts(api, catalogue):
    quote = _quote(api, catalogue)
    converted = post(api, f"/api/v1/quotes/{quote['id']}/convert", {"to": "sales_order"})
    assert converted.status_code == 201, converted.json()
    order = api.get(f"/api/v1/sales-orders/{converted.json()['results'][0]['id']}/").json()
    invoice_id = post(api, f"/api/v1/sales-orders/{order['id']}/convert", {"to": "invoice"}).json()["results"][0]["id"]
    invoice = api.get(f"/api/v1/invoices/{invoice_id}/").json()

    assert _amounts(order) == _amounts(quote) == _amounts(invoice)
    assert _lines(order) == _lines(quote) == _lines(invoice)
    assert order["quote"] == quote["id"]
    assert invoice["sales_order"] == order["id"]
    assert invoice["billing_street"] == quote["billing_street"] == "1 Main St"
    timeline = api.get(f"/api/v1/quotes/{quote['id']}/timeline/").json()
    assert any(entry["kind"] == "converted" for entry in timeline["results"])


def test_sales_order_to_purchase_orders_per_vendor(api, catalogue):
    quote = _quote(api, catalogue)
    order_id = post(api, f"/api/v1/quotes/{quote['id']}/convert", {"to": "sales_order"}).json()["results"][0]["id"]
    response = post(api, f"/api/v1/sales-orders/{order_id}/convert", {"to": "purchase_order"})
    assert response.status_code == 201, response.json()
    orders = response.json()["results"]
    assert {o["vendor"] for o in orders} == {str(catalogue.vendor.pk), str(catalogue.vendor2.pk)}
    by_vendor = {o["vendor"]: api.get(f"/api/v1/purchase-orders/{o['id']}/").json() for o in orders}
    assert [line["product"] for line in by_vendor[str(catalogue.vendor2.pk)]["lines"]] == [str(catalogue.hammock.pk)]
    assert [line["quantity"] for line in by_vendor[str(catalogue.vendor.pk)]["lines"]] == ["10.000"]
    assert all(o["sales_order"] == order_id for o in orders)


def test_deal_to_quote_is_prefilled(api, catalogue, tenant_a, admin_of):
    from crm_apps.engine import registry
    from crm_apps.engine.services import record_create

    with tenant_context(tenant_a):
        deal = record_create(
            spec=registry.get("deals"),
            actor=admin_of(tenant_a),
            data={
                "name": "Big garden",
                "close_date": "2027-01-31",
                "organization": str(catalogue.organization.pk),
                "contact": str(catalogue.contact.pk),
                "currency": "EUR",
            },
        )
    response = post(api, f"/api/v1/deals/{deal.pk}/convert", {"to": "quote"})
    assert response.status_code == 201, response.json()
    quote = response.json()["results"][0]
    assert quote["subject"] == "Big garden"
    assert quote["deal"] == str(deal.pk)
    assert quote["organization"] == str(catalogue.organization.pk)
    assert quote["billing_city"] == "Springfield"


def test_unknown_target_is_400(api, catalogue):
    quote = _quote(api, catalogue)
    response = post(api, f"/api/v1/quotes/{quote['id']}/convert", {"to": "invoice"})
    assert response.status_code == 400
    assert "to" in response.json()


def test_member_without_edit_rights_cannot_convert(api, catalogue, tenant_a, admin_of, member, client_for):
    quote = _quote(api, catalogue)
    reader = restricted(tenant_a, admin_of(tenant_a), member, flags={}, modules={"quotes": {"can_edit": False}})
    client = client_for(tenant_a, reader)
    assert client.get(f"/api/v1/quotes/{quote['id']}/").status_code == 200
    response = post(client, f"/api/v1/quotes/{quote['id']}/convert", {"to": "sales_order"})
    assert response.status_code == 403
    ui = client.post(f"/m/quotes/{quote['id']}/convert/sales_order/")
    assert ui.status_code == 302
    with tenant_context(tenant_a):
        from crm_apps.modules.salesorders.models import SalesOrder

        assert not SalesOrder.objects.exists()


def test_other_tenant_cannot_convert(catalogue, api, tenant_b, admin_of, client_for):
    quote = _quote(api, catalogue)
    other = client_for(tenant_b, admin_of(tenant_b))
    assert post(other, f"/api/v1/quotes/{quote['id']}/convert", {"to": "sales_order"}).status_code == 404
