from django.urls import path

from crm_apps.reports import dashboard_views as views

app_name = "dashboards"

urlpatterns = [
    path("", views.dashboard_home, name="home"),
    path("new/", views.dashboard_new, name="new"),
    path("quotas/", views.quotas_page, name="quotas"),
    path("<int:dashboard_id>/", views.dashboard_detail, name="detail"),
    path("<int:dashboard_id>/delete/", views.dashboard_delete, name="delete"),
    path("<int:dashboard_id>/widgets/", views.widget_add, name="widget_add"),
    path("widgets/<int:widget_id>/remove/", views.widget_remove, name="widget_remove"),
]
