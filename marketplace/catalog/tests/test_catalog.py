"""Listings, versions and review, the tenant catalog pages, reviews; the review gate and isolation."""

from __future__ import annotations

import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django_tenants.utils import schema_context

from crm_apps.engine.models import CustomField
from marketplace.catalog.models import Licence, Listing, Review, Version
from marketplace.catalog.services import markdown_render, review_add, version_review, version_submit
from marketplace.catalog.tests.conftest import manifest_of
from marketplace.installs.models import ExtensionInstallation


def test_markdown_is_sanitised():
    html = markdown_render("**ok** <script>alert(1)</script> [x](javascript:alert(1)) <img src=x onerror=y>")
    assert "<strong>ok</strong>" in html
    assert "<script" not in html and "javascript:" not in html and "<img" not in html and "onerror" not in html


def test_version_upload_reports_precise_errors(partner, publish):
    listing = publish("saas-sales-kit", approve=False)
    bad = manifest_of("saas-sales-kit")
    bad["version"] = "1.0"
    bad["custom_fields"][1]["module"] = "spaceships"
    bad["pipelines"][0]["stages"][0]["probability"] = 140
    with pytest.raises(ValidationError) as exc:
        version_submit(listing=listing, manifest=bad, submitted_by=None)
    assert exc.value.message_dict == {"pipelines.0.stages.0.probability": ["Must be at most 100."]}
    bad["pipelines"][0]["stages"][0]["probability"] = 40
    with pytest.raises(ValidationError) as exc:
        version_submit(listing=listing, manifest=bad, submitted_by=None)
    assert exc.value.message_dict == {
        "version": ["Use a semantic version such as 1.2.0."],
        "custom_fields.1.module": ["Unknown module “spaceships”."],
    }
    other = manifest_of("saas-sales-kit")
    other["key"] = "someone-else"
    other["version"] = "1.1.1"
    with pytest.raises(ValidationError) as exc:
        version_submit(listing=listing, manifest=other, submitted_by=None)
    assert list(exc.value.message_dict) == ["key"]
    with pytest.raises(ValidationError) as exc:
        version_submit(listing=listing, manifest=manifest_of("saas-sales-kit"), submitted_by=None)
    assert exc.value.message_dict == {"version": ["Version 1.1.0 was uploaded already."]}
    assert Version.objects.filter(listing=listing).count() == 1


def test_rejection_needs_notes_and_only_staff_review(publish, operator, django_user_model):
    listing = publish("saas-sales-kit", approve=False)
    version = listing.versions.get()
    with pytest.raises(ValidationError):
        version_review(version=version, reviewer=operator, approve=False, notes=" ")
    nobody = django_user_model.objects.create_user("p@example.com", "pass-word-123", name="P")
    with pytest.raises(PermissionDenied):
        version_review(version=version, reviewer=nobody, approve=True)
    version_review(version=version, reviewer=operator, approve=False, notes="Webhook URL is not yours.")
    version.refresh_from_db()
    assert (version.state, version.review_notes, version.reviewed_by) == (
        "rejected",
        "Webhook URL is not yours.",
        operator,
    )


def test_unapproved_versions_cannot_be_installed(tenant_a, admin_of, client_for, publish):
    listing = publish("saas-sales-kit", approve=False)
    client = client_for(tenant_a, admin_of(tenant_a))
    assert client.get("/settings/marketplace/").status_code == 200
    assert listing.name not in client.get("/settings/marketplace/").content.decode()
    assert client.get(f"/settings/marketplace/{listing.slug}/").status_code == 404
    assert client.post(f"/settings/marketplace/{listing.slug}/install/").status_code == 404
    with schema_context("alpha"):
        assert not ExtensionInstallation.objects.exists()
        assert not CustomField.objects.filter(key="arr").exists()


def test_admin_installs_a_free_extension_from_the_catalog(tenant_a, tenant_b, admin_of, client_for, publish):
    listing = publish("saas-sales-kit")
    client = client_for(tenant_a, admin_of(tenant_a))
    page = client.get(f"/settings/marketplace/{listing.slug}/").content.decode()
    assert "Annual recurring revenue" in page and "<strong>Bold</strong>" in page
    response = client.post(f"/settings/marketplace/{listing.slug}/install/")
    assert response.status_code == 302
    with schema_context("alpha"):
        assert ExtensionInstallation.objects.get().version == "1.1.0"
        assert CustomField.objects.filter(module="deals", key="arr").exists()
    listing.refresh_from_db()
    assert listing.install_count == 1
    assert Licence.objects.get(tenant=tenant_a, listing=listing).state == "free"
    with schema_context("beta"):
        assert not ExtensionInstallation.objects.exists()
        assert not CustomField.objects.filter(module="deals", key="arr").exists()
    assert client_for(tenant_b, admin_of(tenant_b)).get("/settings/marketplace/").status_code == 200


def test_install_shows_the_scoped_token_once(tenant_a, admin_of, client_for, publish):
    listing = publish("support-escalation-webhooks", category="support")
    response = client_for(tenant_a, admin_of(tenant_a)).post(f"/settings/marketplace/{listing.slug}/install/")
    assert response.status_code == 200
    assert "only now" in response.content.decode()


def test_catalog_is_for_admins_only(tenant_a, member, client_for, publish):
    listing = publish("saas-sales-kit")
    client = client_for(tenant_a, member(tenant_a))
    assert client.get("/settings/marketplace/").status_code == 403
    assert client.post(f"/settings/marketplace/{listing.slug}/install/").status_code == 403
    with schema_context("alpha"):
        assert not ExtensionInstallation.objects.exists()


def test_uninstall_from_the_catalog_keeps_data_unless_purged(tenant_a, admin_of, client_for, publish):
    listing = publish("saas-sales-kit")
    client = client_for(tenant_a, admin_of(tenant_a))
    client.post(f"/settings/marketplace/{listing.slug}/install/")
    refused = client.post(f"/settings/marketplace/{listing.slug}/uninstall/", {"purge": "on", "confirm": "wrong"})
    assert refused.status_code == 302
    with schema_context("alpha"):
        assert ExtensionInstallation.objects.get().is_installed
    client.post(f"/settings/marketplace/{listing.slug}/uninstall/")
    with schema_context("alpha"):
        assert CustomField.objects.get(key="arr").archived_at is not None
    client.post(f"/settings/marketplace/{listing.slug}/install/")
    client.post(f"/settings/marketplace/{listing.slug}/uninstall/", {"purge": "on", "confirm": listing.slug})
    with schema_context("alpha"):
        assert not CustomField.objects.filter(key="arr").exists()


def test_reviews_once_per_installing_workspace(tenant_a, tenant_b, admin_of, client_for, publish):
    listing = publish("saas-sales-kit")
    client = client_for(tenant_a, admin_of(tenant_a))
    with pytest.raises(ValidationError):
        review_add(tenant=tenant_a, actor=admin_of(tenant_a), listing=listing, rating=5)
    client.post(f"/settings/marketplace/{listing.slug}/install/")
    client.post(f"/settings/marketplace/{listing.slug}/review/", {"rating": "4", "body": "<b>Useful</b>"})
    client.post(f"/settings/marketplace/{listing.slug}/review/", {"rating": "1", "body": "again"})
    client_for(tenant_b, admin_of(tenant_b)).post(f"/settings/marketplace/{listing.slug}/review/", {"rating": "1"})
    assert list(Review.objects.values_list("tenant__schema_name", "rating", "body")) == [("alpha", 4, "<b>Useful</b>")]
    listing = Listing.objects.get(pk=listing.pk)
    assert (listing.rating_count, str(listing.rating)) == (1, "4.0")
    page = client.get(f"/settings/marketplace/{listing.slug}/").content.decode()
    assert "&lt;b&gt;Useful&lt;/b&gt;" in page


def test_manifest_schema_is_public_on_the_bare_domain(public_client):
    response = public_client.get("/marketplace/manifest.schema.json")
    assert response.status_code == 200
    assert json.loads(response.content)["properties"]["schema_version"] == {
        "enum": [1, 2],
        "description": "Version of this schema the manifest follows (2 for the app kinds).",
    }


def test_plans_without_the_marketplace_feature_cannot_install(tenant_a, admin_of, client_for, publish):
    from billing import entitlements
    from billing.models import Subscription

    listing = publish("saas-sales-kit")
    plan = Subscription.objects.get(tenant=tenant_a).plan
    assert "marketplace" in plan.features  # billing migration 0003 gives it to every plan
    plan.features = [f for f in plan.features if f != "marketplace"]
    plan.save()
    entitlements.plans_forget()
    client = client_for(tenant_a, admin_of(tenant_a))
    assert "Your plan does not include extensions." in client.get("/settings/marketplace/").content.decode()
    client.post(f"/settings/marketplace/{listing.slug}/install/")
    with schema_context("alpha"):
        assert not ExtensionInstallation.objects.exists()
        assert not CustomField.objects.filter(key="arr").exists()
    assert not Licence.objects.exists()


def test_the_extension_page_shows_its_webhook_deliveries_to_this_workspace_only(
    tenant_a, tenant_b, admin_of, client_for, publish
):
    from marketplace.installs.models import WebhookDelivery, WebhookSubscription

    listing = publish("support-escalation-webhooks", category="support")
    client_for(tenant_a, admin_of(tenant_a)).post(f"/settings/marketplace/{listing.slug}/install/")
    client_for(tenant_b, admin_of(tenant_b)).post(f"/settings/marketplace/{listing.slug}/install/")
    with schema_context("alpha"):
        subscription = WebhookSubscription.objects.order_by("pk")[0]
        WebhookDelivery.objects.create(
            subscription=subscription,
            event="contacts.created",
            module="contacts",
            record_id="00000000-0000-0000-0000-00000000a1fa",
            status="failed",
            attempts=6,
            error="HTTP 503",
        )
    page_a = client_for(tenant_a, admin_of(tenant_a)).get(f"/settings/marketplace/{listing.slug}/").content.decode()
    page_b = client_for(tenant_b, admin_of(tenant_b)).get(f"/settings/marketplace/{listing.slug}/").content.decode()
    assert "HTTP 503" in page_a
    assert "HTTP 503" not in page_b and "Recent webhook deliveries" not in page_b


def test_the_review_page_shows_scopes_addresses_and_screenshots(publish, django_user_model):
    from django.test import Client

    from marketplace.catalog.models import Screenshot

    listing = publish("pbx-connector", approve=False)
    Screenshot.objects.create(listing=listing, image="public/marketplace/shot.png", caption="The dial pad")
    version = listing.versions.get()
    reviewer = django_user_model.objects.create_superuser("review@platform.example", "x-review-pass-1", name="R")
    console = Client(HTTP_HOST="localhost")
    console.force_login(reviewer, backend="tenants.auth.EmailBackend")

    page = console.get(f"/admin/catalog/version/{version.pk}/change/")

    assert page.status_code == 200
    text = page.content.decode()
    assert "contacts:read, calls:write" in text
    assert "https://pbx.crm-labs.example/call, https://pbx.crm-labs.example/panel" in text
    assert "<strong>Telephony provider:</strong> yes" in text
    assert 'alt="The dial pad"' in text
