"""Access settings are per tenant: one tenant's roles, defaults and cached grants never affect another's
members, even members with the same primary key."""

from __future__ import annotations

from django_tenants.utils import schema_context

from crm_apps.access import visibility
from crm_apps.access.grants import grants_for
from crm_apps.access.services import sharing_default_set
from crm_apps.engine import registry, services


def test_defaults_and_grants_stay_in_their_tenant(tenant_a, tenant_b, admin_of, member):
    spec = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        a_admin = admin_of(tenant_a)
        a_member = member(tenant_a)
        sharing_default_set(actor=a_admin, module="contacts", access="private")
        services.record_create(spec=spec, actor=a_admin, data={"last_name": "Alpha-only", "owner": a_admin.pk})
        a_grants = grants_for(a_member)
    with schema_context(tenant_b.schema_name):
        b_admin = admin_of(tenant_b)
        b_member = member(tenant_b)
        theirs = services.record_create(spec=spec, actor=b_admin, data={"last_name": "Beta", "owner": b_admin.pk})
        b_grants = grants_for(b_member)
        visible = visibility.visible_records(actor=b_member, spec=spec, queryset=spec.model.objects.all())
        assert theirs in visible  # B's contacts are still public
        assert not spec.model.objects.filter(last_name="Alpha-only").exists()
    assert a_grants.sharing["contacts"].access == "private"
    assert b_grants.sharing["contacts"].access == "public_read_write_delete"


def test_a_cache_outage_falls_back_to_the_database(tenant_a, admin_of, member, monkeypatch):
    from django.core.cache import cache

    from crm_apps.access import grants

    def down(*args, **kwargs):
        raise ConnectionError("redis is down")

    spec = registry.get("contacts")
    with schema_context(tenant_a.schema_name):
        admin = admin_of(tenant_a)
        m = member(tenant_a)
        sharing_default_set(actor=admin, module="contacts", access="private")
        mine = services.record_create(spec=spec, actor=admin, data={"last_name": "Mine", "owner": m.pk})
        services.record_create(spec=spec, actor=admin, data={"last_name": "Not mine", "owner": admin.pk})
        for name in ("get", "set", "add"):
            monkeypatch.setattr(cache, name, down)
        grants.memo_clear()
        grants._process.clear()
        visible = list(
            visibility.visible_records(
                actor=m, spec=spec, queryset=spec.model.objects.filter(last_name__in=["Mine", "Not mine"])
            )
        )

    assert visible == [mine]
