"""The tickets' own screens: open a ticket for a contact (organisation, product), reply, close with a
solution, turn into an FAQ entry, assign to the next team member, the queues and the SLA settings."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Group
from crm_apps.engine import metadata, registry, selectors
from crm_apps.engine.display import record_url
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.services import record_create
from crm_apps.modules.tickets import picklists as P
from crm_apps.modules.tickets import services
from crm_apps.modules.tickets.panels import sla_badge

QUEUES = {
    "unassigned": gettext_lazy("Unassigned"),
    "mine": gettext_lazy("My tickets"),
    "breaching": gettext_lazy("Breaching soon"),
}
BREACHING_WINDOW = dt.timedelta(hours=4)


def _ticket(request: HttpRequest, record_id: uuid.UUID) -> tuple[Any, Any]:
    spec = registry.get("tickets")
    ticket = selectors.access_record(spec=spec, actor=request_member(request), record_id=record_id)
    if ticket is None:
        raise Http404
    return spec, ticket


def _error_messages(request: HttpRequest, exc: ValidationError) -> dict[str, list[str]]:
    errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
    for field_errors in errors.values():
        for text in field_errors:
            messages.error(request, text)
    return errors


@login_required
def ticket_open(request: HttpRequest) -> HttpResponse:
    """A new ticket for the contact, organisation or product named in the query (its organisation follows
    the contact's)."""
    spec = registry.get("tickets")
    member = request_member(request)
    if not visibility.can_create(actor=member, spec=spec):
        raise PermissionDenied
    links: dict[str, Any] = {}
    for name, module in (("contact", "contacts"), ("organization", "organizations"), ("product", "products")):
        raw = request.GET.get(name) or request.POST.get(name)
        if not raw:
            continue
        target_spec = registry.get(module)
        target = (
            selectors.access_record(spec=target_spec, actor=member, record_id=raw)
            if visibility.can_view_module(actor=member, spec=target_spec)
            else None
        )
        if target is None:
            raise Http404
        links[name] = target
    contact = links.get("contact")
    if contact is not None and "organization" not in links and contact.organization_id:
        organization = contact.organization
        if organization is not None and organization.deleted_at is None:
            links["organization"] = organization
    values = {
        "title": request.POST.get("title", ""),
        "description": request.POST.get("description", ""),
        "priority": request.POST.get("priority", "Normal"),
        "channel": request.POST.get("channel", "Phone"),
    }
    errors: dict[str, list[str]] = {}
    if request.method == "POST":
        data = {**values, **{name: str(record.pk) for name, record in links.items()}}
        try:
            ticket = record_create(spec=spec, actor=member, data=data)
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"title": exc.messages}
        else:
            messages.success(request, _("Ticket %(number)s opened.") % {"number": ticket.number})
            return redirect(record_url(spec, ticket))
    return render(
        request,
        "tickets/open.html",
        {
            "spec": spec,
            "links": links,
            "values": values,
            "errors": errors,
            "priorities": metadata.picklist_values("ticket_priority"),
            "channels": metadata.picklist_values("ticket_channel"),
        },
        status=400 if errors else 200,
    )


@require_POST
@login_required
def ticket_reply_view(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    spec, ticket = _ticket(request, record_id)
    public = request.POST.get("public") == "1"
    try:
        services.ticket_reply(
            actor=request_member(request), ticket=ticket, body=request.POST.get("body", ""), public=public
        )
    except PermissionDenied:
        messages.error(request, _("You may not reply on this ticket."))
    except ValidationError as exc:
        _error_messages(request, exc)
    else:
        messages.success(request, _("Reply sent to the customer.") if public else _("Internal note added."))
    return redirect(record_url(spec, ticket) + "#conversation")


@login_required
def ticket_close_view(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    spec, ticket = _ticket(request, record_id)
    member = request_member(request)
    if not visibility.can_edit(actor=member, spec=spec, record=ticket):
        raise PermissionDenied
    errors: dict[str, list[str]] = {}
    shown = ticket.solution if field_rules(actor=member, spec=spec).shows("solution") else ""
    solution = request.POST.get("solution", shown or "")
    if request.method == "POST":
        try:
            services.ticket_close(actor=member, ticket=ticket, solution=solution)
        except PermissionDenied:
            errors = {"solution": [_("You may not close this ticket.")]}
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"solution": exc.messages}
        else:
            messages.success(request, _("Ticket closed."))
            return redirect(record_url(spec, ticket))
    return render(
        request,
        "tickets/close.html",
        {
            "spec": spec,
            "record": ticket,
            "solution": solution,
            "errors": errors,
            "record_url": record_url(spec, ticket),
        },
        status=400 if errors else 200,
    )


@require_POST
@login_required
def ticket_to_faq_view(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    spec, ticket = _ticket(request, record_id)
    try:
        faq = services.ticket_to_faq(actor=request_member(request), ticket=ticket)
    except PermissionDenied:
        messages.error(request, _("You may not create FAQ entries."))
    except ValidationError as exc:
        _error_messages(request, exc)
    else:
        messages.success(request, _("FAQ entry %(number)s drafted from the ticket.") % {"number": faq.number})
        return redirect(record_url(registry.get("faq"), faq))
    return redirect(record_url(spec, ticket))


@require_POST
@login_required
def ticket_assign_next_view(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    spec, ticket = _ticket(request, record_id)
    try:
        updated = services.ticket_assign_next(actor=request_member(request), ticket=ticket)
    except PermissionDenied:
        messages.error(request, _("You may not assign this ticket."))
    except ValidationError as exc:
        _error_messages(request, exc)
    else:
        owner = updated.owner.user.name if updated.owner is not None else ""
        messages.success(request, _("Assigned to %(name)s.") % {"name": owner})
    return redirect(record_url(spec, ticket))


def queue_filter(*, view: str, member: Any, now: dt.datetime) -> Q:
    """The tickets of a queue view: unassigned (owned by a group or nobody), the member's own, or those
    whose next SLA target falls within four hours (or already passed)."""
    open_tickets = Q(deleted_at__isnull=True) & ~Q(status=P.CLOSED)
    if view == "mine":
        return open_tickets & Q(owner=member)
    if view == "breaching":
        soon = now + BREACHING_WINDOW
        return open_tickets & (
            Q(sla_status__in=[P.SLA_NEAR, P.SLA_BREACHED])
            | Q(first_response_at__isnull=True, first_response_due__lte=soon)
            | Q(resolution_due__lte=soon)
        )
    return open_tickets & Q(owner__isnull=True)


@login_required
def queue(request: HttpRequest) -> HttpResponse:
    """A support queue: one of the views, optionally for one team, most urgent first."""
    spec = registry.get("tickets")
    member = request_member(request)
    if not visibility.can_view_module(actor=member, spec=spec):
        raise PermissionDenied
    view = request.GET.get("view", "unassigned")
    if view not in QUEUES:
        view = "unassigned"
    teams = list(Group.objects.order_by("name"))
    team_id = request.GET.get("team", "")
    qs = spec.records().filter(queue_filter(view=view, member=member, now=timezone.now()))
    team = next((t for t in teams if str(t.pk) == team_id), None)
    if team is not None:
        qs = qs.filter(Q(team=team) | Q(owner_group=team))
    qs = qs.select_related("owner__user", "owner_group", "contact").order_by("resolution_due", "-created_at", "id")
    tickets = list(visibility.visible_records(actor=member, spec=spec, queryset=qs)[:200])
    labels = {v.value: v.label for v in metadata.picklist_values("ticket_status")}
    sla_labels = {v.value: v.label for v in metadata.picklist_values("ticket_sla_status")}
    rows = [
        {
            "ticket": t,
            "url": record_url(spec, t),
            "status": labels.get(t.status, t.status),
            "sla": sla_labels.get(t.sla_status, t.sla_status),
            "badge": sla_badge(t.sla_status),
        }
        for t in tickets
    ]
    views = list(QUEUES.items())
    return render(
        request,
        "tickets/queue.html",
        {
            "spec": spec,
            "rows": rows,
            "view": view,
            "views": views,
            "teams": teams,
            "team": team,
            "summary": sla_summary(member=member, team=team, now=timezone.now()),
        },
    )


def sla_summary(*, member: Any, team: Any, now: dt.datetime) -> dict[str, Any]:
    """The SLA figures of the visible tickets (one team's, or all): open ones breached or near breach now,
    and of those closed in the last 30 days with a policy, how many met their targets."""
    from django.db.models import Count

    spec = registry.get("tickets")
    qs = spec.records().filter(deleted_at__isnull=True)
    if team is not None:
        qs = qs.filter(Q(team=team) | Q(owner_group=team))
    qs = visibility.visible_records(actor=member, spec=spec, queryset=qs)
    since = now - dt.timedelta(days=30)
    figures = qs.aggregate(
        breached=Count("pk", filter=Q(closed_at__isnull=True, sla_status=P.SLA_BREACHED)),
        near=Count("pk", filter=Q(closed_at__isnull=True, sla_status=P.SLA_NEAR)),
        closed=Count("pk", filter=Q(closed_at__gte=since, sla_policy__isnull=False)),
        met=Count("pk", filter=Q(closed_at__gte=since, sla_status=P.SLA_MET)),
    )
    closed = figures["closed"]
    figures["met_share"] = round(100 * figures["met"] / closed) if closed else None
    return figures
