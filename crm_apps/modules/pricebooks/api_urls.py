from django.urls import path

from crm_apps.modules.pricebooks import api

urlpatterns = [
    path("price-books/<uuid:record_id>/prices", api.PriceBookPricesView.as_view(), name="api-price-book-prices"),
    path("price-books/<uuid:record_id>/prices/add", api.PriceBookPricesAddView.as_view(), name="api-price-book-add"),
]
