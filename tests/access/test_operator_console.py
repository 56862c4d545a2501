"""Tenant admins bypass access control inside their tenant; the platform's operators never read
tenant CRM data: the operator console (Django admin on the public host) registers no tenant model,
and tenant hosts do not serve it."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin


def test_operator_console_registers_no_tenant_model():
    tenant_only = set(settings.TENANT_APPS) - set(settings.SHARED_APPS)
    registered = {model._meta.app_config.name for model in admin.site._registry}

    assert registered, "the operator console registers the platform's own models"
    assert not registered & tenant_only


def test_tenant_hosts_do_not_serve_the_operator_console(client_for, tenant_a, admin_of):
    response = client_for(tenant_a, admin_of(tenant_a)).get("/admin/")

    assert response.status_code == 404
