from django.urls import path

from crm_apps.modules.projecttasks import views

app_name = "projecttasks"

urlpatterns = [
    path("m/project-tasks/<uuid:record_id>/dependencies/", views.dependencies, name="dependencies"),
]
