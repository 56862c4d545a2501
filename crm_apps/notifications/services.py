"""Writes of the notification centre: send (honouring the recipient's choice), mark read, preferences,
the daily digest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from crm_apps.access.formats import formats_override
from crm_apps.access.models import Member
from crm_apps.notifications import kinds
from crm_apps.notifications.models import DigestRun, DigestSubscription, Notification, NotificationPreference
from tenants.mail import mail_enqueue
from tenants.runtime import current_schema
from tenants.services import tenant_url

# What a title shows of a long value (a comment, a record's name).
PARAM_MAX = 300
# The digest is sent from this hour of the member's own day (their time zone).
DIGEST_HOUR = 7
DIGEST_MAX_ITEMS = 50


def channel_for(*, member: Member, kind: str) -> str:
    """The member's channel for a kind: their choice, else the kind's default (off for unknown kinds)."""
    chosen = NotificationPreference.objects.filter(member=member, kind=kind).values_list("channel", flat=True).first()
    if chosen in kinds.CHANNELS:
        return str(chosen)
    found = kinds.kind_get(kind)
    return found.default if found else kinds.OFF


def _clip(value: Any) -> Any:
    if isinstance(value, str) and len(value) > PARAM_MAX:
        return value[: PARAM_MAX - 1] + "…"
    return value


def _absolute(url: str) -> str:
    return tenant_url(current_schema(), url) if url.startswith("/") else url


def notification_send(
    *,
    recipient: Member,
    kind: str,
    module: str,
    record_id: Any,
    actor: Member | None = None,
    params: dict[str, Any] | None = None,
    url: str = "",
    dedupe_key: str = "",
    own_email: bool = False,
) -> Notification | None:
    """Notify one member about one record as their preference for `kind` says (off: nothing; in the app;
    in the app and by email after commit). Nobody is notified of their own action, nor an inactive member;
    a `dedupe_key` already sent to this member sends nothing (a retried producer). None when nothing sent.
    `own_email`: the producer sends its own, richer email when `channel_for` says "email" (reminders with
    their event's time and place); this then records the in-app notification only."""
    if kinds.kind_get(kind) is None:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not recipient.active or (actor is not None and actor.pk == recipient.pk):
        return None
    channel = channel_for(member=recipient, kind=kind)
    if channel == kinds.OFF:
        return None
    values = {key: _clip(value) for key, value in (params or {}).items()}
    if actor is not None:
        values.setdefault("actor", actor.user.name or actor.user.email)
    notification = Notification(
        recipient=recipient,
        kind=kind,
        module=module,
        record_id=record_id,
        actor=actor,
        params=values,
        url=url,
        dedupe_key=dedupe_key[:200],
        emailed_at=timezone.now() if channel == kinds.EMAIL else None,
    )
    if dedupe_key and Notification.objects.filter(recipient=recipient, dedupe_key=notification.dedupe_key).exists():
        return None
    try:
        with transaction.atomic():  # a savepoint: a concurrent twin loses on the unique key, quietly
            notification.save(force_insert=True)
    except IntegrityError:
        if dedupe_key:
            return None
        raise
    if channel == kinds.EMAIL and not own_email:
        with override(recipient.language), formats_override(recipient):
            title = kinds.render_title(kind=kind, params=values)
            mail_enqueue(
                to=[recipient.user.email],
                subject=title,
                template="notifications/email/notification.txt",
                context={
                    "title": title,
                    "body": values.get("body", ""),
                    "url": _absolute(url) if url else "",
                    "preferences_url": _absolute("/notifications/preferences/"),
                },
            )
    return notification


def notification_mark_read(*, member: Member, notification_id: Any) -> Notification:
    """Mark one of the member's notifications read (someone else's is not found, like a missing one)."""
    notification = Notification.objects.get(pk=notification_id, recipient=member)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


def notifications_mark_all_read(*, member: Member) -> int:
    """Mark every unread notification of the member read; how many were unread."""
    return Notification.objects.filter(recipient=member, read_at__isnull=True).update(read_at=timezone.now())


@transaction.atomic
def preferences_set(*, member: Member, channels: dict[str, Any], digest: bool | None = None) -> None:
    """Save the member's channel per kind (only the kinds sent) and, when given, the daily digest choice;
    an unknown kind or channel is refused with nothing saved."""
    errors: dict[str, list[str]] = {}
    for key, channel in channels.items():
        if kinds.kind_get(str(key)) is None:
            errors[str(key)] = [_("Unknown kind of notification.")]
        elif channel not in kinds.CHANNELS:
            errors[str(key)] = [_("Choose off, inapp or email.")]
    if errors:
        raise ValidationError(errors)
    for key, channel in channels.items():
        NotificationPreference.objects.update_or_create(member=member, kind=key, defaults={"channel": channel})
    if digest is True:
        DigestSubscription.objects.get_or_create(member=member)
    elif digest is False:
        DigestSubscription.objects.filter(member=member).delete()


def _local_now(member: Member, now: dt.datetime) -> dt.datetime:
    return now.astimezone(member.zone)


@transaction.atomic
def digest_send(*, member: Member, now: dt.datetime | None = None) -> int:
    """Email the member their unread notifications of the last day (those not already emailed one by one),
    at most once per day of their own calendar, from DIGEST_HOUR on. The DigestRun row is claimed first:
    a second scheduler or a retry finds it and sends nothing. Returns the number of items sent (0: none)."""
    now = now or timezone.now()
    local = _local_now(member, now)
    if local.hour < DIGEST_HOUR or not member.active:
        return 0
    if not DigestSubscription.objects.filter(member=member).exists():
        return 0
    items = list(
        Notification.objects.filter(
            recipient=member,
            read_at__isnull=True,
            emailed_at__isnull=True,
            created_at__gte=now - dt.timedelta(days=1),
        ).order_by("-created_at", "-id")[:DIGEST_MAX_ITEMS]
    )
    try:
        with transaction.atomic():
            run = DigestRun.objects.create(member=member, day=local.date(), sent_at=now, count=len(items))
    except IntegrityError:
        return 0  # already sent today (another scheduler, a retry)
    if not items:
        return 0
    with override(member.language), formats_override(member):
        lines = [
            {
                "title": kinds.render_title(kind=n.kind, params=n.params),
                "body": n.params.get("body", ""),
                "url": _absolute(n.url) if n.url else "",
            }
            for n in items
        ]
        mail_enqueue(
            to=[member.user.email],
            subject=_("Your day in the CRM: %(count)s unread notifications") % {"count": len(items)},
            template="notifications/email/digest.txt",
            context={
                "items": lines,
                "inbox_url": _absolute("/notifications/"),
                "preferences_url": _absolute("/notifications/preferences/"),
            },
        )
    Notification.objects.filter(pk__in=[n.pk for n in items]).update(emailed_at=now)
    return run.count


def digests_send_due(*, now: dt.datetime | None = None) -> int:
    """Send the digest of every subscribed member of this tenant whose day has reached DIGEST_HOUR; how
    many digests went out."""
    sent = 0
    subscribed = Member.objects.filter(active=True, pk__in=DigestSubscription.objects.values("member_id"))
    for member in subscribed.select_related("user").order_by("pk"):
        if digest_send(member=member, now=now):
            sent += 1
    return sent
