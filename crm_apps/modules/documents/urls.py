from django.urls import path

from crm_apps.modules.documents import views

app_name = "documents"

urlpatterns = [
    path("m/documents/<uuid:record_id>/download/", views.download, name="download"),
    path("m/documents/<uuid:record_id>/versions/<int:number>/download/", views.download, name="version_download"),
    path("m/documents/<uuid:record_id>/versions/", views.version_upload, name="version_upload"),
    path("m/documents/upload/<slug:module>/<uuid:record_id>/", views.record_upload, name="record_upload"),
    path("settings/modules/documents/folders/", views.folders, name="folders"),
]
