"""The app shell's own screens and endpoints: interface preferences, the sidebar's arrangement, the
command palette's record search and the living style page. Thin: services in preferences.py, reads
through the engine's selectors (so the visibility filter applies)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm_apps.access.decorators import admin_view
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.engine import selectors
from crm_apps.engine.display import record_url
from frontend import preferences
from frontend.shell import sidebar_groups, sidebar_prefs


def _next(request: HttpRequest) -> str:
    target = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return reverse("home")


def _wants_json(request: HttpRequest) -> bool:
    return "application/json" in request.headers.get("Accept", "") or request.content_type == "application/json"


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}


@require_POST
@login_required
def preferences_update(request: HttpRequest) -> HttpResponse:
    """Theme, language or the sidebar's collapsed groups; JSON in and out for scripts, else a redirect."""
    member = request_member(request)
    data: dict[str, Any]
    if request.content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except ValueError:
            return JsonResponse({"__all__": [_("Send a JSON object.")]}, status=400)
        if not isinstance(data, dict):
            return JsonResponse({"__all__": [_("Send a JSON object.")]}, status=400)
    else:
        data = request.POST.dict()
    try:
        if "theme" in data:
            preferences.member_theme_set(member=member, theme=str(data["theme"]))
        if "language" in data:
            preferences.member_language_set(member=member, language=str(data["language"]))
            translation.activate(member.language)
        if "collapsed" in data:
            collapsed = data["collapsed"]
            if not isinstance(collapsed, list):
                raise ValidationError({"collapsed": [_("Send a list of group keys.")]})
            preferences.member_sidebar_set(member=member, collapsed=collapsed)
    except ValidationError as exc:
        if _wants_json(request):
            return JsonResponse(_errors(exc), status=400)
        messages.error(request, " ".join(m for ms in _errors(exc).values() for m in ms))
        return redirect(_next(request))
    if _wants_json(request):
        return JsonResponse({"theme": member.theme, "language": member.language, "sidebar": sidebar_prefs(member)})
    return redirect(_next(request))


@login_required
def sidebar_settings(request: HttpRequest) -> HttpResponse:
    """Arrange the sidebar: the order of modules inside each group and which ones it shows."""
    member = request_member(request)
    if request.method == "POST":
        order = request.POST.getlist("order")
        move = request.POST.get("move", "")
        if ":" in move:  # "<key>:up" / "<key>:down" buttons work without JavaScript
            key, direction = move.rsplit(":", 1)
            if key in order:
                i = order.index(key)
                j = i - 1 if direction == "up" else i + 1
                if 0 <= j < len(order):
                    order[i], order[j] = order[j], order[i]
        shown = set(request.POST.getlist("shown"))
        hidden = [key for key in request.POST.getlist("order") if key not in shown]
        try:
            preferences.member_sidebar_set(member=member, order=order, hidden=hidden)
        except ValidationError as exc:
            messages.error(request, " ".join(m for ms in _errors(exc).values() for m in ms))
        else:
            if not move:
                messages.success(request, _("The sidebar was saved."))
        return redirect("sidebar_settings")
    groups = sidebar_groups(member=member, include_hidden=True)
    return render(request, "frontend/sidebar_settings.html", {"groups": groups})


@require_GET
@login_required
def palette_records(request: HttpRequest) -> JsonResponse:
    """Records matching the palette's text, a few per module, through the visibility filter."""
    member: Member = request_member(request)
    text = request.GET.get("q", "")[:200]
    groups = selectors.global_search(actor=member, text=text, per_module=3)
    results = [
        {
            "label": str(record),
            "url": record_url(group.spec, record),
            "hint": str(group.spec.label),
            "number": record.number or "",
            "icon": group.spec.icon,
        }
        for group in groups
        for record in group.records
    ]
    return JsonResponse({"q": text, "results": results[:12]})


@admin_view
def ui_style(request: HttpRequest, actor: Member) -> HttpResponse:
    """The living style page: every component of the design system, as the app renders it."""
    sample_people = ["Ada Lovelace", "Grace Hopper", "Linus", "Margaret Hamilton", "Ken Thompson", "Барбара Лисков"]
    sample_menu = [
        {"label": _("Edit"), "url": "#", "icon": "pencil"},
        {"label": _("Duplicate"), "url": "#", "icon": "file"},
    ]
    return render(request, "frontend/ui_style.html", {"sample_people": sample_people, "sample_menu": sample_menu})
