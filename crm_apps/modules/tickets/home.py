"""The tickets' box on the home page (ModuleSpec.home_widgets): the member's open tickets, the most urgent
SLA first, with their badges."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from crm_apps.access.models import Member
from crm_apps.engine import metadata, registry, selectors
from crm_apps.engine.display import record_url
from crm_apps.modules.tickets import picklists as P
from crm_apps.modules.tickets.panels import sla_badge

SHOWN = 6


def my_tickets_widget(member: Member, request: HttpRequest) -> dict[str, Any]:
    spec = registry.get("tickets")
    qs = (
        selectors.list_queryset(spec=spec, actor=member, default_view=False)
        .filter(owner=member)
        .exclude(status=P.CLOSED)
        .order_by("resolution_due", "-created_at", "id")
    )
    tickets = list(qs[: SHOWN + 1])
    sla_labels = {v.value: v.label for v in metadata.picklist_values("ticket_sla_status")}
    return {
        "rows": [
            {
                "url": record_url(spec, t),
                "label": f"{t.number} {t.title}",
                "sla": sla_labels.get(t.sla_status, t.sla_status),
                "badge": sla_badge(t.sla_status),
                "due": t.resolution_due,
            }
            for t in tickets[:SHOWN]
        ],
        "more": len(tickets) > SHOWN,
        "queue_url": reverse("tickets:queue") + "?view=mine",
    }
