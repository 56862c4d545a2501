from __future__ import annotations

from django.core.management.base import CommandError

from tenants.models import Tenant


def tenant_by_slug(slug: str) -> Tenant:
    tenant = Tenant.objects.filter(schema_name=slug).first()
    if tenant is None:
        raise CommandError(f"No tenant '{slug}'.")
    return tenant
