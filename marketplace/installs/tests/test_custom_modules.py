"""Manifests that declare custom modules (ADR 0016, ADR 0010): install builds them, upgrade follows the
manifest, uninstall archives them with their records, and only an explicit purge of an empty module
removes it."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from crm_apps.custom_modules.models import CustomModule, CustomRecord
from crm_apps.engine import registry
from crm_apps.engine import services as engine
from crm_apps.engine.models import CustomField
from marketplace.installs.services import extension_install, extension_uninstall
from marketplace.manifest import ManifestInvalid, manifest_validate

pytestmark = pytest.mark.django_db


def manifest(**extra):
    return {
        "schema_version": 1,
        "key": "fleet-kit",
        "name": "Fleet kit",
        "version": "1.0.0",
        "min_platform_version": "0.1.0",
        "custom_modules": [
            {"key": "vehicles", "label": "Vehicle", "plural": "Vehicles", "icon": "truck", "menu_group": "inventory"}
        ],
        "custom_fields": [
            {"module": "vehicles", "key": "plate", "label": "Plate", "type": "text", "required": True},
            {"module": "vehicles", "key": "supplier", "label": "Supplier", "type": "record", "target": "vendors"},
        ],
        "saved_views": [{"module": "vehicles", "name": "All vehicles", "columns": ["plate"]}],
        **extra,
    }


def install(admin, data):
    return extension_install(
        actor=admin, listing_id=7, slug="fleet-kit", name="Fleet kit", manifest=manifest_validate(data)
    )


def test_the_schema_and_semantic_checks_know_custom_modules():
    with pytest.raises(ManifestInvalid) as clash:
        manifest_validate(manifest(custom_modules=[{"key": "contacts", "label": "C", "plural": "Cs"}]))
    with pytest.raises(ManifestInvalid) as reserved:
        manifest_validate(manifest(custom_modules=[{"key": "meta", "label": "M", "plural": "Ms"}]))
    with pytest.raises(ManifestInvalid) as pattern:
        manifest_validate(manifest(custom_modules=[{"key": "Bad Key", "label": "B", "plural": "Bs"}]))
    with pytest.raises(ManifestInvalid) as undeclared:
        manifest_validate(manifest(custom_modules=[]))

    assert clash.value.errors["custom_modules.0.key"] == ["“contacts” is a built-in module or a reserved word."]
    assert reserved.value.errors["custom_modules.0.key"] == ["“meta” is a built-in module or a reserved word."]
    assert list(pattern.value.errors) == ["custom_modules.0.key"]
    assert "custom_fields.0.module" in undeclared.value.errors
    assert manifest_validate(manifest()).items("custom_modules")[0]["key"] == "vehicles"


def test_install_builds_the_module_and_uninstall_archives_it_keeping_records(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        install(admin, manifest())
        spec = registry.get("vehicles")
        record = engine.record_create(spec=spec, actor=admin, data={"name": "Van 1"}, custom={"plate": "AB-123"})
        fields = sorted(CustomField.objects.filter(module="vehicles").values_list("key", "type"))

        extension_uninstall(actor=admin, installation=record_installation())
        with pytest.raises(registry.UnknownModule):
            registry.get("vehicles")
        kept = CustomRecord.objects.get(pk=record.pk)
        module = CustomModule.objects.get(key="vehicles")

        install(admin, manifest())  # reinstall brings it back with its data
        back = registry.get("vehicles").records().get(pk=record.pk)

    assert spec.custom and spec.label_plural == "Vehicles"
    assert fields == [("plate", "text"), ("supplier", "record")]
    assert kept.custom_data == {"plate": "AB-123"} and module.archived_at is not None
    assert back.custom_data == {"plate": "AB-123"}


def test_purge_removes_only_a_module_without_records(tenant_a, admin_of):
    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        install(admin, manifest())
        extension_uninstall(actor=admin, installation=record_installation(), purge=True)
        empty_gone = not CustomModule.objects.filter(key="vehicles").exists()

        install(admin, manifest())
        record = engine.record_create(
            spec=registry.get("vehicles"), actor=admin, data={"name": "Van"}, custom={"plate": "X"}
        )
        extension_uninstall(actor=admin, installation=record_installation(), purge=True)
        kept = CustomModule.objects.get(key="vehicles")
        stored = CustomRecord.objects.get(pk=record.pk)

    assert empty_gone
    assert kept.archived_at is not None
    assert stored.custom_data == {}  # the purged field's values went, explicitly; the record stayed


def test_install_never_takes_over_a_module_the_workspace_built(tenant_a, admin_of):
    from crm_apps.custom_modules.services import custom_module_create

    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        custom_module_create(actor=admin, key="vehicles", label="Mine", label_plural="Mine")
        with pytest.raises(ValidationError) as exc:
            install(admin, manifest())
        assert CustomModule.objects.get(key="vehicles").label == "Mine"
        assert not CustomField.objects.filter(module="vehicles").exists()

    assert exc.value.message_dict == {"custom_modules.0.key": ["This workspace already has a module “vehicles”."]}


def record_installation():
    from marketplace.installs.models import ExtensionInstallation

    return ExtensionInstallation.objects.get(slug="fleet-kit")


def test_the_first_party_equipment_register_installs_a_translated_module(tenant_a, admin_of):
    from django.utils import translation

    from marketplace.catalog.first_party import manifest_data

    admin = admin_of(tenant_a)
    with schema_context(tenant_a.schema_name):
        extension_install(
            actor=admin,
            listing_id=9,
            slug="equipment-register",
            name="Equipment register",
            manifest=manifest_validate(manifest_data("equipment-register")),
        )
        english = registry.get("machines")
        with translation.override("ru"):
            russian = registry.get("machines")
        fields = list(CustomField.objects.filter(module="machines").values_list("key", flat=True))

    assert (english.label, english.label_plural, english.number_prefix) == ("Machine", "Machines", "MCH")
    assert (russian.label, russian.label_plural) == ("Машина", "Машины")
    assert fields == ["serial_number", "condition", "next_service", "supplier", "customer"]
