"""The documents module's API routes, included under /api/v1/ through `ModuleSpec.api_urls`."""

from django.urls import path

from crm_apps.modules.documents import api

urlpatterns = [
    path("documents/", api.DocumentListView.as_view(), {"module": "documents"}, name="api-document-upload"),
    path("documents/<uuid:record_id>/download", api.DocumentDownloadView.as_view(), name="api-document-download"),
    path("documents/<uuid:record_id>/versions", api.DocumentVersionsView.as_view(), name="api-document-versions"),
    path(
        "documents/<uuid:record_id>/versions/<int:number>/download",
        api.DocumentDownloadView.as_view(),
        name="api-document-version-download",
    ),
    path("documents/<uuid:record_id>/links", api.DocumentLinksView.as_view(), name="api-document-links"),
    # The documents listed on a record of any module (a record link, like comments or the timeline).
    path("<slug:module>/<uuid:record_id>/documents/", api.RecordDocumentsView.as_view(), name="api-record-documents"),
]
