"""The project tasks' own API: move a task (its dependants follow) and undo a move."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.modules.projecttasks.models import ProjectTask, TaskMove
from crm_apps.modules.projecttasks.services import task_move, task_move_undo

_CHANGE = inline_serializer(
    "ProjectTaskMoved",
    {
        "task": serializers.UUIDField(),
        "name": serializers.CharField(),
        "before": serializers.ListField(child=serializers.DateField(allow_null=True)),
        "after": serializers.ListField(child=serializers.DateField(allow_null=True)),
    },
)
_MOVE = inline_serializer(
    "ProjectTaskMove",
    {
        "move": serializers.UUIDField(help_text="POST /api/v1/project-task-moves/<move>/undo puts them back"),
        "moved": _CHANGE.__class__(many=True, help_text="the task first, then the dependants it pushed"),
        "undone": serializers.BooleanField(),
    },
)


def move_to_api(move: TaskMove) -> dict[str, Any]:
    return {"move": str(move.pk), "moved": move.changes, "undone": move.undone_at is not None}


class TaskMoveView(APIView):
    """POST /api/v1/project-tasks/<id>/move {"start_date", "end_date"}: the task and the dependants it pushed."""

    @extend_schema(
        request=inline_serializer(
            "ProjectTaskMoveRequest", {"start_date": serializers.DateField(), "end_date": serializers.DateField()}
        ),
        responses={200: _MOVE},
    )
    def post(self, request: Request, record_id: str) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        try:
            move = task_move(
                actor=request_member(request),
                task_id=record_id,
                start_date=data.get("start_date"),
                end_date=data.get("end_date"),
            )
        except ProjectTask.DoesNotExist as exc:
            raise NotFound(_("Not found.")) from exc
        except PermissionDenied as exc:
            raise DRFPermissionDenied(_("You may not change this record.")) from exc
        return Response(move_to_api(move))


class TaskMoveUndoView(APIView):
    """POST /api/v1/project-task-moves/<move>/undo: the tasks of the caller's move go back (once)."""

    @extend_schema(request=None, responses={200: _MOVE})
    def post(self, request: Request, move_id: str) -> Response:
        try:
            move = task_move_undo(actor=request_member(request), move_id=move_id)
        except (TaskMove.DoesNotExist, ProjectTask.DoesNotExist) as exc:
            raise NotFound(_("Not found.")) from exc
        except PermissionDenied as exc:
            raise DRFPermissionDenied(_("You may not change this record.")) from exc
        return Response(move_to_api(move))
