"""The SLA settings over the API: members read, the settings privilege writes, bad input is a field
error, and another workspace's policies are out of reach."""

from __future__ import annotations

import pytest
from django_tenants.utils import tenant_context

from crm_apps.support.models import BusinessHours, SlaPolicy

pytestmark = pytest.mark.django_db


def test_admins_write_policies_and_business_hours_members_read_them(client_for, tenant_a, tenant_b, admin_of, member):
    admin_api = client_for(tenant_a, admin_of(tenant_a))
    reader = client_for(tenant_a, member(tenant_a))
    policy = {"name": "Urgent", "priority": "Urgent", "first_response_minutes": 15, "resolution_minutes": 120}

    denied = reader.post("/api/v1/sla-policies/", policy, content_type="application/json")
    created = admin_api.post("/api/v1/sla-policies/", policy, content_type="application/json")
    twice = admin_api.post("/api/v1/sla-policies/", policy, content_type="application/json")
    bad = admin_api.post(
        "/api/v1/sla-policies/",
        {**policy, "priority": "Low", "resolution_minutes": "soon"},
        content_type="application/json",
    )
    url = f"/api/v1/sla-policies/{created.json()['id']}"
    patched = admin_api.patch(url, {"resolution_minutes": 90}, content_type="application/json")
    listed = reader.get("/api/v1/sla-policies/").json()["results"]
    foreign = client_for(tenant_b, admin_of(tenant_b)).patch(
        url, {"resolution_minutes": 1}, content_type="application/json"
    )
    hours = admin_api.post(
        "/api/v1/business-hours/",
        {"name": "Berlin", "time_zone": "Europe/Berlin", "week": {"0": "09:00-17:00"}, "holidays": ["2027-01-01"]},
        content_type="application/json",
    )
    bad_hours = admin_api.post(
        "/api/v1/business-hours/",
        {"name": "X", "time_zone": "UTC", "week": {"1": "9-5"}},
        content_type="application/json",
    )
    removed = admin_api.delete(url)

    assert denied.status_code == 403
    assert created.status_code == 201 and created.json()["first_response_minutes"] == 15
    assert twice.status_code == 400 and list(twice.json()) == ["priority"]
    assert bad.status_code == 400 and list(bad.json()) == ["resolution_minutes"]
    assert patched.status_code == 200 and patched.json()["resolution_minutes"] == 90
    assert [p["name"] for p in listed] == ["Urgent"]
    assert foreign.status_code == 404
    assert hours.status_code == 201
    assert hours.json()["week"] == {"0": "09:00-17:00"} and hours.json()["holidays"] == ["2027-01-01"]
    assert bad_hours.status_code == 400 and list(bad_hours.json()) == ["week.1"]
    assert removed.status_code == 204
    with tenant_context(tenant_a):
        assert (SlaPolicy.objects.count(), BusinessHours.objects.count()) == (0, 1)
