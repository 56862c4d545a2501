"""Refunds of extension sales through really signed `charge.refunded` webhooks: found by payment intent,
charge, invoice (asked of Stripe's invoice payments when the charge does not say) or metadata; partial
then full, idempotent, never lowered by an older event, never crossing tenants."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from billing.tests.conftest import event
from marketplace.catalog.models import Licence, Sale
from marketplace.catalog.tests.test_payments import deliver, meta
from tenants.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_time_sale(tenant_a, publish, stripe_server, public_client, django_capture_on_commit_callbacks) -> Sale:
    listing = publish("saas-sales-kit", pricing="one_time", price_cents=4900)
    licence = Licence.objects.create(
        tenant=tenant_a, listing=listing, state="pending", pricing="one_time", price_cents=4900
    )
    session = {
        "id": "cs_1",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "payment_intent": "pi_one",
        "amount_total": 4900,
        "metadata": meta(licence),
    }
    deliver(public_client, event("evt_cs", "checkout.session.completed", session), django_capture_on_commit_callbacks)
    return Sale.objects.get(stripe_object_id="pi_one")


def charge(charge_id: str, refunded: int, **extra: Any) -> dict[str, Any]:
    return {"id": charge_id, "object": "charge", "amount": 4900, "amount_refunded": refunded, **extra}


def test_checkout_puts_our_metadata_on_the_payment_intent_and_the_subscription(
    tenant_a, admin_of, client_for, publish, stripe_server
):
    one_time = publish("saas-sales-kit", pricing="one_time", price_cents=4900)
    monthly = publish("support-escalation-webhooks", pricing="monthly_tenant", price_cents=900)
    client = client_for(tenant_a, admin_of(tenant_a))
    client.post(f"/settings/marketplace/{one_time.slug}/buy/")
    client.post(f"/settings/marketplace/{monthly.slug}/buy/")
    first, second = stripe_server.calls("POST", "/v1/checkout/sessions")
    licence_one = Licence.objects.get(listing=one_time)
    licence_monthly = Licence.objects.get(listing=monthly)
    assert first.params["payment_intent_data"]["metadata"] == meta(licence_one)
    assert second.params["subscription_data"]["metadata"] == meta(licence_monthly)


def test_partial_then_full_refund_without_metadata_found_by_payment_intent(
    one_time_sale, public_client, django_capture_on_commit_callbacks
):
    now = int(time.time())
    partial = event("evt_r1", "charge.refunded", charge("ch_1", 1000, payment_intent="pi_one"), created=now)
    deliver(public_client, partial, django_capture_on_commit_callbacks)
    deliver(public_client, partial, django_capture_on_commit_callbacks)  # the same event again
    sale = Sale.objects.get()
    # 25% commission = 1225; a fifth-ish refunded reverses 1225 * 1000 / 4900 = 250 of it.
    assert (sale.refunded_cents, sale.fee_refunded_cents, sale.refund_state) == (1000, 250, "partial")
    assert sale.partner_cents == 4900 - 1000 - (1225 - 250)
    assert sale.stripe_charge_id == "ch_1"
    full = event("evt_r2", "charge.refunded", charge("ch_1", 4900, payment_intent="pi_one"), created=now + 5)
    deliver(public_client, full, django_capture_on_commit_callbacks)
    older = event("evt_r0", "charge.refunded", charge("ch_1", 1000, payment_intent="pi_one"), created=now - 5)
    deliver(public_client, older, django_capture_on_commit_callbacks)
    sale.refresh_from_db()
    assert (sale.refunded_cents, sale.fee_refunded_cents, sale.refund_state, sale.partner_cents) == (
        4900,
        1225,
        "full",
        0,
    )


def test_refund_of_a_subscription_invoice_found_through_stripe_invoice_payments(
    tenant_a, publish, stripe_server, public_client, django_capture_on_commit_callbacks
):
    listing = publish("support-escalation-webhooks", pricing="monthly_tenant", price_cents=900)
    licence = Licence.objects.create(
        tenant=tenant_a, listing=listing, state="active", pricing="monthly_tenant", stripe_subscription_id="sub_m"
    )
    invoice = {
        "id": "in_m1",
        "object": "invoice",
        "amount_paid": 900,
        "application_fee_amount": 225,
        "parent": {"subscription_details": {"metadata": meta(licence), "subscription": "sub_m"}},
    }
    deliver(public_client, event("evt_in", "invoice.paid", invoice), django_capture_on_commit_callbacks)
    stripe_server.on(
        "GET",
        "/v1/invoice_payments",
        lambda request, match: (
            200,
            {
                "object": "list",
                "has_more": False,
                "url": "/v1/invoice_payments",
                "data": [{"id": "inpay_1", "object": "invoice_payment", "invoice": "in_m1", "amount_paid": 900}],
            },
        ),
    )
    refunded = {**charge("ch_m1", 900, payment_intent="pi_inv"), "amount": 900}
    deliver(public_client, event("evt_rm", "charge.refunded", refunded), django_capture_on_commit_callbacks)
    [lookup] = stripe_server.calls("GET", "/v1/invoice_payments")
    assert lookup.params["payment"] == {"type": "payment_intent", "payment_intent": "pi_inv"}
    sale = Sale.objects.get(stripe_object_id="in_m1")
    assert (sale.refunded_cents, sale.fee_refunded_cents, sale.stripe_payment_intent_id) == (900, 225, "pi_inv")
    # The next refund of that charge is found by its ids, without asking Stripe again.
    deliver(public_client, event("evt_rm2", "charge.refunded", refunded), django_capture_on_commit_callbacks)
    assert len(stripe_server.calls("GET", "/v1/invoice_payments")) == 1


def test_invoice_payment_ids_and_old_api_invoice_on_the_charge(
    tenant_a, publish, stripe_server, public_client, django_capture_on_commit_callbacks
):
    listing = publish("support-escalation-webhooks", pricing="monthly_tenant", price_cents=900)
    licence = Licence.objects.create(tenant=tenant_a, listing=listing, state="active", pricing="monthly_tenant")
    parent = {"subscription_details": {"metadata": meta(licence), "subscription": "sub_m"}}
    paid = {"object": "invoice", "amount_paid": 900, "parent": parent}
    deliver(
        public_client,
        event("evt_a", "invoice.paid", {**paid, "id": "in_a", "payment_intent": "pi_a"}),
        django_capture_on_commit_callbacks,
    )
    deliver(public_client, event("evt_b", "invoice.paid", {**paid, "id": "in_b"}), django_capture_on_commit_callbacks)
    deliver(
        public_client,
        event("evt_ra", "charge.refunded", {**charge("ch_a", 300, payment_intent="pi_a"), "amount": 900}),
        django_capture_on_commit_callbacks,
    )
    deliver(
        public_client,
        event("evt_rb", "charge.refunded", {**charge("ch_b", 900, invoice="in_b"), "amount": 900}),
        django_capture_on_commit_callbacks,
    )
    assert dict(Sale.objects.values_list("stripe_object_id", "refunded_cents")) == {"in_a": 300, "in_b": 900}
    assert stripe_server.calls("GET", "/v1/invoice_payments") == []


def test_metadata_must_name_the_licence_s_own_tenant(
    one_time_sale, tenant_b, stripe_server, public_client, django_capture_on_commit_callbacks
):
    stripe_server.on(
        "GET",
        "/v1/invoice_payments",
        lambda r, m: (200, {"object": "list", "data": [], "has_more": False, "url": "/v1/invoice_payments"}),
    )
    forged = {**meta(one_time_sale.licence), "tenant": tenant_b.schema_name}
    deliver(
        public_client,
        event("evt_f", "charge.refunded", charge("ch_x", 4900, payment_intent="pi_other", metadata=forged)),
        django_capture_on_commit_callbacks,
    )
    one_time_sale.refresh_from_db()
    assert one_time_sale.refunded_cents == 0
    own = meta(one_time_sale.licence)
    deliver(
        public_client,
        event("evt_g", "charge.refunded", charge("ch_y", 100, payment_intent="pi_other2", metadata=own)),
        django_capture_on_commit_callbacks,
    )
    one_time_sale.refresh_from_db()
    assert one_time_sale.refunded_cents == 100  # found through the metadata of its own tenant


def test_refunds_show_in_the_partner_s_sales_and_the_operator_totals(
    one_time_sale, public_client, django_capture_on_commit_callbacks
):
    from marketplace.catalog.tests.test_portal import portal_client

    deliver(
        public_client,
        event("evt_r", "charge.refunded", charge("ch_1", 1000, payment_intent="pi_one")),
        django_capture_on_commit_callbacks,
    )
    page = portal_client(one_time_sale.partner).get("/partner-portal/acme-apps/sales/").content.decode()
    assert 'data-refund="partial"' in page and "commission reversed 250" in page
    operator = User.objects.create_superuser("ops@example.com", "operator-pass-123", name="Ops")
    console = Client(HTTP_HOST="localhost")
    console.force_login(operator)
    admin_page = console.get("/admin/catalog/sale/").content.decode()
    assert (
        '<tr data-partner="Acme Apps"><td>Acme Apps</td><td>1</td><td>4900</td><td>975</td>'
        "<td>1</td><td>1000</td><td>2925</td>" in admin_page
    )
