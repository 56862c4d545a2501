from django.urls import path

from crm_apps.reports import views

app_name = "reports"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("new/", views.report_new, name="new"),
    path("folders/new/", views.folder_edit, name="folder_new"),
    path("folders/<int:folder_id>/", views.folder_edit, name="folder"),
    path("drill/<slug:module>/", views.report_drill_adhoc, name="drill_adhoc"),
    path("<int:report_id>/", views.report_detail, name="detail"),
    path("<int:report_id>/edit/", views.report_edit, name="edit"),
    path("<int:report_id>/drill/", views.report_drill, name="drill"),
    path("<int:report_id>/duplicate/", views.report_duplicate, name="duplicate"),
    path("<int:report_id>/delete/", views.report_delete, name="delete"),
    path("<int:report_id>/export.<slug:fmt>", views.report_export, name="export"),
    path("<int:report_id>/schedules/", views.schedule_add, name="schedule_add"),
    path("<int:report_id>/schedules/<int:schedule_id>/delete/", views.schedule_delete, name="schedule_delete"),
]
