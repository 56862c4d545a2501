from django.urls import path

from crm_apps.imports import views

app_name = "imports"

urlpatterns = [
    path("new/<str:module>/", views.import_new, name="new"),
    path("export/<str:module>/", views.export_new, name="export_new"),
]
