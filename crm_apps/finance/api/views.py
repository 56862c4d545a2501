"""The finance settings API: taxes, charges, company details and currencies (README.md).

Every member of the workspace may read them (documents print them); writes go through `services`, which
refuse members without the MANAGE_SETTINGS privilege (403) and answer bad input with field errors (400)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http.response import HttpResponseBase
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from crm_apps.access.middleware import request_member
from crm_apps.engine.models import Currency
from crm_apps.finance import files, selectors, services
from crm_apps.finance.currencies import currency_name, currency_symbol, minor_units
from crm_apps.finance.models import Charge, CompanyDetails, CurrencyRate, Tax
from saas.openapi import json_object_view


def _data(request: Request) -> dict[str, Any]:
    if not isinstance(request.data, dict):
        raise ValidationError({"non_field_errors": [_("Send a JSON object.")]})
    return dict(request.data)


def tax_to_api(tax: Tax) -> dict[str, Any]:
    return {
        "id": tax.pk,
        "name": tax.name,
        "label": tax.display_name,
        "percent": str(tax.percent),
        "active": tax.active,
        "position": tax.position,
    }


def charge_to_api(charge: Charge) -> dict[str, Any]:
    return {
        "id": charge.pk,
        "name": charge.name,
        "label": charge.display_name,
        "format": charge.format,
        "value": str(charge.value),
        "active": charge.active,
        "position": charge.position,
        "taxes": [tax_to_api(t) for t in charge.taxes.all()],
    }


def company_to_api(company: CompanyDetails) -> dict[str, Any]:
    data: dict[str, Any] = {f: getattr(company, f) for f in services.COMPANY_FIELDS}
    data["logo"] = "/api/v1/company/logo" if company.logo_storage_name else None
    data["updated_at"] = company.updated_at.isoformat() if company.pk else None
    return data


def currency_to_api(currency: Currency) -> dict[str, Any]:
    return {
        "code": currency.code,
        "name": currency_name(currency.code),
        "symbol": currency_symbol(currency.code),
        "minor_units": minor_units(currency.code),
        "rate": str(currency.rate),
        "is_base": currency.is_base,
        "updated_at": currency.updated_at.isoformat(),
    }


def _tax(tax_id: int) -> Tax:
    found = Tax.objects.filter(pk=tax_id).first()
    if found is None:
        raise NotFound(_("Not found."))
    return found


def _charge(charge_id: int) -> Charge:
    found = Charge.objects.prefetch_related("taxes").filter(pk=charge_id).first()
    if found is None:
        raise NotFound(_("Not found."))
    return found


@json_object_view()
class TaxListView(APIView):
    """GET /api/v1/taxes/ (every tax; `?active=true` for the active ones), POST {"name", "percent", "active"}."""

    def get(self, request: Request) -> Response:
        rows = selectors.taxes(include_inactive=True)
        flag = request.query_params.get("active")
        if flag is not None:
            rows = [t for t in rows if t.active == (flag.lower() in {"1", "true", "yes"})]
        return Response({"results": [tax_to_api(t) for t in rows]})

    def post(self, request: Request) -> Response:
        tax = services.tax_save(actor=request_member(request), data=_data(request))
        return Response(tax_to_api(tax), status=status.HTTP_201_CREATED)


@json_object_view()
class TaxDetailView(APIView):
    def get(self, request: Request, tax_id: int) -> Response:
        return Response(tax_to_api(_tax(tax_id)))

    def patch(self, request: Request, tax_id: int) -> Response:
        tax = services.tax_save(actor=request_member(request), data=_data(request), tax=_tax(tax_id))
        return Response(tax_to_api(tax))

    put = patch

    def delete(self, request: Request, tax_id: int) -> Response:
        services.tax_delete(actor=request_member(request), tax=_tax(tax_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@json_object_view()
class ChargeListView(APIView):
    """GET /api/v1/charges/, POST {"name", "format": "flat"|"percent", "value", "active", "taxes": [ids]}."""

    def get(self, request: Request) -> Response:
        return Response({"results": [charge_to_api(c) for c in selectors.charges(include_inactive=True)]})

    def post(self, request: Request) -> Response:
        charge = services.charge_save(actor=request_member(request), data=_data(request))
        return Response(charge_to_api(_charge(charge.pk)), status=status.HTTP_201_CREATED)


@json_object_view()
class ChargeDetailView(APIView):
    def get(self, request: Request, charge_id: int) -> Response:
        return Response(charge_to_api(_charge(charge_id)))

    def patch(self, request: Request, charge_id: int) -> Response:
        charge = services.charge_save(actor=request_member(request), data=_data(request), charge=_charge(charge_id))
        return Response(charge_to_api(_charge(charge.pk)))

    put = patch

    def delete(self, request: Request, charge_id: int) -> Response:
        services.charge_delete(actor=request_member(request), charge=_charge(charge_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


@json_object_view()
class CompanyView(APIView):
    """GET /api/v1/company/, PATCH (or PUT) with any of the fields."""

    def get(self, request: Request) -> Response:
        return Response(company_to_api(selectors.company_details()))

    def patch(self, request: Request) -> Response:
        company = services.company_details_update(actor=request_member(request), data=_data(request))
        return Response(company_to_api(company))

    put = patch


@json_object_view(upload=True)
class CompanyLogoView(APIView):
    """GET the logo (404 without one), PUT a multipart `file`, DELETE it."""

    def get(self, request: Request) -> HttpResponseBase:
        company = selectors.company_details()
        if not company.logo_storage_name:
            raise NotFound(_("Not found."))
        return files.image_response(
            storage_name=company.logo_storage_name, content_type=company.logo_content_type, size=company.logo_size
        )

    def put(self, request: Request) -> Response:
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": [_("Choose a picture to upload.")]})
        company = services.company_logo_set(actor=request_member(request), upload=upload)
        return Response(company_to_api(company))

    post = put

    def delete(self, request: Request) -> Response:
        services.company_logo_set(actor=request_member(request), upload=None)
        return Response(status=status.HTTP_204_NO_CONTENT)


@json_object_view()
class CurrencyListView(APIView):
    """GET /api/v1/currencies/ (the base first), POST {"code", "rate", "is_base"} adds or changes one."""

    def get(self, request: Request) -> Response:
        return Response(
            {"base": selectors.base_currency(), "results": [currency_to_api(c) for c in selectors.currencies()]}
        )

    def post(self, request: Request) -> Response:
        data = _data(request)
        for field in set(data) - {"code", "rate", "is_base"}:
            raise ValidationError({field: [_("Unknown field.")]})
        currency = services.currency_set(
            actor=request_member(request),
            code=str(data.get("code") or ""),
            rate=data.get("rate", ""),
            is_base=services._bool(data.get("is_base", False)),
        )
        return Response(currency_to_api(currency), status=status.HTTP_201_CREATED)


@json_object_view()
class CurrencyDetailView(APIView):
    def get(self, request: Request, code: str) -> Response:
        found = Currency.objects.filter(code=code.upper()).first()
        if found is None:
            raise NotFound(_("Not found."))
        history = CurrencyRate.objects.filter(code=found.code).order_by("-valid_from", "-id")[:50]
        return Response(
            {
                **currency_to_api(found),
                "history": [
                    {"rate": str(r.rate), "base": r.base, "valid_from": r.valid_from.isoformat()} for r in history
                ],
            }
        )

    def patch(self, request: Request, code: str) -> Response:
        data = _data(request)
        for field in set(data) - {"rate", "is_base"}:
            raise ValidationError({field: [_("Unknown field.")]})
        if not Currency.objects.filter(code=code.upper()).exists():
            raise NotFound(_("Not found."))
        currency = services.currency_set(
            actor=request_member(request),
            code=code,
            rate=data.get("rate", ""),
            is_base=services._bool(data.get("is_base", False)),
        )
        return Response(currency_to_api(currency))

    def delete(self, request: Request, code: str) -> Response:
        services.currency_remove(actor=request_member(request), code=code)
        return Response(status=status.HTTP_204_NO_CONTENT)
