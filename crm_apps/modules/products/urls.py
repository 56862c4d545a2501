from django.urls import path

from crm_apps.modules.products import views

app_name = "products"

urlpatterns = [
    path("m/products/add-to-price-book/", views.add_to_price_book, name="add_to_price_book"),
    path("m/products/<uuid:record_id>/taxes/", views.taxes, name="taxes"),
    path("m/products/<uuid:record_id>/bundle/", views.bundle, name="bundle"),
    path("m/products/<uuid:record_id>/images/", views.image_add, name="image_add"),
    path("m/products/<uuid:record_id>/images/<int:image_id>", views.image, name="image"),
    path("m/products/<uuid:record_id>/images/<int:image_id>/delete", views.image_delete, name="image_delete"),
]
