"""The invoices module's API actions."""

from django.urls import re_path

from crm_apps.inventory.urls import UUID, document_api_urlpatterns
from crm_apps.modules.invoices.api import InvoicePaymentsView

urlpatterns = [
    *document_api_urlpatterns("invoices"),
    re_path(rf"^invoices/(?P<record_id>{UUID})/payments$", InvoicePaymentsView.as_view(), name="api-invoice-payments"),
]
