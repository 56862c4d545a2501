"""Events of partners' connected accounts through the Connect endpoint (its own signing secret, really
signed): account.updated keeps the onboarding state, payouts are mirrored once and only move forward,
and an event about one account never changes another partner."""

from __future__ import annotations

import time
from typing import Any

import pytest
from django.test import Client

from billing.models import StripeEvent
from billing.tests.conftest import body, event, sign
from marketplace.partners.models import Partner, Payout
from tenants.models import User

URL = "/billing/stripe/connect-webhook"
CONNECT_SECRET = "whsec_connect_fixture"
pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def connect_secret(settings: Any, stripe_server: Any) -> None:
    settings.STRIPE_CONNECT_WEBHOOK_SECRET = CONNECT_SECRET


def send(client: Client, payload: dict[str, Any], capture: Any, secret: str = CONNECT_SECRET, url: str = URL) -> Any:
    raw = body(payload)
    with capture(execute=True):
        return client.post(url, raw, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(raw, secret))


def on_account(
    account: str, event_id: str, event_type: str, obj: dict[str, Any], created: int | None = None
) -> dict[str, Any]:
    return {**event(event_id, event_type, obj, created=created), "account": account}


def account_obj(account: str, *, charges: bool, payouts: bool, due: list[str] | None = None) -> dict[str, Any]:
    return {
        "id": account,
        "object": "account",
        "charges_enabled": charges,
        "payouts_enabled": payouts,
        "details_submitted": True,
        "requirements": {"currently_due": due or [], "disabled_reason": "requirements.past_due" if due else None},
    }


def payout(payout_id: str, status: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": payout_id,
        "object": "payout",
        "amount": 12345,
        "currency": "eur",
        "status": status,
        "arrival_date": 1_900_000_000,
        "created": 1_899_900_000,
        "failure_code": None,
        "failure_message": None,
        **extra,
    }


@pytest.fixture
def two_partners(make_partner) -> tuple[Partner, Partner]:
    x = make_partner("Partner X", stripe_account_id="acct_x", stripe_charges_enabled=True, stripe_payouts_enabled=True)
    y = make_partner("Partner Y", stripe_account_id="acct_y", stripe_charges_enabled=True, stripe_payouts_enabled=True)
    return x, y


def test_endpoint_checks_its_own_secret_and_wants_an_account(
    public_client, two_partners, django_capture_on_commit_callbacks
):
    update = on_account("acct_x", "evt_a1", "account.updated", account_obj("acct_x", charges=False, payouts=False))
    assert (
        send(public_client, update, django_capture_on_commit_callbacks, secret="whsec_test_fixture_secret").status_code
        == 400
    )
    without_account = event("evt_a2", "account.updated", account_obj("acct_x", charges=False, payouts=False))
    assert send(public_client, without_account, django_capture_on_commit_callbacks).status_code == 400
    assert not StripeEvent.objects.exists()
    assert send(public_client, update, django_capture_on_commit_callbacks).status_code == 200
    assert StripeEvent.objects.get().processed_at is not None


def test_account_updated_keeps_the_state_in_order_and_only_for_that_account(
    public_client, two_partners, django_capture_on_commit_callbacks
):
    x, y = two_partners
    now = int(time.time())
    restricted = account_obj("acct_x", charges=False, payouts=False, due=["individual.verification.document"])
    send(
        public_client,
        on_account("acct_x", "evt_1", "account.updated", restricted, now),
        django_capture_on_commit_callbacks,
    )
    older = account_obj("acct_x", charges=True, payouts=True)
    send(
        public_client,
        on_account("acct_x", "evt_0", "account.updated", older, now - 60),
        django_capture_on_commit_callbacks,
    )
    x.refresh_from_db()
    assert (x.stripe_charges_enabled, x.stripe_payouts_enabled) == (False, False)
    assert x.stripe_requirements_due == ["individual.verification.document"]
    assert x.stripe_disabled_reason == "requirements.past_due"
    # An event for X's account carrying Y's account object changes nobody.
    forged = account_obj("acct_y", charges=False, payouts=False)
    send(
        public_client,
        on_account("acct_x", "evt_2", "account.updated", forged, now + 1),
        django_capture_on_commit_callbacks,
    )
    y.refresh_from_db()
    assert (y.stripe_charges_enabled, y.stripe_payouts_enabled) == (True, True)
    page = Client(HTTP_HOST="localhost")
    page.force_login(x.owner_user, backend="tenants.auth.EmailBackend")
    html = page.get(f"/partner-portal/{x.slug}/").content.decode()
    assert 'data-connect="charges-disabled"' in html and "individual.verification.document" in html


def test_payouts_are_mirrored_once_and_never_move_back(public_client, two_partners, django_capture_on_commit_callbacks):
    x, y = two_partners
    now = int(time.time())
    send(
        public_client,
        on_account("acct_x", "evt_p1", "payout.created", payout("po_1", "pending"), now),
        django_capture_on_commit_callbacks,
    )
    send(
        public_client,
        on_account("acct_x", "evt_p2", "payout.paid", payout("po_1", "paid"), now + 10),
        django_capture_on_commit_callbacks,
    )
    # Stripe's retry of the creation arrives late, with a newer event time: a paid payout stays paid.
    send(
        public_client,
        on_account("acct_x", "evt_p1b", "payout.updated", payout("po_1", "pending"), now + 20),
        django_capture_on_commit_callbacks,
    )
    stored = Payout.objects.get()
    assert (stored.partner_id, stored.status, stored.amount_cents, stored.currency) == (x.pk, "paid", 12345, "eur")
    assert stored.arrival_date is not None and stored.arrival_date.year == 2030
    failed = payout(
        "po_1", "failed", failure_code="account_closed", failure_message="The bank account has been closed."
    )
    send(
        public_client,
        on_account("acct_x", "evt_p3", "payout.failed", failed, now + 30),
        django_capture_on_commit_callbacks,
    )
    send(
        public_client,
        on_account("acct_x", "evt_p3", "payout.failed", failed, now + 30),
        django_capture_on_commit_callbacks,
    )
    stored.refresh_from_db()
    assert (stored.status, stored.failure_message) == ("failed", "The bank account has been closed.")
    # The same payout id reported for Y's account never moves X's payout to Y.
    send(
        public_client,
        on_account("acct_y", "evt_p4", "payout.canceled", payout("po_1", "canceled"), now + 40),
        django_capture_on_commit_callbacks,
    )
    stored.refresh_from_db()
    assert (stored.partner_id, stored.status) == (x.pk, "failed")
    send(
        public_client,
        on_account("acct_unknown", "evt_p5", "payout.paid", payout("po_2", "paid"), now),
        django_capture_on_commit_callbacks,
    )
    assert Payout.objects.count() == 1 and not y.payouts.exists()


def test_payouts_page_and_operator_totals(
    public_client, two_partners, portal_client, django_capture_on_commit_callbacks
):
    x, _y = two_partners
    send(
        public_client,
        on_account("acct_x", "evt_q1", "payout.paid", payout("po_x", "paid")),
        django_capture_on_commit_callbacks,
    )
    send(
        public_client,
        on_account("acct_y", "evt_q2", "payout.paid", payout("po_y", "paid", amount=777)),
        django_capture_on_commit_callbacks,
    )
    html = portal_client(x.owner_user).get(f"/partner-portal/{x.slug}/payouts/").content.decode()
    assert 'data-payout="po_x"' in html and "12345" in html and "po_y" not in html and "777" not in html
    operator = User.objects.create_superuser("ops@example.com", "operator-pass-123", name="Ops")
    console = Client(HTTP_HOST="localhost")
    console.force_login(operator)
    totals = console.get("/admin/catalog/sale/").content.decode()
    assert "12345 EUR" in totals and "777 EUR" in totals
    assert console.get("/admin/partners/payout/").status_code == 200


def test_charges_disabled_refuses_paid_listings_trials_and_purchases(
    make_partner, portal_client, tenant_a, admin_of, client_for, stripe_server
):
    from marketplace.catalog.models import Licence
    from marketplace.catalog.services import listing_save, version_review, version_submit
    from marketplace.catalog.tests.conftest import manifest_of

    partner = make_partner("Restricted", slug="restricted", stripe_account_id="acct_r", stripe_charges_enabled=True)
    listing = listing_save(
        partner=partner,
        slug="saas-sales-kit",
        name="Kit",
        summary="S",
        category="sales",
        support_url="https://support.example/",
        pricing="monthly_tenant",
        price_cents=900,
        trial_days=14,
    )
    operator = User.objects.create_user("rev@example.com", "x-review-pass-1", name="Rev", is_staff=True)
    version_review(
        version=version_submit(listing=listing, manifest=manifest_of("saas-sales-kit"), submitted_by=None),
        reviewer=operator,
        approve=True,
    )
    Partner.objects.filter(pk=partner.pk).update(stripe_charges_enabled=False)  # as account.updated does
    client = client_for(tenant_a, admin_of(tenant_a))
    response = client.post(f"/settings/marketplace/{listing.slug}/install/", follow=True)
    assert "Stripe has not enabled charges" in response.content.decode()
    response = client.post(f"/settings/marketplace/{listing.slug}/buy/", follow=True)
    assert "Stripe has not enabled charges" in response.content.decode()
    assert not Licence.objects.exists()
    assert stripe_server.calls("POST", "/v1/checkout/sessions") == []
    form = {
        "name": "Second",
        "slug": "second-kit",
        "summary": "S",
        "category": "sales",
        "support_url": "https://support.example/",
        "pricing": "one_time",
        "price": "5",
    }
    page = portal_client(partner.owner_user).post(f"/partner-portal/{partner.slug}/extensions/", form)
    assert page.status_code == 200 and "before you sell" in page.content.decode()
