from __future__ import annotations

from typing import Any

from django import template

from crm_apps.access.decorators import may_administer
from crm_apps.access.middleware import request_member
from crm_apps.access.privileges import Privilege
from crm_apps.onboarding.selectors import checklist_get

register = template.Library()


@register.inclusion_tag("onboarding/_checklist.html", takes_context=True)
def onboarding_checklist(context: Any) -> dict[str, Any]:
    """The checklist card of the home page: for those who may act on it, until done or dismissed."""
    request = context["request"]
    member = request_member(request)
    if member is None or not may_administer(member, Privilege.MANAGE_SETTINGS):
        # Not theirs to act on: no query for the items (the home page's pinned count for members).
        return {"checklist": None, "shown": False, "compact": True, "request": request}
    checklist = checklist_get(member=member)
    shown = checklist.may_manage and not checklist.dismissed and not checklist.complete
    return {"checklist": checklist, "shown": shown, "compact": True, "request": request}
