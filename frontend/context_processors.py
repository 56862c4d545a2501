from __future__ import annotations

from functools import cached_property
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject
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
    def plan_allows(self) -> dict[str, bool]:
        return self._plan_allows()

    @cached_property
    def menu(self) -> list[dict[str, Any]]:
        """The member's menu groups, computed once for the sidebar, quick create and the palette."""
        from crm_apps.engine.extensions import menu_groups

        return menu_groups(member=self.member)

    @cached_property
    def groups(self) -> list[dict[str, Any]]:
        from frontend.shell import sidebar_groups

        return sidebar_groups(member=self.member, menu=self.menu)

    @cached_property
    def app_links(self) -> list[dict[str, Any]]:
        from crm_apps.engine.extensions import app_links

        return app_links(member=self.member)

    @cached_property
    def admin_links(self) -> list[Any]:
        from frontend.shell import admin_links

        return admin_links(member=self.member, plan_allows=self.plan_allows)

    @cached_property
    def creatable(self) -> list[Any]:
        from frontend.shell import creatable_modules

        return creatable_modules(member=self.member, menu=self.menu)

    def part(self, name: str, context: Any) -> str:
        """One rendered part of the shell (SHELL_PARTS), from the cache when the member's shell was drawn
        before under the same versions (all parts in one cache read per page); rendered and stored otherwise.
        The parts never depend on the page: the sidebar's current link is marked by `shell_part`."""
        parts = self._parts
        if parts is None:
            from saas.cache_versions import local_remember

            def render() -> dict[str, str]:
                engine = context.template.engine
                page = {"csrf_token": SHELL_CSRF_PLACEHOLDER, "shell_next": SHELL_NEXT_PLACEHOLDER}
                with context.push(spec=None, request=self.request, **page):
                    return {p: engine.get_template(path).render(context) for p, path in SHELL_PARTS.items()}

            # The process keeps a copy for a few seconds: the parts are ~24 kB, read and unpickled on every
            # page otherwise. The key names every version the parts depend on.
            parts = self._parts = local_remember(
                shell_cache_key(self), render, ttl=SHELL_CACHE_SECONDS, kind=dict, shared=True
            )
        return str(parts[name])

    _parts: dict[str, str] | None = None

    @cached_property
    def palette(self) -> list[dict[str, str]]:
        from frontend.shell import palette_entries

        return palette_entries(
            member=self.member,
            plan_allows=self.plan_allows,
            menu=self.menu,
            creatable=self.creatable,
            admin=self.admin_links,
        )


SHELL_PARTS = {
    "sidebar": "components/sidebar.html",
    "palette": "components/command_palette.html",
    "quick_create": "components/quick_create.html",
    "member_menu": "components/member_menu.html",
}
# What a part may need from the page it is shown on, rendered as these markers and filled in by `shell_part`:
# the request's CSRF token and the address to come back to after a form.
SHELL_CSRF_PLACEHOLDER = "shell-part-csrf-token"
SHELL_NEXT_PLACEHOLDER = "/shell-part-next-address/"
SHELL_CACHE_SECONDS = 60 * 60


def shell_cache_key(shell: Shell) -> str | None:
    """The cache key of a member's rendered shell parts: everything they are drawn from (the member's grants
    through the tenant's access version, custom modules through the metadata version, the member's sidebar
    preferences, role, theme, name and email, the plan's features, the language, the workspace name). None
    without Redis."""
    import hashlib
    import json

    from django.utils.translation import get_language

    from saas import cache_versions

    access, metadata = cache_versions.version("access"), cache_versions.version("metadata")
    if access is None or metadata is None:
        return None
    member = shell.member
    tenant = getattr(shell.request, "tenant", None)
    parts = [
        access,
        metadata,
        member.pk,
        member.is_admin,
        member.active,
        getattr(member, "theme", ""),
        getattr(getattr(member, "user", None), "name", ""),
        getattr(getattr(member, "user", None), "email", ""),
        getattr(member, "role_id", None),
        json.dumps(member.sidebar, sort_keys=True, default=str),
        sorted(shell.plan_allows.items()),
        get_language(),
        getattr(tenant, "name", ""),
    ]
    digest = hashlib.sha256(repr(parts).encode()).hexdigest()[:32]
    return f"shell:{member.pk}:{digest}"


def site(request: HttpRequest) -> dict[str, Any]:
    """What every page needs to know: which host it is on, who is looking, the product and the shell."""
    tenant = getattr(request, "tenant", None)
    is_tenant = tenant is not None and tenant.schema_name != get_public_schema_name()
    port = f":{settings.PUBLIC_PORT}" if settings.PUBLIC_PORT else ""

    member = getattr(request, "member", None)
    shell = Shell(request, member) if is_tenant and member else None
    # The navigation: modules the member may view, by declared menu group and position. Lazy: computed only
    # by a page that reads it (the shell computes its own once, `Shell.menu`).
    menu: Any = SimpleLazyObject(lambda: shell.menu if shell is not None else [])
    return {
        "crm_menu": menu,
        "crm_modules": SimpleLazyObject(lambda: [spec for group in menu for spec in group["modules"]]),
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
