from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from marketplace.catalog.models import Listing, Version
from marketplace.catalog.services import listing_save, version_review, version_submit
from marketplace.partners.models import Partner
from tenants.models import User

EXTENSIONS = Path(__file__).resolve().parents[2] / "extensions"


def manifest_of(slug: str) -> dict[str, Any]:
    return json.loads((EXTENSIONS / slug / "manifest.json").read_text())


@pytest.fixture
def partner(db: None) -> Partner:
    return Partner.objects.create(
        slug="acme-apps", name="Acme Apps", stripe_account_id="acct_partner1", stripe_charges_enabled=True
    )


@pytest.fixture
def operator(db: None) -> User:
    return User.objects.create_user("operator@platform.example", "x-operator-pass-1", name="Op", is_staff=True)


@pytest.fixture
def publish(partner: Partner, operator: User) -> Any:
    """publish(slug, approve=True, **listing values) -> Listing with the first-party manifest (version 1.1.0)."""

    def make(slug: str, *, approve: bool = True, **values: Any) -> Listing:
        fields: dict[str, Any] = {
            "slug": slug,
            "name": slug.replace("-", " ").title(),
            "summary": "Summary",
            "description": "**Bold** text",
            "category": "sales",
            "support_url": "https://support.acme.example/",
            "pricing": "free",
            "price_cents": 0,
            **values,
        }
        listing = listing_save(partner=partner, **fields)
        version = version_submit(listing=listing, manifest=manifest_of(slug), submitted_by=None)
        if approve:
            version_review(version=version, reviewer=operator, approve=True)
        return listing

    return make


def approved(listing: Listing) -> Version:
    return listing.versions.get(state="approved")


@pytest.fixture
def one_time_sale(
    request: Any, tenant_a: Any, publish: Any, public_client: Any, django_capture_on_commit_callbacks: Any
) -> Any:
    """A paid one-time sale of tenant A (payment intent `pi_one`, 4900 cents, 25% commission), with the
    Stripe fixture server running."""
    request.getfixturevalue("stripe_server")
    from billing.tests.conftest import event
    from marketplace.catalog.models import Licence, Sale
    from marketplace.catalog.tests.test_payments import deliver, meta

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


from billing.tests.conftest import stripe_server  # noqa: E402,F401  (the fixture)
