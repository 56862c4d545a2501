"""Answering an invitation: from the event page, the notification centre, the home page, or a link in
the invitation email.

An email link carries a signed token naming the tenant (its schema), the event and the invitee, valid
for `ANSWER_LINK_DAYS`: it answers for that invitee only, on that tenant's host only (another tenant's
host, another event or a changed token is refused), and it never needs a password — the link is the
proof of having received the email. Opening the link shows the event and the three answers; only the
POST of that page answers (mail scanners that open links do not answer for anyone).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from django.core import signing
from django.urls import reverse

from crm_apps.access.models import Member
from crm_apps.modules.calendar.models import Event, EventInvitee
from tenants.services import tenant_url

ANSWER_LINK_DAYS = 30
_SALT = "calendar.invitation-answer"


def _salt(schema: str) -> str:
    return f"{_SALT}:{schema}"


def answer_token(*, schema: str, event_id: Any, member_id: int) -> str:
    return signing.dumps({"t": schema, "e": str(event_id), "m": int(member_id)}, salt=_salt(schema), compress=True)


def answer_token_read(token: str, *, schema: str) -> tuple[uuid.UUID, int] | None:
    """(event id, member id) of a valid, unexpired token made for this tenant; None otherwise."""
    try:
        data = signing.loads(token, salt=_salt(schema), max_age=dt.timedelta(days=ANSWER_LINK_DAYS))
    except signing.BadSignature:  # SignatureExpired is one
        return None
    if not isinstance(data, dict) or data.get("t") != schema:
        return None
    try:
        return uuid.UUID(str(data.get("e"))), int(data.get("m"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


def answer_urls(*, schema: str, event: Event, member: Member) -> dict[str, str]:
    """Absolute links for the invitation email, one per answer (each opens the answer page)."""
    token = answer_token(schema=schema, event_id=event.pk, member_id=member.pk)
    page = tenant_url(schema, reverse("calendar:invitation_answer", args=[token]))
    return {answer: f"{page}?answer={answer}" for answer in ("accepted", "tentative", "declined")}


def invitation_for(token: str, *, schema: str) -> EventInvitee | None:
    """The live invitation a token names (the member still active and still invited)."""
    found = answer_token_read(token, schema=schema)
    if found is None:
        return None
    event_id, member_id = found
    return (
        EventInvitee.objects.filter(
            event_id=event_id, member_id=member_id, member__active=True, event__deleted_at__isnull=True
        )
        .select_related("event__owner__user", "member__user")
        .first()
    )


def pending_invitations(*, member: Member, now: dt.datetime, limit: int = 10) -> list[EventInvitee]:
    """The member's unanswered invitations to events that are not over (a series until its UNTIL/COUNT
    end), soonest first."""
    from django.db.models import Q

    from crm_apps.modules.calendar import recurrence

    rows = (
        EventInvitee.objects.filter(
            member=member, response=EventInvitee.Response.NEEDS_ACTION, event__deleted_at__isnull=True
        )
        .exclude(event__owner=member)
        .filter(Q(event__end__gte=now) | ~Q(event__rrule=""))
        .select_related("event__owner__user")
        .order_by("event__start")[: limit * 3]
    )
    found = []
    for row in rows:
        event = row.event
        if event.rrule and event.end < now:
            nxt = recurrence.occurrence_starts(
                start=event.start,
                end=event.end,
                time_zone=event.time_zone,
                rrule=event.rrule,
                exdates=event.exdates,
                window_start=now,
                window_end=now + dt.timedelta(days=366),
            )
            if not nxt:
                continue
        found.append(row)
    return found[:limit]


def invitation_row_actions(notifications: Any) -> dict[int, dict[str, Any]]:
    """Answer buttons for invitation notifications whose recipient is still invited to the live event
    (`notifications.kinds.RowActions`): one query for the page."""
    from django.db.models import Q

    wanted = [(n.record_id, n.recipient_id) for n in notifications if n.module == "events"]
    if not wanted:
        return {}
    match = Q()
    for event_id, member_id in wanted:
        match |= Q(event_id=event_id, member_id=member_id)
    found = {
        (i.event_id, i.member_id): i
        for i in EventInvitee.objects.filter(match, event__deleted_at__isnull=True).only(
            "event_id", "member_id", "response", "comment"
        )
    }
    actions = {}
    for n in notifications:
        invitee = found.get((n.record_id, n.recipient_id))
        if invitee is None:
            continue
        actions[n.pk] = {
            "action": reverse("calendar:event_respond", args=[invitee.event_id]),
            "current": invitee.response,
            "comment": invitee.comment,
            "uid": f"n{n.pk}",
        }
    return actions
