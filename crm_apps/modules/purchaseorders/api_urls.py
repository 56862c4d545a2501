"""The purchase-orders module's API actions (PDF, convert, send)."""

from crm_apps.inventory.urls import document_api_urlpatterns

urlpatterns = document_api_urlpatterns("purchase-orders")
