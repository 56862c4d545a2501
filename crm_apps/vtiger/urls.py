from django.urls import path, re_path

from crm_apps.vtiger import profile_views, settings_views, views

app_name = "vtiger"

urlpatterns = [
    path("webservice.php", views.webservice, name="webservice"),
    re_path(r"^restapi/v1/vtiger/default/(?P<operation>[A-Za-z_]{1,40})/?$", views.rest, name="rest"),
    path("settings/access-key/rotate/", profile_views.access_key_rotate_view, name="access_key_rotate"),
]
urlpatterns += [
    path("settings/vtiger-migration/", settings_views.migrate, name="migrate"),
    path("settings/vtiger-migration/<int:run_id>/", settings_views.migration_run, name="migration_run"),
]
