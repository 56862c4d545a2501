"""Paid extensions: Checkout as a destination charge with the platform's fee (real SDK against the
fixture server), then the licence and sales following really signed webhooks, in Stripe's order."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from django_tenants.utils import schema_context

from billing.tests.conftest import body, event, sign
from marketplace.catalog.models import Licence, MarketplaceSettings, Sale
from marketplace.catalog.payments import fee_cents
from marketplace.installs.models import ExtensionInstallation

URL = "/billing/stripe/webhook"
pytestmark = pytest.mark.django_db


def deliver(public_client: Any, payload: dict[str, Any], capture: Any) -> Any:
    raw = body(payload)
    with capture(execute=True):
        return public_client.post(URL, raw, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(raw))


def meta(licence: Licence) -> dict[str, str]:
    return {
        "kind": "extension",
        "tenant": licence.tenant.schema_name,
        "listing": str(licence.listing_id),
        "licence": str(licence.pk),
    }


def test_one_time_purchase_is_a_destination_charge_with_the_commission(
    tenant_a, admin_of, client_for, publish, stripe_server, public_client, django_capture_on_commit_callbacks
):
    MarketplaceSettings.objects.create(commission_percent=Decimal("20.00"))
    listing = publish("saas-sales-kit", pricing="one_time", price_cents=4900)
    client = client_for(tenant_a, admin_of(tenant_a))
    assert client.post(f"/settings/marketplace/{listing.slug}/install/").status_code == 302
    with schema_context("alpha"):
        assert not ExtensionInstallation.objects.exists()  # not paid: nothing installed
    response = client.post(f"/settings/marketplace/{listing.slug}/buy/")
    assert response.status_code == 302 and response["Location"].startswith("https://checkout.stripe.com/")
    [call] = stripe_server.calls("POST", "/v1/checkout/sessions")
    params = call.params
    assert params["mode"] == "payment"
    assert params["payment_intent_data"]["application_fee_amount"] == "980"
    assert params["payment_intent_data"]["transfer_data"]["destination"] == "acct_partner1"
    assert params["line_items"][0]["price_data"]["unit_amount"] == "4900"
    licence = Licence.objects.get(tenant=tenant_a, listing=listing)
    assert licence.state == "pending"
    session = {
        "id": licence.stripe_checkout_session_id,
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "payment_intent": "pi_fixture_1",
        "amount_total": 4900,
        "metadata": meta(licence),
    }
    assert (
        deliver(
            public_client, event("evt_ext_1", "checkout.session.completed", session), django_capture_on_commit_callbacks
        ).status_code
        == 200
    )
    licence.refresh_from_db()
    assert licence.state == "active"
    sale = Sale.objects.get()
    assert (sale.amount_cents, sale.fee_cents, sale.partner_cents, sale.partner.slug) == (4900, 980, 3920, "acme-apps")
    assert client.post(f"/settings/marketplace/{listing.slug}/install/").status_code == 302
    with schema_context("alpha"):
        assert ExtensionInstallation.objects.get().is_installed


def test_monthly_per_seat_subscription_uses_a_fee_percent_and_follows_events_in_order(
    tenant_a, admin_of, client_for, publish, stripe_server, public_client, django_capture_on_commit_callbacks
):
    listing = publish("saas-sales-kit", pricing="monthly_seat", price_cents=500, trial_days=14)
    client = client_for(tenant_a, admin_of(tenant_a))
    client.post(f"/settings/marketplace/{listing.slug}/install/")  # the trial starts without payment
    licence = Licence.objects.get(tenant=tenant_a, listing=listing)
    assert licence.state == "trial" and licence.trial_end is not None
    with schema_context("alpha"):
        assert ExtensionInstallation.objects.get().is_installed
    client.post(f"/settings/marketplace/{listing.slug}/buy/")
    [call] = stripe_server.calls("POST", "/v1/checkout/sessions")
    sub_data = call.params["subscription_data"]
    assert call.params["mode"] == "subscription"
    assert sub_data["application_fee_percent"] == "25.00"
    assert sub_data["transfer_data"]["destination"] == "acct_partner1"
    assert int(sub_data["trial_end"]) == int(licence.trial_end.timestamp())
    assert call.params["line_items"][0]["price_data"]["recurring"]["interval"] == "month"
    seats = int(call.params["line_items"][0]["quantity"])
    assert seats >= 1
    now = int(time.time())
    sub = {"id": "sub_ext_1", "object": "subscription", "status": "active", "metadata": meta(licence)}
    deliver(
        public_client,
        event("evt_s1", "customer.subscription.updated", sub, created=now),
        django_capture_on_commit_callbacks,
    )
    licence.refresh_from_db()
    assert licence.state == "active"
    invoice = {
        "id": "in_ext_1",
        "object": "invoice",
        "amount_paid": 500 * seats,
        "application_fee_amount": fee_cents(500 * seats, Decimal(25)),
        "parent": {"subscription_details": {"metadata": meta(licence), "subscription": "sub_ext_1"}},
    }
    deliver(public_client, event("evt_i1", "invoice.paid", invoice, created=now), django_capture_on_commit_callbacks)
    failed = {**invoice, "id": "in_ext_2"}
    deliver(
        public_client,
        event("evt_i2", "invoice.payment_failed", failed, created=now + 10),
        django_capture_on_commit_callbacks,
    )
    licence.refresh_from_db()
    assert licence.state == "past_due"
    older = {**sub, "status": "active"}
    deliver(
        public_client,
        event("evt_s0", "customer.subscription.updated", older, created=now - 100),
        django_capture_on_commit_callbacks,
    )
    licence.refresh_from_db()
    assert licence.state == "past_due"  # an older event never wins
    cancelled = {**sub, "status": "canceled"}
    deliver(
        public_client,
        event("evt_s2", "customer.subscription.deleted", cancelled, created=now + 20),
        django_capture_on_commit_callbacks,
    )
    licence.refresh_from_db()
    assert licence.state == "cancelled"
    with schema_context("alpha"):
        assert not ExtensionInstallation.objects.get().is_installed  # removed from the UI, data kept
    assert list(Sale.objects.values_list("stripe_object_id", "amount_cents")) == [("in_ext_1", 500 * seats)]


def test_events_of_one_tenant_cannot_touch_another_tenant_s_licence(
    tenant_a, tenant_b, admin_of, client_for, publish, stripe_server, public_client, django_capture_on_commit_callbacks
):
    listing = publish("saas-sales-kit", pricing="one_time", price_cents=1000)
    client_for(tenant_a, admin_of(tenant_a)).post(f"/settings/marketplace/{listing.slug}/buy/")
    licence = Licence.objects.get(tenant=tenant_a)
    forged = {**meta(licence), "tenant": "beta"}
    session = {
        "id": "cs_x",
        "object": "checkout.session",
        "mode": "payment",
        "payment_status": "paid",
        "payment_intent": "pi_x",
        "amount_total": 1000,
        "metadata": forged,
    }
    deliver(
        public_client, event("evt_forged", "checkout.session.completed", session), django_capture_on_commit_callbacks
    )
    licence.refresh_from_db()
    assert licence.state == "pending"
    assert not Licence.objects.filter(tenant=tenant_b).exists()
    assert not Sale.objects.exists()


def test_partner_without_connect_account_cannot_sell(tenant_a, admin_of, client_for, publish, partner, stripe_server):
    listing = publish("saas-sales-kit", pricing="monthly_tenant", price_cents=900)
    partner.stripe_charges_enabled = False  # Stripe disabled charges later (account.updated)
    partner.save()
    response = client_for(tenant_a, admin_of(tenant_a)).post(f"/settings/marketplace/{listing.slug}/buy/")
    assert response.status_code == 302
    assert stripe_server.calls("POST", "/v1/checkout/sessions") == []
    assert not Licence.objects.exists()
