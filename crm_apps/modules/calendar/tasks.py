"""Celery entry points of the calendar: reminders (beat, every minute) and invitation emails."""

from __future__ import annotations

import datetime as dt

from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import translation

from crm_apps.access.models import Member
from crm_apps.modules.calendar.ical import calendar_of
from crm_apps.modules.calendar.invitations import ANSWER_LINK_DAYS, answer_urls
from crm_apps.modules.calendar.models import Event, EventInvitee
from crm_apps.modules.calendar.reminders import reminders_send_due
from saas.celery import app
from tenants.models import Tenant
from tenants.runtime import current_schema
from tenants.tasks import TenantOnlyTask


@app.task(base=TenantOnlyTask, name="calendar.reminders_send_task")
def reminders_send_task(now: str | None = None) -> int:
    """Send this tenant's reminders that are due now (each exactly once); `now` (ISO 8601) lets tests
    and catch-up runs fix the clock."""
    return reminders_send_due(now=dt.datetime.fromisoformat(now) if now else None)


@app.task(name="calendar.reminders_due_all_task")
def reminders_due_all_task() -> int:
    """Beat, every minute: fan the reminder scan out to every tenant, each in its own schema."""
    count = 0
    for schema_name in Tenant.objects.values_list("schema_name", flat=True):
        reminders_send_task.apply_async(args=(), headers={"_schema_name": schema_name})
        count += 1
    return count


@app.task(base=TenantOnlyTask, name="calendar.invitation_send_task")
def invitation_send_task(event_id: str, member_ids: list[int], method: str) -> int:
    """Email each member an invitation (METHOD:REQUEST) or cancellation (METHOD:CANCEL) with the .ics:
    one task per member, each retried on its own, so an SMTP error on one recipient never resends the
    others their copy."""
    count = 0
    for member_id in sorted(set(member_ids)):
        invitation_send_one_task.delay(event_id, member_id, method)
        count += 1
    return count


@app.task(
    base=TenantOnlyTask,
    name="calendar.invitation_send_one_task",
    autoretry_for=(OSError,),
    retry_backoff=True,
    max_retries=5,
)
def invitation_send_one_task(event_id: str, member_id: int, method: str) -> int:
    """Email one member one invitation or cancellation (retried alone on an SMTP error); 1 when sent."""
    event = Event.objects.select_related("owner__user").filter(pk=event_id).first()
    member = Member.objects.filter(pk=member_id, active=True).select_related("user").first()
    if event is None or member is None:
        return 0
    invitees = list(EventInvitee.objects.filter(event=event).select_related("member__user"))
    partstat = {i.member_id: i.response.upper().replace("_", "-") for i in invitees}
    attendees = [(i.member.user.email, partstat[i.member_id]) for i in invitees]
    organizer = event.owner.user.email if event.owner is not None else None
    attendees_for = [(member.user.email, "DECLINED")] if method == "CANCEL" else attendees
    body_ics = calendar_of([event], method=method, organizer_email=organizer, attendees={event.pk: attendees_for})
    with translation.override(member.language):
        subject = (
            translation.gettext("Cancelled: %(subject)s")
            if method == "CANCEL"
            else translation.gettext("Invitation: %(subject)s")
        ) % {"subject": event.subject}
        answers = (
            answer_urls(schema=current_schema(), event=event, member=member)
            if method == "REQUEST" and member.pk in partstat
            else {}
        )
        body = render_to_string(
            "calendar/email/invitation.txt",
            {"event": event, "member": member, "method": method, "answers": answers, "days": ANSWER_LINK_DAYS},
        )
    message = EmailMessage(" ".join(subject.split()), body, None, [member.user.email])
    message.attach(f"{event.number}.ics", body_ics, f"text/calendar; method={method}; charset=utf-8")
    message.send()
    return 1
