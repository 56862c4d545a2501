"""OAuth endpoints on a tenant host (/oauth/...) and the apps' settings page (/settings/apps/)."""

from django.urls import path

from marketplace.apps import views

app_name = "oauth_apps"

urlpatterns = [
    path("oauth/authorize/", views.ConsentView.as_view(), name="authorize"),
    path("oauth/token/", views.AppTokenView.as_view(), name="token"),
    path("oauth/revoke/", views.AppRevokeTokenView.as_view(), name="revoke"),
    path("oauth/introspect/", views.IntrospectView.as_view(), name="introspect"),
    path("settings/apps/", views.installed, name="installed"),
    path("settings/apps/<int:installation_id>/uninstall/", views.uninstall, name="uninstall"),
]
