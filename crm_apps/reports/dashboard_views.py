"""Dashboard pages: tabs (the member's own and the shared ones), the widget grid (gridstack: drag and resize,
saved through the API), adding and removing widgets, new dashboards."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from crm_apps.access.middleware import request_member
from crm_apps.reports import dashboards, selectors
from crm_apps.reports.models import Widget
from crm_apps.reports.widgets import KINDS, widget_title


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
    widgets = [(w, widget_title(w)) for w in board.widgets.select_related("report")]
    return render(
        request,
        "reports/dashboard.html",
        {
            "board": board,
            "tabs": list(dashboards.dashboards_for(actor=actor)),
            "widgets": widgets,
            "kinds": KINDS,
            "reports": list(selectors.reports_for(actor=actor)[:200]),
            "can_change": dashboards.can_change(actor, board),
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
