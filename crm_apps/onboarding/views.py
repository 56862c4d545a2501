"""The onboarding page: the checklist, sample data (load, progress, remove), dismiss."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.decorators import admin_view
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.onboarding import services
from crm_apps.onboarding.selectors import checklist_get, sample_status_get


def _back(request: HttpRequest) -> HttpResponse:
    return redirect("home" if request.POST.get("next") == "home" else "onboarding:index")


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@login_required
def index(request: HttpRequest) -> HttpResponse:
    member = request_member(request)
    return render(request, "onboarding/index.html", {"checklist": checklist_get(member=member)})


@require_POST
@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def dismiss(request: HttpRequest, actor: Member) -> HttpResponse:
    services.onboarding_dismiss(actor=actor, dismissed=request.POST.get("show") != "1")
    return _back(request)


@require_POST
@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def confirm(request: HttpRequest, actor: Member, key: str) -> HttpResponse:
    try:
        services.onboarding_confirm(actor=actor, key=key)
    except ValidationError as exc:
        _errors(request, exc)
    return _back(request)


@require_POST
@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def sample_load(request: HttpRequest, actor: Member) -> HttpResponse:
    try:
        services.sample_data_load_start(actor=actor)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Loading sample data…"))
    return _back(request)


@require_POST
@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def sample_remove(request: HttpRequest, actor: Member) -> HttpResponse:
    try:
        removed = services.sample_data_remove(actor=actor)
    except ValidationError as exc:
        _errors(request, exc)
    else:
        messages.success(request, _("Sample data removed (%(count)d records).") % {"count": sum(removed.values())})
    return _back(request)


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def sample_status(request: HttpRequest, actor: Member) -> JsonResponse:
    """The sample data's progress, polled by the onboarding page while it loads."""
    return JsonResponse(sample_status_get())
