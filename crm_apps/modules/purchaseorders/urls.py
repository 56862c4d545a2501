from crm_apps.inventory.urls import document_urlpatterns

app_name = "purchase-orders"

urlpatterns = document_urlpatterns("purchase-orders")
