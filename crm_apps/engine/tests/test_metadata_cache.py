"""The process-wide metadata cache (crm_apps/engine/metadata.py, saas/cache_versions.py): shared only
for a committed state, reloaded everywhere after a change, never across tenants, bypassed without Redis."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, tenant_context

from crm_apps.engine import metadata, registry, services
from crm_apps.engine.models import CustomField
from saas import cache_versions
from tenants.models import User
from tenants.services import tenant_provision


def make_user(email: str) -> User:
    return User.objects.create_user(email, "a-long-test-password-1", name=email.split("@")[0])


def keys(module: str = "contacts") -> list[str]:
    return [f.key for f in metadata.custom_fields(module)]


def add_field(*, actor, key: str, label: str, type: str) -> None:
    services.custom_field_create(actor=actor, spec=registry.get("contacts"), key=key, label=label, type=type)


def new_request() -> None:
    """What the request signals do between two requests of one thread."""
    metadata.metadata_cache_clear()
    cache_versions.versions_memo_clear()


@pytest.fixture
def two_committed_tenants(committed):
    tenants = {}
    for key in ("a", "b"):
        admin = make_user(committed.email())
        tenants[key] = tenant_provision(slug=committed.slug(f"mc{key}"), name=f"Meta {key}", admin=admin)
    return tenants


def admin(tenant):
    from crm_apps.access.models import Member

    with schema_context(tenant.schema_name):
        return Member.objects.select_related("user").get(is_admin=True)


def test_a_committed_change_reaches_the_next_request_and_is_then_served_without_queries(two_committed_tenants):
    tenant = two_committed_tenants["a"]
    actor = admin(tenant)
    with tenant_context(tenant):
        new_request()
        assert keys() == []
        add_field(actor=actor, key="region", label="Region", type="text")
        new_request()
        assert keys() == ["region"]
        new_request()
        with CaptureQueriesContext(connection) as queries:
            assert keys() == ["region"]
        assert [q["sql"] for q in queries.captured_queries] == []


def test_another_process_sees_the_change_once_the_version_moves(two_committed_tenants):
    """A second process: same Redis, its own memory. Simulated by a change that bypasses this process."""
    tenant = two_committed_tenants["a"]
    with tenant_context(tenant):
        new_request()
        assert keys() == []
        # Another process commits a field and moves the version (what metadata_changed does after commit).
        CustomField.objects.create(module="contacts", key="tier", label="Tier", type="text", position=0)
        new_request()
        assert keys() == []  # this process still holds the previous version's copy...
        cache_versions.version_bump("metadata")
        new_request()
        assert keys() == ["tier"]  # ...until the version moves


def test_uncommitted_definitions_are_never_shared(two_committed_tenants):
    tenant = two_committed_tenants["a"]
    actor = admin(tenant)
    with tenant_context(tenant):
        new_request()
        assert keys() == []
        with pytest.raises(RuntimeError), transaction.atomic():
            add_field(actor=actor, key="ghost", label="Ghost", type="text")
            metadata.metadata_cache_clear()  # a request ending inside the transaction keeps reading the database
            assert keys() == ["ghost"]
            raise RuntimeError("roll back")
        new_request()
        assert keys() == []
        with CaptureQueriesContext(connection) as queries:
            assert keys() == []
        assert queries.captured_queries == []


def test_one_tenants_definitions_never_reach_another(two_committed_tenants):
    a, b = two_committed_tenants["a"], two_committed_tenants["b"]
    with tenant_context(a):
        add_field(actor=admin(a), key="secret_a", label="Secret A", type="text")
        new_request()
        assert keys() == ["secret_a"]
    with tenant_context(b):
        new_request()
        assert keys() == []
        services.picklist_value_add(actor=admin(b), name="industry", label="Only in B")
        new_request()
        assert "Only in B" in metadata.picklist_labels("industry").values()
    with tenant_context(a):
        new_request()
        assert keys() == ["secret_a"]
        assert "Only in B" not in metadata.picklist_labels("industry").values()


def test_a_reused_schema_name_gets_fresh_versions(two_committed_tenants):
    tenant = two_committed_tenants["a"]
    with tenant_context(tenant):
        new_request()
        before = {name: cache_versions.version(name) for name in cache_versions.NAMES}
        cache_versions.versions_reset()
        after = {name: cache_versions.version(name) for name in cache_versions.NAMES}
    assert all(before[name] != after[name] for name in cache_versions.NAMES)
    assert None not in after.values()


def test_without_redis_definitions_come_from_the_database(two_committed_tenants, monkeypatch):
    tenant = two_committed_tenants["a"]
    actor = admin(tenant)

    def unreachable(*_args, **_kwargs):
        raise ConnectionError("redis is down")

    with tenant_context(tenant):
        new_request()
        assert keys() == []
        monkeypatch.setattr(cache_versions.cache, "get_many", unreachable)
        monkeypatch.setattr(cache_versions.cache, "set", unreachable)
        add_field(actor=actor, key="offline", label="Offline", type="text")
        new_request()
        assert cache_versions.version("metadata") is None
        assert keys() == ["offline"]


def test_the_version_moves_in_the_writing_tenant_when_the_commit_happens_in_another_schema(two_committed_tenants):
    tenant = two_committed_tenants["a"]
    actor = admin(tenant)
    with tenant_context(tenant):
        new_request()
        assert keys() == []
        before = cache_versions.version("metadata")
    # tenant_context exits first: the transaction then commits with the connection back in `public`
    with transaction.atomic(), tenant_context(tenant):
        add_field(actor=actor, key="late", label="Late", type="text")
    with tenant_context(tenant):
        new_request()
        assert cache_versions.version("metadata") != before
        assert keys() == ["late"]
