"""`saas.cache_versions.remembered`: a value kept per tenant and family version, recomputed after a bump,
never read by another workspace, computed every time without the cache."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from saas import cache_versions

pytestmark = pytest.mark.django_db


def test_remembered_per_tenant_and_version(tenant_a, tenant_b, monkeypatch):
    calls = []

    def compute(tag):
        def run():
            calls.append(tag)
            return [tag, len(calls)]

        return run

    with schema_context(tenant_a.schema_name):
        first = cache_versions.remembered("probe", compute("a"), ttl=60, kind=list)
        again = cache_versions.remembered("probe", compute("a"), ttl=60, kind=list)
    with schema_context(tenant_b.schema_name):
        other = cache_versions.remembered("probe", compute("b"), ttl=60, kind=list)
    with schema_context(tenant_a.schema_name):
        cache_versions.version_bump("access")
        bumped = cache_versions.remembered("probe", compute("a"), ttl=60, kind=list)
        # Without the cache: computed every time, never an error
        monkeypatch.setattr(cache_versions, "version", lambda name: None)
        plain = [cache_versions.remembered("probe", compute("a"), ttl=60, kind=list) for _ in range(2)]

    assert first == again == ["a", 1]
    assert other == ["b", 2]
    assert bumped == ["a", 3]
    assert plain == [["a", 4], ["a", 5]]


def test_the_process_copy_spares_redis_reads_for_a_while(tenant_a, tenant_b, monkeypatch):
    from django.core.cache import cache

    calls = []

    def compute(tag):
        def run():
            calls.append(tag)
            return [tag]

        return run

    with schema_context(tenant_a.schema_name):
        cache_versions.remembered("local-probe", compute("a"), ttl=60, kind=list)
        # Gone from Redis: the process still has its copy, for LOCAL_SECONDS.
        cache.delete(f"local-probe:access:{cache_versions.version('access')}")
        kept = cache_versions.remembered("local-probe", compute("a"), ttl=60, kind=list)
    with schema_context(tenant_b.schema_name):
        # Same key, another workspace: never the copy of tenant A.
        other = cache_versions.remembered("local-probe", compute("b"), ttl=60, kind=list)
    with schema_context(tenant_a.schema_name):
        cache.delete(f"local-probe:access:{cache_versions.version('access')}")
        start = cache_versions.time.monotonic()
        monkeypatch.setattr(cache_versions.time, "monotonic", lambda: start + cache_versions.LOCAL_SECONDS + 1)
        expired = cache_versions.remembered("local-probe", compute("a"), ttl=60, kind=list)

    assert kept == ["a"] and other == ["b"] and expired == ["a"]
    assert calls == ["a", "b", "a"]


def test_the_process_copy_is_bounded(tenant_a, monkeypatch):
    monkeypatch.setattr(cache_versions, "LOCAL_MAX", 3)
    with schema_context(tenant_a.schema_name):
        for i in range(5):
            cache_versions.remembered(f"bounded-{i}", list, ttl=60, kind=list)

    assert len(cache_versions._values) == 3
    assert [key.split(":")[0] for (_schema, key) in cache_versions._values] == ["bounded-2", "bounded-3", "bounded-4"]
