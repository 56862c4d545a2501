"""The "missed calls" home widget (declared in `ModuleSpec.home_widgets`, drawn by the home page).

`widget_context(request)` returns {"calls": [(call, url, matches)], "calls_url", "can_view"} for the signed-in
member: their missed inbound calls of the last seven days, newest first, with the records each matched
that the member may see.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.display import record_url
from crm_apps.modules.calls.selectors import matched_records, missed_calls

WINDOW = dt.timedelta(days=7)


def widget_context(request: HttpRequest) -> dict[str, Any]:
    member = request_member(request)
    spec = registry.get("calls")
    if not visibility.can_view_module(actor=member, spec=spec):
        return {"can_view": False, "calls": [], "calls_url": ""}
    calls = missed_calls(member=member, since=timezone.now() - WINDOW, limit=10)
    matches = matched_records(member=member, calls=calls)
    return {
        "can_view": True,
        "calls": [(c, record_url(spec, c), matches.get(c.pk, [])) for c in calls],
        "calls_url": reverse("engine:list", args=["calls"]) + "?status=Missed",
    }


def missed_calls_widget(member: Member, request: HttpRequest) -> dict[str, Any] | None:
    """The home page's box: left out for a member who may not see calls."""
    found = widget_context(request)
    return found if found["can_view"] else None
