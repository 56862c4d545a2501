"""What the tickets app plugs into other apps at start-up: contract accounting and round robin on ticket
changes, customers' emails threaded back into tickets, the SLA breach notification kind, and a tickets
panel (with "Open a ticket") on contacts, organisations and products."""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext_lazy as _

from crm_apps.engine import events, extensions
from crm_apps.engine.spec import ModuleSpec, Panel

log = logging.getLogger(__name__)
MODULE = "tickets"
# Modules of other packages whose pages list their tickets (assets, service contracts and FAQ entries have
# a related list of their own).
PANEL_MODULES = {"contacts": "contact", "organizations": "organization", "products": "product"}


def ticket_changed(spec: ModuleSpec, record: Any, changes: dict[str, list[Any]], actor: Any, created: bool) -> None:
    if spec.key == "service-contracts" and not created and {"total_units", "status", "due_date"} & set(changes):
        from crm_apps.modules.servicecontracts.services import tickets_flag_refresh

        tickets_flag_refresh(contract=record)  # its tickets' "exhausted" / "expired" warning follows
        return
    if spec.key != MODULE:
        return
    from crm_apps.modules.servicecontracts.services import contracts_usage_refresh
    from crm_apps.modules.tickets.services import ticket_auto_assign

    if created:
        ticket_auto_assign(ticket=record)
    touched = {"service_contract", "status", "hours_spent"} & set(changes)
    if touched or (created and record.service_contract_id):
        ids = {record.service_contract_id}
        if "service_contract" in changes:
            ids |= {changes["service_contract"][0]}
        contracts_usage_refresh(contract_ids=[i for i in ids if i])


def tickets_deleted(module: str, event: str, ids: list[str]) -> None:
    """A ticket in the recycle bin no longer counts on its contract, and counts again when restored
    (updates are handled with their changes by ticket_changed)."""
    if module != MODULE or event not in (events.DELETED, events.RESTORED):
        return
    from crm_apps.modules.servicecontracts.services import contracts_usage_refresh
    from crm_apps.modules.tickets.models import Ticket

    contract_ids = Ticket.objects.filter(pk__in=ids).values_list("service_contract_id", flat=True)
    contracts_usage_refresh(contract_ids=list(contract_ids))


def message_stored(message: Any) -> None:
    """A received message that answers a ticket joins it. A failure here never costs the mail sync the
    message (a savepoint; the message is kept, the ticket is not updated, and it is logged)."""
    from django.db import transaction

    from crm_apps.modules.tickets.services import ticket_customer_reply

    try:
        with transaction.atomic():
            ticket_customer_reply(message=message)
    except Exception:
        log.exception("message %s not added to its ticket", message.pk)


def panel_applies(spec: ModuleSpec) -> bool:
    return spec.key in PANEL_MODULES


def install() -> None:
    from crm_apps.mail import store
    from crm_apps.modules.tickets.panels import related_tickets_linked, related_tickets_panel
    from crm_apps.notifications.kinds import Kind, kind_register

    events.change_listener_add(ticket_changed)
    events.listener_add(tickets_deleted)
    store.stored_listener_add(message_stored)
    kind_register(
        Kind(
            key="sla_breach",
            label=_("SLA breaches"),
            title=_("SLA breached: %(record)s"),
            description=_("A ticket you own or escalate missed its first-response or resolution target."),
        )
    )
    extensions.record_panel_add(
        Panel(
            key="tickets",
            template="tickets/_related_panel.html",
            context=related_tickets_panel,
            slot="main",
            linked=related_tickets_linked,
        ),
        applies=panel_applies,
    )
