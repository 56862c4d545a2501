"""OAuth app pages of the partner portal (bare domain), beside the extension pages."""

from django.urls import path

from marketplace.apps import portal_views

app_name = "partner_apps"

urlpatterns = [
    path("<slug:slug>/apps/", portal_views.apps, name="apps"),
    path("<slug:slug>/apps/<int:app_id>/", portal_views.app_detail, name="app"),
    path("<slug:slug>/apps/<int:app_id>/secret/", portal_views.secret_rotate, name="secret_rotate"),
    path("<slug:slug>/sandboxes/", portal_views.sandboxes, name="sandboxes"),
]
