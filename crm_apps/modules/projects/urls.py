from django.urls import path

from crm_apps.modules.projects import views

app_name = "projects"

urlpatterns = [
    path("projects/<uuid:record_id>/gantt/", views.gantt, name="gantt"),
    path("projects/<uuid:record_id>/gantt/tasks/<uuid:task_id>/move/", views.gantt_move, name="gantt_move"),
    path("projects/<uuid:record_id>/gantt/moves/<uuid:move_id>/undo/", views.gantt_undo, name="gantt_undo"),
    path("projects/workload/", views.workload, name="workload"),
    path("projects/from-deal/<uuid:record_id>/", views.from_deal, name="from_deal"),
    path("settings/modules/projects/templates/", views.templates, name="templates"),
]
