"""Recently viewed records go through Redis and are written in batches (ADR 0047), on real Redis and
PostgreSQL; without Redis they are written directly."""

from __future__ import annotations

import pytest
import redis
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context, tenant_context

from conftest import statements
from crm_apps.engine import recent_views, registry, selectors
from crm_apps.engine.models import RecentView
from crm_apps.engine.services import record_create
from crm_apps.engine.tasks import recent_views_flush_task

pytestmark = pytest.mark.django_db


def make(tenant, actor, module="organizations", **extra):
    spec = registry.get(module)
    with tenant_context(tenant):
        return record_create(spec=spec, actor=actor, data={**spec.example, **extra})


def test_a_view_is_one_redis_write_not_a_sql_statement_and_shows_at_once(client_for, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    org = make(tenant_a, actor, name="Viewed Org")
    web = client_for(tenant_a, actor)
    web.get(f"/m/organizations/{org.pk}/")
    with CaptureQueriesContext(connection) as captured:
        assert web.get(f"/m/organizations/{org.pk}/").status_code == 200
    assert not [q for q in statements(captured) if "engine_recentview" in q]
    with schema_context(tenant_a.schema_name):
        assert not RecentView.objects.filter(member=actor).exists()
        assert [r.pk for _s, r in selectors.home_recent(actor=actor)] == [org.pk]
    assert "Viewed Org" in web.get("/").content.decode()


def test_the_flush_writes_each_tenants_views_into_its_own_schema(client_for, tenant_a, tenant_b, admin_of):
    alice, bob = admin_of(tenant_a), admin_of(tenant_b)
    first, second = make(tenant_a, alice, name="First"), make(tenant_a, alice, name="Second")
    theirs = make(tenant_b, bob, name="Theirs")
    a, b = client_for(tenant_a, alice), client_for(tenant_b, bob)
    a.get(f"/m/organizations/{first.pk}/")
    a.get(f"/m/organizations/{second.pk}/")
    b.get(f"/m/organizations/{theirs.pk}/")
    # The other tenant's view of its record, even with the same member id, never reaches this one.
    assert b.get(f"/m/organizations/{first.pk}/").status_code == 404

    assert recent_views_flush_task() == 3

    with schema_context(tenant_a.schema_name):
        rows = list(RecentView.objects.order_by("-viewed_at").values_list("member_id", "record_id"))
        assert rows == [(alice.pk, second.pk), (alice.pk, first.pk)]
        assert [r.pk for _s, r in selectors.home_recent(actor=alice)] == [second.pk, first.pk]
    with schema_context(tenant_b.schema_name):
        assert list(RecentView.objects.values_list("member_id", "record_id")) == [(bob.pk, theirs.pk)]
    assert recent_views_flush_task() == 0  # nothing pending any more


def test_viewing_again_moves_the_record_up_without_duplicates(client_for, tenant_a, admin_of):
    actor = admin_of(tenant_a)
    first, second = make(tenant_a, actor, name="First"), make(tenant_a, actor, name="Second")
    web = client_for(tenant_a, actor)
    web.get(f"/m/organizations/{first.pk}/")
    web.get(f"/m/organizations/{second.pk}/")
    recent_views_flush_task()
    web.get(f"/m/organizations/{first.pk}/")  # pending again, newer than the stored row
    with schema_context(tenant_a.schema_name):
        assert [r.pk for _s, r in selectors.home_recent(actor=actor)] == [first.pk, second.pk]
    recent_views_flush_task()
    with schema_context(tenant_a.schema_name):
        assert RecentView.objects.filter(member=actor).count() == 2
        assert [r.pk for _s, r in selectors.home_recent(actor=actor)] == [first.pk, second.pk]


def test_a_removed_member_s_pending_views_are_dropped(client_for, tenant_a, admin_of, member):
    colleague = member(tenant_a)
    org = make(tenant_a, admin_of(tenant_a), name="Shared")
    client_for(tenant_a, colleague).get(f"/m/organizations/{org.pk}/")
    with schema_context(tenant_a.schema_name):
        type(colleague).objects.filter(pk=colleague.pk).delete()
    assert recent_views_flush_task() == 0
    with schema_context(tenant_a.schema_name):
        assert not RecentView.objects.exists()


def test_without_redis_the_view_is_written_to_the_database(client_for, tenant_a, admin_of, monkeypatch):
    actor = admin_of(tenant_a)
    org = make(tenant_a, actor, name="Offline")
    web = client_for(tenant_a, actor)
    # A Redis nobody listens on (the cache itself stays up: sessions and throttles are not under test).
    dead = redis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.2, socket_timeout=0.2)
    monkeypatch.setattr(recent_views, "redis_client", lambda **_kw: dead)

    assert web.get(f"/m/organizations/{org.pk}/").status_code == 200

    with schema_context(tenant_a.schema_name):
        assert list(RecentView.objects.values_list("member_id", "record_id")) == [(actor.pk, org.pk)]
        assert [r.pk for _s, r in selectors.home_recent(actor=actor)] == [org.pk]
