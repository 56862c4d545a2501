"""Service API routes beyond CRUD: tax classes."""

from __future__ import annotations

import uuid

from django.utils.translation import gettext as _
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.modules.products.api import visible
from crm_apps.modules.products.services import tax_rows_read
from crm_apps.modules.services.models import Service, ServiceTax
from crm_apps.modules.services.services import service_taxes_set
from saas.openapi import json_object_view


@json_object_view()
class ServiceTaxesView(APIView):
    """GET/PUT /api/v1/services/<id>/taxes: `{"taxes": [{"tax": 1, "percent": "20.000"}]}`."""

    def get(self, request: Request, record_id: uuid.UUID) -> Response:
        service = visible("services", request, record_id)
        return Response({"taxes": tax_rows_read(ServiceTax.objects.filter(service=service))})

    def put(self, request: Request, record_id: uuid.UUID) -> Response:
        data = request.data
        try:
            service = service_taxes_set(
                actor=request_member(request),
                service_id=record_id,
                taxes=data.get("taxes") if isinstance(data, dict) else data,
            )
        except Service.DoesNotExist as exc:
            raise NotFound(_("Not found.")) from exc
        return Response({"taxes": tax_rows_read(ServiceTax.objects.filter(service=service))})
