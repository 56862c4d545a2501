"""The warm pool with committed data and several connections (no test transaction: `committed`)."""

from __future__ import annotations

import threading

import pytest
from django_tenants.utils import schema_context, schema_exists

from conftest import TEST_POOL_SIZE
from crm_apps.access.models import Member
from tenants.models import Domain, PoolSchema, Tenant, User, WorkspaceMembership
from tenants.pool import tenant_pool_fill
from tenants.runtime import use_public_schema
from tenants.services import tenant_signup
from tenants.tests.test_pool import GOOD, MIGRATION_SEEDED_TABLES, ready, tables_with_rows


def test_a_failed_signup_gives_its_schema_back_to_the_pool(committed, monkeypatch):
    import crm_apps.engine.defaults as defaults

    def boom(**kwargs: object) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(defaults, "crm_defaults_install", boom)  # fails after the admin member was written
    committed.use_pool = True
    slug, email = committed.slug("fail"), committed.email()
    first = ready()[0]

    with pytest.raises(RuntimeError):
        tenant_signup(**{**GOOD, "subdomain": slug, "email": email})

    use_public_schema()
    assert first.name in {row.name for row in ready()}
    assert len(ready()) == TEST_POOL_SIZE
    assert schema_exists(first.name)
    assert not schema_exists(slug)
    assert tables_with_rows(first.name) <= MIGRATION_SEEDED_TABLES
    assert not Tenant.objects.filter(schema_name=slug).exists()
    assert not Domain.objects.filter(domain=f"{slug}.localhost").exists()
    assert not User.objects.filter(email=email).exists()
    assert not WorkspaceMembership.objects.filter(tenant__schema_name=slug).exists()


def test_concurrent_signups_claim_different_schemas(committed):
    from django.db import connections

    slugs = [committed.slug("conc"), committed.slug("conc")]
    emails = [committed.email(), committed.email()]
    committed.use_pool = True
    tenant_pool_fill(target=TEST_POOL_SIZE)
    pool_names = {row.name for row in ready()}
    assert len(pool_names) == 2
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def signup(slug: str, email: str) -> None:
        barrier.wait()
        try:
            tenant_signup(**{**GOOD, "subdomain": slug, "email": email})
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=signup, args=pair) for pair in zip(slugs, emails, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    use_public_schema()
    assert errors == []
    claims = dict(PoolSchema.objects.filter(claimed_as__in=slugs).values_list("claimed_as", "name"))
    assert sorted(claims) == sorted(slugs)
    assert len(set(claims.values())) == 2
    assert set(claims.values()) <= pool_names
    for slug, email in zip(slugs, emails, strict=True):
        with schema_context(slug):
            assert list(Member.objects.values_list("user__email", flat=True)) == [email]
