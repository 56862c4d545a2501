from __future__ import annotations

from functools import cached_property
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django_tenants.utils import get_public_schema_name


class Shell:
    """The app shell of one request, computed on first use (pages without the shell never pay for it)."""

    def __init__(self, request: HttpRequest, member: Any) -> None:
        self.request = request
        self.member = member

    def _plan_allows(self) -> dict[str, bool]:
        from billing import entitlements

        ent = entitlements.entitlements_for(self.request.tenant)  # type: ignore[attr-defined]
        return {f: ent is None or ent.allows(f) for f in entitlements.ENFORCED_FEATURES}

    @cached_property
    def groups(self) -> list[dict[str, Any]]:
        from frontend.shell import sidebar_groups

        return sidebar_groups(member=self.member)

    @cached_property
    def app_links(self) -> list[dict[str, Any]]:
        from crm_apps.engine.extensions import app_links

        return app_links(member=self.member)

    @cached_property
    def admin_links(self) -> list[Any]:
        from frontend.shell import admin_links

        return admin_links(member=self.member, plan_allows=self._plan_allows())

    @cached_property
    def creatable(self) -> list[Any]:
        from frontend.shell import creatable_modules

        return creatable_modules(member=self.member)

    @cached_property
    def palette(self) -> list[dict[str, str]]:
        from frontend.shell import palette_entries

        return palette_entries(member=self.member, plan_allows=self._plan_allows())


def site(request: HttpRequest) -> dict[str, Any]:
    """What every page needs to know: which host it is on, who is looking, the product and the shell."""
    tenant = getattr(request, "tenant", None)
    is_tenant = tenant is not None and tenant.schema_name != get_public_schema_name()
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""
    from crm_apps.engine.extensions import menu_groups

    member = getattr(request, "member", None)
    shell = Shell(request, member) if is_tenant and member else None
    menu = menu_groups(member=member) if is_tenant and member else []
    return {
        # The navigation: modules the member may view, by declared menu group and position.
        "crm_menu": menu,
        "crm_modules": [spec for group in menu for spec in group["modules"]],
        "shell": shell,
        "theme": getattr(member, "theme", "system") if shell else "system",
        "product_name": settings.PRODUCT_NAME,
        "product_logo_url": settings.PRODUCT_LOGO_URL,
        "is_tenant_host": is_tenant,
        "tenant": tenant if is_tenant else None,
        "member": member,
        "public_site_url": f"{settings.PUBLIC_SCHEME}://{settings.BASE_DOMAIN}{port}/",
        "base_domain": settings.BASE_DOMAIN,
    }
