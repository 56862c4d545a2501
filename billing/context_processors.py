"""What every tenant page needs from billing: which features the plan includes (the navigation hides
the others) and the dunning stage (the banner). No query: the tenant carries both (see middleware)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name

from billing import entitlements
from crm_apps.access.privileges import Privilege


def billing(request: HttpRequest) -> dict[str, Any]:
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return {}
    member = getattr(request, "member", None)
    ent = entitlements.entitlements_for(tenant)

    def billing_manager() -> bool:  # evaluated by the template only where it is used
        from crm_apps.access.visibility import has_privilege

        return member is not None and has_privilege(actor=member, privilege=Privilege.MANAGE_BILLING)

    return {
        "plan_allows": {f: ent is None or ent.allows(f) for f in entitlements.ENFORCED_FEATURES},
        "billing_stage": getattr(tenant, "billing_stage", ""),
        "billing_manager": billing_manager,
    }
