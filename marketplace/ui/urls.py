from django.urls import path

from marketplace.ui import views

app_name = "marketplace_ui"

urlpatterns = [
    path(
        "context/<int:installation_id>/<str:ext>/<slug:module>/<str:record_id>/",
        views.context_refresh,
        name="context",
    ),
    path("context/verify", views.context_check, name="verify"),
    path("secret", views.app_secret, name="secret"),
    path("action/<int:installation_id>/<str:ext>/<slug:module>/", views.action_page, name="action"),
    path("settings/<int:installation_id>/<slug:key>/", views.settings_page, name="settings_page"),
    path("frame/<int:installation_id>/<str:ext>/context", views.frame_context, name="frame_context"),
    path("call/<int:installation_id>/", views.call_page, name="call"),
    path("field/value", views.field_value, name="field_value"),
    path("fields/", views.fields_page, name="fields"),
    path("trigger", views.trigger_report_view, name="trigger"),
]
