from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import schema_context

from crm_apps.access.models import Role
from crm_apps.access.services import profile_save, role_create
from crm_apps.custom_modules.services import custom_module_create

EQUIPMENT_FIELDS = [{"key": "serial", "label": "Serial", "type": "text", "required": True}]


@pytest.fixture
def equipment_in() -> Any:
    """equipment_in(tenant) -> the tenant's "equipment" module (Name + a required Serial field)."""

    def make(tenant: Any, **extra: Any) -> Any:
        from crm_apps.access.models import Member

        with schema_context(tenant.schema_name):
            admin = Member.objects.filter(is_admin=True).order_by("id")[0]
            return custom_module_create(
                actor=admin,
                key=extra.pop("key", "equipment"),
                label=extra.pop("label", "Equipment"),
                label_plural=extra.pop("label_plural", "Equipment"),
                fields=extra.pop("fields", EQUIPMENT_FIELDS),
                **extra,
            )

    return make


@pytest.fixture
def settings_manager(member: Any) -> Any:
    """settings_manager(tenant) -> a non-admin member whose profile grants "manage module settings"."""

    def make(tenant: Any) -> Any:
        from crm_apps.access.models import Member

        with schema_context(tenant.schema_name):
            admin = Member.objects.filter(is_admin=True).order_by("id")[0]
            profile = profile_save(
                actor=admin,
                profile=None,
                name="Settings managers",
                flags={
                    "default_view": True,
                    "default_create": True,
                    "default_edit": True,
                    "default_delete": True,
                    "manage_settings": True,
                },
            )
            top = Role.objects.get(parent__isnull=True)
            role = role_create(actor=admin, name="Builders", parent=top, profile_ids=[profile.pk])
        return member(tenant, role=role)

    return make
