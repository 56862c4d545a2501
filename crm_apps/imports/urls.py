from django.urls import path

from crm_apps.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.history, name="history"),
    path("new/<str:module>/", views.import_new, name="new"),
    path("<int:job_id>/", views.import_detail, name="detail"),
    path("<int:job_id>/mapping/", views.import_mapping, name="mapping"),
    path("<int:job_id>/status.json", views.import_status, name="status"),
    path("<int:job_id>/errors/", views.import_errors, name="errors"),
    path("<int:job_id>/file/", views.import_file, name="file"),
    path("<int:job_id>/<str:action>/", views.import_action, name="action"),
    path("exports/", views.exports, name="exports"),
    path("exports/<int:job_id>/download/", views.export_download, name="export_download"),
    path("export/<str:module>/", views.export_new, name="export_new"),
]
