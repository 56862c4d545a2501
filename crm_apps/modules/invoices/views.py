"""Recording a payment from the invoice's page."""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.middleware import request_member
from crm_apps.engine import registry, selectors
from crm_apps.engine.display import record_url
from crm_apps.modules.invoices.services import payment_record


@require_POST
@login_required
def payment(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    spec = registry.get("invoices")
    invoice = selectors.access_record(spec=spec, actor=request_member(request), record_id=record_id)
    if invoice is None:
        raise Http404
    try:
        payment_record(
            actor=request_member(request),
            invoice=invoice,
            amount=request.POST.get("amount", ""),
            paid_on=request.POST.get("paid_on", ""),
            method=request.POST.get("method", ""),
            reference=request.POST.get("reference", ""),
        )
    except PermissionDenied:
        messages.error(request, _("You may not record payments on this invoice."))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Payment recorded."))
    return redirect(record_url(spec, invoice))
