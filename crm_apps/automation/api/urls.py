from django.urls import path

from crm_apps.automation.api import views

urlpatterns = [
    path("workflows/", views.WorkflowListView.as_view(), name="api-workflows"),
    path("workflows/<int:pk>/", views.WorkflowDetailView.as_view(), name="api-workflow"),
    path("workflows/<int:pk>/runs/", views.WorkflowRunsView.as_view(), name="api-workflow-runs"),
    path("workflows/<int:pk>/run", views.WorkflowRunView.as_view(), name="api-workflow-run"),
    path("workflows/<int:pk>/test", views.WorkflowTestView.as_view(), name="api-workflow-test"),
    path("webhooks/", views.WebhookListView.as_view(), name="api-webhooks"),
    path("webhooks/<int:pk>/", views.WebhookDetailView.as_view(), name="api-webhook"),
    path("webhooks/<int:pk>/deliveries/", views.WebhookDeliveriesView.as_view(), name="api-webhook-deliveries"),
    path("approval-processes/", views.ApprovalProcessListView.as_view(), name="api-approval-processes"),
    path("approval-processes/<int:pk>/", views.ApprovalProcessDetailView.as_view(), name="api-approval-process"),
    path("approval-requests/<int:pk>/decide", views.ApprovalDecideView.as_view(), name="api-approval-decide"),
]
