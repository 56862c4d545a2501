"""The project tasks' API routes, included under /api/v1/ through `ModuleSpec.api_urls`."""

from django.urls import re_path

from crm_apps.modules.projecttasks.api import TaskMoveUndoView, TaskMoveView

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

urlpatterns = [
    re_path(rf"^project-tasks/(?P<record_id>{UUID})/move$", TaskMoveView.as_view(), name="api-project-tasks-move"),
    re_path(
        rf"^project-task-moves/(?P<move_id>{UUID})/undo$",
        TaskMoveUndoView.as_view(),
        name="api-project-task-moves-undo",
    ),
]
