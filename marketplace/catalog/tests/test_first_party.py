"""The shipped extensions: each manifest validates, together they use every capability of the
manifest schema, the seed publishes them (idempotently), and each installs cleanly."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from marketplace.catalog.first_party import CATALOG, EXTENSIONS_DIR, first_party_publish, manifest_data
from marketplace.catalog.models import Listing, Version
from marketplace.installs.models import ExtensionInstallation
from marketplace.installs.services import extension_install
from marketplace.manifest import manifest_validate, schema

CAPABILITIES = {
    "custom_modules",
    "custom_fields",
    "picklist_values",
    "pipelines",
    "saved_views",
    "translations",
    "webhooks",
    "scopes",
    # schema version 2 (marketplace/ui, ADR 0046)
    "app",
    "ui",
    "document_templates",
    "email_templates",
    "reports",
    "workflow_actions",
    # ADR 0056: the maps panel's trigger and field type, the PBX connector's telephony provider
    "workflow_triggers",
    "field_types",
    "telephony",
}


def test_every_shipped_manifest_is_in_the_catalog_and_validates():
    shipped = sorted(p.parent.name for p in EXTENSIONS_DIR.glob("*/manifest.json"))
    assert shipped == sorted(item.slug for item in CATALOG)
    assert len(shipped) >= 3
    for slug in shipped:
        assert manifest_validate(manifest_data(slug)).key == slug


def test_together_they_use_every_capability_of_the_schema():
    kinds = set(schema()["properties"]) - {
        "schema_version",
        "key",
        "name",
        "version",
        "min_platform_version",
        "language",
    }
    assert kinds == CAPABILITIES
    used = {kind for item in CATALOG for kind in CAPABILITIES if manifest_data(item.slug).get(kind)}
    assert used == CAPABILITIES


@pytest.mark.django_db
def test_seed_publishes_them_once_and_they_install(tenant_a, admin_of):
    first_party_publish()
    first_party_publish()
    assert Listing.objects.filter(partner__slug="crm-labs").count() == len(CATALOG)
    assert Version.objects.filter(state="approved").count() == len(CATALOG)
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        for listing in Listing.objects.all():
            version = listing.versions.get()
            extension_install(
                actor=admin,
                listing_id=listing.pk,
                slug=listing.slug,
                name=listing.name,
                manifest=manifest_validate(version.manifest),
            )
        assert ExtensionInstallation.objects.filter(state="installed").count() == len(CATALOG)


@pytest.mark.django_db
def test_the_catalog_shows_first_party_summaries_in_the_members_language(tenant_a, admin_of, client_for):
    from crm_apps.access.models import Member

    first_party_publish()
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        Member.objects.filter(pk=admin.pk).update(language="ru")

    html = client_for(tenant_a, admin).get("/settings/marketplace/").content.decode()

    assert "Модуль «Оборудование»: серийные номера" in html
    assert "A Machines module: serial numbers" not in html


def test_a_first_party_description_is_shown_in_the_members_language(tenant_a, admin_of, client_for):
    from crm_apps.access.models import Member

    first_party_publish()
    admin = admin_of(tenant_a)
    web = client_for(tenant_a, admin)
    english = web.get("/settings/marketplace/equipment-register/").content.decode()
    with schema_context(tenant_a.schema_name):
        Member.objects.filter(pk=admin.pk).update(language="ru")

    russian = web.get("/settings/marketplace/equipment-register/").content.decode()

    assert "Keep track of the machines you sell" in english
    assert "<strong>Machines</strong> module" in english  # the Markdown is rendered
    assert "Учёт оборудования, которое вы продаёте" in russian
    assert "<strong>Оборудование</strong>" in russian
    assert "Keep track of the machines you sell" not in russian
