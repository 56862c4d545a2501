from django.urls import path

from crm_apps.imports.api import views

urlpatterns = [
    path("imports/", views.ImportListView.as_view(), name="api-imports"),
    path("imports/<int:job_id>", views.ImportDetailView.as_view(), name="api-import"),
    path("imports/<int:job_id>/undo", views.ImportUndoView.as_view(), name="api-import-undo"),
    path("imports/<int:job_id>/cancel", views.ImportCancelView.as_view(), name="api-import-cancel"),
]
