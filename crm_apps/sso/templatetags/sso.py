"""`{% sso_signin_button %}`: the "Sign in with <provider>" link of this workspace's sign-in page (nothing
when the workspace has no enabled provider). The sign-in template's only dependency on this app."""

from __future__ import annotations

from typing import Any

from django import template

from crm_apps.sso.services import provider_enabled

register = template.Library()


@register.inclusion_tag("sso/signin_button.html", takes_context=True)
def sso_signin_button(context: Any) -> dict[str, Any]:
    request = context.get("request")
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == "public":
        return {"provider": None}
    return {"provider": provider_enabled(), "next": context.get("next", "")}
