"""The task board: the engine's board by status, for one project when `?project=<id>` names one the
member sees (its name is shown above the columns)."""

from __future__ import annotations

from django.http import HttpRequest

from crm_apps.access.models import Member
from crm_apps.engine import registry
from crm_apps.engine.board import BoardLayout, default_layout
from crm_apps.engine.selectors import access_record


def task_board(request: HttpRequest, member: Member) -> BoardLayout:
    columns = default_layout(registry.get("project-tasks"), "status").columns
    project = None
    if request.GET.get("project"):
        project = access_record(spec=registry.get("projects"), actor=member, record_id=request.GET["project"])
    return BoardLayout(
        columns=columns,
        scope={"project": project} if project is not None else {},
        context={"board_project": project},
    )
