from django.urls import path

from crm_apps.portal import admin_views

app_name = "portal_settings"

urlpatterns = [
    path("", admin_views.index, name="index"),
    path("contacts/<str:contact_id>/", admin_views.contact_access, name="contact_access"),
]
