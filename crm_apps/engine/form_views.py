"""What the engine's forms ask the server while someone fills them in: record search for the reference
picker (JSON) and the quick-create form behind its "create new". Both go through the selectors and
services, so visibility, rights and validation are the ones of the list and the full form."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from billing.entitlements import PlanLimitReached
from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.engine import selectors, services
from crm_apps.engine.display import Displayer
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.forms import field_errors_to_form, form_to_service, quick_create_fields, record_form
from crm_apps.engine.spec import ModuleSpec
from crm_apps.engine.views import _spec
from frontend.forms import form_add_service_errors

SEARCH_LIMIT = 10


def _secondary(spec: ModuleSpec, record: Any, displayer: Displayer, names: list[str]) -> str:
    """A second line that tells namesakes apart: the next list columns with a value (email, organisation)."""
    texts = [displayer.value(record, name).text for name in names]
    return " · ".join(t for t in texts if t and t != "—")[:200]


@login_required
def reference_search(request: HttpRequest, module: str) -> JsonResponse:
    """Records of `module` the member may see matching `q` (the first ones when empty), as
    `{"results": [{"value", "text", "secondary"}]}` for the searchable reference picker."""
    spec = _spec(module, request)
    member = request_member(request)
    text = request.GET.get("q", "").strip()[:100]
    page = selectors.record_list(spec=spec, actor=member, search=text, limit=SEARCH_LIMIT, default_view=False)
    displayer = Displayer(spec)
    shown = field_rules(actor=member, spec=spec).visible(spec.list_columns)
    names = [n for n in shown if n != "owner" and n not in spec.title_fields][:2]
    results = [
        {
            "value": str(record.pk),
            "text": str(record),
            "secondary": " · ".join(t for t in (record.number, _secondary(spec, record, displayer, names)) if t),
        }
        for record in page.records
    ]
    return JsonResponse({"results": results})


@login_required
def quick_create(request: HttpRequest, module: str) -> HttpResponse:
    """A short form (required, mandatory and quick-create fields) that creates a record through
    `record_create`: 201 with `{"value", "text"}` on success, 400 with the form and its errors
    otherwise (nothing written)."""
    spec = _spec(module, request)
    member = request_member(request)
    if not visibility.can_create(actor=member, spec=spec):
        raise PermissionDenied
    data = request.POST if request.method == "POST" else None
    form = record_form(spec, actor=member, record=None, data=data, only=quick_create_fields(spec))
    status = 200
    if request.method == "POST":
        values, custom = form_to_service(spec, form)
        try:
            record = services.record_create(spec=spec, actor=member, data=values, custom=custom)
        except visibility.FieldPermissionDenied as exc:
            field_errors_to_form(form, {name: [_("You may not change this field.")] for name in exc.fields})
        except PlanLimitReached as exc:
            form_add_service_errors(form, exc)
        except ValidationError as exc:
            field_errors_to_form(form, exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages})
        else:
            return JsonResponse({"value": str(record.pk), "text": str(record), "secondary": record.number}, status=201)
        status = 400
    context = {"spec": spec, "form": form, "action": request.path}
    return render(request, "engine/widgets/quick_create.html", context, status=status)
