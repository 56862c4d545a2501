"""Quick-create from a record's related list: a short form for a record of the related module with the
link to this record filled in (contacts of an organisation, deals of a contact). The record is made by
`record_create`, so rights, validation, numbering, audit and timeline are the create form's."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from billing.entitlements import PlanLimitReached
from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.engine import registry, services
from crm_apps.engine.display import record_url
from crm_apps.engine.forms import field_errors_to_form, form_to_service, record_form
from crm_apps.engine.views import _record_or_404, _spec
from frontend.forms import form_add_service_errors


def _quick_fields(other: Any, form: Any, via: str) -> list[str]:
    """The fields of the short form: the required ones and the related list's columns, in form order."""
    wanted = set(other.list_columns)
    names = []
    for name, form_field in form.fields.items():
        if name == via or form_field.disabled:
            continue
        if form_field.required or name in wanted:
            names.append(name)
    return names


@login_required
def related_create(request: HttpRequest, module: str, record_id: uuid.UUID, related: str) -> HttpResponse:
    spec = _spec(module, request)
    member = request_member(request)
    record = _record_or_404(spec, request, record_id)
    relation = next((r for r in spec.related if r.module == related), None)
    if relation is None:
        raise Http404
    other = registry.get(relation.module)
    if not visibility.can_view_module(actor=member, spec=other) or not visibility.can_create(actor=member, spec=other):
        raise PermissionDenied
    via_field: Any = other.model._meta.get_field(relation.via)
    if not isinstance(via_field, models.ForeignKey):
        raise Http404
    form = record_form(other, actor=member, record=None, data=request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        data, custom = form_to_service(other, form)
        data = {k: v for k, v in data.items() if k in form.data or k in ("owner", "owner_group")}
        data[relation.via] = str(record.pk)
        try:
            created = services.record_create(spec=other, actor=member, data=data, custom=custom)
        except visibility.FieldPermissionDenied as exc:
            field_errors_to_form(form, {name: [_("You may not change this field.")] for name in exc.fields})
        except PlanLimitReached as exc:
            form_add_service_errors(form, exc)
        except ValidationError as exc:
            field_errors_to_form(form, exc.message_dict)
        else:
            messages.success(request, _("%(module)s created.") % {"module": other.label})
            if request.POST.get("open"):
                return redirect(record_url(other, created))
            return redirect(f"{record_url(spec, record)}#related-{other.key}")
        status = 400
    context = {
        "spec": spec,
        "record": record,
        "other": other,
        "relation": relation,
        "form": form,
        "fields": [form[name] for name in _quick_fields(other, form, relation.via)],
        "crumbs": [(record_url(spec, record), str(record))],
    }
    return render(request, "engine/related_create.html", context, status=status)
