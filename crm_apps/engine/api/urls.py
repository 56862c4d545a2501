"""API routes of the CRM: module-specific actions (ModuleSpec.api_urls) first, then the generic routes."""

from django.urls import path

from crm_apps.engine.api import meta, views
from crm_apps.engine.extensions import module_urlpatterns

urlpatterns = [
    path("meta/modules", meta.ModulesView.as_view(), name="api-meta-modules"),
    path("meta/modules/<slug:module>", meta.ModuleView.as_view(), name="api-meta-module"),
    path("meta/modules/<slug:module>/fields", meta.CustomFieldsView.as_view(), name="api-custom-fields"),
    path(
        "meta/modules/<slug:module>/fields/<slug:key>",
        meta.CustomFieldDetailView.as_view(),
        name="api-custom-field",
    ),
    *module_urlpatterns(api=True),
    path("<slug:module>/merge", views.MergeView.as_view(), name="api-merge"),
    path("<slug:module>/batch", views.BatchCreateView.as_view(), name="api-batch"),
    path("<slug:module>/", views.RecordListView.as_view(), name="api-records"),
    path("<slug:module>/<uuid:record_id>/", views.RecordDetailView.as_view(), name="api-record"),
    path("<slug:module>/<uuid:record_id>/<slug:related>/", views.RelatedListView.as_view(), name="api-related"),
]
