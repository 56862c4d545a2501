"""Settings › Tickets › SLA: policies per priority (and team), business hours per team with holidays, and
round-robin assignment per team."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from crm_apps.access.decorators import admin_view
from crm_apps.access.models import Group, Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import metadata, registry
from crm_apps.support import services
from crm_apps.support.models import BusinessHours, RoundRobin, SlaPolicy
from saas.timezones import time_zones_sorted

WEEKDAYS = range(7)


def _week_text(hours: BusinessHours | None) -> dict[str, str]:
    week = hours.week if hours else {str(d): [["09:00", "17:00"]] for d in range(5)}
    return {str(d): ", ".join(f"{s}-{e}" for s, e in week.get(str(d), [])) for d in WEEKDAYS}


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def sla_settings(request: HttpRequest, actor: Member) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    form = request.POST.get("form", "")
    if request.method == "POST":
        try:
            if form == "policy":
                policy = SlaPolicy.objects.filter(pk=request.POST.get("id") or 0).first()
                services.sla_policy_save(actor=actor, policy=policy, data=request.POST.dict())
                messages.success(request, _("SLA policy saved."))
            elif form == "hours":
                hours = BusinessHours.objects.filter(pk=request.POST.get("id") or 0).first()
                saved = services.business_hours_save(
                    actor=actor,
                    hours=hours,
                    name=request.POST.get("name", ""),
                    time_zone=request.POST.get("time_zone", "UTC"),
                    week={str(d): request.POST.get(f"week_{d}", "") for d in WEEKDAYS},
                    team_id=request.POST.get("team") or None,
                )
                if request.POST.get("holiday_date"):
                    services.holiday_add(
                        actor=actor,
                        hours=saved,
                        date=request.POST["holiday_date"],
                        name=request.POST.get("holiday_name", ""),
                    )
                messages.success(request, _("Business hours saved."))
            elif form == "round_robin":
                team = Group.objects.filter(pk=request.POST.get("team") or 0).first()
                if team is None:
                    raise ValidationError({"team": [_("Choose an existing group.")]})
                services.round_robin_set(
                    actor=actor,
                    team=team,
                    enabled=request.POST.get("enabled") == "1",
                    mode=request.POST.get("mode") or RoundRobin.Mode.ROUND_ROBIN,
                )
                messages.success(request, _("Assignment saved."))
        except ValidationError as exc:
            errors = exc.message_dict if hasattr(exc, "error_dict") else {"": exc.messages}
        else:
            return redirect("tickets:sla_settings")
    context: dict[str, Any] = {
        "spec": registry.get("tickets"),
        "tab": "sla",
        "errors": errors,
        "form": form,
        "values": request.POST if errors else {},
        "policies": SlaPolicy.objects.select_related("team", "business_hours", "escalate_to__user").order_by(
            "team_id", "priority"
        ),
        "calendars": BusinessHours.objects.prefetch_related("holidays").select_related("team"),
        "priorities": metadata.picklist_values("ticket_priority"),
        "teams": Group.objects.order_by("name"),
        "members": Member.objects.filter(active=True).select_related("user").order_by("user__name"),
        "round_robins": {r.team_id: r for r in RoundRobin.objects.all()},
        "modes": RoundRobin.Mode.choices,
        "time_zones": list(time_zones_sorted()),
        "week_text": _week_text(None),
        "weekdays": [(str(d), name) for d, name in zip(WEEKDAYS, _weekday_names(), strict=True)],
    }
    return render(request, "tickets/sla_settings.html", context, status=400 if errors else 200)


def _weekday_names() -> list[str]:
    return [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]
