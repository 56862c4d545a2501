"""`/api/v1/workflows/` and `/api/v1/webhooks/`: administrators' automation, thin over the services.

A workflow is {"name", "module", "description", "enabled", "definition"} - the JSON the designer
produces (docs/automation.md). PATCH with a definition publishes a new version. Runs and their steps are
read at `/workflows/<id>/runs/`; `/workflows/<id>/run` starts a manual run for {"records": [ids]};
`/workflows/<id>/test` returns what a run would do for {"record": id} (optionally a draft
"definition") without writing anything.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.automation import approvals, runner, services
from crm_apps.automation.definitions import definition_clean
from crm_apps.automation.models import (
    ApprovalProcess,
    ApprovalRequest,
    Delivery,
    TenantWebhook,
    Workflow,
    WorkflowRun,
)
from saas.openapi import json_object_view

RUNS_PAGE = 50


def _admin(request: Request) -> Any:
    member = request_member(request)
    if member is None or not member.is_admin:
        raise PermissionDenied
    return member


class WorkflowSerializer(serializers.ModelSerializer):
    definition = serializers.SerializerMethodField()
    version = serializers.SerializerMethodField()

    class Meta:
        model = Workflow
        fields = ["id", "name", "module", "description", "enabled", "system_key", "version", "definition", "updated_at"]

    def get_definition(self, obj: Workflow) -> dict[str, Any]:
        return obj.current.definition if obj.current else {}

    def get_version(self, obj: Workflow) -> int | None:
        return obj.current.number if obj.current else None


class WorkflowWriteSerializer(serializers.Serializer):
    name = serializers.CharField(required=False)
    module = serializers.CharField(required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False)
    definition = serializers.JSONField(required=False)


class StepSerializer(serializers.Serializer):
    step_id = serializers.CharField()
    action = serializers.CharField()
    inputs = serializers.JSONField()
    output = serializers.JSONField()
    status = serializers.CharField()
    error = serializers.CharField()
    attempts = serializers.IntegerField()
    duration_ms = serializers.IntegerField()
    started_at = serializers.DateTimeField()


class RunSerializer(serializers.ModelSerializer):
    version = serializers.IntegerField(source="version.number")
    steps = StepSerializer(many=True)

    class Meta:
        model = WorkflowRun
        fields = [
            "id",
            "version",
            "module",
            "record_id",
            "trigger",
            "status",
            "depth",
            "error",
            "started_at",
            "finished_at",
            "resume_at",
            "steps",
        ]


def _workflow(pk: int) -> Workflow:
    workflow = Workflow.objects.select_related("current").filter(pk=pk).first()
    if workflow is None:
        raise Http404
    return workflow


class WorkflowListView(APIView):
    @extend_schema(responses=WorkflowSerializer(many=True))
    def get(self, request: Request) -> Response:
        _admin(request)
        rows = Workflow.objects.select_related("current").order_by("name", "pk")
        return Response(WorkflowSerializer(rows, many=True).data)

    @extend_schema(request=WorkflowWriteSerializer, responses={201: WorkflowSerializer})
    def post(self, request: Request) -> Response:
        actor = _admin(request)
        data = request.data if isinstance(request.data, dict) else {}
        workflow = services.workflow_create(
            actor=actor,
            name=data.get("name"),
            module=data.get("module"),
            definition=data.get("definition"),
            description=data.get("description", ""),
            enabled=data.get("enabled", True) is not False,
        )
        return Response(WorkflowSerializer(workflow).data, status=status.HTTP_201_CREATED)


@json_object_view()
class WorkflowDetailView(APIView):
    @extend_schema(responses=WorkflowSerializer)
    def get(self, request: Request, pk: int) -> Response:
        _admin(request)
        return Response(WorkflowSerializer(_workflow(pk)).data)

    @extend_schema(request=WorkflowWriteSerializer, responses=WorkflowSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        actor = _admin(request)
        data = request.data if isinstance(request.data, dict) else {}
        if "module" in data and data["module"] != _workflow(pk).module:
            raise ValidationError({"module": [_("A workflow's module cannot change.")]})
        workflow = services.workflow_update(
            actor=actor,
            workflow=_workflow(pk),
            name=data.get("name"),
            definition=data.get("definition"),
            description=data.get("description"),
            enabled=data.get("enabled"),
        )
        return Response(WorkflowSerializer(workflow).data)

    def delete(self, request: Request, pk: int) -> Response:
        services.workflow_delete(actor=_admin(request), workflow=_workflow(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkflowRunsView(APIView):
    @extend_schema(responses=RunSerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        _admin(request)
        runs = (
            WorkflowRun.objects.filter(workflow=_workflow(pk))
            .select_related("version")
            .prefetch_related("steps")
            .order_by("-pk")[:RUNS_PAGE]
        )
        return Response(RunSerializer(runs, many=True).data)


class WorkflowRunView(APIView):
    @extend_schema(
        request=inline_serializer(
            "WorkflowRunRequest", {"records": serializers.ListField(child=serializers.CharField())}
        ),
        responses=RunSerializer(many=True),
    )
    def post(self, request: Request, pk: int) -> Response:
        member = request_member(request)
        if member is None:
            raise PermissionDenied
        data = request.data if isinstance(request.data, dict) else {}
        runs = services.workflow_run_manually(
            actor=member, workflow=_workflow(pk), record_ids=data.get("records") or []
        )
        return Response(RunSerializer(runs, many=True).data, status=status.HTTP_201_CREATED)


class WorkflowTestView(APIView):
    @extend_schema(
        request=inline_serializer(
            "WorkflowTestRequest",
            {"record": serializers.CharField(), "definition": serializers.JSONField(required=False)},
        ),
        responses=inline_serializer(
            "WorkflowTestResult", {"status": serializers.CharField(), "steps": serializers.JSONField()}
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        actor = _admin(request)
        workflow = _workflow(pk)
        data = request.data if isinstance(request.data, dict) else {}
        definition = data.get("definition")
        if definition is not None:
            try:
                definition = definition_clean(module=workflow.module, definition=definition)
            except ValidationError as exc:
                raise ValidationError({f"definition.{k}": v for k, v in exc.message_dict.items()}) from None
        from crm_apps.engine import registry, selectors

        record = None
        try:
            record = selectors.access_record(
                spec=registry.get(workflow.module), actor=actor, record_id=data.get("record")
            )
        except (ValidationError, ValueError):
            record = None
        if record is None:
            raise ValidationError({"record": [_("No such record.")]})
        return Response(runner.preview(workflow=workflow, record_id=str(record.pk), actor=actor, definition=definition))


class WebhookSerializer(serializers.ModelSerializer):
    class Meta:
        model = TenantWebhook
        fields = ["id", "name", "url", "events", "active", "secret", "created_at"]


class DeliverySerializer(serializers.ModelSerializer):
    class Meta:
        model = Delivery
        fields = [
            "id",
            "event",
            "record_id",
            "status",
            "attempts",
            "response_status",
            "error",
            "created_at",
            "delivered_at",
        ]


def _webhook(pk: int) -> TenantWebhook:
    hook = TenantWebhook.objects.filter(pk=pk).first()
    if hook is None:
        raise Http404
    return hook


class WebhookListView(APIView):
    @extend_schema(responses=WebhookSerializer(many=True))
    def get(self, request: Request) -> Response:
        _admin(request)
        return Response(WebhookSerializer(TenantWebhook.objects.order_by("name", "pk"), many=True).data)

    @extend_schema(request=WebhookSerializer, responses={201: WebhookSerializer})
    def post(self, request: Request) -> Response:
        actor = _admin(request)
        data = request.data if isinstance(request.data, dict) else {}
        hook = services.webhook_create(
            actor=actor,
            name=data.get("name"),
            url=data.get("url"),
            events=data.get("events"),
            active=data.get("active", True) is not False,
        )
        return Response(WebhookSerializer(hook).data, status=status.HTTP_201_CREATED)


@json_object_view()
class WebhookDetailView(APIView):
    @extend_schema(responses=WebhookSerializer)
    def get(self, request: Request, pk: int) -> Response:
        _admin(request)
        return Response(WebhookSerializer(_webhook(pk)).data)

    @extend_schema(request=WebhookSerializer, responses=WebhookSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        actor = _admin(request)
        data = request.data if isinstance(request.data, dict) else {}
        return Response(WebhookSerializer(services.webhook_update(actor=actor, webhook=_webhook(pk), data=data)).data)

    def delete(self, request: Request, pk: int) -> Response:
        services.webhook_delete(actor=_admin(request), webhook=_webhook(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookDeliveriesView(APIView):
    @extend_schema(responses=DeliverySerializer(many=True))
    def get(self, request: Request, pk: int) -> Response:
        _admin(request)
        return Response(DeliverySerializer(_webhook(pk).deliveries.order_by("-pk")[:RUNS_PAGE], many=True).data)


class ApprovalProcessSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApprovalProcess
        fields = ["id", "name", "module", "enabled", "entry", "steps", "locked_fields", "on_approved", "on_rejected"]


class ApprovalProcessListView(APIView):
    """`/api/v1/approval-processes/`: administrators list and add processes."""

    @extend_schema(responses=ApprovalProcessSerializer(many=True))
    def get(self, request: Request) -> Response:
        _admin(request)
        return Response(ApprovalProcessSerializer(ApprovalProcess.objects.order_by("name", "pk"), many=True).data)

    @extend_schema(request=ApprovalProcessSerializer, responses={201: ApprovalProcessSerializer})
    def post(self, request: Request) -> Response:
        actor = _admin(request)
        data = request.data if isinstance(request.data, dict) else {}
        process = approvals.approval_process_save(actor=actor, data=data)
        return Response(ApprovalProcessSerializer(process).data, status=status.HTTP_201_CREATED)


class ApprovalProcessDetailView(APIView):
    @extend_schema(request=ApprovalProcessSerializer, responses=ApprovalProcessSerializer)
    def patch(self, request: Request, pk: int) -> Response:
        actor = _admin(request)
        process = ApprovalProcess.objects.filter(pk=pk).first()
        if process is None:
            raise Http404
        data = request.data if isinstance(request.data, dict) else {}
        return Response(
            ApprovalProcessSerializer(approvals.approval_process_save(actor=actor, process=process, data=data)).data
        )


class ApprovalDecideView(APIView):
    """`/api/v1/approval-requests/<id>/decide` {"approve": bool, "comment": "..."}: an approver's decision."""

    @extend_schema(
        request=inline_serializer(
            "ApprovalDecision",
            {"approve": serializers.BooleanField(), "comment": serializers.CharField(required=False)},
        ),
        responses=inline_serializer(
            "ApprovalState", {"status": serializers.CharField(), "step": serializers.IntegerField()}
        ),
    )
    def post(self, request: Request, pk: int) -> Response:
        member = request_member(request)
        found = ApprovalRequest.objects.filter(pk=pk).first()
        if member is None or found is None:
            raise Http404
        data = request.data if isinstance(request.data, dict) else {}
        try:
            decided = approvals.approval_decide(
                actor=member, request=found, approve=data.get("approve") is True, comment=str(data.get("comment", ""))
            )
        except PermissionDenied:
            raise Http404 from None
        return Response({"status": decided.status, "step": decided.step})
