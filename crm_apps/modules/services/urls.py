from django.urls import path

from crm_apps.modules.services import views

app_name = "services"

urlpatterns = [path("m/services/<uuid:record_id>/taxes/", views.taxes, name="taxes")]
