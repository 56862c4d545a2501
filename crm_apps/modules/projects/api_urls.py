"""The projects module's API routes, included under /api/v1/ through `ModuleSpec.api_urls`."""

from django.urls import path, re_path

from crm_apps.modules.projects.api import (
    ProjectFromDealView,
    ProjectPlanView,
    ProjectTemplatesView,
    ProjectTemplateView,
    WorkloadView,
)

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

urlpatterns = [
    path("projects/from-deal", ProjectFromDealView.as_view(), name="api-projects-from-deal"),
    path("projects/workload", WorkloadView.as_view(), name="api-projects-workload"),
    re_path(rf"^projects/(?P<record_id>{UUID})/gantt$", ProjectPlanView.as_view(), name="api-projects-gantt"),
    path("project-templates/", ProjectTemplatesView.as_view(), name="api-project-templates"),
    path("project-templates/<int:template_id>", ProjectTemplateView.as_view(), name="api-project-templates"),
]
