from django.urls import path

from crm_apps.inventory.urls import document_urlpatterns
from crm_apps.modules.invoices import views

app_name = "invoices"

urlpatterns = [
    *document_urlpatterns("invoices"),
    path("m/invoices/<uuid:record_id>/payments/", views.payment, name="payment"),
]
