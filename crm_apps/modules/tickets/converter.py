"""The mail converter's ticket action (crm_apps.mail.converter): a rule on a shared mailbox such as
support@ opens a ticket from a message, or adds it to the ticket it answers (`ticket_from_email`)."""

from __future__ import annotations

from typing import Any

MODULE = "tickets"


def ticket_from_message(*, mailbox: Any, message: Any) -> list[tuple[str, Any]]:
    from crm_apps.modules.tickets.services import ticket_from_email

    return [(MODULE, ticket_from_email(actor=mailbox.owner, message=message).pk)]


def install() -> None:
    from crm_apps.mail.converter import action_handler_add
    from crm_apps.mail.models import ConverterRule

    action_handler_add(ConverterRule.Action.CREATE_TICKET, ticket_from_message)
