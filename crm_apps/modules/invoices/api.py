"""GET/POST /api/v1/invoices/<id>/payments: an invoice's payments and recording one."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import PermissionDenied as DRFPermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.engine import registry, selectors
from crm_apps.modules.invoices.models import Invoice, Payment
from crm_apps.modules.invoices.services import payment_record
from saas.openapi import json_object_view


def payment_to_api(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.pk,
        "paid_on": payment.paid_on.isoformat(),
        "amount": str(payment.amount),
        "method": payment.method,
        "reference": payment.reference,
        "created_at": payment.created_at.isoformat(),
    }


def _balance(invoice: Invoice) -> dict[str, Any]:
    return {
        "received": str(invoice.received),
        "balance": str(invoice.balance),
        "payment_status": invoice.payment_status,
        "status": invoice.status,
    }


@json_object_view()
class InvoicePaymentsView(APIView):
    def _invoice(self, request: Request, record_id: str) -> Invoice:
        invoice = selectors.access_record(
            spec=registry.get("invoices"), actor=request_member(request), record_id=record_id
        )
        if invoice is None:
            raise NotFound(_("Not found."))
        return invoice

    def get(self, request: Request, record_id: str) -> Response:
        invoice = self._invoice(request, record_id)
        return Response(
            {**_balance(invoice), "results": [payment_to_api(p) for p in invoice.payments.order_by("paid_on", "id")]}
        )

    def post(self, request: Request, record_id: str) -> Response:
        invoice = self._invoice(request, record_id)
        data = request.data if isinstance(request.data, dict) else {}
        try:
            payment = payment_record(
                actor=request_member(request),
                invoice=invoice,
                amount=data.get("amount", ""),
                paid_on=data.get("paid_on"),
                method=str(data.get("method") or ""),
                reference=str(data.get("reference") or ""),
            )
        except PermissionDenied as exc:
            raise DRFPermissionDenied(_("You may not record payments on this invoice.")) from exc
        invoice.refresh_from_db()
        return Response({**payment_to_api(payment), "invoice": _balance(invoice)}, status=status.HTTP_201_CREATED)
