"""Pipelines and the deal-only actions of the API."""

from __future__ import annotations

from typing import Any, cast

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.engine import metadata, selectors
from crm_apps.engine.api.representation import record_to_api
from crm_apps.modules.deals.models import Deal, Pipeline
from crm_apps.modules.deals.module import SPEC
from crm_apps.modules.deals.services import (
    deal_close,
    deal_move_to_pipeline,
    deal_set_stage,
    pipeline_create,
    pipeline_translate,
)
from saas.openapi import json_object_view


def pipeline_to_api(pipeline: Pipeline) -> dict[str, Any]:
    return {
        "id": pipeline.pk,
        "name": pipeline.name,  # stored, stable
        "label": pipeline.display_name,  # in the caller's language (value_labels.label_pick)
        "labels": pipeline.labels,
        "is_default": pipeline.is_default,
        "archived": pipeline.archived,
        "stages": [
            {
                "id": s.pk,
                "name": s.name,
                "label": s.display_name,
                "labels": s.labels,
                "position": s.position,
                "probability": s.probability,
                "is_won": s.is_won,
                "is_lost": s.is_lost,
            }
            for s in pipeline.stages.all()
        ],
    }


@json_object_view()
class PipelinesView(APIView):
    def get(self, request: Request) -> Response:
        pipelines = Pipeline.objects.prefetch_related("stages").order_by("position", "id")
        return Response({"results": [pipeline_to_api(p) for p in pipelines]})

    def post(self, request: Request) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        raw_stages = data.get("stages")
        stages: list[dict[str, Any]] = raw_stages if isinstance(raw_stages, list) else []
        pipeline = pipeline_create(actor=request_member(request), name=str(data.get("name") or ""), stages=stages)
        return Response(pipeline_to_api(pipeline), status=status.HTTP_201_CREATED)


@json_object_view()
class PipelineLabelsView(APIView):
    """POST /api/v1/pipelines/<id>/labels {"labels": {"ru": "..."}, "stages": {"<stage id>": {"ru": "..."}}}:
    the pipeline's and its stages' names per language (an empty text removes one); stored names stay."""

    def post(self, request: Request, pipeline_id: int) -> Response:
        pipeline = Pipeline.objects.filter(pk=pipeline_id).first()
        if pipeline is None:
            raise NotFound(_("Not found."))
        data = request.data if isinstance(request.data, dict) else {}
        stages = data.get("stages")
        pipeline_translate(
            actor=request_member(request),
            pipeline=pipeline,
            labels=data.get("labels", {}),
            stage_labels=stages if isinstance(stages, dict) else None,
        )
        pipeline = Pipeline.objects.prefetch_related("stages").get(pk=pipeline.pk)
        return Response(pipeline_to_api(pipeline))


@json_object_view()
class DealActionView(APIView):
    """POST /api/v1/deals/<id>/stage {"stage"}, /move {"pipeline", "stage_map"}, /close {"won", "reason"}."""

    def post(self, request: Request, record_id: str, action: str) -> Response:
        member = request_member(request)
        deal = cast(Deal | None, selectors.access_record(spec=SPEC, actor=member, record_id=record_id))
        if deal is None:
            raise NotFound(_("Not found."))
        data = request.data if isinstance(request.data, dict) else {}
        if action == "stage":
            deal_set_stage(actor=member, deal=deal, stage_id=data.get("stage"), reason=str(data.get("reason") or ""))
        elif action == "move":
            stage_map = data.get("stage_map") if isinstance(data.get("stage_map"), dict) else None
            deal_move_to_pipeline(actor=member, deal=deal, pipeline_id=data.get("pipeline"), stage_map=stage_map)
        elif action == "close":
            if not isinstance(data.get("won"), bool):
                raise ValidationError({"won": [_("Enter true or false.")]})
            deal_close(actor=member, deal=deal, won=data["won"], reason=str(data.get("reason") or ""))
        else:
            raise NotFound(_("Not found."))
        updated = selectors.access_record(spec=SPEC, actor=member, record_id=record_id)
        assert updated is not None
        return Response(record_to_api(SPEC, updated, metadata.custom_fields(SPEC.key)))
