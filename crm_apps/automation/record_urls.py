from django.urls import path

from crm_apps.automation import panels

app_name = "automation_records"

urlpatterns = [
    path("approvals/<int:request_id>/decide", panels.decide, name="decide"),
    path("workflows/<int:workflow_id>/run/<str:record_id>", panels.run_on_record, name="run"),
]
