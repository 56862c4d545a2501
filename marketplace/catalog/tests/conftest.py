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


from billing.tests.conftest import stripe_server  # noqa: E402,F401  (the fixture)
