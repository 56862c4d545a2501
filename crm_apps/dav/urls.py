from django.urls import path, re_path

from crm_apps.dav import profile_views, views

urlpatterns = [
    path(".well-known/carddav", views.well_known, name="dav_well_known_carddav"),
    path(".well-known/caldav", views.well_known, name="dav_well_known_caldav"),
    re_path(r"^dav/(?P<path>.*)$", views.dav, name="dav"),
    path("settings/app-passwords/", profile_views.app_password_new, name="dav_app_password_new"),
    path(
        "settings/app-passwords/<int:app_password_id>/revoke/",
        profile_views.app_password_revoke_view,
        name="dav_app_password_revoke",
    ),
]
