"""The module builder; included under `settings/custom-modules/`."""

from django.urls import path

from crm_apps.custom_modules import views

app_name = "custom_modules"

urlpatterns = [
    path("", views.index, name="index"),
    path("<slug:key>/", views.edit, name="edit"),
    path("<slug:key>/archive/", views.archive, name="archive"),
    path("<slug:key>/restore/", views.restore, name="restore"),
]
