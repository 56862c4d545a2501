"""The owner's notification about what a contact did in the portal (kind `portal_activity`)."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from crm_apps.notifications.kinds import EMAIL, Kind, kind_register

KIND = "portal_activity"


def kind_install() -> None:
    kind_register(
        Kind(
            key=KIND,
            label=_("Customer portal"),
            title=_("%(contact)s in the portal (%(what)s): %(record)s"),
            default=EMAIL,
            description=_("A contact opens, answers, closes, reopens or rates one of your tickets in the portal."),
        )
    )


def portal_notify(*, ticket: Any, contact: Any, what: str) -> None:
    from crm_apps.access.models import Member
    from crm_apps.notifications.services import notification_send

    owner = Member.objects.filter(pk=ticket.owner_id, active=True).select_related("user").first()
    if owner is None:
        return
    notification_send(
        recipient=owner,
        kind=KIND,
        module="tickets",
        record_id=ticket.pk,
        params={"contact": str(contact), "what": str(what), "record": f"{ticket.number} {ticket.title}"},
        url=reverse("engine:detail", args=["tickets", ticket.pk]),
    )
