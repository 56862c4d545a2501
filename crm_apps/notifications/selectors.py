"""Reads of the notification centre: a member's inbox, unread count and choices. Every read is scoped
to the member asking: nobody reads another member's notifications, an admin included."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet

from crm_apps.access.models import Member
from crm_apps.notifications import kinds
from crm_apps.notifications.models import DigestSubscription, Notification, NotificationPreference


def notification_list(*, member: Member, unread: bool | None = None, kind: str | None = None) -> QuerySet[Any]:
    """The member's notifications, newest first; `unread` True/False narrows to unread/read ones."""
    qs = Notification.objects.filter(recipient=member)
    if unread is True:
        qs = qs.filter(read_at__isnull=True)
    elif unread is False:
        qs = qs.filter(read_at__isnull=False)
    if kind:
        qs = qs.filter(kind=kind)
    return qs.order_by("-created_at", "-id")


def unread_count(*, member: Member) -> int:
    """How many notifications the member has not read (one index-only count)."""
    return Notification.objects.filter(recipient=member, read_at__isnull=True).count()


def notification_title(notification: Notification) -> str:
    """The notification's sentence in the active language."""
    return kinds.render_title(kind=notification.kind, params=notification.params)


@dataclass
class KindChoice:
    kind: kinds.Kind
    channel: str


def preferences_get(*, member: Member) -> tuple[list[KindChoice], bool]:
    """The member's channel for every kind (their choice or the default) and whether they get the digest."""
    chosen = dict(NotificationPreference.objects.filter(member=member).values_list("kind", "channel"))
    rows = [
        KindChoice(kind=k, channel=chosen[k.key] if chosen.get(k.key) in kinds.CHANNELS else k.default)
        for k in kinds.kinds_all()
    ]
    return rows, DigestSubscription.objects.filter(member=member).exists()
