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
]
