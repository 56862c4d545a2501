"""Scheduled reports: when a schedule is due (daily; weekly on chosen days; monthly on a day - the last day
when the month is shorter - at a time in the workspace's time zone, `tenants.selectors.workspace_zone`), the
report runs with the owner's rights and is e-mailed to members, roles' members and addresses.

Once per tick: the latest due moment is the tick; the schedule row is locked (SELECT ... FOR UPDATE, so
concurrent schedulers queue) and a ScheduleRun row for (schedule, tick) - unique - is written in the same
transaction as the sending. A scheduler restarted at any point either finds that row (nothing to do) or
finds none (the transaction did not commit; it sends). Ticks before the schedule existed never fire, a
scheduler that was down for several ticks sends the latest one only, and a tick not later than the latest
logged one, or on the same day in the workspace's zone, is not sent (a change of zone moves the due moment:
it never sends a report twice the same day)."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMessage
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from crm_apps.access.models import Member, Role
from crm_apps.reports import exports
from crm_apps.reports.definition import parse
from crm_apps.reports.engine import run
from crm_apps.reports.models import Report, ReportSchedule, ScheduleRun
from tenants.selectors import workspace_zone

DELIVERY_ATTACHMENT, DELIVERY_LINK = "attachment", "link"


def latest_tick(schedule: ReportSchedule, now: dt.datetime, zone: Any) -> dt.datetime | None:
    """The latest due moment at or before `now` (aware), looking back at most 31 days."""
    local = now.astimezone(zone)
    for back in range(0, 32):
        day = local.date() - dt.timedelta(days=back)
        if schedule.frequency == ReportSchedule.Frequency.WEEKLY and day.weekday() not in (schedule.weekdays or []):
            continue
        if schedule.frequency == ReportSchedule.Frequency.MONTHLY:
            last = calendar.monthrange(day.year, day.month)[1]
            if day.day != min(schedule.day_of_month, last):
                continue
        moment = dt.datetime.combine(day, schedule.at, tzinfo=zone)
        if moment <= local:
            return moment.astimezone(dt.UTC)
    return None


def _recipients(schedule: ReportSchedule) -> list[str]:
    emails = {m.user.email for m in schedule.members.filter(active=True).select_related("user")}
    emails |= {
        m.user.email for m in Member.objects.filter(role__in=schedule.roles.all(), active=True).select_related("user")
    }
    emails |= {a for a in schedule.addresses if isinstance(a, str)}
    return sorted(e for e in emails if e)


def _recipient_members(schedule: ReportSchedule) -> list[Member]:
    found = {m.pk: m for m in schedule.members.filter(active=True).select_related("user")}
    for m in Member.objects.filter(role__in=schedule.roles.all(), active=True).select_related("user"):
        found.setdefault(m.pk, m)
    return [m for m in found.values() if m.user.email]


def link_recipients(schedule: ReportSchedule) -> list[str]:
    """A link schedule's recipients: the members (and roles' members) who may open the report themselves. A
    member the report is not shared with gets nothing (the link would only show them "not found")."""
    from crm_apps.reports.selectors import report_get

    return sorted(
        m.user.email for m in _recipient_members(schedule) if report_get(actor=m, report_id=schedule.report_id)
    )


def _send_link(schedule: ReportSchedule, recipients: list[str]) -> None:
    """Only the report's name and the address of its page: no number leaves the app; each recipient signs in
    and sees the report computed with their own rights."""
    from tenants.runtime import current_schema
    from tenants.services import tenant_url

    report = schedule.report
    if not report.owner.active:
        raise PermissionDenied(_("The report's owner is no longer active."))
    url = tenant_url(current_schema(), reverse("reports:detail", args=[report.pk]))
    EmailMessage(
        subject=_("Report: %(name)s") % {"name": report.name},
        body=_("The report “%(name)s” is ready. Open it (sign in first): %(url)s") % {"name": report.name, "url": url},
        to=recipients,
    ).send()


def _send(schedule: ReportSchedule, recipients: list[str]) -> None:
    report = schedule.report
    owner = report.owner
    if not owner.active:
        raise PermissionDenied(_("The report's owner is no longer active."))
    if schedule.delivery == DELIVERY_LINK:
        _send_link(schedule, recipients)
        return
    result = run(parse(report.definition, actor=owner, saved=True))  # the owner's rights, never more
    body = exports.render(schedule.format, report.name, result)
    message = EmailMessage(
        subject=_("Report: %(name)s") % {"name": report.name},
        body=_("The report “%(name)s”, computed at %(at)s, is attached.")
        % {"name": report.name, "at": result["meta"]["computed_at"]},
        to=recipients,
    )
    message.attach(f"report-{report.pk}.{schedule.format}", body, exports.FORMATS[schedule.format].split(";")[0])
    message.send()


def schedule_fire(schedule_id: int, now: dt.datetime | None = None) -> ScheduleRun | None:
    """Send the schedule's current tick unless it was sent already; returns the new log row (None: nothing due)."""
    now = now or timezone.now()
    with transaction.atomic():
        schedule = (
            ReportSchedule.objects.select_for_update()
            .select_related("report__owner__user")
            .filter(pk=schedule_id, active=True)
            .first()
        )
        if schedule is None:
            return None
        zone = workspace_zone()
        tick = latest_tick(schedule, now, zone)
        if tick is None or tick < schedule.created_at or _sent_already(schedule, tick, zone):
            return None
        recipients = link_recipients(schedule) if schedule.delivery == DELIVERY_LINK else _recipients(schedule)
        try:
            _send(schedule, recipients)
            status, error = "sent", ""
        except (ValidationError, PermissionDenied, OSError) as exc:
            status, error = "failed", str(exc)[:500]
        return ScheduleRun.objects.create(
            schedule=schedule, tick=tick, status=status, recipients=recipients, error=error
        )


def _sent_already(schedule: ReportSchedule, tick: dt.datetime, zone: Any) -> bool:
    """Whether `tick` was covered by the schedule's latest logged tick: that one or a later one, or one on the
    same day in the workspace's zone. A schedule has at most one tick a day, so a different tick on a day already
    sent only comes from a change of zone (the workspace's, or the move from the owners' zones to it): without
    this check it would send a second report that day."""
    last = ScheduleRun.objects.filter(schedule=schedule).order_by("-tick").values_list("tick", flat=True).first()
    if last is None:
        return False
    return tick <= last or tick.astimezone(zone).date() == last.astimezone(zone).date()


def schedules_run(now: dt.datetime | None = None) -> int:
    """Fire every due schedule of the current tenant; the number of reports sent or failed."""
    fired = 0
    for schedule_id in ReportSchedule.objects.filter(active=True).values_list("pk", flat=True):
        if schedule_fire(schedule_id, now) is not None:
            fired += 1
    return fired


def schedule_create(*, actor: Member, report: Report, data: dict[str, Any]) -> ReportSchedule:
    """Only the report's owner schedules it (it runs with their rights)."""
    if report.owner_id != actor.pk:
        raise PermissionDenied(_("Only the report's owner can schedule it."))
    errors: dict[str, list[str]] = {}
    frequency = data.get("frequency", "weekly")
    if frequency not in ReportSchedule.Frequency.values:
        errors["frequency"] = [_("Choose daily, weekly or monthly.")]
    weekdays = data.get("weekdays", [0])
    if frequency == "weekly" and (
        not isinstance(weekdays, list) or not weekdays or not all(isinstance(d, int) and 0 <= d <= 6 for d in weekdays)
    ):
        errors["weekdays"] = [_("Choose days of the week (0 = Monday ... 6 = Sunday).")]
    day = data.get("day_of_month", 1)
    if not isinstance(day, int) or isinstance(day, bool) or not 1 <= day <= 31:
        errors["day_of_month"] = [_("Enter a day between 1 and 31.")]
    try:
        at = dt.time.fromisoformat(str(data.get("at", "08:00")))
    except ValueError:
        errors["at"] = [_("Enter a time as HH:MM.")]
    fmt = data.get("format", "xlsx")
    if fmt not in exports.FORMATS:
        errors["format"] = [_("Choose csv, xlsx or pdf.")]
    addresses = data.get("addresses", [])
    if not isinstance(addresses, list) or len(addresses) > 50:
        errors["addresses"] = [_("Send a list of addresses.")]
        addresses = []
    for address in addresses:
        try:
            validate_email(address)
        except (ValidationError, TypeError):
            errors["addresses"] = [_("Enter valid e-mail addresses.")]
    delivery = data.get("delivery", DELIVERY_ATTACHMENT)
    if delivery not in (DELIVERY_ATTACHMENT, DELIVERY_LINK):
        errors["delivery"] = [_("Choose attachment or link.")]
    elif delivery == DELIVERY_LINK and addresses:
        # A plain address cannot sign in, and a link that opens data without signing in would bypass the
        # access layer: links go to members only.
        errors["addresses"] = [_("A link is sent to members only; send plain addresses an attachment.")]
    member_ids, role_ids = data.get("members", []), data.get("roles", [])
    members = list(Member.objects.filter(pk__in=member_ids, active=True)) if isinstance(member_ids, list) else []
    roles = list(Role.objects.filter(pk__in=role_ids)) if isinstance(role_ids, list) else []
    if not isinstance(member_ids, list) or len(members) != len(set(member_ids)):
        errors["members"] = [_("Unknown member.")]
    if not isinstance(role_ids, list) or len(roles) != len(set(role_ids)):
        errors["roles"] = [_("Unknown role.")]
    if not errors and not (members or roles or addresses):
        errors["members"] = [_("Choose at least one recipient.")]
    if not errors and delivery == DELIVERY_LINK:
        from crm_apps.reports.selectors import report_get

        blocked = [m for m in members if report_get(actor=m, report_id=report.pk) is None]
        if blocked:
            errors["members"] = [_("Share the report with every member who gets a link first.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        schedule = ReportSchedule.objects.create(
            report=report,
            frequency=frequency,
            weekdays=weekdays if frequency == "weekly" else [],
            day_of_month=day,
            at=at,
            format=fmt,
            delivery=delivery,
            addresses=addresses,
        )
        schedule.members.set(members)
        schedule.roles.set(roles)
    return schedule
