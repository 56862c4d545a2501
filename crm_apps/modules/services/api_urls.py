from django.urls import path

from crm_apps.modules.services import api

urlpatterns = [
    path("services/<uuid:record_id>/taxes", api.ServiceTaxesView.as_view(), name="api-service-taxes"),
]
