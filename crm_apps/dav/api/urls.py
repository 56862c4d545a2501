from django.urls import path

from crm_apps.dav.api import views

urlpatterns = [
    path("me/app-passwords", views.AppPasswordListView.as_view(), name="api-app-password-list"),
    path(
        "me/app-passwords/<int:app_password_id>", views.AppPasswordDetailView.as_view(), name="api-app-password-detail"
    ),
]
