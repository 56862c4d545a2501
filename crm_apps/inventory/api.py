"""API actions of the documents: PDF, conversion, sending by email."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access import visibility
from crm_apps.access.middleware import request_member
from crm_apps.engine import metadata, registry, selectors
from crm_apps.engine.api.representation import record_to_api
from crm_apps.engine.fieldaccess import field_rules
from crm_apps.inventory import pdf as pdf_render
from crm_apps.inventory.conversions import document_convert
from crm_apps.inventory.sending import default_recipient, document_send
from saas.openapi import json_object_view


class _DocumentView(APIView):
    def record(self, request: Request, module: str, record_id: str) -> tuple[Any, Any]:
        spec = registry.get(module)
        member = request_member(request)
        if not visibility.can_view_module(actor=member, spec=spec):
            raise NotFound(_("Not found."))
        record = selectors.access_record(spec=spec, actor=member, record_id=record_id)
        if record is None:
            raise NotFound(_("Not found."))
        return spec, record


@json_object_view(binary="application/pdf")
class DocumentPdfView(_DocumentView):
    """GET /api/v1/<documents>/<id>/pdf[?lang=ru]: application/pdf."""

    def get(self, request: Request, module: str, record_id: str) -> HttpResponse:
        spec, record = self.record(request, module, record_id)
        member = request_member(request)
        data = pdf_render.pdf_for(
            spec=spec,
            record=record,
            actor=member,
            language=pdf_render.pdf_language(member, request.query_params.get("lang")),
        )
        response = HttpResponse(data, content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{pdf_render.pdf_filename(record)}"'
        return response


@json_object_view()
class DocumentConvertView(_DocumentView):
    """POST /api/v1/<documents>/<id>/convert {"to": "sales_order" | "invoice" | "purchase_order" | "quote"}:
    201 with the created record(s)."""

    def post(self, request: Request, module: str, record_id: str) -> Response:
        _spec, record = self.record(request, module, record_id)
        member = request_member(request)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            created = document_convert(actor=member, source_module=module, source=record, to=str(data.get("to") or ""))
        except PermissionDenied as exc:
            raise DRFPermissionDenied(_("You may not convert this record.")) from exc
        results = []
        for item in created:
            target = registry.spec_for_model(type(item))
            rules = field_rules(actor=member, spec=target)
            fields = rules.visible([name for block in target.blocks for name in block.fields])
            payload = record_to_api(target, item, metadata.custom_fields(target.key), list(dict.fromkeys(fields)))
            payload["module"] = target.key
            results.append(payload)
        return Response({"results": results}, status=status.HTTP_201_CREATED)


@json_object_view()
class DocumentSendView(_DocumentView):
    """POST /api/v1/<documents>/<id>/send {"to": [...] (default: the contact), "subject", "message", "lang"}
    -> {"sent_to": [...], "status": "queued"}; over the hourly budget (`INVENTORY_SENDS_PER_HOUR`) a 400 on `to`."""

    def post(self, request: Request, module: str, record_id: str) -> Response:
        spec, record = self.record(request, module, record_id)
        member = request_member(request)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            sent = document_send(
                spec=spec,
                record=record,
                actor=member,
                to=data.get("to") or default_recipient(record),
                subject=str(data.get("subject") or f"{pdf_render.TITLES[module]()} {record.number}"),
                message=str(data.get("message") or ""),
                language=pdf_render.pdf_language(member, data.get("lang")),
            )
        except PermissionDenied as exc:
            raise DRFPermissionDenied(_("You may not send this record.")) from exc
        # Queued: a Celery task renders and sends it, and notifies the sender when that fails.
        return Response({"sent_to": sent, "status": "queued"})
