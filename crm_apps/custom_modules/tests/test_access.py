"""Profiles govern custom modules like built-in ones: per-module actions and field-level access."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from crm_apps.access.models import Member, Profile, Role
from crm_apps.access.services import profile_save, profile_set_fields, profile_set_modules, role_create

pytestmark = pytest.mark.django_db


def restricted_member(tenant: Any, member: Any, *, modules: dict[str, Any], fields: dict[str, str]) -> Member:
    with schema_context(tenant.schema_name):
        admin = Member.objects.filter(is_admin=True).order_by("id")[0]
        profile: Profile = profile_save(
            actor=admin,
            profile=None,
            name="Restricted",
            flags={"default_view": True, "default_create": True, "default_edit": True, "default_delete": True},
        )
        profile_set_modules(actor=admin, profile=profile, rights=modules)
        if fields:
            profile_set_fields(actor=admin, profile=profile, module="equipment", access=fields)
        role = role_create(
            actor=admin, name="Restricted", parent=Role.objects.get(parent__isnull=True), profile_ids=[profile.pk]
        )
    return member(tenant, role=role)


def test_a_profile_without_view_hides_the_module(client_for, tenant_a, admin_of, member, equipment_in):
    equipment_in(tenant_a)
    admin = client_for(tenant_a, admin_of(tenant_a))
    record = admin.post(
        "/api/v1/equipment/", {"name": "Saw", "custom": {"serial": "1"}}, content_type="application/json"
    )
    no_view = {"view": False, "create": False, "edit": False, "delete": False}
    actor = restricted_member(tenant_a, member, modules={"equipment": no_view}, fields={})
    client = client_for(tenant_a, actor)

    assert client.get("/api/v1/equipment/").status_code == 403
    assert client.get(f"/api/v1/equipment/{record.json()['id']}/").status_code == 403
    assert client.get("/m/equipment/").status_code == 403
    assert 'href="/m/equipment/"' not in client.get("/").content.decode()
    assert client.get("/api/v1/contacts/").status_code == 200


def test_field_level_access_hides_and_protects_custom_fields(client_for, tenant_a, admin_of, member, equipment_in):
    equipment_in(
        tenant_a,
        fields=[
            {"key": "serial", "label": "Serial", "type": "text"},
            {"key": "cost", "label": "Cost", "type": "currency"},
        ],
    )
    admin = client_for(tenant_a, admin_of(tenant_a))
    made = admin.post(
        "/api/v1/equipment/",
        {"name": "Saw", "custom": {"serial": "S-1", "cost": "10"}},
        content_type="application/json",
    ).json()
    everything = {"view": True, "create": True, "edit": True, "delete": True}
    actor = restricted_member(
        tenant_a,
        member,
        modules={"equipment": everything},
        fields={"custom.cost": "hidden", "custom.serial": "readonly"},
    )
    client = client_for(tenant_a, actor)

    seen = client.get(f"/api/v1/equipment/{made['id']}/").json()
    refused = client.patch(
        f"/api/v1/equipment/{made['id']}/", {"custom": {"serial": "S-2"}}, content_type="application/json"
    )

    assert seen["custom"] == {"serial": "S-1"}
    assert refused.status_code == 403
    assert admin.get(f"/api/v1/equipment/{made['id']}/").json()["custom"] == {"serial": "S-1", "cost": "10"}
