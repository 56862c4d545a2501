"""Install / upgrade / uninstall of manifests inside a tenant schema."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import translation
from django_tenants.utils import schema_context

from crm_apps.access.models import ApiToken
from crm_apps.engine import metadata, registry
from crm_apps.engine import services as engine
from crm_apps.engine.models import CustomField, PicklistValue, SavedView
from crm_apps.modules.deals.models import Pipeline
from marketplace.installs.models import ExtensionInstallation, OwnedObject, WebhookSubscription
from marketplace.installs.services import extension_install, extension_uninstall
from marketplace.installs.tests.conftest import first_party
from marketplace.manifest import manifest_validate


def state() -> dict[str, Any]:
    return {
        "fields": sorted(CustomField.objects.values_list("module", "key", "label", "archived_at")),
        "values": sorted(PicklistValue.objects.values_list("picklist__name", "value", "retired")),
        "pipelines": sorted(Pipeline.objects.values_list("name", "archived")),
        "stages": sorted(Pipeline.objects.values_list("name", "stages__name", "stages__probability")),
        "views": sorted(SavedView.objects.values_list("module", "name", "shared")),
        "owned": sorted(OwnedObject.objects.values_list("kind", "ident")),
        "hooks": sorted(WebhookSubscription.objects.values_list("url", "active")),
        "tokens": ApiToken.objects.count(),
    }


def test_install_creates_everything_and_second_install_changes_nothing(tenant_a, admin_of, sales_kit):
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        installation, key = extension_install(
            actor=admin, listing_id=1, slug=sales_kit.key, name="SaaS sales kit", manifest=sales_kit
        )
        assert key is None  # no scopes asked: no token
        arr = CustomField.objects.get(module="deals", key="arr")
        assert (arr.type, arr.label, arr.archived_at) == ("currency", "Annual recurring revenue", None)
        assert list(
            PicklistValue.objects.filter(picklist__name="cf:deals:plan_tier").values_list("value", flat=True)
        ) == ["Starter", "Growth", "Enterprise"]
        assert PicklistValue.objects.filter(picklist__name="lead_source", value="Webinar").exists()
        pipeline = Pipeline.objects.get(name="SaaS subscriptions")
        assert [s.name for s in pipeline.stages.order_by("position")[:1]] == ["Trial started"]
        view = SavedView.objects.get(name="Renewals by date")
        assert (view.module, view.shared, view.columns) == ("deals", True, ["arr", "plan_tier", "renewal_date"])
        before = state()
        again, _key = extension_install(
            actor=admin, listing_id=1, slug=sales_kit.key, name="SaaS sales kit", manifest=sales_kit
        )
        assert again.pk == installation.pk
        assert state() == before
        assert ExtensionInstallation.objects.count() == 1


def test_install_never_takes_over_the_workspace_s_own_objects(tenant_a, admin_of, sales_kit):
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        engine.custom_field_create(actor=admin, spec=registry.get("deals"), key="arr", label="Mine", type="text")
        before = state()
        with pytest.raises(ValidationError) as exc:
            extension_install(actor=admin, listing_id=1, slug=sales_kit.key, name="Kit", manifest=sales_kit)
        assert exc.value.message_dict == {"custom_fields.0.key": ["This workspace already has a field “arr” in deals."]}
        assert state() == before  # nothing half-applied
        assert not ExtensionInstallation.objects.exists()


def test_members_who_cannot_manage_settings_cannot_install(tenant_a, member, sales_kit):
    plain = member(tenant_a)
    with schema_context("alpha"):
        before = state()
        with pytest.raises(PermissionDenied):
            extension_install(actor=plain, listing_id=1, slug=sales_kit.key, name="Kit", manifest=sales_kit)
        assert state() == before


def test_upgrade_applies_the_difference(tenant_a, admin_of, sales_kit):
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        extension_install(actor=admin, listing_id=1, slug=sales_kit.key, name="Kit", manifest=sales_kit)
        spec = registry.get("deals")
        deal = spec.model.objects.first()
        if deal is not None:
            engine.record_update(spec=spec, actor=admin, record=deal, data={}, custom={"seats": 12})
        data = copy.deepcopy(sales_kit.data)
        data["version"] = "1.2.0"
        data["custom_fields"] = [f for f in data["custom_fields"] if f["key"] != "seats"]
        data["custom_fields"][0]["label"] = "ARR"
        data["custom_fields"].append({"module": "deals", "key": "champion", "label": "Champion", "type": "text"})
        data["pipelines"][0]["stages"].insert(2, {"name": "Security review", "probability": 45})
        data["saved_views"] = []
        for gone in ("Annual recurring revenue", "Seats", "Renewals by date"):  # translations follow
            del data["translations"]["ru"][gone]
        upgraded = manifest_validate(data)
        installation, _key = extension_install(
            actor=admin, listing_id=1, slug=sales_kit.key, name="Kit", manifest=upgraded
        )
        assert installation.version == "1.2.0"
        assert CustomField.objects.get(module="deals", key="arr").label == "ARR"
        assert CustomField.objects.get(module="deals", key="champion").archived_at is None
        assert CustomField.objects.get(module="deals", key="seats").archived_at is not None  # archived, kept
        if deal is not None:
            deal.refresh_from_db()
            assert deal.custom_data["seats"] == 12  # data kept
        stages = list(Pipeline.objects.get(name="SaaS subscriptions").stages.order_by("position"))
        assert [s.name for s in stages][:4] == ["Trial started", "Product qualified", "Security review", "Proposal"]
        assert not SavedView.objects.filter(name="Renewals by date").exists()
        assert not OwnedObject.objects.filter(kind="custom_field", ident="deals.seats").exists()


def test_uninstall_hides_and_keeps_data_reinstall_brings_it_back(tenant_a, admin_of, sales_kit):
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        installation, _ = extension_install(actor=admin, listing_id=1, slug="k", name="Kit", manifest=sales_kit)
        spec = registry.get("organizations")
        org = engine.record_create(spec=spec, actor=admin, data={"name": "Umbrella"}, custom={"churn_risk": "High"})
        extension_uninstall(actor=admin, installation=installation)
        assert CustomField.objects.get(module="organizations", key="churn_risk").archived_at is not None
        assert "churn_risk" not in {f.key for f in metadata.custom_fields("organizations")}
        assert Pipeline.objects.get(name="SaaS subscriptions").archived
        assert PicklistValue.objects.get(picklist__name="lead_source", value="Webinar").retired
        assert not SavedView.objects.filter(name="Renewals by date").exists()
        org.refresh_from_db()
        assert org.custom_data["churn_risk"] == "High"
        installation, _ = extension_install(actor=admin, listing_id=1, slug="k", name="Kit", manifest=sales_kit)
        assert CustomField.objects.get(module="organizations", key="churn_risk").archived_at is None
        assert not Pipeline.objects.get(name="SaaS subscriptions").archived
        assert not PicklistValue.objects.get(picklist__name="lead_source", value="Webinar").retired


def test_purge_removes_what_the_extension_added_and_its_values(tenant_a, admin_of, sales_kit):
    admin = admin_of(tenant_a)
    with schema_context("alpha"):
        installation, _ = extension_install(actor=admin, listing_id=1, slug="k", name="Kit", manifest=sales_kit)
        spec = registry.get("organizations")
        org = engine.record_create(spec=spec, actor=admin, data={"name": "Umbrella"}, custom={"churn_risk": "High"})
        extension_uninstall(actor=admin, installation=installation, purge=True)
        assert not CustomField.objects.filter(key__in=["churn_risk", "arr", "seats"]).exists()
        assert not Pipeline.objects.filter(name="SaaS subscriptions").exists()
        assert not PicklistValue.objects.filter(picklist__name="lead_source", value="Webinar").exists()
        assert not OwnedObject.objects.exists()
        org.refresh_from_db()
        assert "churn_risk" not in org.custom_data
        assert PicklistValue.objects.filter(picklist__name="lead_source", value="Web Site").exists()  # theirs


def test_translations_show_labels_in_the_member_s_language(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    pack = first_party("localised-field-pack")
    with schema_context("alpha"):
        installation, _ = extension_install(actor=admin, listing_id=3, slug=pack.key, name="Pack", manifest=pack)
        with translation.override("ru"):
            metadata.metadata_cache_clear()
            labels = {f.key: f.label for f in metadata.custom_fields("leads")}
            assert labels["preferred_language"] == "Предпочитаемый язык"
            assert [v.label for v in metadata.picklist_values("cf:leads:preferred_language")] == [
                "Английский",
                "Русский",
                "Немецкий",
            ]
        with translation.override("en"):
            metadata.metadata_cache_clear()
            assert {f.key: f.label for f in metadata.custom_fields("leads")}["region"] == "Sales region"
        assert CustomField.objects.get(key="region").label == "Sales region"  # stored label untouched
        extension_uninstall(actor=admin, installation=installation)
        with translation.override("ru"):
            metadata.metadata_cache_clear()
            assert [v.label for v in metadata.picklist_values("industry") if v.value == "Logistics"] == []


def test_an_installation_in_one_tenant_is_invisible_in_another(tenant_a, tenant_b, admin_of, sales_kit):
    admin = admin_of(tenant_a)
    with schema_context("beta"):
        before = state()
    with schema_context("alpha"):
        extension_install(actor=admin, listing_id=1, slug="k", name="Kit", manifest=sales_kit)
    with schema_context("beta"):
        assert not ExtensionInstallation.objects.exists()
        assert state() == before
