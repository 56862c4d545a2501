"""Payments on invoices: received, balance, partially paid, paid; overdue by the daily check."""

from __future__ import annotations

import datetime as dt

import pytest
from django_tenants.utils import tenant_context

from crm_apps.inventory.tests.conftest import post, restricted

pytestmark = pytest.mark.django_db


def _invoice(api, due="2030-01-31"):
    response = post(
        api,
        "/api/v1/invoices/",
        {"subject": "Pay", "due_date": due, "lines": [{"description": "Work", "quantity": "1", "list_price": "100"}]},
    )
    assert response.status_code == 201, response.json()
    return response.json()


def test_partial_then_full_payment(api, catalogue):
    invoice = _invoice(api)
    first = post(
        api, f"/api/v1/invoices/{invoice['id']}/payments", {"amount": "40", "method": "card", "reference": "R1"}
    )
    assert first.status_code == 201, first.json()
    assert first.json()["invoice"] == {
        "received": "40.00",
        "balance": "60.00",
        "payment_status": "partially_paid",
        "status": "Created",
    }
    second = post(api, f"/api/v1/invoices/{invoice['id']}/payments", {"amount": "60.00", "paid_on": "2026-12-01"})
    assert second.json()["invoice"]["payment_status"] == "paid"
    assert second.json()["invoice"]["status"] == "Paid"
    listing = api.get(f"/api/v1/invoices/{invoice['id']}/payments").json()
    assert sorted(p["amount"] for p in listing["results"]) == ["40.00", "60.00"]
    detail = api.get(f"/api/v1/invoices/{invoice['id']}/").json()
    assert detail["balance"] == "0.00"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"amount": "0"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": "1.001"}, "amount"),
        ({"amount": "1e40"}, "amount"),
        ({"amount": "1000000000000000"}, "amount"),
        ({"amount": "NaN"}, "amount"),
        ({"amount": "5", "paid_on": "x"}, "paid_on"),
        ({"amount": "5", "method": "gold"}, "method"),
    ],
)
def test_bad_payments_are_400(api, catalogue, payload, field):
    invoice = _invoice(api)
    response = post(api, f"/api/v1/invoices/{invoice['id']}/payments", payload)
    assert response.status_code == 400
    assert field in response.json()
    assert api.get(f"/api/v1/invoices/{invoice['id']}/payments").json()["results"] == []


def test_overdue_is_set_by_the_daily_check(api, catalogue, tenant_a):
    from crm_apps.modules.invoices.services import invoices_overdue_mark

    late = _invoice(api, due="2026-01-31")
    on_time = _invoice(api, due="2030-01-31")
    paid = _invoice(api, due="2026-01-31")
    post(api, f"/api/v1/invoices/{paid['id']}/payments", {"amount": "100"})
    with tenant_context(tenant_a):
        assert invoices_overdue_mark(today=dt.date(2026, 6, 1)) == 1
    assert api.get(f"/api/v1/invoices/{late['id']}/").json()["payment_status"] == "overdue"
    assert api.get(f"/api/v1/invoices/{on_time['id']}/").json()["payment_status"] == "unpaid"
    assert api.get(f"/api/v1/invoices/{paid['id']}/").json()["payment_status"] == "paid"


def test_payments_need_edit_rights_and_stay_in_their_tenant(
    api, catalogue, tenant_a, tenant_b, admin_of, member, client_for
):
    invoice = _invoice(api)
    reader = restricted(tenant_a, admin_of(tenant_a), member, flags={"default_edit": False})
    assert (
        post(client_for(tenant_a, reader), f"/api/v1/invoices/{invoice['id']}/payments", {"amount": "1"}).status_code
        == 403
    )
    other = client_for(tenant_b, admin_of(tenant_b))
    assert post(other, f"/api/v1/invoices/{invoice['id']}/payments", {"amount": "1"}).status_code == 404
    assert other.get(f"/api/v1/invoices/{invoice['id']}/payments").status_code == 404


def test_payment_from_the_page(api, catalogue, client_for, tenant_a, admin_of):
    invoice = _invoice(api)
    page = client_for(tenant_a, admin_of(tenant_a))
    detail = page.get(f"/m/invoices/{invoice['id']}/")
    assert b"Record payment" in detail.content
    response = page.post(
        f"/m/invoices/{invoice['id']}/payments/", {"amount": "25", "method": "cash", "paid_on": "2026-12-01"}
    )
    assert response.status_code == 302
    assert api.get(f"/api/v1/invoices/{invoice['id']}/").json()["received"] == "25.00"
