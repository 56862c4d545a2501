"""Reads of the support settings: the calendar and SLA policy that apply to a ticket."""

from __future__ import annotations

import re
from typing import Any

from crm_apps.support.models import BusinessHours, SlaPolicy
from crm_apps.support.sla_clock import WorkCalendar

TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")


def minutes_of(value: str) -> int:
    """ "HH:MM" -> minutes from midnight ("24:00" -> 1440); ValueError for anything else."""
    if not isinstance(value, str) or not TIME_RE.match(value):
        raise ValueError(value)
    hours, minutes = value.split(":")
    return int(hours) * 60 + int(minutes)


def work_calendar(hours: BusinessHours | None) -> WorkCalendar:
    """The pure calendar of a business-hours row (None: around the clock in UTC)."""
    if hours is None:
        return WorkCalendar.always()
    week: dict[int, tuple[tuple[int, int], ...]] = {}
    for day, intervals in (hours.week or {}).items():
        parsed = []
        for start, end in intervals or []:
            try:
                parsed.append((minutes_of(start), minutes_of(end)))
            except ValueError:
                continue
        week[int(day)] = tuple(parsed)
    holidays = frozenset(hours.holidays.values_list("date", flat=True))
    return WorkCalendar(zone=hours.time_zone, week=week, holidays=holidays)


def policy_for(*, priority: str, team_id: Any) -> SlaPolicy | None:
    """The team's active policy for the priority, else the default one (no team), else None."""
    if not priority:
        return None
    candidates = list(
        SlaPolicy.objects.filter(priority=priority, active=True, team_id__in=[team_id] if team_id else [])
    )
    if not candidates:
        candidates = list(SlaPolicy.objects.filter(priority=priority, active=True, team__isnull=True))
    return candidates[0] if candidates else None


def calendar_for(*, policy: SlaPolicy, team_id: Any) -> WorkCalendar:
    """The policy's business hours, else the team's, else the default (no team), else around the clock."""
    hours = None
    if policy.business_hours_id:
        hours = BusinessHours.objects.filter(pk=policy.business_hours_id).first()
    if hours is None and team_id:
        hours = BusinessHours.objects.filter(team_id=team_id).first()
    if hours is None:
        hours = BusinessHours.objects.filter(team__isnull=True).order_by("id").first()
    return work_calendar(hours)
