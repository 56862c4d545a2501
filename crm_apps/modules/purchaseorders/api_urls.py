"""The purchase-orders module's API actions (PDF, convert, send), included under /api/v1/ through ModuleSpec.api_urls."""

from crm_apps.inventory.urls import document_api_urlpatterns

urlpatterns = document_api_urlpatterns("purchase-orders")
