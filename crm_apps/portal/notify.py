"""The owner's notification about what a contact did in the portal (kind `portal_activity`)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import override

from crm_apps.notifications.kinds import EMAIL, Kind, kind_register

KIND = "portal_activity"
GROUP_RECIPIENTS_MAX = 50  # a group-owned ticket notifies its group's direct members, at most this many


def kind_install() -> None:
    kind_register(
        Kind(
            key=KIND,
            label=_("Customer portal"),
            title=_("%(contact)s in the portal (%(what)s): %(record)s"),
            default=EMAIL,
            description=_(
                "A contact opens, answers, closes, reopens or rates one of your tickets, or changes their profile,"
                " in the portal."
            ),
        )
    )


def portal_notify(*, ticket: Any, contact: Any, what: Any) -> None:
    """`what` is a lazy translation: it is rendered in the owner's language (the contact's is active while
    the portal acts), as is the rest of the notification. The owner, else the owning group's direct
    members, hear of it: only those the access layer lets see the ticket (its number and title are in
    the message)."""
    from crm_apps.access.models import Member

    owner = Member.objects.filter(pk=ticket.owner_id, active=True).select_related("user").first()
    recipients = [owner] if owner is not None else []
    if owner is None and getattr(ticket, "owner_group_id", None):  # a team's ticket: its members hear of it
        recipients = list(
            Member.objects.filter(groups=ticket.owner_group_id, active=True)
            .select_related("user")
            .order_by("id")[:GROUP_RECIPIENTS_MAX]
        )
    for recipient in recipients:
        if not _may_view(recipient, ticket):  # a role that cannot see the ticket hears nothing of it
            continue
        _send(
            recipient,
            record_id=ticket.pk,
            module="tickets",
            contact=contact,
            what=what,
            record=f"{ticket.number} {ticket.title}",
        )


def _may_view(member: Any, ticket: Any) -> bool:
    """Whether the access layer lets `member` see the ticket (its module, and this record)."""
    from crm_apps.access import visibility
    from crm_apps.engine import registry, selectors

    spec = registry.get("tickets")
    if not visibility.can_view_module(actor=member, spec=spec):
        return False
    return selectors.access_record(spec=spec, actor=member, record_id=ticket.pk) is not None


def profile_notify(*, contact: Any, what: Any) -> None:
    """The contact's owner hears of a profile change made in the portal."""
    from crm_apps.access.models import Member

    owner = Member.objects.filter(pk=contact.owner_id, active=True).select_related("user").first()
    if owner is None:
        return
    _send(owner, record_id=contact.pk, module="contacts", contact=contact, what=what, record=str(contact))


def _send(owner: Any, *, record_id: Any, module: str, contact: Any, what: Any, record: str) -> None:
    from crm_apps.notifications.services import notification_send

    with override(owner.language or None):
        notification_send(
            recipient=owner,
            kind=KIND,
            module=module,
            record_id=record_id,
            params={"contact": str(contact), "what": str(what), "record": record},
            url=reverse("engine:detail", args=[module, record_id]),
        )
