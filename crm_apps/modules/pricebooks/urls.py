from django.urls import path

from crm_apps.modules.pricebooks import views

app_name = "pricebooks"

urlpatterns = [path("m/price-books/<uuid:record_id>/prices/", views.prices, name="prices")]
