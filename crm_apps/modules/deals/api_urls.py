"""The deals module's API routes, included under /api/v1/ through `ModuleSpec.api_urls`."""

from django.urls import path, re_path

from crm_apps.modules.deals.api import DealActionView, PipelineLabelsView, PipelinesView

urlpatterns = [
    path("pipelines/", PipelinesView.as_view(), name="api-pipelines"),
    path("pipelines/<int:pipeline_id>/labels", PipelineLabelsView.as_view(), name="api-pipeline-labels"),
    # Only the deal's own actions: the engine's record-link routes (follow, tags, restore) stay reachable.
    re_path(
        r"^deals/(?P<record_id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})/(?P<action>stage|move|close)$",
        DealActionView.as_view(),
        name="api-deal-action",
    ),
]
