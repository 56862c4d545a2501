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
