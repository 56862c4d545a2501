"""Authorised listing: Stripe Checkout through the real SDK (fixture server), really signed webhooks
through billing's endpoint, dispatched by metadata.kind; order, duplicates, lapse, operator revocation."""

from __future__ import annotations

import time
from typing import Any

import pytest

from billing.models import StripeEvent, Subscription
from billing.tests.conftest import body, event, sign
from billing.tests.stripe_server import subscription_object
from marketplace.partners.models import ListingPrice, ListingState, Partner, PartnerMember
from marketplace.partners.services import partner_badge_restore, partner_badge_revoke
from tenants.models import User

URL = "/billing/stripe/webhook"
META = {"kind": "partner_listing"}


def post(client: Any, payload: dict[str, Any], capture: Any) -> Any:
    raw = body(payload)
    with capture(execute=True):
        return client.post(URL, raw, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(raw))


def listing_sub(partner: Partner, status: str = "active", sub_id: str = "sub_listing1", **kw: Any) -> dict[str, Any]:
    return subscription_object(
        sub_id,
        customer=partner.listing_stripe_customer_id or f"cus_partner{partner.pk}",
        status=status,
        items=[("price_listing_inline", 1)],
        metadata={**META, "partner": str(partner.pk)},
        **kw,
    )


@pytest.fixture
def subscribed(make_partner) -> Partner:
    partner = make_partner()
    Partner.objects.filter(pk=partner.pk).update(
        listing_stripe_customer_id=f"cus_partner{partner.pk}", listing_stripe_subscription_id="sub_listing1"
    )
    partner.refresh_from_db()
    return partner


def test_checkout_uses_operator_price_and_marks_the_session(make_partner, portal_client, stripe_server):
    partner = make_partner()
    price = ListingPrice.objects.get(period="year", currency="usd")
    price.amount = 39900
    price.save()
    response = portal_client(partner.owner_user).post(f"/partner-portal/{partner.slug}/listing/", {"price": price.pk})
    assert response.status_code == 302
    assert response["Location"].startswith("https://checkout.stripe.com/c/pay/")
    (customer,) = stripe_server.calls("POST", "/v1/customers")
    assert customer.params["metadata"] == {"kind": "partner_listing", "partner": str(partner.pk)}
    (session,) = stripe_server.calls("POST", "/v1/checkout/sessions")
    assert session.params["mode"] == "subscription"
    assert session.params["metadata"]["kind"] == "partner_listing"
    assert session.params["subscription_data"]["metadata"] == {"kind": "partner_listing", "partner": str(partner.pk)}
    item = session.params["line_items"][0]
    assert item["price_data"]["unit_amount"] == "39900"
    assert item["price_data"]["currency"] == "usd"
    assert item["price_data"]["recurring"]["interval"] == "year"
    partner.refresh_from_db()
    assert partner.listing_state == ListingState.PENDING
    assert partner.listing_stripe_customer_id == customer_id(stripe_server)
    assert not partner.is_authorised


def customer_id(server: Any) -> str:
    return next(k for k in server.objects if k.startswith("cus_"))


@pytest.mark.parametrize("who", ["sales", "developer"])
def test_only_owners_start_checkout(make_partner, team_member, portal_client, stripe_server, who):
    partner = make_partner()
    response = portal_client(team_member(partner, who)).post(
        f"/partner-portal/{partner.slug}/listing/", {"price": ListingPrice.objects.all()[0].pk}
    )
    assert response.status_code == 403
    assert stripe_server.requests == []


def test_checkout_completed_then_subscription_sets_badge(
    make_partner, public_client, stripe_server, django_capture_on_commit_callbacks
):
    partner = make_partner()
    Partner.objects.filter(pk=partner.pk).update(
        listing_stripe_customer_id="cus_p1", listing_state=ListingState.PENDING
    )
    stripe_server.put(
        subscription_object(
            "sub_new",
            customer="cus_p1",
            status="active",
            items=[("price_x", 1)],
            metadata={**META, "partner": str(partner.pk)},
        )
    )
    session = {
        "id": "cs_1",
        "object": "checkout.session",
        "mode": "subscription",
        "customer": "cus_p1",
        "subscription": "sub_new",
        "client_reference_id": f"partner-{partner.pk}",
        "payment_status": "paid",
        "metadata": {**META, "partner": str(partner.pk)},
    }
    response = post(
        public_client, event("evt_cs", "checkout.session.completed", session), django_capture_on_commit_callbacks
    )
    assert response.status_code == 200
    partner.refresh_from_db()
    assert partner.listing_stripe_subscription_id == "sub_new"
    assert partner.listing_state == ListingState.ACTIVE
    assert partner.is_authorised and partner.authorised_since is not None
    assert partner.listing_period == "month"
    assert StripeEvent.objects.get(pk="evt_cs").processed_at is not None
    # billing's tenant subscriptions were not touched by a partner's event
    assert not Subscription.objects.filter(stripe_subscription_id="sub_new").exists()


def test_events_in_any_order_end_at_the_newest_state(
    subscribed, public_client, webhook_secret, django_capture_on_commit_callbacks
):
    now = int(time.time())
    post(
        public_client,
        event("evt_2", "customer.subscription.updated", listing_sub(subscribed, "past_due"), created=now),
        django_capture_on_commit_callbacks,
    )
    post(
        public_client,
        event("evt_1", "customer.subscription.created", listing_sub(subscribed, "active"), created=now - 100),
        django_capture_on_commit_callbacks,
    )
    subscribed.refresh_from_db()
    assert subscribed.listing_state == ListingState.PAST_DUE
    assert not subscribed.is_authorised
    assert StripeEvent.objects.get(pk="evt_1").processed_at is not None


def test_duplicate_event_is_stored_once(subscribed, public_client, webhook_secret, django_capture_on_commit_callbacks):
    payload = event("evt_dup", "customer.subscription.updated", listing_sub(subscribed, "active"))
    first = post(public_client, payload, django_capture_on_commit_callbacks)
    second = post(public_client, payload, django_capture_on_commit_callbacks)
    assert first.json() == {"received": True, "duplicate": False}
    assert second.json() == {"received": True, "duplicate": True}
    assert StripeEvent.objects.filter(pk="evt_dup").count() == 1
    subscribed.refresh_from_db()
    assert subscribed.is_authorised


def test_unsigned_event_changes_nothing(subscribed, public_client, webhook_secret):
    raw = body(event("evt_bad", "customer.subscription.updated", listing_sub(subscribed, "active")))
    response = public_client.post(
        URL, raw, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(raw, "whsec_wrong")
    )
    assert response.status_code == 400
    assert not StripeEvent.objects.filter(pk="evt_bad").exists()
    subscribed.refresh_from_db()
    assert not subscribed.is_authorised


def test_lapses_on_failed_payment_and_comes_back_when_paid(
    subscribed, public_client, webhook_secret, django_capture_on_commit_callbacks
):
    now = int(time.time())
    post(
        public_client,
        event("evt_a", "customer.subscription.updated", listing_sub(subscribed), created=now - 50),
        django_capture_on_commit_callbacks,
    )
    invoice = {
        "id": "in_1",
        "object": "invoice",
        "customer": subscribed.listing_stripe_customer_id,
        "status": "open",
        "parent": {
            "type": "subscription_details",
            "subscription_details": {
                "subscription": "sub_listing1",
                "metadata": {**META, "partner": str(subscribed.pk)},
            },
        },
    }
    post(
        public_client,
        event("evt_f", "invoice.payment_failed", invoice, created=now - 10),
        django_capture_on_commit_callbacks,
    )
    subscribed.refresh_from_db()
    assert (subscribed.listing_state, subscribed.is_authorised) == (ListingState.PAST_DUE, False)
    post(
        public_client,
        event("evt_p", "invoice.paid", {**invoice, "status": "paid"}, created=now),
        django_capture_on_commit_callbacks,
    )
    subscribed.refresh_from_db()
    assert (subscribed.listing_state, subscribed.is_authorised) == (ListingState.ACTIVE, True)


def test_canceled_subscription_removes_badge(
    subscribed, public_client, webhook_secret, django_capture_on_commit_callbacks
):
    now = int(time.time())
    post(
        public_client,
        event("evt_on", "customer.subscription.updated", listing_sub(subscribed), created=now - 5),
        django_capture_on_commit_callbacks,
    )
    post(
        public_client,
        event("evt_off", "customer.subscription.deleted", listing_sub(subscribed, "canceled"), created=now),
        django_capture_on_commit_callbacks,
    )
    subscribed.refresh_from_db()
    assert subscribed.listing_state == ListingState.CANCELED
    assert not subscribed.is_authorised and subscribed.authorised_since is None


def test_late_event_of_an_old_subscription_is_ignored(
    subscribed, public_client, webhook_secret, django_capture_on_commit_callbacks
):
    now = int(time.time())
    post(
        public_client,
        event("evt_cur", "customer.subscription.updated", listing_sub(subscribed), created=now - 5),
        django_capture_on_commit_callbacks,
    )
    post(
        public_client,
        event(
            "evt_old",
            "customer.subscription.deleted",
            listing_sub(subscribed, "canceled", sub_id="sub_older"),
            created=now,
        ),
        django_capture_on_commit_callbacks,
    )
    subscribed.refresh_from_db()
    assert subscribed.is_authorised


def test_tie_is_settled_by_stripe(subscribed, public_client, stripe_server, django_capture_on_commit_callbacks):
    now = int(time.time())
    stripe_server.put(listing_sub(subscribed, "canceled"))
    post(
        public_client,
        event("evt_t1", "customer.subscription.updated", listing_sub(subscribed, "active"), created=now),
        django_capture_on_commit_callbacks,
    )
    post(
        public_client,
        event("evt_t2", "customer.subscription.updated", listing_sub(subscribed, "active"), created=now),
        django_capture_on_commit_callbacks,
    )
    assert stripe_server.calls("GET", "/v1/subscriptions/sub_listing1")
    subscribed.refresh_from_db()
    assert subscribed.listing_state == ListingState.CANCELED


def test_operator_revocation_keeps_badge_off_until_lifted(
    subscribed, public_client, webhook_secret, django_capture_on_commit_callbacks
):
    operator = User.objects.create_superuser("op@example.com", "pw-operator-123", name="Op")
    now = int(time.time())
    post(
        public_client,
        event("evt_r1", "customer.subscription.updated", listing_sub(subscribed), created=now - 20),
        django_capture_on_commit_callbacks,
    )
    partner_badge_revoke(operator=operator, partner=subscribed, reason="Misleading claims")
    post(
        public_client,
        event("evt_r2", "customer.subscription.updated", listing_sub(subscribed), created=now),
        django_capture_on_commit_callbacks,
    )
    subscribed.refresh_from_db()
    assert subscribed.listing_state == ListingState.ACTIVE and not subscribed.is_authorised
    partner_badge_restore(operator=operator, partner=subscribed)
    subscribed.refresh_from_db()
    assert subscribed.is_authorised


def test_event_for_unknown_kind_is_not_applied_to_tenants(
    public_client, webhook_secret, tenant_a, django_capture_on_commit_callbacks
):
    before = Subscription.objects.get(tenant=tenant_a)
    obj = subscription_object(
        "sub_x",
        customer=before.stripe_customer_id or "cus_none",
        status="canceled",
        metadata={"kind": "something_else", "tenant": "alpha"},
    )
    post(public_client, event("evt_kind", "customer.subscription.deleted", obj), django_capture_on_commit_callbacks)
    after = Subscription.objects.get(tenant=tenant_a)
    assert (after.status, after.stripe_subscription_id) == (before.status, before.stripe_subscription_id)
    assert StripeEvent.objects.get(pk="evt_kind").processed_at is not None


def test_connect_onboarding_creates_account_once_and_refreshes(make_partner, portal_client, stripe_server):
    partner = make_partner()
    client = portal_client(partner.owner_user)
    first = client.post(f"/partner-portal/{partner.slug}/stripe-connect/")
    assert first.status_code == 302 and first["Location"].startswith("https://connect.stripe.com/setup/")
    partner.refresh_from_db()
    account_id = partner.stripe_account_id
    assert account_id.startswith("acct_")
    (created,) = stripe_server.calls("POST", "/v1/accounts")
    assert created.params["type"] == "express"
    assert created.params["metadata"] == {"kind": "partner_connect", "partner": str(partner.pk)}
    (link,) = stripe_server.calls("POST", "/v1/account_links")
    assert link.params["type"] == "account_onboarding"
    assert link.params["return_url"].endswith(f"/partner-portal/{partner.slug}/stripe-connect/return/")
    client.post(f"/partner-portal/{partner.slug}/stripe-connect/")
    assert len(stripe_server.calls("POST", "/v1/accounts")) == 1  # reused
    stripe_server.objects[account_id].update(details_submitted=True, charges_enabled=True, payouts_enabled=True)
    client.get(f"/partner-portal/{partner.slug}/stripe-connect/return/")
    partner.refresh_from_db()
    assert (partner.stripe_details_submitted, partner.stripe_charges_enabled, partner.stripe_payouts_enabled) == (
        True,
        True,
        True,
    )


def test_connect_is_owner_only(make_partner, team_member, portal_client, stripe_server):
    partner = make_partner()
    assert (
        portal_client(team_member(partner, "developer"))
        .post(f"/partner-portal/{partner.slug}/stripe-connect/")
        .status_code
        == 403
    )
    assert stripe_server.requests == []
    assert PartnerMember.objects.filter(partner=partner).count() == 2


def test_overdue_listing_is_paid_on_the_portal_not_with_a_second_subscription(
    make_partner, portal_client, stripe_server
):
    partner = make_partner()
    Partner.objects.filter(pk=partner.pk).update(
        listing_state=ListingState.PAST_DUE,
        listing_stripe_customer_id="cus_od",
        listing_stripe_subscription_id="sub_od",
    )
    client = portal_client(partner.owner_user)
    response = client.post(
        f"/partner-portal/{partner.slug}/listing/", {"price": ListingPrice.objects.all()[0].pk}, follow=True
    )
    assert "update your card in the billing portal" in response.content.decode()
    assert stripe_server.calls("POST", "/v1/checkout/sessions") == []
    portal = client.post(f"/partner-portal/{partner.slug}/listing/", {"action": "portal"})
    assert portal.status_code == 302 and portal["Location"].startswith("https://billing.stripe.com/")
    assert stripe_server.calls("POST", "/v1/billing_portal/sessions")[0].params["customer"] == "cus_od"


def test_new_subscription_replaces_an_incomplete_one(
    subscribed, public_client, webhook_secret, django_capture_on_commit_callbacks
):
    now = int(time.time())
    post(
        public_client,
        event("evt_inc", "customer.subscription.created", listing_sub(subscribed, "incomplete"), created=now - 30),
        django_capture_on_commit_callbacks,
    )
    post(
        public_client,
        event(
            "evt_new",
            "customer.subscription.created",
            listing_sub(subscribed, "active", sub_id="sub_listing2"),
            created=now,
        ),
        django_capture_on_commit_callbacks,
    )
    subscribed.refresh_from_db()
    assert subscribed.listing_stripe_subscription_id == "sub_listing2"
    assert subscribed.is_authorised
