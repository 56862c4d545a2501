"""Tenant-admin screens of access control; included under `settings/access/`."""

from django.urls import path

from crm_apps.access import settings_views as views

app_name = "access_settings"

urlpatterns = [
    path("", views.index, name="index"),
    path("roles/", views.roles, name="roles"),
    path("roles/<int:role_id>/", views.role_edit, name="role_edit"),
    path("roles/<int:role_id>/move/", views.role_move_view, name="role_move"),
    path("roles/<int:role_id>/delete/", views.role_delete_view, name="role_delete"),
    path("profiles/", views.profiles, name="profiles"),
    path("profiles/new/", views.profile_new, name="profile_new"),
    path("profiles/<int:profile_id>/", views.profile_edit, name="profile_edit"),
    path("profiles/<int:profile_id>/modules/", views.profile_modules, name="profile_modules"),
    path("profiles/<int:profile_id>/fields/<slug:module>/", views.profile_fields, name="profile_fields"),
    path("profiles/<int:profile_id>/delete/", views.profile_delete_view, name="profile_delete"),
    path("groups/", views.groups, name="groups"),
    path("groups/new/", views.group_new, name="group_new"),
    path("groups/<int:group_id>/", views.group_edit, name="group_edit"),
    path("groups/<int:group_id>/delete/", views.group_delete_view, name="group_delete"),
    path("sharing/", views.sharing, name="sharing"),
    path("sharing/rules/", views.sharing_rule_add, name="sharing_rule_add"),
    path("sharing/rules/<int:rule_id>/delete/", views.sharing_rule_delete_view, name="sharing_rule_delete"),
    path("explain/", views.explain, name="explain"),
    path("security/", views.security, name="security"),
]
