"""Panels of a ticket's page (its SLA clock, its conversation with the reply form) and the tickets panel on
contacts, organisations and products."""

from __future__ import annotations

from typing import Any

from django.db.models import OuterRef, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone

from crm_apps.access import visibility
from crm_apps.access.models import Member
from crm_apps.engine import extensions, registry
from crm_apps.engine.display import record_url
from crm_apps.engine.spec import ModuleSpec
from crm_apps.modules.tickets import picklists as P
from crm_apps.modules.tickets.models import TicketReply

BADGES = {
    P.SLA_ON_TRACK: "ok",
    P.SLA_NEAR: "warning",
    P.SLA_BREACHED: "danger",
    P.SLA_PAUSED: "info",
    P.SLA_MET: "ok",
}


def sla_badge(status: str) -> str:
    """The CSS modifier of an SLA status badge."""
    return BADGES.get(status, "info")


def sla_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    return {
        "status": record.sla_status,
        "badge": sla_badge(record.sla_status),
        "policy": record.sla_policy.name if record.sla_policy_id and record.sla_policy else "",
        "first_response_due": record.first_response_due,
        "first_response_at": record.first_response_at,
        "resolution_due": record.resolution_due,
        "closed_at": record.closed_at,
        "contract_flag": record.contract_flag,
        "now": timezone.now(),
    }


def conversation_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    spec = registry.get("tickets")
    replies = list(
        TicketReply.objects.filter(ticket=record).select_related("author__user").order_by("created_at", "id")
    )
    contact = record.contact if record.contact_id else None
    return {
        "replies": replies,
        "can_edit": visibility.can_edit(actor=member, spec=spec, record=record),
        "reply_url": reverse("tickets:reply", args=[record.pk]),
        "close_url": reverse("tickets:close", args=[record.pk]),
        "contact_email": contact.email if contact is not None and contact.deleted_at is None else "",
        "closed": record.status == P.CLOSED,
    }


def related_tickets_panel(record: Any, member: Member, request: HttpRequest) -> dict[str, Any]:
    """On a contact, organisation or product: its latest tickets the member may see, and "Open a ticket"."""
    from crm_apps.modules.tickets.hooks import PANEL_MODULES

    spec = registry.get("tickets")
    if not visibility.can_view_module(actor=member, spec=spec):
        return {"hidden": True}
    via = PANEL_MODULES.get(registry.spec_for_model(type(record)).key)
    if via is None:
        return {"hidden": True}
    rows = []
    if extensions.may_have_rows(record, "tickets", "tickets"):
        qs = spec.records().filter(**{f"{via}_id": record.pk, "deleted_at__isnull": True}).order_by("-created_at")
        qs = visibility.visible_records(actor=member, spec=spec, queryset=qs)
        rows = [
            {
                "url": record_url(spec, t),
                "label": f"{t.number} {t.title}",
                "status": t.status,
                "sla": t.sla_status,
                "badge": sla_badge(t.sla_status),
            }
            for t in qs.only("number", "title", "status", "sla_status", "created_at")[:10]
        ]
    can_create = visibility.can_create(actor=member, spec=spec)
    return {
        "rows": rows,
        "can_create": can_create,
        "open_url": f"{reverse('tickets:open')}?{via}={record.pk}",
    }


def related_tickets_linked(spec: ModuleSpec) -> dict[str, QuerySet[Any]]:
    """The live tickets of a contact, organisation or product, whoever may see them (`Panel.linked`)."""
    from crm_apps.modules.tickets.hooks import PANEL_MODULES

    tickets = registry.get("tickets").records().filter(deleted_at__isnull=True)
    return {"tickets": tickets.filter(**{PANEL_MODULES[spec.key]: OuterRef("pk")})}
