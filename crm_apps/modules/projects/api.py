"""The projects module's own API: a project's plan (Gantt data), the workload, a project from a won deal
and the task templates. Each view parses, calls one selector or service and serialises."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.engine import metadata, registry
from crm_apps.engine.api.representation import record_to_api
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.engine.selectors import access_record
from crm_apps.modules.projects import selectors, services
from crm_apps.modules.projects.models import ProjectTemplate

_TEMPLATE_TASK = inline_serializer(
    "ProjectTemplateTask",
    {
        "name": serializers.CharField(max_length=200),
        "offset_days": serializers.IntegerField(min_value=0, help_text="days after the project's start"),
        "duration_days": serializers.IntegerField(min_value=1),
        "hours": serializers.DecimalField(max_digits=8, decimal_places=2, required=False, allow_null=True),
        "depends_on": serializers.ListField(
            child=serializers.IntegerField(), required=False, help_text="indexes of earlier tasks of the list"
        ),
    },
)
_TEMPLATE = inline_serializer(
    "ProjectTemplate",
    {
        "id": serializers.IntegerField(read_only=True),
        "name": serializers.CharField(),
        "tasks": _TEMPLATE_TASK.__class__(many=True),
    },
)


def template_to_api(template: ProjectTemplate) -> dict[str, Any]:
    return {"id": template.pk, "name": template.name, "tasks": template.tasks}


def _body(request: Request) -> dict[str, Any]:
    return request.data if isinstance(request.data, dict) else {}


class ProjectPlanView(APIView):
    """GET /api/v1/projects/<id>/gantt: the tasks (dates, progress, dependencies the reader may see, whether
    they may move them), the milestones and today's date."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request, record_id: str) -> Response:
        plan = selectors.project_plan(actor=request_member(request), project_id=record_id)
        if plan is None:
            raise NotFound(_("Not found."))
        return Response(plan.as_json())


class WorkloadView(APIView):
    """GET /api/v1/projects/workload?week=YYYY-MM-DD&project=<id>: planned hours per member per week."""

    @extend_schema(
        parameters=[
            OpenApiParameter("week", str, description="a day of the first week (default: this week)"),
            OpenApiParameter("project", str, description="only this project's tasks"),
        ],
        responses={200: dict},
    )
    def get(self, request: Request) -> Response:
        member = request_member(request)
        if not visibility.can_view_module(actor=member, spec=registry.get("project-tasks")):
            raise NotFound(_("Not found."))
        try:
            first = dt.date.fromisoformat(request.query_params.get("week", ""))
        except ValueError:
            first = timezone.localdate()
        project_id = None
        if request.query_params.get("project"):
            project = access_record(
                spec=registry.get("projects"), actor=member, record_id=request.query_params["project"]
            )
            if project is None:
                raise NotFound(_("Not found."))
            project_id = project.pk
        weeks, rows = selectors.workload(actor=member, first_week=first, project_id=project_id)
        return Response(
            {
                "weeks": [w.isoformat() for w in weeks],
                "members": [
                    {"member": r.member_id, "name": r.name, "hours": [str(h) for h in r.hours], "total": str(r.total)}
                    for r in rows
                ],
            }
        )


class ProjectFromDealView(APIView):
    """POST /api/v1/projects/from-deal {"deal", "template", "name", "start_date"}: 201 with the project."""

    @extend_schema(
        request=inline_serializer(
            "ProjectFromDeal",
            {
                "deal": serializers.UUIDField(),
                "template": serializers.IntegerField(required=False, allow_null=True),
                "name": serializers.CharField(required=False),
                "start_date": serializers.DateField(required=False),
            },
        ),
        responses={201: dict},
    )
    def post(self, request: Request) -> Response:
        member = request_member(request)
        data = _body(request)
        start = None
        if data.get("start_date"):
            try:
                start = dt.date.fromisoformat(str(data["start_date"]))
            except ValueError:
                raise serializers.ValidationError({"start_date": [_("Enter a valid date.")]}) from None
        try:
            project = services.project_create_from_deal(
                actor=member,
                deal_id=data.get("deal"),
                template_id=data.get("template"),
                name=str(data.get("name") or ""),
                start_date=start,
            )
        except PermissionDenied as exc:
            raise DRFPermissionDenied(_("You may not create projects.")) from exc
        spec = registry.get("projects")
        rules = field_rules(actor=member, spec=spec)
        fields = rules.visible([name for block in spec.blocks for name in block.fields])
        payload = record_to_api(spec, project, metadata.custom_fields(spec.key), list(dict.fromkeys(fields)))
        return Response(payload, status=status.HTTP_201_CREATED)


class ProjectTemplatesView(APIView):
    """GET /api/v1/project-templates/ (members who see projects), POST one (admins / manage settings)."""

    @extend_schema(responses={200: dict})
    def get(self, request: Request) -> Response:
        if not visibility.can_view_module(actor=request_member(request), spec=registry.get("projects")):
            raise NotFound(_("Not found."))
        return Response({"results": [template_to_api(t) for t in ProjectTemplate.objects.all()]})

    @extend_schema(request=_TEMPLATE, responses={201: _TEMPLATE})
    def post(self, request: Request) -> Response:
        data = _body(request)
        try:
            template = services.project_template_save(
                actor=request_member(request), name=str(data.get("name") or ""), tasks=data.get("tasks")
            )
        except PermissionDenied as exc:
            raise DRFPermissionDenied() from exc
        return Response(template_to_api(template), status=status.HTTP_201_CREATED)


class ProjectTemplateView(APIView):
    """PUT / DELETE /api/v1/project-templates/<id> (admins / manage settings)."""

    def _get(self, template_id: int) -> ProjectTemplate:
        template = ProjectTemplate.objects.filter(pk=template_id).first()
        if template is None:
            raise NotFound(_("Not found."))
        return template

    @extend_schema(request=_TEMPLATE, responses={200: _TEMPLATE})
    def put(self, request: Request, template_id: int) -> Response:
        data = _body(request)
        try:
            template = services.project_template_save(
                actor=request_member(request),
                name=str(data.get("name") or ""),
                tasks=data.get("tasks"),
                template=self._get(template_id),
            )
        except PermissionDenied as exc:
            raise DRFPermissionDenied() from exc
        return Response(template_to_api(template))

    @extend_schema(responses={204: None})
    def delete(self, request: Request, template_id: int) -> Response:
        try:
            services.project_template_delete(actor=request_member(request), template=self._get(template_id))
        except PermissionDenied as exc:
            raise DRFPermissionDenied() from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
