"""The form builder's screens (/settings/webforms/)."""

from django.urls import path

from crm_apps.webforms import views

app_name = "webforms"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.create, name="create"),
    path("<int:form_id>/", views.detail, name="detail"),
    path("<int:form_id>/edit/", views.edit, name="edit"),
    path("<int:form_id>/delete/", views.delete, name="delete"),
    path("<int:form_id>/submissions.csv", views.submissions_csv, name="submissions_csv"),
]
