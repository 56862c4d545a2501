from django.urls import path

from crm_apps.modules.leads import settings_views, views

app_name = "leads"

urlpatterns = [
    path("m/leads/<uuid:record_id>/convert/", views.convert, name="convert"),
    path("settings/modules/leads/conversion/", settings_views.conversion, name="conversion_settings"),
]
