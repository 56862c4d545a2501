"""The app shell's URLs on tenant hosts (included by saas/urls_tenant.py)."""

from django.urls import path

from frontend import views

urlpatterns = [
    path("settings/preferences/", views.preferences_update, name="preferences"),
    path("settings/sidebar/", views.sidebar_settings, name="sidebar_settings"),
    path("settings/ui/", views.ui_style, name="ui_style"),
    path("palette/records/", views.palette_records, name="palette_records"),
]
