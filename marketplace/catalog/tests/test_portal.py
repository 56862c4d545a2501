"""Partner portal pages for extensions: listing and version upload with precise errors, screenshots
checked as images, sales and payouts visible only to the partner's own team and roles."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from marketplace.catalog.models import Licence, Listing, Sale, Version
from marketplace.catalog.tests.conftest import manifest_of
from marketplace.partners.models import Partner, PartnerMember
from tenants.models import User

pytestmark = pytest.mark.django_db


def portal_client(partner: Partner, role: str = "owner") -> Client:
    user = User.objects.create_user(f"{role}-{partner.slug}@example.com", "pass-word-123", name=role)
    PartnerMember.objects.create(partner=partner, user=user, role=role)
    client = Client(HTTP_HOST="localhost")
    client.force_login(user, backend="tenants.auth.EmailBackend")
    return client


def png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 10, 10)).save(out, format="PNG")
    return SimpleUploadedFile("shot.png", out.getvalue(), content_type="image/png")


LISTING = {
    "name": "SaaS sales kit",
    "slug": "saas-sales-kit",
    "summary": "Fields and a pipeline for SaaS",
    "description": "# Hi",
    "category": "sales",
    "support_url": "https://help.acme.example",
    "pricing": "free",
    "price": "",
    "trial_days": "0",
}


def test_partner_creates_a_listing_and_uploads_a_version(partner, media_root):
    client = portal_client(partner)
    response = client.post(
        "/partner-portal/acme-apps/extensions/", {**LISTING, "screenshot": png(), "screenshot_caption": "Board"}
    )
    assert response.status_code == 302
    listing = Listing.objects.get(slug="saas-sales-kit")
    assert listing.partner == partner
    assert listing.screenshots.count() == 1
    bad = manifest_of("saas-sales-kit")
    bad["custom_fields"][0]["type"] = "hologram"
    page = client.post(
        "/partner-portal/acme-apps/extensions/saas-sales-kit/", {"action": "version", "manifest_text": json.dumps(bad)}
    )
    assert page.status_code == 400
    assert "custom_fields.0.type" in page.content.decode()
    assert not Version.objects.exists()
    upload = SimpleUploadedFile("manifest.json", json.dumps(manifest_of("saas-sales-kit")).encode())
    ok = client.post(
        "/partner-portal/acme-apps/extensions/saas-sales-kit/", {"action": "version", "manifest_file": upload}
    )
    assert ok.status_code == 302
    assert Version.objects.get().state == "submitted"


def test_screenshots_must_be_images_and_paid_listings_need_a_price(partner, media_root):
    client = portal_client(partner)
    fake = SimpleUploadedFile("shot.png", b"<svg onload=alert(1)>", content_type="image/png")
    response = client.post("/partner-portal/acme-apps/extensions/", {**LISTING, "screenshot": fake})
    assert response.status_code == 200
    assert not Listing.objects.exists()
    response = client.post("/partner-portal/acme-apps/extensions/", {**LISTING, "pricing": "monthly_seat", "price": ""})
    assert "Paid extensions cost from $0.01 to $300." in response.content.decode()
    response = client.post(
        "/partner-portal/acme-apps/extensions/", {**LISTING, "pricing": "one_time", "price": "300.01"}
    )
    assert response.status_code == 200
    assert not Listing.objects.exists()


def test_roles_and_other_partners(partner, publish, tenant_a):
    listing = publish("saas-sales-kit", pricing="one_time", price_cents=1000)
    licence = Licence.objects.create(
        tenant=tenant_a, listing=listing, state="active", pricing="one_time", price_cents=1000
    )
    Sale.objects.create(licence=licence, partner=partner, stripe_object_id="pi_1", amount_cents=1000, fee_cents=250)
    owner = portal_client(partner)
    page = owner.get("/partner-portal/acme-apps/sales/").content.decode()
    assert "750" in page
    assert owner.get("/partner-portal/acme-apps/payouts/").status_code == 200
    sales_person = portal_client(partner, role="sales")
    assert sales_person.get("/partner-portal/acme-apps/extensions/").status_code == 403
    developer = portal_client(partner, role="developer")
    assert developer.get("/partner-portal/acme-apps/sales/").status_code == 403
    rival = Partner.objects.create(slug="rival", name="Rival")
    stranger = portal_client(rival)
    assert stranger.get("/partner-portal/acme-apps/sales/").status_code == 404
    assert stranger.get("/partner-portal/acme-apps/extensions/saas-sales-kit/").status_code == 404
    assert "750" not in stranger.get("/partner-portal/rival/sales/").content.decode()


@pytest.mark.parametrize("depth", [21, 5_000, 100_000])
def test_a_manifest_nested_too_deep_is_a_precise_400_not_a_crash(partner, media_root, depth):
    client = portal_client(partner)
    client.post("/partner-portal/acme-apps/extensions/", LISTING)
    deep = manifest_of("saas-sales-kit")
    deep["description"] = "[" * 3 + "not a list, a string with { and [ in it"  # brackets in strings don't count
    text = json.dumps(deep)[:-1] + ', "x": ' + "[" * depth + "]" * depth + "}"

    page = client.post(
        "/partner-portal/acme-apps/extensions/saas-sales-kit/", {"action": "version", "manifest_text": text}
    )

    assert page.status_code == 400
    assert "levels deep" in page.content.decode()
    assert not Version.objects.exists()


def test_an_already_parsed_deep_manifest_is_refused_without_recursion():
    from marketplace.manifest import ManifestInvalid, manifest_validate

    value: list = []
    for _ in range(100_000):
        value = [value]
    with pytest.raises(ManifestInvalid) as refused:
        manifest_validate({"key": "x", "nested": value})
    assert "levels deep" in str(refused.value.errors)
