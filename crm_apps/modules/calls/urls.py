from django.urls import path

from crm_apps.modules.calls import views

app_name = "calls"

urlpatterns = [
    path("m/calls/log/<str:module>/<uuid:record_id>/", views.log_call, name="log"),
    path("settings/modules/calls/telephony/", views.settings_page, name="settings"),
]
