"""The deals module's API routes, included under /api/v1/ through `ModuleSpec.api_urls`."""

from django.urls import path

from crm_apps.modules.deals.api import DealActionView, PipelinesView

urlpatterns = [
    path("pipelines/", PipelinesView.as_view(), name="api-pipelines"),
    path("deals/<uuid:record_id>/<slug:action>", DealActionView.as_view(), name="api-deal-action"),
]
