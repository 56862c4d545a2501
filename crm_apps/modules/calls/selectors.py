"""Reads of the calls module: the ringing calls of a member (popup) and their missed calls (home page)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils import timezone

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.display import record_url
from crm_apps.modules.calls.models import Call, CallMatch

# A "ringing" event older than this is a call whose end the provider never reported: no popup.
RINGING_WINDOW = dt.timedelta(minutes=2)


def matched_records(*, member: Member, calls: list[Call]) -> dict[Any, list[dict[str, str]]]:
    """Per call id: the matched records the member may see ({module, label, title, url})."""
    links = list(CallMatch.objects.filter(call__in=calls).order_by("pk").values_list("call_id", "module", "record_id"))
    by_module: dict[str, set[Any]] = {}
    for _call_id, module, record_id in links:
        by_module.setdefault(module, set()).add(record_id)
    shown: dict[tuple[str, Any], dict[str, str]] = {}
    for module, ids in by_module.items():
        try:
            spec = registry.get(module)
        except registry.UnknownModule:
            continue
        if not visibility.can_view_module(actor=member, spec=spec):
            continue
        qs = visibility.visible_records(actor=member, spec=spec, queryset=spec.records())
        for record in qs.filter(pk__in=ids, deleted_at__isnull=True):
            shown[(module, record.pk)] = {
                "module": module,
                "label": str(spec.label),
                "title": str(record),
                "url": record_url(spec, record),
            }
    result: dict[Any, list[dict[str, str]]] = {}
    for call_id, module, record_id in links:
        if (module, record_id) in shown:
            result.setdefault(call_id, []).append(shown[(module, record_id)])
    return result


def ringing_calls(*, member: Member, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Calls ringing at this member's extension in the last two minutes, newest first, each with the
    records its number matched that the member may see. Other members' calls are never listed."""
    now = now or timezone.now()
    calls = list(
        Call.objects.filter(
            member=member, status="Ringing", deleted_at__isnull=True, started_at__gte=now - RINGING_WINDOW
        ).order_by("-started_at")[:5]
    )
    matches = matched_records(member=member, calls=calls)
    spec = registry.get("calls")
    return [
        {
            "id": str(c.pk),
            "number": c.from_number if c.direction == "Inbound" else c.to_number,
            "started_at": c.started_at.isoformat() if c.started_at else None,
            "url": record_url(spec, c),
            "matches": matches.get(c.pk, []),
        }
        for c in calls
    ]


def missed_calls(*, member: Member, since: dt.datetime | None = None, limit: int = 10) -> list[Call]:
    """The member's missed inbound calls (newest first), since `since` if given: for the home page and
    in-app notifications."""
    qs = Call.objects.filter(member=member, status="Missed", direction="Inbound", deleted_at__isnull=True)
    if since is not None:
        qs = qs.filter(started_at__gte=since)
    return list(qs.order_by("-started_at")[:limit])
