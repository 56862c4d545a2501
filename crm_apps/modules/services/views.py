"""The services module's own screens: the taxes form of the record page."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.engine import registry, selectors
from crm_apps.engine.display import record_url
from crm_apps.engine.views import error_text
from crm_apps.modules.services.services import service_taxes_set


@require_POST
@login_required
def taxes(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    spec = registry.get("services")
    service = selectors.access_record(spec=spec, actor=request_member(request), record_id=record_id)
    if service is None:
        raise Http404
    rows = [{"tax": t, "percent": request.POST.get(f"percent-{t}", "")} for t in request.POST.getlist("tax")]
    try:
        service_taxes_set(actor=request_member(request), service_id=service.pk, taxes=rows)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    except visibility.FieldPermissionDenied:
        messages.error(request, _("You may not change this."))
    else:
        messages.success(request, _("Taxes saved."))
    return redirect(record_url(spec, service))
