"""The mail converter's ticket actions (crm_apps.mail.converter): a rule on a shared mailbox such as
support@ turns a message into a ticket, or adds it to the ticket whose number is in its subject."""

from __future__ import annotations

from typing import Any

from crm_apps.engine import registry
from crm_apps.engine.services import record_create

MODULE = "tickets"


def _contact_for(*, mailbox: Any, message: Any) -> Any:
    """The sender's contact: the one the address matches, else a new one named after the sender."""
    from crm_apps.mail import matching

    spec = registry.get("contacts")
    found = [pk for module, pk in matching.records_for([message.from_address]) if module == "contacts"]
    if found:
        return spec.model.objects.filter(pk=found[0]).first()
    name = (message.from_name or message.from_address.split("@")[0]).strip()
    first, _sep, last = name.rpartition(" ")
    data = {"first_name": first, "last_name": last or name, "email": message.from_address}
    return record_create(spec=spec, actor=mailbox.owner, data=data)


def ticket_from_message(*, mailbox: Any, message: Any) -> list[tuple[str, Any]]:
    """A new ticket from the message (channel Email, the sender's contact and organisation); an answer to a
    ticket's thread is added to that ticket instead of opening another."""
    from crm_apps.mail.store import links_add

    answered = ticket_reply_from_message(mailbox=mailbox, message=message)
    if answered:
        return answered
    contact = _contact_for(mailbox=mailbox, message=message)
    data: dict[str, Any] = {
        "title": (message.subject or "").strip()[:255] or message.from_address,
        "description": (message.body_text or "")[:50_000],
        "channel": "Email",
        "contact": contact.pk if contact is not None else None,
    }
    if contact is not None and getattr(contact, "organization_id", None):
        data["organization"] = contact.organization_id
    ticket = record_create(spec=registry.get(MODULE), actor=mailbox.owner, data=data)
    links_add(message=message, records=[(MODULE, ticket.pk)], actor=None)
    return [(MODULE, ticket.pk)]


def ticket_reply_from_message(*, mailbox: Any, message: Any) -> list[tuple[str, Any]]:
    """The message as the customer's reply on the ticket it answers (its thread, or its number in the
    subject from that ticket's contact); nothing when there is no such ticket."""
    from crm_apps.mail.models import MessageLink
    from crm_apps.modules.tickets.services import ticket_customer_reply

    reply = ticket_customer_reply(message=message)
    if reply is not None:
        return [(MODULE, reply.ticket_id)]
    # Already threaded in when the message was stored (the tickets app listens to stored mail).
    linked = MessageLink.objects.filter(message=message, module=MODULE).values_list("record_id", flat=True)
    return [(MODULE, pk) for pk in linked]


def install() -> None:
    from crm_apps.mail.converter import action_handler_add
    from crm_apps.mail.models import ConverterRule

    action_handler_add(ConverterRule.Action.CREATE_TICKET, ticket_from_message)
    action_handler_add(ConverterRule.Action.TICKET_REPLY, ticket_reply_from_message)
