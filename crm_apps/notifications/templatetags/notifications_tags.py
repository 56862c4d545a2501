"""`{% notification_preferences %}`: the member's notification choices as a form, for pages of other apps
(the profile page shows it through `notifications/_profile_section.html`)."""

from __future__ import annotations

from typing import Any

from django import template

from crm_apps.access.middleware import request_member
from crm_apps.notifications import kinds
from crm_apps.notifications.selectors import preferences_get

register = template.Library()


@register.inclusion_tag("notifications/_preferences_form.html", takes_context=True)
def notification_preferences(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    rows, digest = preferences_get(member=request_member(request))
    return {
        "rows": rows,
        "digest": digest,
        "channels": [(key, kinds.CHANNEL_LABELS[key]) for key in kinds.CHANNELS],
        "errors": {},
        "csrf_token": context.get("csrf_token"),
        "next": request.get_full_path(),
        "embedded": True,
    }
