"""The cache backend reuses its redis-py client (Django builds one per call) and still works per tenant."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches
from django_tenants.utils import schema_context

from saas.redis_clients import RedisCache

pytestmark = pytest.mark.django_db


def test_one_client_per_pool_and_tenant_keys_apart(tenant_a, tenant_b):
    backend = cache._cache  # type: ignore[attr-defined]

    assert isinstance(caches["default"], RedisCache)
    assert backend.get_client() is backend.get_client(write=True) is backend.get_client("any")
    with schema_context(tenant_a.schema_name):
        cache.set("reuse-probe", "a", 30)
    with schema_context(tenant_b.schema_name):
        assert cache.get("reuse-probe") is None
        cache.set("reuse-probe", "b", 30)
    with schema_context(tenant_a.schema_name):
        assert cache.get("reuse-probe") == "a"
