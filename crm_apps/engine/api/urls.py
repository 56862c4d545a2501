"""API routes of the CRM: module-specific actions (ModuleSpec.api_urls) first, then the generic routes."""

from django.urls import path

from crm_apps.engine.api import links, meta, saved_views, views
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
    # Record links (crm_apps/engine/api/links.py): before the modules' own routes (a module's
    # `<key>/<id>/<action>` route must not shadow them) and related lists, whose names may not clash with
    # these (links.RESERVED_ROUTE_NAMES, checked by `manage.py check`).
    path("<slug:module>/<uuid:record_id>/comments/", links.RecordCommentsView.as_view(), name="api-record-comments"),
    path("<slug:module>/<uuid:record_id>/timeline/", links.RecordTimelineView.as_view(), name="api-record-timeline"),
    path("<slug:module>/<uuid:record_id>/follow", links.RecordFollowView.as_view(), name="api-record-follow"),
    path("<slug:module>/<uuid:record_id>/tags", links.RecordTagsView.as_view(), name="api-record-tags"),
    path("<slug:module>/<uuid:record_id>/restore", links.RecordRestoreView.as_view(), name="api-record-restore"),
    *module_urlpatterns(api=True),
    path("<slug:module>/views/", saved_views.SavedViewListView.as_view(), name="api-saved-views"),
    path("<slug:module>/views/<str:view>", saved_views.SavedViewDetailView.as_view(), name="api-saved-view"),
    path("<slug:module>/merge", views.MergeView.as_view(), name="api-merge"),
    path("<slug:module>/batch", views.BatchCreateView.as_view(), name="api-batch"),
    path("<slug:module>/trash/", links.TrashView.as_view(), name="api-trash"),
    path("<slug:module>/", views.RecordListView.as_view(), name="api-records"),
    path("<slug:module>/<uuid:record_id>/", views.RecordDetailView.as_view(), name="api-record"),
    path("<slug:module>/<uuid:record_id>/<slug:related>/", views.RelatedListView.as_view(), name="api-related"),
]
