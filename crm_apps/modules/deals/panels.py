"""What the deals module adds to the generic screens: the stage bar and the stage history on a deal's
page (ModuleSpec.panels) and the board's columns, the stages of the chosen pipeline (board_columns)."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest

from crm_apps.access.models import Member
from crm_apps.engine.board import BoardColumn, BoardLayout
from crm_apps.modules.deals.models import Deal, Pipeline, StageHistory


def stage_panel(deal: Deal, member: Member, request: HttpRequest) -> dict[str, Any]:
    """The pipeline's stages (to move the deal), the active pipelines (to move it to another one)."""
    return {
        "stages": list(deal.pipeline.stages.all()),
        "pipelines": list(Pipeline.objects.filter(archived=False)),
    }


def stage_history_panel(deal: Deal, member: Member, request: HttpRequest) -> dict[str, Any]:
    """The last twenty changes of stage, amount, probability or close date."""
    return {"history": list(StageHistory.objects.filter(deal=deal).select_related("stage", "changed_by__user")[:20])}


def pipeline_board(request: HttpRequest, member: Member) -> BoardLayout:
    """One column per stage of the chosen pipeline (`?pipeline=`, else the default one), cards by close date."""
    pipelines = list(Pipeline.objects.filter(archived=False).order_by("position", "id"))
    if not pipelines:
        raise Http404
    chosen = request.GET.get("pipeline", "")
    pipeline = next((p for p in pipelines if str(p.pk) == chosen), None) or next(
        (p for p in pipelines if p.is_default), pipelines[0]
    )
    stages = list(pipeline.stages.order_by("position", "id"))
    return BoardLayout(
        columns=[BoardColumn(stage.pk, stage.display_name, stage) for stage in stages],
        scope={"pipeline": pipeline},
        context={"pipeline": pipeline, "pipelines": pipelines, "stages": stages},
        ordering=("close_date",),
    )
