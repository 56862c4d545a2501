from crm_apps.inventory.urls import document_urlpatterns

app_name = "sales-orders"

urlpatterns = document_urlpatterns("sales-orders")
