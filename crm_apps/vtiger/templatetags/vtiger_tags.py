from __future__ import annotations

from typing import Any

from django import template

from crm_apps.access.middleware import request_member
from crm_apps.vtiger.services import access_key_get

register = template.Library()


@register.inclusion_tag("vtiger/_profile_section.html", takes_context=True)
def vtiger_profile_section(context: Any) -> dict[str, Any]:
    request = context["request"]
    member = request_member(request)
    return {
        "request": request,
        "csrf_token": context.get("csrf_token"),
        "access_key": access_key_get(member=member).key if member else "",
        "email": member.user.email if member else "",
        "webservice_url": request.build_absolute_uri("/webservice.php"),
        "rest_url": request.build_absolute_uri("/restapi/v1/vtiger/default"),
    }
