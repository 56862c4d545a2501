"""/api/v1/ routes of the customer portal's administration."""

from django.urls import path

from crm_apps.portal.api import views

urlpatterns = [
    path("portal/settings", views.PortalSettingsView.as_view(), name="api-portal-settings"),
    path("portal/logo", views.PortalLogoView.as_view(), name="api-portal-logo"),
    path("portal/access/", views.PortalAccessListView.as_view(), name="api-portal-access"),
    path("portal/access/<str:contact_id>", views.PortalAccessDetailView.as_view(), name="api-portal-access-detail"),
]
