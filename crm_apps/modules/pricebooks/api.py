"""Price-book API routes beyond CRUD: the list prices (GET/PUT the whole list, POST to add many)."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.engine import registry, selectors
from crm_apps.modules.pricebooks import services
from crm_apps.modules.pricebooks.models import PriceBook
from crm_apps.modules.products.api import visible
from saas.openapi import json_object_view


def _missing_is_404(fn: Any) -> Any:
    try:
        return fn()
    except PriceBook.DoesNotExist as exc:
        raise NotFound(_("Not found.")) from exc


@json_object_view()
class PriceBookPricesView(APIView):
    """GET /api/v1/price-books/<id>/prices, PUT `{"prices": [{"product": "<uuid>", "list_price": "9.90"},
    {"service": "<uuid>", "list_price": "85.00"}]}` (the whole new list)."""

    def get(self, request: Request, record_id: uuid.UUID) -> Response:
        book = visible("price-books", request, record_id)
        return Response({"currency": book.currency, "prices": services.prices_read(book)})

    def put(self, request: Request, record_id: uuid.UUID) -> Response:
        data = request.data
        rows = data.get("prices") if isinstance(data, dict) else data
        book = _missing_is_404(
            lambda: services.price_book_prices_set(actor=request_member(request), price_book_id=record_id, prices=rows)
        )
        return Response({"currency": book.currency, "prices": services.prices_read(book)})


@json_object_view()
class PriceBookPricesAddView(APIView):
    """POST /api/v1/price-books/<id>/prices/add `{"products": [ids], "services": [ids], "adjust_percent": "-10",
    "replace_existing": false}`: add many items at their unit price (converted to the book's currency,
    adjusted); answers the counts."""

    def post(self, request: Request, record_id: uuid.UUID) -> Response:
        data = request.data if isinstance(request.data, dict) else {}
        actor = request_member(request)
        items: list[Any] = []
        errors: dict[str, list[str]] = {}
        for key, module in (("products", "products"), ("services", "services")):
            ids = data.get(key) or []
            if not isinstance(ids, list):
                errors[key] = [_("Send a list of ids.")]
                continue
            spec = registry.get(module)
            for index, value in enumerate(ids):
                found = selectors.access_record(spec=spec, actor=actor, record_id=value)
                if found is None:
                    errors[f"{key}.{index}"] = [_("Choose an existing record.")]
                else:
                    items.append(found)
        if errors:
            raise ValidationError(errors)
        counts = _missing_is_404(
            lambda: services.price_book_items_add(
                actor=actor,
                price_book_id=record_id,
                items=items,
                adjust_percent=data.get("adjust_percent", "0"),
                replace_existing=bool(data.get("replace_existing", False)),
            )
        )
        return Response(counts)
