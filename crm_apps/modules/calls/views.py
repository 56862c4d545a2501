"""Screens of the calls module: log a call from a record's page; the telephony settings page."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.decorators import admin_view
from crm_apps.access.middleware import request_member
from crm_apps.access.models import Member
from crm_apps.access.privileges import Privilege
from crm_apps.engine import registry, selectors
from crm_apps.engine.display import record_url
from crm_apps.modules.calls.models import TelephonyMember
from crm_apps.modules.calls.module import SPEC
from crm_apps.modules.calls.phones import MATCH_MODULES
from crm_apps.modules.calls.services import call_log
from crm_apps.modules.calls.settings_store import (
    telephony_member_set,
    telephony_secret_rotate,
    telephony_settings,
    telephony_settings_update,
)

LOG_FIELDS = ("direction", "status", "from_number", "to_number", "started_at", "duration", "notes")


@require_POST
@login_required
def log_call(request: HttpRequest, module: str, record_id: uuid.UUID) -> HttpResponse:
    """Log a call on a contact, lead or organisation the member may see; back to its page."""
    if module not in MATCH_MODULES:
        raise Http404
    member = request_member(request)
    spec = registry.get(module)
    record = selectors.access_record(spec=spec, actor=member, record_id=record_id)
    if record is None:
        raise Http404
    data: dict[str, Any] = {name: request.POST.get(name, "") for name in LOG_FIELDS}
    if not data["duration"]:
        data["duration"] = None
    try:
        call_log(actor=member, data=data, record=(module, record.pk))
    except PermissionDenied as exc:
        raise Http404 from exc
    except ValidationError as exc:
        for field, problems in exc.message_dict.items():
            messages.error(request, f"{field}: {' '.join(problems)}")
    else:
        messages.success(request, _("Call logged."))
    return HttpResponseRedirect(record_url(spec, record) + "#record-calls")


@admin_view(privilege=Privilege.MANAGE_SETTINGS)
def settings_page(request: HttpRequest, actor: Member) -> HttpResponse:
    """Default region and click-to-call URL, members' extensions, and the webhook secret (shown once)."""
    current = telephony_settings()
    errors: dict[str, list[str]] = {}
    secret = None
    members = list(Member.objects.filter(active=True).select_related("user").order_by("pk"))
    extensions = dict(TelephonyMember.objects.values_list("member_id", "extension"))
    values = {"default_region": current.default_region, "click_to_call_template": current.click_to_call_template}
    if request.method == "POST" and request.POST.get("action") == "rotate":
        secret = telephony_secret_rotate(actor=actor)
        messages.success(request, _("New webhook secret created. Copy it now: it is shown only once."))
    elif request.method == "POST":
        values = {name: request.POST.get(name, "") for name in values}
        try:
            with transaction.atomic():  # all or nothing
                telephony_settings_update(actor=actor, **values)
                for m in members:
                    wanted = request.POST.get(f"extension-{m.pk}", "").strip()
                    if wanted != extensions.get(m.pk, ""):
                        try:
                            telephony_member_set(actor=actor, member=m, extension=wanted)
                        except ValidationError as exc:
                            errors[f"extension-{m.pk}"] = exc.messages
                        extensions[m.pk] = wanted
                if errors:
                    raise ValidationError(errors)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            messages.success(request, _("Telephony settings saved."))
            return HttpResponseRedirect(reverse("calls:settings"))
    context = {
        "spec": SPEC,
        "tab": "telephony",
        "values": values,
        "errors": errors,
        "secret": secret,
        "has_secret": bool(current.webhook_secret) or bool(secret),
        "rows": [(m, extensions.get(m.pk, ""), errors.get(f"extension-{m.pk}", [])) for m in members],
        "webhook_url": request.build_absolute_uri("/api/v1/telephony/events"),
    }
    return render(request, "calls/settings.html", context)
