"""The deals board (kanban per pipeline) and the deal actions of the web UI."""

from __future__ import annotations

import uuid
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import F, Window
from django.db.models.functions import RowNumber
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_apps.access.middleware import request_member
from crm_apps.engine import selectors
from crm_apps.engine.display import record_url
from crm_apps.modules.deals.models import Deal, Pipeline
from crm_apps.modules.deals.module import SPEC
from crm_apps.modules.deals.services import deal_close, deal_move_to_pipeline, deal_set_stage

CARDS_PER_STAGE = 50


@login_required
def board(request: HttpRequest) -> HttpResponse:
    """One column per stage with count, sum and weighted sum of the visible deals; cards can be dragged."""
    return _board(request, chosen=request.GET.get("pipeline", ""), partial=request.headers.get("HX-Request") == "true")


def _board(request: HttpRequest, *, chosen: str, partial: bool) -> HttpResponse:
    member = request_member(request)
    pipelines = list(Pipeline.objects.filter(archived=False).order_by("position", "id"))
    if not pipelines:
        raise Http404
    pipeline = next((p for p in pipelines if str(p.pk) == chosen), None) or next(
        (p for p in pipelines if p.is_default), pipelines[0]
    )
    stages = list(pipeline.stages.order_by("position", "id"))
    base = selectors.list_queryset(spec=SPEC, actor=member, search=request.GET.get("q", "")).filter(pipeline=pipeline)
    totals = selectors.kanban_columns(spec=SPEC, actor=member, queryset=base)
    ranked = base.annotate(
        _row=Window(RowNumber(), partition_by=[F("stage_id")], order_by=[F("close_date").asc(), F("id").asc()])
    )
    cards: dict[int, list[Deal]] = defaultdict(list)
    for deal in ranked.filter(_row__lte=CARDS_PER_STAGE).select_related("organization"):
        cards[deal.stage_id].append(deal)  # the first cards of every stage in one query
    columns = []
    for stage in stages:
        row = totals.get(stage.pk, {})
        columns.append(
            {
                "stage": stage,
                "count": row.get("count", 0),
                "total": row.get("total") or Decimal(0),
                "weighted": (row.get("weighted") or Decimal(0)).quantize(Decimal("0.01")),
                "cards": [(d, record_url(SPEC, d)) for d in cards[stage.pk]],
            }
        )
    context = {"spec": SPEC, "pipeline": pipeline, "pipelines": pipelines, "columns": columns, "stages": stages}
    template = "deals/_board_columns.html" if partial else "deals/board.html"
    return render(request, template, context)


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
        return _board(request, chosen=str(deal.pipeline_id), partial=True)
    return redirect(request.POST.get("next") or record_url(SPEC, deal))


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
