"""Per-tenant defaults every module needs: numbering sequences, picklists, module-specific data."""

from __future__ import annotations

from django.db import transaction

from crm_apps.engine import registry
from crm_apps.engine.services import numbering_ensure, picklist_ensure


@transaction.atomic
def crm_defaults_install() -> None:
    """Install missing defaults in the current tenant schema; never changes what a tenant edited."""
    for spec in registry.all_specs():
        numbering_ensure(spec)
        for name, values in spec.default_picklists.items():
            picklist_ensure(name, values)
    for spec in registry.all_specs():
        if spec.install_defaults is not None:
            spec.install_defaults()
