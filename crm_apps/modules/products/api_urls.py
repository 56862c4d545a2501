"""The products module's API routes (ModuleSpec.api_urls), under /api/v1/."""

from django.urls import path

from crm_apps.modules.products import api

urlpatterns = [
    path("products/<uuid:record_id>/taxes", api.ProductTaxesView.as_view(), name="api-product-taxes"),
    path("products/<uuid:record_id>/bundle", api.ProductBundleView.as_view(), name="api-product-bundle"),
    path("products/<uuid:record_id>/images", api.ProductImagesView.as_view(), name="api-product-images"),
    path("products/<uuid:record_id>/images/<int:image_id>", api.ProductImageView.as_view(), name="api-product-image"),
    path("products/<uuid:record_id>/price-books", api.ProductPriceBooksView.as_view(), name="api-product-price-books"),
]
