"""Support settings writes (administrators or the module-settings privilege): SLA policies, business
hours with their holidays, and round robin per team. Bad input is a ValidationError naming the field."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from crm_apps.access import visibility
from crm_apps.access.models import Group, Member
from crm_apps.access.privileges import Privilege
from crm_apps.support.models import BusinessHours, Holiday, RoundRobin, SlaPolicy
from crm_apps.support.selectors import minutes_of


def _require_settings(actor: Member) -> None:
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied


def parse_week(raw: dict[str, Any]) -> dict[str, list[list[str]]]:
    """{"0": "09:00-12:00, 13:00-17:00", ...} (Monday = 0) -> the stored week; errors name the day."""
    week: dict[str, list[list[str]]] = {}
    errors: dict[str, list[str]] = {}
    for day in range(7):
        text = str(raw.get(str(day), "") or "").strip()
        intervals: list[list[str]] = []
        for part in [p.strip() for p in text.split(",") if p.strip()]:
            start, _sep, end = part.partition("-")
            try:
                if minutes_of(start.strip()) >= minutes_of(end.strip()):
                    raise ValueError(part)
            except ValueError:
                errors[f"week.{day}"] = [_("Write opening hours as 09:00-17:00, separated by commas.")]
                break
            intervals.append([start.strip(), end.strip()])
        if intervals:
            week[str(day)] = intervals
    if errors:
        raise ValidationError(errors)
    return week


@transaction.atomic
def business_hours_save(
    *, actor: Member, hours: BusinessHours | None, name: str, time_zone: str, week: dict[str, Any], team_id: Any
) -> BusinessHours:
    """Create or change a calendar (one per team; the one without a team is the default)."""
    _require_settings(actor)
    row = hours or BusinessHours()
    row.name = (name or "").strip()[:100]
    row.time_zone = time_zone or "UTC"
    row.week = parse_week(week)
    row.team = Group.objects.filter(pk=team_id).first() if team_id not in (None, "") else None
    if team_id not in (None, "") and row.team is None:
        raise ValidationError({"team": [_("Choose an existing group.")]})
    if not row.name:
        raise ValidationError({"name": [_("Enter a name.")]})
    row.full_clean(exclude=["team"])
    clash = BusinessHours.objects.filter(team=row.team).exclude(pk=row.pk)
    if clash.exists():
        raise ValidationError({"team": [_("This team already has business hours.")]})
    row.save()
    return row


@transaction.atomic
def holiday_add(*, actor: Member, hours: BusinessHours, date: Any, name: str = "") -> Holiday:
    _require_settings(actor)
    try:
        day = date if isinstance(date, dt.date) else dt.date.fromisoformat(str(date))
    except ValueError:
        raise ValidationError({"date": [_("Enter a valid date.")]}) from None
    try:
        with transaction.atomic():
            return Holiday.objects.create(calendar=hours, date=day, name=(name or "")[:100])
    except IntegrityError:
        raise ValidationError({"date": [_("This day is already a holiday.")]}) from None


@transaction.atomic
def sla_policy_save(*, actor: Member, policy: SlaPolicy | None, data: dict[str, Any]) -> SlaPolicy:
    """Create or change a policy: one per priority for every team, or per team and priority."""
    _require_settings(actor)
    row = policy or SlaPolicy()
    errors: dict[str, list[str]] = {}
    row.name = str(data.get("name") or "").strip()[:100]
    row.priority = str(data.get("priority") or "").strip()
    for name in ("first_response_minutes", "resolution_minutes"):
        try:
            setattr(row, name, int(str(data.get(name, "")).strip()))
        except ValueError:
            errors[name] = [_("Enter a whole number of minutes.")]
    team_id = data.get("team")
    row.team = Group.objects.filter(pk=team_id).first() if team_id not in (None, "") else None
    if team_id not in (None, "") and row.team is None:
        errors["team"] = [_("Choose an existing group.")]
    hours_id = data.get("business_hours")
    row.business_hours = BusinessHours.objects.filter(pk=hours_id).first() if hours_id not in (None, "") else None
    escalate_id = data.get("escalate_to")
    row.escalate_to = (
        Member.objects.filter(pk=escalate_id, active=True).first() if escalate_id not in (None, "") else None
    )
    if escalate_id not in (None, "") and row.escalate_to is None:
        errors["escalate_to"] = [_("Choose an active member.")]
    row.reassign = bool(data.get("reassign"))
    row.active = data.get("active", True) not in (False, "", "0", "false", "off")
    if not row.name:
        errors["name"] = [_("Enter a name.")]
    if not row.priority:
        errors["priority"] = [_("Choose a priority.")]
    if errors:
        raise ValidationError(errors)
    row.full_clean(exclude=["team", "business_hours", "escalate_to"], validate_constraints=False)
    clash = SlaPolicy.objects.filter(priority=row.priority, team=row.team).exclude(pk=row.pk)
    if clash.exists():
        raise ValidationError({"priority": [_("A policy for this priority and team exists already.")]})
    row.save()
    return row


@transaction.atomic
def round_robin_set(
    *, actor: Member, team: Group, enabled: bool, mode: str = RoundRobin.Mode.ROUND_ROBIN
) -> RoundRobin:
    """Turn a team's automatic assignment of new tickets on or off, in turn or load balanced."""
    _require_settings(actor)
    if mode not in RoundRobin.Mode.values:
        raise ValidationError({"mode": [_("Choose how tickets are assigned.")]})
    row, _created = RoundRobin.objects.get_or_create(team=team)
    row.enabled, row.mode = enabled, mode
    row.save(update_fields=["enabled", "mode"])
    return row


@transaction.atomic
def sla_policy_delete(*, actor: Member, policy: SlaPolicy) -> None:
    """Remove a policy; tickets keep their stored figures until they are next written."""
    _require_settings(actor)
    SlaPolicy.objects.filter(pk=policy.pk).delete()
