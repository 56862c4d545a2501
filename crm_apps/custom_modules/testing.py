"""The custom module the registry-driven suites (contract suite, permission matrix) run over, so a
tenant-built module is held to every guarantee a built-in one is."""

from __future__ import annotations

from typing import Any

from django_tenants.utils import schema_context

from crm_apps.engine import registry
from crm_apps.engine.spec import ModuleSpec

CONTRACT_MODULE = "equipment"


def contract_module_create(tenant: Any) -> None:
    """Build the contract suite's custom module in `tenant` (idempotent within a test)."""
    from crm_apps.access.models import Member
    from crm_apps.custom_modules.models import CustomModule
    from crm_apps.custom_modules.services import custom_module_create

    with schema_context(tenant.schema_name):
        if CustomModule.objects.filter(key=CONTRACT_MODULE).exists():
            return
        admin = Member.objects.filter(is_admin=True).order_by("id")[0]
        custom_module_create(
            actor=admin,
            key=CONTRACT_MODULE,
            label="Equipment",
            label_plural="Equipment",
            number_prefix="EQP",
            menu_group="inventory",
            fields=[],  # the suites add the custom fields they exercise, as for built-in modules
        )


def spec_in(tenant: Any, module: str) -> ModuleSpec:
    """`registry.get(module)` as `tenant` sees it (custom modules exist only inside their tenant)."""
    with schema_context(tenant.schema_name):
        return registry.get(module)
