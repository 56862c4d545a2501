"""The lead conversion screen."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from crm_apps.access.middleware import request_member
from crm_apps.engine import registry, selectors
from crm_apps.engine.display import record_url
from crm_apps.engine.views import error_text
from crm_apps.modules.deals.models import Pipeline
from crm_apps.modules.leads.module import SPEC
from crm_apps.modules.leads.services import lead_convert


@login_required
def convert(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    """Convert a lead; organisations and contacts that look the same are offered for reuse."""
    member = request_member(request)
    lead: Any = selectors.access_record(spec=SPEC, actor=member, record_id=record_id)
    if lead is None:
        raise Http404
    if lead.converted:
        messages.info(request, _("This lead has already been converted."))
        return redirect(record_url(SPEC, lead))
    organizations = registry.get("organizations")
    contacts = registry.get("contacts")
    org_duplicates = selectors.duplicates_find(spec=organizations, actor=member, data={"name": lead.company})
    contact_duplicates = selectors.duplicates_find(
        spec=contacts,
        actor=member,
        data={"email": lead.email, "phone": lead.phone, "mobile": lead.mobile},
    )
    errors: list[str] = []
    if request.method == "POST":
        post = request.POST
        deal: dict[str, Any] = {}
        for name in ("name", "amount", "close_date", "pipeline"):
            if post.get(f"deal_{name}"):
                deal[name] = post[f"deal_{name}"]
        try:
            result = lead_convert(
                actor=member,
                lead=lead,
                create_deal=post.get("create_deal") == "on",
                deal=deal,
                organization_id=post.get("organization") or None,
                contact_id=post.get("contact") or None,
            )
        except ValidationError as exc:
            errors = [error_text(exc)]
        else:
            messages.success(request, _("Lead converted."))
            return redirect(record_url(contacts, result.contact))
    context = {
        "spec": SPEC,
        "lead": lead,
        "org_duplicates": [(str(o.pk), str(o), o.number) for o in org_duplicates],
        "contact_duplicates": [(str(c.pk), str(c), c.number, c.email) for c in contact_duplicates],
        "pipelines": Pipeline.objects.filter(archived=False),
        "errors": errors,
        "post": request.POST,
    }
    return render(request, "leads/convert.html", context, status=400 if errors else 200)
