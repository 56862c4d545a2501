"""Disputes (chargebacks) of extension sales through really signed `charge.dispute.*` webhooks: the
status and amount kept per dispute, in Stripe's order, never across tenants; badges on the partner's
sales page, amounts under dispute and lost in the operator's totals; licences are not touched."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from billing.tests.conftest import event
from marketplace.catalog import payments
from marketplace.catalog.models import Licence, Sale, SaleDispute
from marketplace.catalog.tests.test_payments import deliver
from marketplace.catalog.tests.test_portal import portal_client
from tenants.models import User

pytestmark = pytest.mark.django_db
SALES = "/partner-portal/acme-apps/sales/"


def dispute(status: str, amount: int = 4900, **extra: Any) -> dict[str, Any]:
    return {
        "id": "dp_1",
        "object": "dispute",
        "amount": amount,
        "currency": "usd",
        "charge": "ch_1",
        "payment_intent": "pi_one",
        "reason": "fraudulent",
        "status": status,
        "metadata": {},
        **extra,
    }


def operator_page() -> str:
    operator = User.objects.create_superuser(f"ops{time.monotonic_ns()}@example.com", "operator-pass-123", name="Ops")
    console = Client(HTTP_HOST="localhost")
    console.force_login(operator)
    return console.get("/admin/catalog/sale/").content.decode()


def test_dispute_lifecycle_lost(one_time_sale, public_client, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    now = int(time.time())
    partner = portal_client(one_time_sale.partner)
    assert "data-dispute" not in partner.get(SALES).content.decode()
    created = event("evt_d1", "charge.dispute.created", dispute("needs_response"), created=now)
    deliver(public_client, created, capture)
    deliver(public_client, created, capture)  # the same event again
    row = SaleDispute.objects.get()
    assert (row.sale_id, row.status, row.amount_cents, row.reason) == (
        one_time_sale.pk,
        "needs_response",
        4900,
        "fraudulent",
    )
    page = partner.get(SALES).content.decode()
    assert 'data-dispute="open"' in page and "Under dispute 4900" in page
    admin_page = operator_page()
    assert "Under dispute 4900 ¢ · lost to chargebacks 0 ¢" in admin_page
    assert "<td>0</td><td>4900</td><td>0</td></tr>" in admin_page  # failed payouts, under dispute, lost
    deliver(public_client, event("evt_d2", "charge.dispute.updated", dispute("under_review"), created=now + 1), capture)
    deliver(public_client, event("evt_d3", "charge.dispute.closed", dispute("lost"), created=now + 2), capture)
    # An older update delivered late does not reopen it.
    deliver(public_client, event("evt_d0", "charge.dispute.updated", dispute("under_review"), created=now + 1), capture)
    row.refresh_from_db()
    assert row.status == "lost"
    page = partner.get(SALES).content.decode()
    assert 'data-dispute="lost"' in page and 'data-dispute="open"' not in page
    admin_page = operator_page()
    assert "Under dispute 0 ¢ · lost to chargebacks 4900 ¢" in admin_page
    assert "<td>0</td><td>0</td><td>4900</td></tr>" in admin_page
    # No automatic licence change, and the refund figures are the refunds' only.
    one_time_sale.licence.refresh_from_db()
    one_time_sale.refresh_from_db()
    assert one_time_sale.licence.state == "active" and one_time_sale.refunded_cents == 0


def test_dispute_won_and_the_closed_status_wins_a_tie(one_time_sale, public_client, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    now = int(time.time())
    deliver(public_client, event("evt_w1", "charge.dispute.closed", dispute("won", 2000), created=now), capture)
    deliver(
        public_client, event("evt_w0", "charge.dispute.updated", dispute("under_review", 2000), created=now), capture
    )
    assert SaleDispute.objects.get().status == "won"
    page = portal_client(one_time_sale.partner).get(SALES).content.decode()
    assert 'data-dispute="won"' in page and "Under dispute" not in page
    assert "disputes won 2000 ¢" in operator_page()


def test_disputes_of_unknown_charges_and_of_other_tenants_sales(
    one_time_sale,
    tenant_b,
    stripe_server,
    public_client,
    django_capture_on_commit_callbacks,
):
    capture = django_capture_on_commit_callbacks
    stripe_server.on(
        "GET",
        "/v1/invoice_payments",
        lambda r, m: (200, {"object": "list", "data": [], "has_more": False, "url": "/v1/invoice_payments"}),
    )
    now = int(time.time())
    # A tenant subscription's charge (billing's own, not a sale): nothing recorded.
    unknown = dispute("needs_response", id="dp_t", charge="ch_t", payment_intent="pi_t")
    deliver(public_client, event("evt_u", "charge.dispute.created", unknown, created=now), capture)
    assert not SaleDispute.objects.exists()
    licence_b = Licence.objects.create(
        tenant=tenant_b, listing=one_time_sale.licence.listing, state="active", pricing="one_time", price_cents=4900
    )
    sale_b = Sale.objects.create(
        licence=licence_b, partner=one_time_sale.partner, stripe_object_id="pi_b", amount_cents=4900, fee_cents=1225
    )
    deliver(public_client, event("evt_a", "charge.dispute.created", dispute("needs_response"), created=now), capture)
    # The same dispute id presented as tenant B's sale's: refused, A's dispute unchanged.
    moved = dispute("lost", charge="ch_b", payment_intent="pi_b")
    deliver(public_client, event("evt_b", "charge.dispute.closed", moved, created=now + 1), capture)
    assert payments.on_dispute_event(moved, now + 2) == "another sale"
    assert list(SaleDispute.objects.values_list("sale_id", "status")) == [(one_time_sale.pk, "needs_response")]
    assert not sale_b.disputes.exists()


def test_dispute_of_a_subscription_invoice_found_through_stripe_invoice_payments(
    tenant_a, publish, stripe_server, public_client, django_capture_on_commit_callbacks
):
    from marketplace.catalog.tests.test_payments import meta

    capture = django_capture_on_commit_callbacks
    listing = publish("support-escalation-webhooks", pricing="monthly_tenant", price_cents=900)
    licence = Licence.objects.create(tenant=tenant_a, listing=listing, state="active", pricing="monthly_tenant")
    invoice = {
        "id": "in_m1",
        "object": "invoice",
        "amount_paid": 900,
        "parent": {"subscription_details": {"metadata": meta(licence), "subscription": "sub_m"}},
    }
    deliver(public_client, event("evt_in", "invoice.paid", invoice), capture)
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
    opened = dispute("needs_response", 900, id="dp_m", charge="ch_m", payment_intent="pi_m")
    deliver(public_client, event("evt_dm", "charge.dispute.created", opened), capture)
    sale = Sale.objects.get(stripe_object_id="in_m1")
    assert (sale.stripe_payment_intent_id, sale.stripe_charge_id, sale.dispute_state) == ("pi_m", "ch_m", "open")
    # The closing event finds the sale by its ids now, without asking Stripe again.
    deliver(public_client, event("evt_dm2", "charge.dispute.closed", {**opened, "status": "lost"}), capture)
    assert len(stripe_server.calls("GET", "/v1/invoice_payments")) == 1
    assert Sale.objects.get(pk=sale.pk).dispute_state == "lost"
    licence.refresh_from_db()
    assert licence.state == "active"
