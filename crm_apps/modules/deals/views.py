"""The deal actions of the web UI (the board is the engine's, with the deals template and columns)."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.middleware import request_member
from crm_apps.engine import selectors
from crm_apps.engine.display import record_url
from crm_apps.engine.views import render_board
from crm_apps.modules.deals.models import Deal
from crm_apps.modules.deals.module import SPEC
from crm_apps.modules.deals.services import deal_close, deal_move_to_pipeline, deal_set_stage


def _deal(request: HttpRequest, record_id: uuid.UUID) -> Any:
    deal = selectors.access_record(spec=SPEC, actor=request_member(request), record_id=record_id)
    if deal is None:
        raise Http404
    return deal


@require_POST
@login_required
def stage(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    """Move a deal to another stage (drag and drop on the board, or the stage menu)."""
    deal: Deal = _deal(request, record_id)
    try:
        deal_set_stage(
            actor=request_member(request),
            deal=deal,
            stage_id=request.POST.get("stage"),
            reason=request.POST.get("reason", ""),
        )
    except ValidationError as exc:
        if request.headers.get("HX-Request") == "true":
            return HttpResponse(" ".join(exc.messages), status=400)
        for message in exc.messages:
            messages.error(request, message)
    if request.headers.get("HX-Request") == "true":
        return render_board(request, SPEC, partial=True)
    return redirect(_safe_next(request) or record_url(SPEC, deal))


def _safe_next(request: HttpRequest) -> str | None:
    """The `next` address when it stays on this host (an open redirect otherwise)."""
    target = request.POST.get("next") or ""
    allowed = url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return target if target and allowed else None


@require_POST
@login_required
def close(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    deal: Deal = _deal(request, record_id)
    try:
        deal_close(
            actor=request_member(request),
            deal=deal,
            won=request.POST.get("won") == "1",
            reason=request.POST.get("reason", "")[:300],
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Deal closed."))
    return redirect(record_url(SPEC, deal))


@require_POST
@login_required
def move(request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
    deal: Deal = _deal(request, record_id)
    try:
        deal_move_to_pipeline(actor=request_member(request), deal=deal, pipeline_id=request.POST.get("pipeline"))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Deal moved to another pipeline."))
    return redirect(record_url(SPEC, deal))
