from __future__ import annotations

from typing import Any

from django import template

from crm_apps.access.middleware import request_member
from crm_apps.dav.forms import AppPasswordForm
from crm_apps.dav.services import app_password_list

register = template.Library()


@register.inclusion_tag("dav/profile_section.html", takes_context=True)
def dav_profile_section(context: Any) -> dict[str, Any]:
    """The member's app passwords and the addresses to give a CalDAV/CardDAV client."""
    request = context["request"]
    member = request_member(request)
    return {
        "app_passwords": app_password_list(member=member),
        "form": AppPasswordForm(),
        "server": request.build_absolute_uri("/dav/"),
        "email": member.user.email,
        "csrf_token": context.get("csrf_token"),
    }
