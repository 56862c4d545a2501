from django.urls import path

from crm_apps.automation import views

app_name = "automation"

urlpatterns = [
    path("", views.index, name="index"),
    path("new/", views.designer, name="new"),
    path("<int:pk>/", views.designer, name="designer"),
    path("<int:pk>/runs/", views.runs, name="runs"),
    path("<int:pk>/runs/<int:run_id>/", views.run_detail, name="run"),
    path("webhooks/", views.webhooks, name="webhooks"),
    path("approvals/", views.approval_processes, name="approvals"),
]
