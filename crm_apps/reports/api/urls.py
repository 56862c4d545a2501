"""/api/v1/ routes of reports (included by saas/urls_tenant.py before the engine's module routes)."""

from django.urls import path

from crm_apps.reports.api import views

urlpatterns = [
    path("reports/", views.ReportListView.as_view(), name="api-reports"),
    path("reports/run", views.AdhocRunView.as_view(), name="api-report-adhoc"),
    path("reports/fields", views.FieldCatalogueView.as_view(), name="api-report-fields"),
    path("reports/<int:report_id>", views.ReportDetailView.as_view(), name="api-report"),
    path("reports/<int:report_id>/run", views.ReportRunView.as_view(), name="api-report-run"),
    path("reports/<int:report_id>/duplicate", views.ReportDuplicateView.as_view(), name="api-report-duplicate"),
    path("reports/<int:report_id>/export.<slug:fmt>", views.ReportExportView.as_view(), name="api-report-export"),
    path("reports/<int:report_id>/schedules", views.ReportScheduleListView.as_view(), name="api-report-schedules"),
    path(
        "reports/<int:report_id>/schedules/<int:schedule_id>",
        views.ReportScheduleDetailView.as_view(),
        name="api-report-schedule",
    ),
    path("report-folders/", views.FolderListView.as_view(), name="api-report-folders"),
    path("report-folders/<int:folder_id>", views.FolderDetailView.as_view(), name="api-report-folder"),
    path("dashboards/", views.DashboardListView.as_view(), name="api-dashboards"),
    path("dashboards/<int:dashboard_id>/layout", views.DashboardLayoutView.as_view(), name="api-dashboard-layout"),
    path("dashboard-widgets/<int:widget_id>/data", views.WidgetDataView.as_view(), name="api-widget-data"),
    path("quotas/", views.QuotaView.as_view(), name="api-quotas"),
]
