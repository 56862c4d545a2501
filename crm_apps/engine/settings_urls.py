"""Tenant-admin settings of the CRM modules; included under `settings/modules/`."""

from django.urls import path

from crm_apps.engine import board_views
from crm_apps.engine import settings_views as views

app_name = "crm_settings"

urlpatterns = [
    path("", views.index, name="index"),
    path("currencies/", board_views.currencies, name="currencies"),
    path("<slug:module>/", views.module_home, name="module"),
    path("<slug:module>/fields/", views.fields, name="fields"),
    path("<slug:module>/fields/<slug:key>/", views.field_edit, name="field_edit"),
    path("<slug:module>/fields/<slug:key>/archive/", views.field_archive, name="field_archive"),
    path("<slug:module>/fields/<slug:key>/restore/", views.field_restore, name="field_restore"),
    path("<slug:module>/picklists/", views.picklists, name="picklists"),
    path("<slug:module>/picklists/<int:picklist_id>/add/", views.picklist_value_add_view, name="picklist_value_add"),
    path("<slug:module>/picklists/values/<int:value_id>/", views.picklist_value_view, name="picklist_value"),
    path("<slug:module>/layout/", views.layout, name="layout"),
    path("<slug:module>/layout/save/", views.layout_editor_save, name="layout_save"),
    path("<slug:module>/numbering/", views.numbering, name="numbering"),
]
