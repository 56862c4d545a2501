"""Product API routes beyond CRUD: tax classes, bundle items, images and the price books that list it.

GET answers for members who can see the product (404 otherwise, like the record); PUT/POST/DELETE need the
edit right on it (403) and answer bad input with field errors named by row (400)."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.engine import registry, selectors
from crm_apps.finance import files
from crm_apps.modules.products import services
from crm_apps.modules.products.models import Product, ProductImage, ProductTax
from saas.openapi import json_object_view


def visible(module: str, request: Request, record_id: uuid.UUID) -> Any:
    """The record if the caller can see it; 404 for missing and hidden alike."""
    found = selectors.access_record(spec=registry.get(module), actor=request_member(request), record_id=record_id)
    if found is None:
        raise NotFound(_("Not found."))
    return found


def _rows(request: Request, key: str) -> Any:
    data = request.data
    if isinstance(data, dict):
        return data.get(key)
    return data


def _not_found_on_missing(fn: Any) -> Any:
    try:
        return fn()
    except Product.DoesNotExist as exc:
        raise NotFound(_("Not found.")) from exc


@json_object_view()
class ProductTaxesView(APIView):
    """GET/PUT /api/v1/products/<id>/taxes: `{"taxes": [{"tax": 1, "percent": "20.000"}]}` (percent optional:
    the tax's own)."""

    def get(self, request: Request, record_id: uuid.UUID) -> Response:
        product = visible("products", request, record_id)
        return Response({"taxes": services.tax_rows_read(ProductTax.objects.filter(product=product))})

    def put(self, request: Request, record_id: uuid.UUID) -> Response:
        product = _not_found_on_missing(
            lambda: services.product_taxes_set(
                actor=request_member(request), product_id=record_id, taxes=_rows(request, "taxes")
            )
        )
        return Response({"taxes": services.tax_rows_read(ProductTax.objects.filter(product=product))})


@json_object_view()
class ProductBundleView(APIView):
    """GET/PUT /api/v1/products/<id>/bundle: `{"bundle_items": [{"product": "<uuid>", "quantity": "2"}]}`."""

    def get(self, request: Request, record_id: uuid.UUID) -> Response:
        return Response({"bundle_items": services.bundle_rows_read(visible("products", request, record_id))})

    def put(self, request: Request, record_id: uuid.UUID) -> Response:
        product = _not_found_on_missing(
            lambda: services.product_bundle_set(
                actor=request_member(request), product_id=record_id, items=_rows(request, "bundle_items")
            )
        )
        return Response({"bundle_items": services.bundle_rows_read(product)})


@json_object_view(upload=True)
class ProductImagesView(APIView):
    """GET the product's pictures, POST a multipart `file` to add one."""

    def get(self, request: Request, record_id: uuid.UUID) -> Response:
        product = visible("products", request, record_id)
        return Response({"images": [_image(product, i) for i in services.images_read(product)]})

    def post(self, request: Request, record_id: uuid.UUID) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": [_("Choose a picture to upload.")]})
        image = _not_found_on_missing(
            lambda: services.product_image_add(
                actor=request_member(request), product_id=record_id, upload=upload, file_name=upload.name or ""
            )
        )
        return Response(_image(image.product, services.images_read(image.product)[-1]), status=status.HTTP_201_CREATED)


def _image(product: Product, data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "url": f"/api/v1/products/{product.pk}/images/{data['id']}"}


@json_object_view(upload=True)
class ProductImageView(APIView):
    """GET the picture's bytes (members who can see the product), DELETE it (edit right)."""

    def get(self, request: Request, record_id: uuid.UUID, image_id: int) -> HttpResponseBase:
        product = visible("products", request, record_id)
        image = ProductImage.objects.filter(product=product, pk=image_id).first()
        if image is None:
            raise Http404
        return files.image_response(storage_name=image.storage_name, content_type=image.content_type, size=image.size)

    def delete(self, request: Request, record_id: uuid.UUID, image_id: int) -> Response:
        _not_found_on_missing(
            lambda: services.product_image_delete(
                actor=request_member(request), product_id=record_id, image_id=image_id
            )
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@json_object_view()
class ProductPriceBooksView(APIView):
    """GET /api/v1/products/<id>/price-books[?currency=EUR]: the active price books (that the caller can see)
    listing the product, with its list price in each."""

    def get(self, request: Request, record_id: uuid.UUID) -> Response:
        from crm_apps.modules.pricebooks.selectors import price_books_for

        product = visible("products", request, record_id)
        found = price_books_for(
            actor=request_member(request), item=product, currency=request.query_params.get("currency")
        )
        return Response(
            {
                "results": [
                    {"price_book": str(b.pk), "name": b.name, "currency": b.currency, "list_price": str(p)}
                    for b, p in found
                ]
            }
        )
