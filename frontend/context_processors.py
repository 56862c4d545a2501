from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name


def site(request: HttpRequest) -> dict[str, Any]:
    """What every page needs to know: which host it is on and who is looking."""
    tenant = getattr(request, "tenant", None)
    is_tenant = tenant is not None and tenant.schema_name != get_public_schema_name()
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
    from crm_apps.engine.extensions import menu_groups

    member = getattr(request, "member", None)
    menu = menu_groups(member=member) if is_tenant and member else []
    return {
        # The navigation: modules the member may view, by declared menu group and position.
        "crm_menu": menu,
        "crm_modules": [spec for group in menu for spec in group["modules"]],
        "is_tenant_host": is_tenant,
        "tenant": tenant if is_tenant else None,
        "member": getattr(request, "member", None),
        "public_site_url": f"{settings.PUBLIC_SCHEME}://{settings.BASE_DOMAIN}{port}/",
        "base_domain": settings.BASE_DOMAIN,
    }
