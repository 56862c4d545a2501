from __future__ import annotations

from typing import Any

from django import template

from crm_apps.access.middleware import request_member
from crm_apps.onboarding.selectors import checklist_get

register = template.Library()


@register.inclusion_tag("onboarding/_checklist.html", takes_context=True)
def onboarding_checklist(context: Any) -> dict[str, Any]:
    """The checklist card of the home page: for those who may act on it, until done or dismissed."""
    request = context["request"]
    member = request_member(request)
    checklist = checklist_get(member=member)
    shown = checklist.may_manage and not checklist.dismissed and not checklist.complete
    return {"checklist": checklist, "shown": shown, "compact": True, "request": request}
