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


# Refunds by id: failed and cancelled refunds give the amount back ---------------------------------


def refund(refund_id: str, amount: int, status: str, created: int, **extra: Any) -> dict[str, Any]:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "status": status,
        "created": created,
        "charge": "ch_1",
        "payment_intent": "pi_one",
        "metadata": {},
        **extra,
    }


def money(sale: Sale) -> tuple[int, int, int]:
    sale.refresh_from_db()
    return sale.refunded_cents, sale.fee_refunded_cents, sale.partner_cents


def test_refund_succeeded_then_failed_gives_the_amount_and_the_commission_back(
    one_time_sale, public_client, django_capture_on_commit_callbacks
):
    from marketplace.catalog.models import SaleRefund

    now = int(time.time())
    capture = django_capture_on_commit_callbacks
    deliver(
        public_client, event("evt_rc", "refund.created", refund("re_1", 1000, "pending", now), created=now), capture
    )
    assert money(one_time_sale) == (1000, 250, 4900 - 1000 - 975)
    listed = charge("ch_1", 1000, payment_intent="pi_one", refunds={"data": [refund("re_1", 1000, "succeeded", now)]})
    deliver(public_client, event("evt_cr", "charge.refunded", listed, created=now + 1), capture)
    assert SaleRefund.objects.get().status == "succeeded"
    assert money(one_time_sale) == (1000, 250, 2925)
    failed = event("evt_rf", "charge.refund.updated", refund("re_1", 1000, "failed", now), created=now + 2)
    deliver(public_client, failed, capture)
    deliver(public_client, failed, capture)  # the same event again
    deliver(public_client, {**failed, "id": "evt_rf2", "type": "refund.failed"}, capture)  # Stripe's twin event
    assert money(one_time_sale) == (0, 0, 4900 - 1225)
    assert one_time_sale.refund_state == "" and one_time_sale.refunded_at is None
    # An older state of the refund (succeeded) delivered late does not bring the refund back.
    late = event("evt_ru", "refund.updated", refund("re_1", 1000, "succeeded", now), created=now + 1)
    deliver(public_client, late, capture)
    assert SaleRefund.objects.get().status == "failed"
    assert money(one_time_sale) == (0, 0, 3675)
    # Nor does the charge.refunded that reported it, delivered again.
    deliver(public_client, event("evt_cr", "charge.refunded", listed, created=now + 1), capture)
    assert money(one_time_sale) == (0, 0, 3675)
    # A new refund counts on its own.
    deliver(public_client, event("evt_r2", "refund.created", refund("re_2", 2000, "succeeded", now + 3)), capture)
    assert money(one_time_sale) == (2000, 500, 4900 - 2000 - 725)
    assert dict(SaleRefund.objects.values_list("stripe_refund_id", "status")) == {"re_1": "failed", "re_2": "succeeded"}


def test_failure_seen_before_the_charge_total_and_refunds_never_seen_by_id(
    one_time_sale, public_client, django_capture_on_commit_callbacks
):
    now = int(time.time())
    capture = django_capture_on_commit_callbacks
    # The refund's failure arrives first; the charge.refunded (no refund list, as webhooks send it) that
    # reported it before the failure arrives after it and does not count it.
    deliver(
        public_client, event("evt_f", "refund.failed", refund("re_1", 1000, "failed", now), created=now + 5), capture
    )
    assert money(one_time_sale) == (0, 0, 3675)
    deliver(
        public_client,
        event("evt_c", "charge.refunded", charge("ch_1", 1000, payment_intent="pi_one"), created=now + 1),
        capture,
    )
    assert money(one_time_sale) == (0, 0, 3675)
    # A later charge total includes a refund never seen by id (1500), the failed one no longer.
    deliver(
        public_client,
        event("evt_c2", "charge.refunded", charge("ch_1", 1500, payment_intent="pi_one"), created=now + 9),
        capture,
    )
    assert money(one_time_sale) == (1500, 375, 4900 - 1500 - 850)
    # Cancelled refunds give their amount back too; a pending one counts.
    deliver(
        public_client,
        event("evt_p", "refund.created", refund("re_3", 400, "pending", now + 10), created=now + 10),
        capture,
    )
    assert money(one_time_sale)[0] == 1500  # the charge's total still covers the pending one
    deliver(
        public_client,
        event("evt_cc", "refund.updated", refund("re_3", 400, "canceled", now + 10), created=now + 11),
        capture,
    )
    assert money(one_time_sale)[0] == 1500


def test_a_refund_never_moves_between_tenants_sales(
    one_time_sale, tenant_b, stripe_server, public_client, django_capture_on_commit_callbacks
):
    from marketplace.catalog import payments
    from marketplace.catalog.models import SaleRefund

    capture = django_capture_on_commit_callbacks
    stripe_server.on(
        "GET",
        "/v1/invoice_payments",
        lambda r, m: (200, {"object": "list", "data": [], "has_more": False, "url": "/v1/invoice_payments"}),
    )
    licence_b = Licence.objects.create(
        tenant=tenant_b, listing=one_time_sale.licence.listing, state="active", pricing="one_time", price_cents=4900
    )
    sale_b = Sale.objects.create(
        licence=licence_b, partner=one_time_sale.partner, stripe_object_id="pi_b", amount_cents=4900, fee_cents=1225
    )
    now = int(time.time())
    deliver(public_client, event("evt_a", "refund.created", refund("re_a", 1000, "succeeded", now)), capture)
    assert money(one_time_sale)[0] == 1000
    # The same refund id presented as tenant B's (its charge's ids point to B's sale): refused.
    moved = refund("re_a", 4900, "succeeded", now, charge="ch_b", payment_intent="pi_b")
    deliver(public_client, event("evt_m", "refund.updated", moved, created=now + 1), capture)
    assert money(one_time_sale)[0] == 1000 and money(sale_b)[0] == 0
    assert payments.on_refund_event(moved, now + 2) == "another sale"
    # An expanded charge whose metadata names tenant B with tenant A's licence finds no sale.
    forged = {
        "id": "ch_x",
        "payment_intent": "pi_x",
        "metadata": {**meta(one_time_sale.licence), "tenant": tenant_b.schema_name},
    }
    deliver(
        public_client,
        event("evt_x", "refund.created", refund("re_x", 4900, "succeeded", now, charge=forged, payment_intent="pi_x")),
        capture,
    )
    assert money(one_time_sale)[0] == 1000 and money(sale_b)[0] == 0
    assert list(SaleRefund.objects.values_list("stripe_refund_id", "sale_id")) == [("re_a", one_time_sale.pk)]
