"""A task's dependencies chosen by name on its page (the generic form takes ids)."""

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
from crm_apps.engine import registry
from crm_apps.engine.selectors import access_record
from crm_apps.engine.services import record_update


@require_POST
@login_required
def dependencies(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    """Save the chosen predecessors through record_update (rights, cycle refusal, audit, timeline)."""
    member = request_member(request)
    spec = registry.get("project-tasks")
    task = access_record(spec=spec, actor=member, record_id=record_id)
    if task is None:
        raise Http404
    try:
        record_update(spec=spec, actor=member, record=task, data={"depends_on": request.POST.getlist("depends_on")})
    except ValidationError as exc:
        messages.error(request, " ".join(m for msgs in exc.message_dict.values() for m in msgs))
    except PermissionDenied:
        messages.error(request, _("You may not change this record."))
    else:
        messages.success(request, _("Dependencies saved."))
    return redirect("engine:detail", module="project-tasks", record_id=record_id)
