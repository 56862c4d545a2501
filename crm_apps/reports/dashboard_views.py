"""Dashboard pages: tabs (the member's own and the shared ones), the widget grid (gridstack: drag and resize,
saved through the API), adding and removing widgets, new dashboards."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import currency
from crm_apps.reports import dashboards, dates, selectors
from crm_apps.reports.cache import data_changed
from crm_apps.reports.models import Quota, Widget
from crm_apps.reports.widgets import KINDS, contributed_choices, saved_view_choices, widget_source, widget_title


@login_required
def dashboard_home(request: HttpRequest) -> HttpResponse:
    first = dashboards.dashboards_for(actor=request_member(request)).first()
    assert first is not None  # the default dashboard always exists
    return redirect("dashboards:detail", first.pk)


@login_required
def dashboard_detail(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    actor = request_member(request)
    board = dashboards.dashboard_get(actor=actor, dashboard_id=dashboard_id)
    if board is None:
        raise Http404
    widgets = []
    for widget in board.widgets.select_related("report"):
        source = widget_source(widget.kind)  # another app's widget: it draws it, or it is gone (None)
        drawn = source.draw(widget, actor, request) if source is not None else None
        if source is None or drawn is not None:
            widgets.append((widget, drawn["data"]["label"] if drawn else widget_title(widget), drawn))
    return render(
        request,
        "reports/dashboard.html",
        {
            "board": board,
            "tabs": list(dashboards.dashboards_for(actor=actor)),
            "widgets": widgets,
            "kinds": {**KINDS, **contributed_choices(actor)},
            "reports": list(selectors.reports_for(actor=actor)[:200]),
            "views": saved_view_choices(actor),
            "can_change": dashboards.can_change(actor, board),
            "can_set_quotas": visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS),
        },
    )


@login_required
@require_POST
def dashboard_new(request: HttpRequest) -> HttpResponse:
    try:
        board = dashboards.dashboard_create(
            actor=request_member(request), name=request.POST.get("name"), shared=request.POST.get("shared") == "1"
        )
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
        return redirect("dashboards:home")
    return redirect("dashboards:detail", board.pk)


@login_required
@require_POST
def dashboard_delete(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    actor = request_member(request)
    board = dashboards.dashboard_get(actor=actor, dashboard_id=dashboard_id)
    if board is None:
        raise Http404
    dashboards.dashboard_delete(actor=actor, dashboard=board)
    return redirect("dashboards:home")


@login_required
@require_POST
def widget_add(request: HttpRequest, dashboard_id: int) -> HttpResponse:
    actor = request_member(request)
    board = dashboards.dashboard_get(actor=actor, dashboard_id=dashboard_id)
    if board is None:
        raise Http404
    config: dict[str, Any] = {"weighted": True} if request.POST.get("weighted") == "1" else {}
    target = request.POST.get("target", "").strip()
    if target.replace(".", "", 1).isdigit():
        config["target"] = target
    if request.POST.get("kind") == "saved_view":
        view, rows = request.POST.get("view", ""), request.POST.get("rows", "")
        config["view"] = int(view) if view.isdigit() and len(view) < 12 else view
        if rows:
            config["rows"] = int(rows) if rows.isdigit() and len(rows) < 4 else rows
    try:
        dashboards.widget_add(
            actor=actor,
            dashboard=board,
            kind=request.POST.get("kind"),
            report_id=request.POST.get("report"),
            config=config,
        )
    except ValidationError as exc:
        messages.error(request, " ".join(m for ms in exc.message_dict.values() for m in ms))
    return redirect("dashboards:detail", board.pk)


@login_required
@require_POST
def widget_remove(request: HttpRequest, widget_id: int) -> HttpResponse:
    actor = request_member(request)
    widget = Widget.objects.select_related("dashboard").filter(pk=widget_id).first()
    if widget is None or dashboards.dashboard_get(actor=actor, dashboard_id=widget.dashboard_id) is None:
        raise Http404
    dashboards.widget_remove(actor=actor, widget=widget)
    return redirect("dashboards:detail", widget.dashboard_id)


def _quota_months(actor: Any) -> list[dt.date]:
    """This quarter's and the next quarter's months (the member's zone)."""
    start = dates.relative_range("this_quarter", dates.today_in(actor.zone))[0]
    return [dt.date(start.year + (start.month - 1 + i) // 12, (start.month - 1 + i) % 12 + 1, 1) for i in range(6)]


@login_required
def quotas_page(request: HttpRequest) -> HttpResponse:
    """Managers (manage-settings privilege) set each member's monthly quota for this quarter and the next; an
    emptied box removes that month's quota. Attainment shows on the quota and forecast widgets."""
    actor = request_member(request)
    if not visibility.has_privilege(actor=actor, privilege=Privilege.MANAGE_SETTINGS):
        raise PermissionDenied
    months = _quota_months(actor)
    members = list(Member.objects.filter(active=True).select_related("user").order_by("user__name", "pk"))
    stored = {(q.member_id, q.month): q for q in Quota.objects.filter(month__in=months)}
    errors: dict[str, str] = {}
    if request.method == "POST":
        with transaction.atomic():
            data_changed()  # cached quota and forecast widgets are recomputed once this commits
            for member in members:
                for month in months:
                    name = f"q_{member.pk}_{month:%Y-%m}"
                    if name not in request.POST:
                        continue
                    raw = request.POST[name].strip().replace(" ", "").replace(",", ".")
                    old = stored.get((member.pk, month))
                    if raw == "":
                        if old is not None:
                            old.delete()
                        continue
                    try:
                        dashboards.quota_set(actor=actor, member_id=member.pk, month=month.isoformat()[:7], amount=raw)
                    except ValidationError as exc:
                        errors[name] = " ".join(m for ms in exc.message_dict.values() for m in ms)
            if errors:
                transaction.set_rollback(True)
        if not errors:
            messages.success(request, _("Quotas saved."))
            return redirect("dashboards:quotas")
    rows = [
        {
            "member": member,
            "cells": [
                {
                    "name": f"q_{member.pk}_{month:%Y-%m}",
                    "value": request.POST.get(f"q_{member.pk}_{month:%Y-%m}")
                    if request.method == "POST"
                    else (str(stored[(member.pk, month)].amount) if (member.pk, month) in stored else ""),
                    "error": errors.get(f"q_{member.pk}_{month:%Y-%m}", ""),
                    "month": month,
                }
                for month in months
            ],
        }
        for member in members
    ]
    return render(
        request,
        "reports/quotas.html",
        {"months": months, "rows": rows, "base": currency.rates().base},
        status=400 if errors else 200,
    )
