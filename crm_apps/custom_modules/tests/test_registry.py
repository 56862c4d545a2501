"""The tenant-aware registry: a tenant's custom modules overlay the built-in specs, are cached per
tenant metadata version (no query once committed and loaded), and never reach another tenant."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, tenant_context

from crm_apps.custom_modules.models import CustomModule, CustomRecord
from crm_apps.custom_modules.services import custom_module_create, custom_module_update
from crm_apps.engine import metadata, registry
from saas import cache_versions
from tenants.models import User
from tenants.services import tenant_provision


def new_request() -> None:
    """What the request signals do between two requests of one thread."""
    metadata.metadata_cache_clear()
    cache_versions.versions_memo_clear()


def admin(tenant):
    from crm_apps.access.models import Member

    with schema_context(tenant.schema_name):
        return Member.objects.select_related("user").get(is_admin=True)


@pytest.fixture
def two_committed_tenants(committed):
    tenants = {}
    for key in ("a", "b"):
        owner = User.objects.create_user(committed.email(), "a-long-test-password-1", name=f"Owner {key}")
        tenants[key] = tenant_provision(slug=committed.slug(f"cm{key}"), name=f"Modules {key}", admin=owner)
    return tenants


def test_custom_modules_cost_no_query_once_committed_and_never_cross_tenants(two_committed_tenants):
    a, b = two_committed_tenants["a"], two_committed_tenants["b"]
    with tenant_context(a):
        new_request()
        custom_module_create(actor=admin(a), key="equipment", label="Equipment", label_plural="Equipment")
        new_request()
        spec = registry.get("equipment")
        new_request()
        with CaptureQueriesContext(connection) as queries:
            again = registry.get("equipment")
            keys = [s.key for s in registry.all_specs()]
        in_a = (spec.custom, spec.model, spec.scope, again is spec)
    with tenant_context(b):
        new_request()
        with pytest.raises(registry.UnknownModule):
            registry.get("equipment")
        keys_b = [s.key for s in registry.all_specs()]

    assert in_a == (True, CustomRecord, {"module_key": "equipment"}, True)
    assert [q["sql"] for q in queries.captured_queries] == []
    assert keys[-1] == "equipment" and "equipment" not in keys_b


def test_an_archived_module_leaves_every_process_after_commit(two_committed_tenants):
    a = two_committed_tenants["a"]
    with tenant_context(a):
        new_request()
        module = custom_module_create(actor=admin(a), key="kit", label="Kit", label_plural="Kits")
        new_request()
        assert registry.get("kit").label == "Kit"
        custom_module_update(actor=admin(a), module=module, data={"label": "Gear"})
        new_request()
        assert registry.get("kit").label == "Gear"
        custom_module_update(actor=admin(a), module=module, data={"archived": True})
        new_request()
        with pytest.raises(registry.UnknownModule):
            registry.get("kit")
        assert CustomModule.objects.get(key="kit").archived_at is not None


def test_the_public_schema_knows_only_built_in_modules(db):
    keys = {s.key for s in registry.all_specs()}

    assert keys == registry.builtin_keys()
    with pytest.raises(registry.UnknownModule):
        registry.get("equipment")


def test_a_record_of_an_archived_module_is_named_by_its_number(tenant_a, admin_of, equipment_in):
    from crm_apps.custom_modules.services import custom_module_archive
    from crm_apps.engine.services import record_create

    module = equipment_in(tenant_a)
    with schema_context(tenant_a.schema_name):
        record = record_create(
            spec=registry.get("equipment"), actor=admin(tenant_a), data={"name": "Drill"}, custom={"serial": "D"}
        )
        named = str(record)
        custom_module_archive(actor=admin(tenant_a), module=module)
        archived = str(CustomRecord.objects.get(pk=record.pk))

    assert (named, archived) == ("Drill", "EQUI1")
